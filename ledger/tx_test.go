package ledger_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

func sampleTxs(t testing.TB) [][]byte {
	t.Helper()
	a, err := ledgertest.NewAlliance(rand.Reader, chainID)
	if err != nil {
		t.Fatal(err)
	}
	cipher := crypto.SM3([]byte("ciphertext"))
	r := rec("LOAN-1", 2, crypto.SM3([]byte("prev")), "x")
	r.Cipher = &cipher
	r.Labels = append(r.Labels, ledger.Label{Key: "region", Value: "SH"})
	return [][]byte{
		a.Evidence(a.Key("bank-a"), 1, rec("LOAN-1", 1, crypto.Hash{}, "a")),
		a.Evidence(a.Key("bank-a"), -5, r),
		a.Batch(a.Key("bank-a"), 7, []ledger.Record{rec("A", 1, crypto.Hash{}, "a"), rec("B", 1, crypto.Hash{}, "b")}),
		a.Attest(a.Key("notary"), 9, "notarised", ledger.RecordRef{Index: 1}, ledger.RecordRef{Index: 1, Pos: 3}, ledger.RecordRef{Index: 4}),
		a.Sign(a.Key("notary"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Attestation{
			Statement: "certificate-issued", Targets: []ledger.RecordRef{{Index: 2}}, Document: crypto.SM3([]byte("cert")), Note: "(2026)沪东证经字第123号"}}),
		a.Sign(a.Key("notary"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Proposal{
			Change: ledger.RosterChange{Kind: ledger.ChangeAddTSA, TSA: ledgertest.TSA("tsa-b", 1, "sha256", "sm3")}, Deadline: 9, Reason: "add a TSA"}}),
		a.Sign(a.Key("notary"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Proposal{
			Change: ledger.RosterChange{Kind: ledger.ChangeRemoveTSA, TSA: ledger.TSA{Name: "tsa-a"}}, Deadline: 9}}),
		rosterEntryWithTSAs(t, a.Key("bank-a").Public()),
		a.Sign(a.Key("court"), &ledger.Body{ChainID: chainID, Time: 3, Payload: ledger.TxTypeNamed("timestamp").Example()}),
		a.Sign(a.Key("bank-a"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Grant{Grantee: "court", Purpose: "(2026)沪0115民初1234号",
			Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 1}, Wrapped: []byte("wrapped")}}}}),
		a.Sign(a.Key("bank-a"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Grant{Grantee: "court", Purpose: "案号（2026）京01民终5号", Chain: "LOAN-1",
			Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 1}, Wrapped: []byte("w1")}, {Ref: ledger.RecordRef{Index: 2}, Wrapped: []byte("w2")}}}}),
		a.Sign(a.Key("bank-a"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Grant{Grantee: "court", Purpose: "(2026)沪0115民初1234号", Request: 7,
			Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 1}, Wrapped: []byte("wrapped")}}}}),
		a.Sign(a.Key("court"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Request{Record: &ledger.RecordRef{Index: 4, Pos: 2}, Purpose: "(2026)沪0115民初1234号"}}),
		a.Sign(a.Key("arbitration"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Request{Chain: "LOAN-1", Purpose: "仲裁案 17"}}),
		a.Sign(a.Key("bank-a"), &ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.Refusal{Request: 7, Reason: "已移交"}}),
	}
}

