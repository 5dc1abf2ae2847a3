package explorer_test

import (
	"html"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// TestRegistry walks the ledger's registry of transaction types and
// renders an entry of each in both languages, as an entry list's row and as
// its page: the type is named in the page's language (in Chinese from the
// catalog, which must have it), every public field of its details is shown
// under a label of the catalog, its row says what it does, and private
// fields stay off the page. A type the explorer would show untranslated or
// without its details fails here.
func TestRegistry(t *testing.T) {
	cat := explorer.Catalog()
	signer := crypto.KeyID(crypto.SM3([]byte("example signer")))
	for _, info := range ledger.TxTypes() {
		if !info.Entry() {
			continue // not a log entry: never shown as one
		}
		e, err := api.NewEntry(3, ledgertest.ExampleEntry(info, signer), func(*ledger.Tx) (string, error) { return "bank-a", nil })
		if err != nil {
			t.Fatal(err)
		}
		for _, lang := range []string{"zh", "en"} {
			t.Run(info.Name+"/"+lang, func(t *testing.T) {
				msgs := cat[lang]
				title, ok := msgs["type."+info.Name]
				if !ok || title == "" || (lang == "zh" && title == info.Title) {
					t.Fatalf("the %s catalog has no name for type %s", lang, info.Name)
				}
				detail, page, err := explorer.RenderEntry(lang, e)
				if err != nil {
					t.Fatal(err)
				}
				text := html.UnescapeString(page)
				if strings.Contains(text, "⟦") {
					i := strings.Index(text, "⟦")
					t.Errorf("the page of a %s entry names a key the %s catalog lacks: %s", info.Name, lang, text[i:min(len(text), i+40)])
				}
				if !strings.Contains(text, `id="tx-type">`+title) {
					t.Errorf("the page of a %s entry does not name its type %q", info.Name, title)
				}
				d := e.Details
				if d == nil {
					if detail != "" {
						t.Errorf("a %s entry without details has the row text %q", info.Name, detail)
					}
					if len(e.Records) == 0 {
						t.Errorf("a %s entry shows neither records nor details", info.Name)
					}
					return
				}
				if detail == "" || strings.Contains(detail, "%!") {
					t.Errorf("the row of a %s entry says %q", info.Name, detail)
				}
				if _, ok := msgs["row."+info.Name]; !ok {
					t.Errorf("the %s catalog has no row text for type %s", lang, info.Name)
				}
				for _, f := range d.Fields() {
					label, ok := msgs["field."+f.Name]
					if f.Private {
						if s, _ := f.Value.(string); s != "" && strings.Contains(text, s) {
							t.Errorf("the page of a %s entry shows its private field %s", info.Name, f.Name)
						}
						continue
					}
					if !ok {
						t.Errorf("the %s catalog has no label for field %s of type %s", lang, f.Name, info.Name)
						continue
					}
					if !strings.Contains(text, "<dt>"+label+"</dt>") {
						t.Errorf("the page of a %s entry lacks the field %s (%q)", info.Name, f.Name, label)
					}
				}
			})
		}
	}
}
