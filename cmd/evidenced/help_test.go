package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// valueName is what a flag's value name may look like in --help: a word such
// as FILE, string, ROSTER.json or DIR/body.bin, never a phrase. pflag takes the first
// back-quoted text of a usage string as the value name, so a usage quoting a
// command (`evidenced roster export`) garbles the flag's line.
var valueName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_./\-]*$`)

// TestHelpValueNames walks every command and checks that each of its flags
// (local and inherited) shows a plain value name in --help and that its
// usage keeps no back quote.
func TestHelpValueNames(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			name, usage := pflag.UnquoteUsage(f)
			if name != "" && !valueName.MatchString(name) {
				t.Errorf("%s --%s: garbled value name %q in --help", c.CommandPath(), f.Name, name)
			}
			if strings.Contains(usage, "`") {
				t.Errorf("%s --%s: usage keeps a back quote: %q", c.CommandPath(), f.Name, usage)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.InheritedFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}
