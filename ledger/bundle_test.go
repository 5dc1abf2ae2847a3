package ledger_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

func TestBundleAppliesEachInnerTx(t *testing.T) {
	f := newFixture(t)
	bank := f.a.Key("bank-a")
	var inner [][]byte
	for i := range 3 {
		inner = append(inner, f.a.Evidence(bank, f.now, rec(fmt.Sprintf("LOAN-%d", i), 1, crypto.Hash{}, fmt.Sprint(i))))
	}
	b, err := ledger.EncodeBundle(inner)
	if err != nil {
		t.Fatal(err)
	}
	head0, _ := f.view().Head()
	out := f.block(b)
	r := out.Results[0]
	wantCode(t, r, ledger.CodeOK)
	if r.Type != ledger.TxBundle || len(r.Inner) != 3 {
		t.Fatalf("bundle result type %s with %d inner results, want bundle with 3", r.Type, len(r.Inner))
	}
	for i, in := range r.Inner {
		wantCode(t, in, ledger.CodeOK)
		if in.Index != head0.Size+uint64(i) || in.Signer != "bank-a" || in.Type != ledger.TxEvidence {
			t.Fatalf("inner %d = index %d signer %q type %s, want index %d by bank-a, evidence", i, in.Index, in.Signer, in.Type, head0.Size+uint64(i))
		}
		// Each inner tx is its own log entry, byte for byte.
		e, tx, err := f.view().Entry(in.Index)
		if err != nil || !bytes.Equal(e.TxBytes, inner[i]) || tx.ID() != in.ID {
			t.Fatalf("entry %d does not hold inner tx %d: %v", in.Index, i, err)
		}
	}
	var ids []crypto.Hash
	ledger.EachTx(out.Results, func(r *ledger.TxResult) { ids = append(ids, r.ID) })
	if len(ids) != 3 || ids[0] != r.Inner[0].ID || ids[2] != r.Inner[2].ID {
		t.Fatalf("EachTx gave %d ids, want the 3 inner ones in order", len(ids))
	}
	// The same inner txs again are duplicates, each.
	again := f.block(b).Results[0]
	wantCode(t, again, ledger.CodeBundleRejected)
	for i, in := range again.Inner {
		wantCode(t, in, ledger.CodeDuplicate)
		_ = i
	}
}

func TestBundlePartialAndCheck(t *testing.T) {
	f := newFixture(t)
	bank := f.a.Key("bank-a")
	good := f.a.Evidence(bank, f.now, rec("LOAN-A", 1, crypto.Hash{}, "a"))
	clash := f.a.Evidence(bank, f.now+1, rec("LOAN-A", 1, crypto.Hash{}, "a2")) // same chain, step 1 again
	notary := f.a.Evidence(f.a.Key("notary"), f.now, rec("LOAN-N", 1, crypto.Hash{}, "n"))
	b, err := ledger.EncodeBundle([][]byte{good, clash, notary})
	if err != nil {
		t.Fatal(err)
	}
	// Check sees inner txs in order: the clash is caught against the first.
	res, err := f.l.Check(f.st, b, f.now+int64(1e9))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res, ledger.CodeOK) // at least one inner tx is acceptable: the mempool keeps it
	wantCodes := []ledger.Code{ledger.CodeOK, ledger.CodeChainStep, ledger.CodeRoleNotAllowed}
	for i, w := range wantCodes {
		wantCode(t, res.Inner[i], w)
		if res.Inner[i].Index != 0 {
			t.Fatalf("Check set inner index %d", res.Inner[i].Index)
		}
	}
	// Apply accepts the good one and reports the bundle as partly rejected.
	r := f.block(b).Results[0]
	wantCode(t, r, ledger.CodeBundleRejected)
	if r.Accepted() != 1 {
		t.Fatalf("accepted %d inner txs, want 1", r.Accepted())
	}
	// All rejected: Check answers bundle_rejected.
	res, err = f.l.Check(f.st, b, f.now+int64(1e9))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res, ledger.CodeBundleRejected)
}

