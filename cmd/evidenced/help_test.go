package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/evidenced/evidenced/testnet"
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

// TestTestnetHelpPorts makes a default testnet and checks that every port
// its members listen on is one `evidenced testnet --help` names: P2P, RPC,
// API, the libp2p blob exchange and the first member's development TSA.
func TestTestnetHelpPorts(t *testing.T) {
	help, _, err := runCLI(t, "testnet", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"B+10*i     CometBFT P2P",
		"B+10*i+1   CometBFT RPC",
		"B+10*i+2   the HTTP API",
		"B+10*i+3   the libp2p blob exchange",
		"B+9        the development TSA",
		"127.0.0.1:26602, :26612, :26622 and\n:26632",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("testnet --help lacks %q:\n%s", want, help)
		}
	}

	dir := filepath.Join(t.TempDir(), "net")
	out, _, err := runCLI(t, "testnet", "--out", dir, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var a testnet.Alliance
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Members) != 4 {
		t.Fatalf("a default testnet has %d members, want 4", len(a.Members))
	}
	const base = 26600
	for i, m := range a.Members {
		p := base + 10*i
		if m.P2P != fmt.Sprintf("127.0.0.1:%d", p) || m.RPC != fmt.Sprintf("http://127.0.0.1:%d", p+1) || m.API != fmt.Sprintf("http://127.0.0.1:%d", p+2) {
			t.Errorf("member %d (%s) listens on p2p %s, rpc %s, api %s; the help says %d, %d, %d", i, m.Name, m.P2P, m.RPC, m.API, p, p+1, p+2)
		}
		toml, err := os.ReadFile(filepath.Join(m.Home, "config", "evidenced.toml"))
		if err != nil {
			t.Fatal(err)
		}
		if blob := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p+3); !strings.Contains(string(toml), blob) {
			t.Errorf("member %d (%s) does not exchange originals on %s as the help says:\n%s", i, m.Name, blob, toml)
		}
	}
	if a.TSA == nil || a.TSA.URL != fmt.Sprintf("http://127.0.0.1:%d/", base+9) || a.TSA.Member != a.Members[0].Name {
		t.Errorf("the development TSA is %+v, the help says the first member serves it on %d", a.TSA, base+9)
	}
}
