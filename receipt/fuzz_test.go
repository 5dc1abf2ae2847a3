package receipt_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"testing"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
)

func FuzzParse(f *testing.F) {
	fx := newFixture(f, fixtureOptions{})
	good, err := json.Marshal(fx.receipt(f, ledger.RecordRef{Index: 7, Pos: 1}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	pf := newPathFixture(f, 1)
	withPath, err := receipt.Build(pf.view, pf.records[0])
	if err != nil {
		f.Fatal(err)
	}
	pathJSON, err := json.Marshal(withPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pathJSON)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := receipt.Parse(data)
		if err != nil {
			return
		}
		// Round trip: what parses re-encodes to something that parses to
		// the same receipt.
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := receipt.Parse(b)
		if err != nil {
			t.Fatalf("re-encoded receipt does not parse: %v", err)
		}
		if !sameMeaning(r, back, true) {
			t.Fatalf("round trip changed the receipt")
		}
	})
}

func FuzzParseRoster(f *testing.F) {
	fx := newFixture(f, fixtureOptions{})
	good, err := json.Marshal(fx.roster(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"chain_id":"c","members":[]}`))
	withTSAs := *fx.roster(f)
	withTSAs.TSAs = []ledger.TSA{ledgertest.TSA("tsa-a", 0, "sha256", "sm3"), ledgertest.TSA("tsa-ec", 2, "sha256")}
	b, err := json.Marshal(&withTSAs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"version":1,"chain_id":"c","members":[],"tsas":[{"name":"a","cert":"MAA=","hashes":["sm3"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := receipt.ParseRoster(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := receipt.ParseRoster(b)
		if err != nil {
			t.Fatalf("re-encoded roster does not parse: %v", err)
		}
		d1, err1 := r.Digest()
		d2, err2 := back.Digest()
		if err1 != nil || err2 != nil || d1 != d2 {
			t.Fatalf("round trip changed the roster digest")
		}
	})
}

// FuzzVerify mutates the JSON of a good receipt: whatever still verifies
// must mean the same as the original (signatures aside: extra or broken
// signatures are allowed while the valid ones keep the quorum).
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, fixtureOptions{})
	roster := fx.roster(f)
	orig := fx.receipt(f, ledger.RecordRef{Index: 6})
	orig.Record.Salt = fx.salts[0]
	good, err := json.Marshal(orig)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"step":1`), []byte(`"step":2`), 1))
	f.Add(bytes.Replace(good, []byte(`"leaf_index":6`), []byte(`"leaf_index":7`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := receipt.Parse(data)
		if err != nil {
			return
		}
		rep := receipt.Verify(r, roster, receipt.VerifyOptions{File: bytes.NewReader(fx.originals[0])})
		if rep.OK && !sameMeaning(orig, r, false) {
			t.Fatalf("a receipt that differs from the original verifies: %+v", r)
		}
	})
}

// sameMeaning reports whether two receipts say the same thing: equal
// fields, times compared as instants, empty and absent labels alike, and
// signatures compared only if withSigs.
func sameMeaning(a, b *receipt.Receipt, withSigs bool) bool {
	norm := func(r *receipt.Receipt) receipt.Receipt {
		c := *r
		c.Record.Time, c.Record.ClientTime = c.Record.Time.UTC(), c.Record.ClientTime.UTC()
		if len(c.Record.Labels) == 0 {
			c.Record.Labels = nil
		} else {
			c.Record.Labels = maps.Clone(c.Record.Labels)
		}
		if len(c.Record.Salt) == 0 {
			c.Record.Salt = nil
		}
		if len(c.InclusionProof) == 0 {
			c.InclusionProof = nil
		}
		if len(c.Leaf) == 0 {
			c.Leaf = nil
		}
		if !withSigs {
			c.Signatures = nil
		}
		return c
	}
	na, nb := norm(a), norm(b)
	if withSigs {
		if len(na.Signatures) != len(nb.Signatures) {
			return false
		}
		for i := range na.Signatures {
			sa, sb := na.Signatures[i], nb.Signatures[i]
			if sa.Member != sb.Member || sa.PublicKey != sb.PublicKey || !bytes.Equal(sa.Signature, sb.Signature) {
				return false
			}
		}
		na.Signatures, nb.Signatures = nil, nil
	}
	return reflect.DeepEqual(na, nb)
}
