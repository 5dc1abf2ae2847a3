package main

import (
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// TestRegistryText walks the ledger's registry of transaction types and
// prints an entry of each as `evidenced get` does without -o json: its
// type, and every field of its details (free text included: the CLI's user
// is the member that asked) or its records. A type the CLI would print
// nothing of fails here.
func TestRegistryText(t *testing.T) {
	signer := crypto.KeyID(crypto.SM3([]byte("example signer")))
	for _, info := range ledger.TxTypes() {
		if !info.Entry() {
			continue
		}
		t.Run(info.Name, func(t *testing.T) {
			e, err := api.NewEntry(3, ledgertest.ExampleEntry(info, signer), func(*ledger.Tx) (string, error) { return "bank-a", nil })
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if err := printEntry(&out, e); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			// Lines are "label", two or more spaces (tabwriter), "value".
			field := func(label string) string {
				for _, l := range strings.Split(text, "\n") {
					if rest, ok := strings.CutPrefix(l, label+"  "); ok {
						return strings.TrimSpace(rest)
					}
				}
				return ""
			}
			if field("type") != info.Name {
				t.Errorf("the text of a %s entry does not give its type:\n%s", info.Name, text)
			}
			for _, r := range e.Records {
				if !strings.Contains(text, "chain "+r.Chain+" step") {
					t.Errorf("the text of a %s entry lacks record %d:\n%s", info.Name, r.Pos, text)
				}
			}
			if e.Details == nil {
				if len(e.Records) == 0 {
					t.Errorf("a %s entry prints neither records nor details", info.Name)
				}
				return
			}
			for _, f := range e.Details.Fields() {
				line := field(strings.ReplaceAll(f.Name, "_", " "))
				want := f.Text()
				if keys, ok := f.Value.([]ledger.HexBytes); ok {
					want = keys[0].String()
				}
				if line == "" || !strings.Contains(line, want) {
					t.Errorf("the text of a %s entry lacks field %s = %q:\n%s", info.Name, f.Name, want, text)
				}
			}
		})
	}
}
