package ledger_test

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// TestWireGolden holds the wire formats to the bytes recorded in
// testdata/wire.golden (written at 0e441d8, before the registry of
// transaction types): every payload type's body, its transaction with a
// stand-in signature and its log entry, a bundle and a vote extension,
// built with today's code, must encode to exactly those bytes and decode
// back to equal bytes. The wire formats are consensus: never update the
// file to make this pass; a new type adds lines.
func TestWireGolden(t *testing.T) {
	f, err := os.Open("testdata/wire.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string][]byte{}
	var signerKey *crypto.PublicKey
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "# name hex; signer key "); ok {
			b, err := hex.DecodeString(k)
			if err != nil {
				t.Fatal(err)
			}
			if signerKey, err = crypto.ParsePublicKey(b); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, h, ok := strings.Cut(line, " ")
		b, err := hex.DecodeString(h)
		if !ok || err != nil {
			t.Fatalf("golden line %q: %v", line, err)
		}
		want[name] = b
	}
	if err := sc.Err(); err != nil || signerKey == nil {
		t.Fatalf("golden file: %v (signer key found: %v)", err, signerKey != nil)
	}
	check := func(name string, got []byte) {
		t.Helper()
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: not in testdata/wire.golden", name)
			return
		}
		if hex.EncodeToString(got) != hex.EncodeToString(w) {
			t.Errorf("%s encodes to\n%x\nwant\n%x", name, got, w)
		}
		delete(want, name)
	}

	signer := signerKey.ID()
	cipher := crypto.SM3([]byte("cipher"))
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-2026-000001", Step: 2, Prev: crypto.SM3([]byte("prev")),
		Commitment: crypto.SM3([]byte("commitment")), Size: 12345, Cipher: &cipher, CipherSize: 12400, OwnerKey: []byte("wrapped-owner-key"),
		Labels: []ledger.Label{{Key: "branch", Value: "sh-0115"}, {Key: "product", Value: "consumer-loan"}}}
	rec1 := ledger.Record{Kind: "credit-authorisation", Chain: "LOAN-2026-000002", Step: 1, Commitment: crypto.SM3([]byte("c1")), Size: 7}
	cipher2 := crypto.SM3([]byte("cipher2"))
	rec2 := ledger.Record{Kind: "disbursement", Chain: "LOAN-2026-000003", Step: 1, Commitment: crypto.SM3([]byte("c2")), Size: 9, Cipher: &cipher2}
	const chain, tm = "evidenced-golden", int64(1790000000123456789)
	bodies := []struct {
		name   string
		signer crypto.KeyID
		p      ledger.Payload
	}{
		{"evidence", signer, &ledger.Evidence{Record: rec}},
		{"batch", signer, &ledger.Batch{Records: []ledger.Record{rec1, rec2, rec}}},
		{"attest", signer, &ledger.Attestation{Statement: "notarised", Targets: []ledger.RecordRef{{Index: 3, Pos: 0}, {Index: 9, Pos: 2}},
			Document: crypto.SM3([]byte("doc")), Note: "(2026)沪东证字第123号"}},
		{"register", crypto.KeyID{}, &ledger.Member{Name: "bank-a", Role: ledger.RoleBank, Power: 10, Keys: []*crypto.PublicKey{signerKey},
			Peer: "12D3KooWabc", Addrs: []string{"/ip4/10.0.0.1/tcp/26660"}}},
		{"checkpoint", crypto.KeyID{}, &ledger.CosignedCheckpoint{Height: 42,
			Signatures: []ledger.MemberSignature{{Member: "bank-a", Signature: []byte{0x30, 1, 2}}, {Member: "court", Signature: []byte{0x30, 3}}}}},
		{"grant", signer, &ledger.Grant{Grantee: "court", Purpose: "case-2026-1234", Expiry: tm + 1e12, Chain: "LOAN-2026-000001",
			Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 3}, Wrapped: []byte("w1")}, {Ref: ledger.RecordRef{Index: 5, Pos: 1}, Wrapped: []byte("w2")}}}},
		{"grant-one", signer, &ledger.Grant{Grantee: "court", Purpose: "case-1", Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 3}, Wrapped: []byte("w1")}}}},
		{"revoke", signer, &ledger.Revoke{Grant: 77}},
		{"access-owner", signer, &ledger.Access{Ref: ledger.RecordRef{Index: 3, Pos: 1}}},
		{"access-grant", signer, &ledger.Access{Ref: ledger.RecordRef{Index: 3, Pos: 1}, ViaGrant: true, Grant: 77}},
	}
	var txs [][]byte
	for _, c := range bodies {
		bb, err := ledger.EncodeBody(&ledger.Body{ChainID: chain, Signer: c.signer, Time: tm, Payload: c.p})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		check("body/"+c.name, bb)
		dec, err := ledger.DecodeBody(bb)
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		if again, err := ledger.EncodeBody(dec); err != nil || hex.EncodeToString(again) != hex.EncodeToString(bb) {
			t.Errorf("%s: decode and encode again: %x, %v", c.name, again, err)
		}
		tx, err := ledger.EncodeTx(bb, []byte{0x30, 0x44, 0x02, 0x20})
		if err != nil {
			t.Fatal(err)
		}
		check("tx/"+c.name, tx)
		if c.name == "evidence" || c.name == "attest" {
			txs = append(txs, tx)
		}
		check("entry/"+c.name, (&ledger.Entry{Height: 7, Time: tm, TxBytes: tx}).Encode())
	}
	bundle, err := ledger.EncodeBundle(txs)
	if err != nil {
		t.Fatal(err)
	}
	check("bundle", bundle)
	check("vote-extension", (&ledger.VoteExtension{Height: 41, Member: "notary", Signature: []byte{0x30, 5, 6, 7}}).Encode())
	for name := range want {
		t.Errorf("%s: in testdata/wire.golden, not built by the test", name)
	}
}
