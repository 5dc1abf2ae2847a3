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
	"github.com/evidenced/evidenced/tsa"
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
	tf := newTimeFixture(f)
	tf.stamp(f, cpHeight4, "tsa-sm2", tf.sm2, tsa.SM3)
	timeJSON, err := json.Marshal(tf.receipt(f, ledger.RecordRef{Index: 6}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(timeJSON)
	af := newAttestFixture(f)
	attestJSON, err := json.Marshal(af.attestReceipt(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(attestJSON)
	f.Add([]byte(`{"version":1,"attestation":{"statement":"notarised","targets":[{"index":6,"pos":0}],"note":"公证","role":"notary"}}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"time":{"tsa":"t","token":"MAA=","checkpoint":"c","consistency_proof":[]}}`))
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

// FuzzVerifyAttestation mutates the JSON of a good receipt of an
// attestation: whatever still verifies must mean the same as the
// original (signatures aside).
func FuzzVerifyAttestation(f *testing.F) {
	fx := newAttestFixture(f)
	roster := fx.roster(f)
	orig := fx.attestReceipt(f)
	good, err := json.Marshal(orig)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"statement":"notarised"`), []byte(`"statement":"reviewed"`), 1))
	f.Add(bytes.Replace(good, []byte(`{"index":8,"pos":0}`), []byte(`{"index":7,"pos":0}`), 1))
	f.Add(bytes.Replace(good, []byte(`"attestation":{`), []byte(`"record":{"kind":"x"},"attestation":{`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := receipt.Parse(data)
		if err != nil {
			return
		}
		rep := receipt.Verify(r, roster, receipt.VerifyOptions{File: bytes.NewReader(fx.document)})
		if rep.OK && !sameMeaning(orig, r, false) {
			t.Fatalf("a receipt that differs from the original verifies: %+v", r)
		}
	})
}

// FuzzVerifyTime mutates the JSON of a good receipt with a time (an SM2
// token over a later checkpoint, linked by a consistency proof): whatever
// still verifies, time step included, must mean the same as the original.
func FuzzVerifyTime(f *testing.F) {
	tf := newTimeFixture(f)
	tf.stamp(f, cpHeight4, "tsa-sm2", tf.sm2, tsa.SM3)
	roster := tf.roster(f)
	orig := tf.receipt(f, ledger.RecordRef{Index: 6})
	good, err := json.Marshal(orig)
	if err != nil {
		f.Fatal(err)
	}
	if rep := receipt.Verify(orig, roster, receipt.VerifyOptions{}); !rep.OK || rep.Steps[len(rep.Steps)-1].Skipped {
		f.Fatalf("the seed does not verify with time: %+v", rep)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"tsa":"tsa-sm2"`), []byte(`"tsa":"tsa-ec"`), 1))
	f.Add(bytes.Replace(good, []byte(`"consistency_proof":[`), []byte(`"consistency_proof":[],"x":[`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := receipt.Parse(data)
		if err != nil {
			return
		}
		rep := receipt.Verify(r, roster, receipt.VerifyOptions{})
		if rep.OK && r.Time != nil && !sameMeaning(orig, r, false) {
			t.Fatalf("a receipt whose time differs from the original verifies: %+v", r.Time)
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
		if c.Attestation != nil {
			at := *c.Attestation
			at.Time, at.ClientTime = at.Time.UTC(), at.ClientTime.UTC()
			if len(at.Targets) == 0 {
				at.Targets = nil
			}
			c.Attestation = &at
		}
		if c.Time != nil {
			tm := *c.Time
			if len(tm.ConsistencyProof) == 0 {
				tm.ConsistencyProof = nil
			}
			if len(tm.Token) == 0 {
				tm.Token = nil
			}
			c.Time = &tm
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