func TestDecodeBundleRejects(t *testing.T) {
	f := newFixture(t)
	tx := f.a.Evidence(f.a.Key("bank-a"), f.now, rec("LOAN-X", 1, crypto.Hash{}, "x"))
	good, err := ledger.EncodeBundle([][]byte{tx})
	if err != nil {
		t.Fatal(err)
	}
	nested := append([]byte{ledger.BundleFormat, 0, 1, 0, 0, 0, byte(len(good))}, good...)
	cases := []struct {
		name string
		b    []byte
		code ledger.Code
	}{
		{"empty", nil, ledger.CodeMalformed},
		{"not a bundle", tx, ledger.CodeMalformed},
		{"no count", []byte{ledger.BundleFormat, 0}, ledger.CodeMalformed},
		{"zero count", []byte{ledger.BundleFormat, 0, 0}, ledger.CodeMalformed},
		{"too many", []byte{ledger.BundleFormat, 0xff, 0xff}, ledger.CodeTooLarge},
		{"truncated", good[:len(good)-1], ledger.CodeMalformed},
		{"trailing", append(bytes.Clone(good), 0), ledger.CodeMalformed},
		{"nested", nested, ledger.CodeMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ledger.DecodeBundle(c.b)
			var re *ledger.RejectError
			if !errors.As(err, &re) || re.Code != c.code {
				t.Fatalf("DecodeBundle = %v, want code %s", err, c.code)
			}
		})
	}
	if _, err := ledger.EncodeBundle(nil); err == nil {
		t.Fatal("EncodeBundle(nil) succeeded")
	}
	if _, err := ledger.EncodeBundle([][]byte{good}); err == nil {
		t.Fatal("EncodeBundle accepted a nested bundle")
	}
	// Apply turns a malformed bundle into a rejection, not an error.
	wantCode(t, f.one(good[:len(good)-1]), ledger.CodeMalformed)
}

// TestOverclaimingBundleCostsLittle (finding F6): decoders check that the
// bytes hold what a count claims before allocating for it. A bundle header
// claiming 4,096 transactions in 3 bytes, and a 348 KB bundle of batches
// each claiming 10,000 records (which once cost about 190 MB), are refused
// for a few bytes per byte of input.
func TestOverclaimingBundleCostsLittle(t *testing.T) {
	f := newFixture(t)
	header := []byte{ledger.BundleFormat, ledger.MaxBundleTxs >> 8, ledger.MaxBundleTxs & 0xff}
	if n := allocated(4<<10, func() { _, _ = ledger.DecodeBundle(header) }); n > 4<<10 {
		t.Errorf("DecodeBundle of a 3-byte header claiming %d transactions allocated %d bytes, want < 4 KiB", ledger.MaxBundleTxs, n)
	}
	b := ledgertest.OverclaimingBundle(chainID, f.a.Key("bank-a").Public().ID(), f.now)
	var res ledger.TxResult
	var err error
	n := allocated(4<<20, func() { res, err = f.l.Check(f.st, b, f.now) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Check of a %d-byte bundle of %d batches each claiming %d records: %d bytes allocated", len(b), ledger.MaxBundleTxs, ledger.MaxBatchRecords, n)
	if n > 4<<20 {
		t.Errorf("Check allocated %d bytes for a %d-byte bundle, want < 4 MiB", n, len(b))
	}
	if res.Code != ledger.CodeBundleRejected || len(res.Inner) != ledger.MaxBundleTxs || res.Inner[0].Code != ledger.CodeMalformed {
		t.Fatalf("Check = %s with %d inner results, want bundle_rejected with %d malformed ones", res.Code, len(res.Inner), ledger.MaxBundleTxs)
	}
}

func FuzzDecodeBundle(f *testing.F) {
	for _, tx := range sampleTxs(f) {
		b, err := ledger.EncodeBundle([][]byte{tx, tx})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{ledger.BundleFormat, 0, 1, 0, 0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		txs, err := ledger.DecodeBundle(b)
		if err != nil {
			return
		}
		again, err := ledger.EncodeBundle(txs)
		if err != nil {
			t.Fatalf("decoded bundle does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("bundle round trip differs:\n%x\n%x", b, again)
		}
	})
}

// TestBundleRefusesCheckpoint: a bundle carries members' transactions only.
// A valid checkpoint inside one is refused (proposer_only) by Check and by
// Apply alike, and trusts nothing; the same checkpoint alone is accepted.
func TestBundleRefusesCheckpoint(t *testing.T) {
	f := newFixture(t)
	f.advanceTo(3)
	cp := checkpointTx(t, chainID, 1, f.cosign(f.text(1), quorum...))
	ev := f.a.Evidence(f.a.Key("bank-a"), f.now, rec("LOAN-BC", 1, crypto.Hash{}, "bc"))
	b, err := ledger.EncodeBundle([][]byte{ev, cp})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.l.Check(f.st, b, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Inner) != 2 || res.Inner[0].Code != ledger.CodeOK || res.Inner[1].Code != ledger.CodeProposerOnly {
		t.Fatalf("Check: %+v", res)
	}
	out := f.block(b)
	r := out.Results[0]
	if r.Code != ledger.CodeBundleRejected || r.Inner[1].Code != ledger.CodeProposerOnly || !strings.Contains(r.Inner[1].Log, "bundle") {
		t.Fatalf("Apply: %+v", r)
	}
	if _, err := f.view().LatestCheckpoint(); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("a checkpoint in a bundle was trusted: %v", err)
	}
	wantCode(t, f.block(cp).Results[0], ledger.CodeCheckpoint) // now at the wrong height: it was for block 3
}