// rosterEntryWithTSAs is the ledger's roster entry of a version naming a TSA.
func rosterEntryWithTSAs(t testing.TB, k *crypto.PublicKey) []byte {
	t.Helper()
	seat := ledger.Seat{Member: ledger.Member{Name: "bank-a", Role: ledger.RoleBank, Power: 10, Keys: []*crypto.PublicKey{k}},
		Validator: make([]byte, ledger.ConsensusKeySize), Node: ledger.NodeID{1}}
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: chainID, Time: 3, Payload: &ledger.RosterUpdate{Version: 1, Proposal: 9,
		Seats: []ledger.Seat{seat}, TSAs: []ledger.TSA{ledgertest.TSA("tsa-a", 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.EncodeTx(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestTxRoundTrip(t *testing.T) {
	for i, raw := range sampleTxs(t) {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		body, err := ledger.EncodeBody(&tx.Body)
		if err != nil {
			t.Fatalf("tx %d: re-encode: %v", i, err)
		}
		if !bytes.Equal(body, tx.BodyBytes) {
			t.Fatalf("tx %d: body does not re-encode to the same bytes", i)
		}
		again, err := ledger.EncodeTx(body, tx.Signature)
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("tx %d: tx does not re-encode to the same bytes (%v)", i, err)
		}
		if tx.ID() != crypto.SM3(tx.BodyBytes) {
			t.Fatalf("tx %d: id is not SM3 of the body", i)
		}
	}
}

// TestDecodeRejectsNonCanonical mutates valid encodings and checks that each
// mutation is refused with a code.
func TestDecodeRejectsNonCanonical(t *testing.T) {
	raw := sampleTxs(t)[1]
	tx, _ := ledger.DecodeTx(raw)
	withBody := func(body []byte) []byte {
		b, err := ledger.EncodeTx(body, tx.Signature)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(tx.BodyBytes, []byte(old)) {
			t.Fatalf("sample body lacks %q", old)
		}
		return withBody(bytes.Replace(tx.BodyBytes, []byte(old), []byte(new), 1))
	}
	tests := []struct {
		name string
		b    []byte
		want ledger.Code
	}{
		{"trailing byte after signature", append(bytes.Clone(raw), 0), ledger.CodeMalformed},
		{"truncated", raw[:len(raw)-1], ledger.CodeMalformed},
		{"format 2", append([]byte{2}, raw[1:]...), ledger.CodeUnsupported},
		{"trailing byte in body", withBody(append(bytes.Clone(tx.BodyBytes), 0)), ledger.CodeMalformed},
		{"body v2", replace("evidenced/tx/v1", "evidenced/tx/v2"), ledger.CodeUnsupported},
		{"other domain", replace("evidenced/tx/v1", "evidenced/xx/v1"), ledger.CodeMalformed},
		{"upper-case kind", replace("loan-contract", "Loan-contract"), ledger.CodeMalformed},
		{"label out of order", replace("product", "zroduct"), ledger.CodeMalformed},
		{"label control char", replace("consumer-loan", "consumer\nloan"), ledger.CodeControlChar},
		{"label invalid UTF-8", replace("consumer-loan", "consumer\xffloan"), ledger.CodeBadUTF8},
		{"label not NFC", replace("consumer-loan", "consumer-lo\u0301"), ledger.CodeTextNotNFC},
		{"chain id punctuation first", replace("LOAN-1", "-LOAN1"), ledger.CodeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.DecodeTx(tt.b)
			var re *ledger.RejectError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeTx = %v, want a *RejectError", err)
			}
			if re.Code != tt.want {
				t.Fatalf("code %s (%s), want %s", re.Code, re.Msg, tt.want)
			}
		})
	}
}

func TestEncodeBodyValidates(t *testing.T) {
	tests := []struct {
		name string
		b    ledger.Body
	}{
		{"no payload", ledger.Body{ChainID: chainID}},
		{"step 0", ledger.Body{ChainID: chainID, Payload: &ledger.Evidence{Record: (rec("A", 0, crypto.Hash{}, "a"))}}},
		{"step 1 with prev", ledger.Body{ChainID: chainID, Payload: &ledger.Evidence{Record: (rec("A", 1, crypto.SM3(nil), "a"))}}},
		{"step 2 without prev", ledger.Body{ChainID: chainID, Payload: &ledger.Evidence{Record: (rec("A", 2, crypto.Hash{}, "a"))}}},
		{"empty chain id", ledger.Body{ChainID: "", Payload: &ledger.Evidence{Record: (rec("A", 1, crypto.Hash{}, "a"))}}},
		{"long chain id", ledger.Body{ChainID: strings.Repeat("a", 65), Payload: &ledger.Evidence{Record: (rec("A", 1, crypto.Hash{}, "a"))}}},
		{"empty batch", ledger.Body{ChainID: chainID, Payload: &ledger.Batch{Records: []ledger.Record{}}}},
		{"unsorted targets", ledger.Body{ChainID: chainID, Payload: &ledger.Attestation{Statement: "x", Targets: []ledger.RecordRef{{Index: 2}, {Index: 1}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ledger.EncodeBody(&tt.b); err == nil {
				t.Fatal("EncodeBody accepted an invalid body")
			}
		})
	}
}

// TestCodesDocumented checks docs/CODES.md against the code table, so the
// published table can never drift from what the node returns.
func TestCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/CODES.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| *(\\d+) *\\| *`([a-z0-9_]+)` *\\| *([^|]+?) *\\|")
	found := map[int]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		n, _ := strconv.Atoi(m[1])
		c := ledger.Code(n)
		if c.String() != m[2] || c.Doc() != m[3] {
			t.Errorf("docs/CODES.md row %d says %q / %q, code says %q / %q", n, m[2], m[3], c.String(), c.Doc())
		}
		found[n] = true
	}
	for _, c := range ledger.Codes() {
		if !found[int(c)] {
			t.Errorf("code %d (%s) is missing from docs/CODES.md", c, c)
		}
		if c != ledger.CodeOK && c.Hint() == "" {
			t.Errorf("code %d (%s) has no hint", c, c)
		}
	}
}

func FuzzDecodeTx(f *testing.F) {
	for _, tx := range sampleTxs(f) {
		f.Add(tx)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := ledger.DecodeTx(b)
		if err != nil {
			var re *ledger.RejectError
			if !errors.As(err, &re) || re.Code == ledger.CodeOK {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		body, err := ledger.EncodeBody(&tx.Body)
		if err != nil {
			t.Fatalf("decoded body does not encode: %v", err)
		}
		if !bytes.Equal(body, tx.BodyBytes) {
			t.Fatal("decoded body re-encodes differently: the decoder accepted a non-canonical form")
		}
		again, err := ledger.EncodeTx(body, tx.Signature)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatal("tx re-encodes differently")
		}
	})
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add((&ledger.Entry{Height: 3, Time: 42, TxBytes: []byte("tx")}).Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ledger.DecodeEntry(b)
		if err != nil {
			if !errors.Is(err, ledger.ErrMalformed) {
				t.Fatalf("decode error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if !bytes.Equal(e.Encode(), b) {
			t.Fatal("entry re-encodes differently")
		}
	})
}

func FuzzParseGenesisState(f *testing.F) {
	f.Add([]byte(`{"params":{"time_window":"15m","max_batch_records":10,"max_tx_bytes":2048},"members":[{"name":"a","role":"bank","power":1,"keys":["04"]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		gs, err := ledger.ParseGenesisState(b)
		if err != nil {
			return
		}
		if len(gs.Members) == 0 {
			t.Fatal("accepted a roster with no members")
		}
	})
}
