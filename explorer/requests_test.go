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

// TestRequestEntries: a request for one record, a refusal and a grant
// answering a request render in Chinese with their case number, reason and
// request entry.
func TestRequestEntries(t *testing.T) {
	ref := ledger.RecordRef{Index: 12, Pos: 1}
	for _, tc := range []struct {
		name string
		p    ledger.Payload
		want []string
	}{
		{"record request", &ledger.Request{Record: &ref, Purpose: "(2026)沪0115民初1234号"}, []string{"调取请求", "调取 12.1 的原件", "(2026)沪0115民初1234号", "记录"}},
		{"refusal", &ledger.Refusal{Request: 31, Reason: "该记录已依法移交"}, []string{"拒绝调取", "拒绝条目 31 的调取请求", "该记录已依法移交", "调取请求条目"}},
		{"grant answering a request", &ledger.Grant{Grantee: "court", Purpose: "(2026)沪0115民初1234号", Request: 31,
			Keys: []ledger.GrantKey{{Ref: ref, Wrapped: []byte("w")}}}, []string{"授权", "调取请求条目", "31"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := ledger.EncodeBody(&ledger.Body{ChainID: "evidenced-example", Signer: crypto.KeyID{1}, Time: ledgertest.GenesisTime, Payload: tc.p})
			if err != nil {
				t.Fatal(err)
			}
			tx, err := ledger.EncodeTx(body, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
			if err != nil {
				t.Fatal(err)
			}
			raw := (&ledger.Entry{Height: 7, Time: ledgertest.GenesisTime, TxBytes: tx}).Encode()
			e, err := api.NewEntry(40, raw, func(*ledger.Tx) (string, error) { return "bank-a", nil })
			if err != nil {
				t.Fatal(err)
			}
			row, page, err := explorer.RenderEntry("zh", e)
			if err != nil {
				t.Fatal(err)
			}
			text := html.UnescapeString(row + page)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("the zh page lacks %q", w)
				}
			}
			if strings.Contains(text, "⟦") {
				t.Errorf("untranslated key on the page")
			}
		})
	}
}
