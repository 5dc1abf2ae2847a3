package receipt_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
	"github.com/evidenced/evidenced/tsa"
)

// Receipts carry trusted time: the RFC 3161 token of the first stamped
// checkpoint covering the record (receipt.Time), checked by the time step.

// timeFixture is a fixture whose genesis trusts three development TSAs:
// tsa-ec (ECDSA P-256, SHA-256 imprints), tsa-old (SM2, its certificates
// expire three hours after it was made, an hour before genesis) and tsa-sm2
// (SM2, SM3 imprints).
type timeFixture struct {
	*fixture
	ec, old, sm2 *tsa.Authority
}

func newTimeFixture(t testing.TB) *timeFixture {
	t.Helper()
	t0 := time.Unix(0, ledgertest.GenesisTime).Add(-time.Hour)
	mk := func(kind tsa.KeyKind, name string, validity time.Duration) *tsa.Authority {
		a, err := tsa.NewAuthority(kind, name, t0, validity)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tf := &timeFixture{ec: mk(tsa.ECDSAP256, "tsa-ec", 365*24*time.Hour), old: mk(tsa.SM2, "tsa-old", 3*time.Hour), sm2: mk(tsa.SM2, "tsa-sm2", 365*24*time.Hour)}
	tf.fixture = newFixture(t, fixtureOptions{tsas: []ledger.GenesisTSA{
		ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-ec", Cert: tf.ec.Certificate(), Hashes: []string{ledger.HashSHA256}}),
		ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-old", Cert: tf.old.Certificate(), Hashes: []string{ledger.HashSM3}}),
		ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-sm2", Cert: tf.sm2.Certificate(), Hashes: []string{ledger.HashSM3}}),
	}})
	return tf
}

// token returns a's token over the text of the trusted checkpoint of
// height, stamped at its block time plus after.
func (f *timeFixture) token(t testing.TB, a *tsa.Authority, h tsa.HashAlg, height int64, after time.Duration) []byte {
	t.Helper()
	cp, err := f.view.SignedCheckpoint(uint64(height))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ledgertest.Stamp(a, h, cp.Text, big.NewInt(height+1000), cp.Checkpoint.Time.Add(after))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// stamp commits a timestamp transaction for the checkpoint of height.
func (f *timeFixture) stamp(t testing.TB, height int64, name string, a *tsa.Authority, h tsa.HashAlg) {
	t.Helper()
	tok := f.token(t, a, h, height, 2*time.Second)
	now := ledgertest.GenesisTime + (f.height+1)*int64(time.Second)
	f.apply(t, now, f.a.Sign(f.a.Key("court"), &ledger.Body{ChainID: testChain, Time: now - int64(time.Millisecond),
		Payload: &ledger.Timestamp{Height: height, TSA: name, Token: tok}}))
}

// The fixture's trusted checkpoints: height 1 (tree size 8, entries 6
// and 7) and height 4 (tree size 9, entry 8).
const cpHeight1, cpHeight4 = 1, 4

func TestReceiptTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stamp   func(t *testing.T, f *timeFixture)
		ref     ledger.RecordRef
		tsa     string
		hash    string
		size    uint64 // the stamped checkpoint's tree size; 0 when the receipt has no time
		hashes  int    // of the consistency proof
		genTime time.Time
	}{
		{name: "no TSA has stamped yet", stamp: func(*testing.T, *timeFixture) {}, ref: ledger.RecordRef{Index: 6}},
		{name: "ECDSA token over the receipt's own checkpoint",
			stamp: func(t *testing.T, f *timeFixture) { f.stamp(t, cpHeight1, "tsa-ec", f.ec, tsa.SHA256) },
			ref:   ledger.RecordRef{Index: 7, Pos: 1}, tsa: "tsa-ec", hash: "sha256", size: 8, hashes: 0,
			genTime: time.Unix(0, ledgertest.GenesisTime).Add(3 * time.Second)},
		{name: "SM2 token over a later checkpoint, through a consistency proof",
			stamp: func(t *testing.T, f *timeFixture) { f.stamp(t, cpHeight4, "tsa-sm2", f.sm2, tsa.SM3) },
			ref:   ledger.RecordRef{Index: 6}, tsa: "tsa-sm2", hash: "sm3", size: 9, hashes: 1,
			genTime: time.Unix(0, ledgertest.GenesisTime).Add(6 * time.Second)},
		{name: "SM2 token over the record's own checkpoint after an earlier one was stamped",
			stamp: func(t *testing.T, f *timeFixture) {
				f.stamp(t, cpHeight1, "tsa-ec", f.ec, tsa.SHA256)
				f.stamp(t, cpHeight4, "tsa-sm2", f.sm2, tsa.SM3)
			},
			ref: ledger.RecordRef{Index: 8}, tsa: "tsa-sm2", hash: "sm3", size: 9, hashes: 0,
			genTime: time.Unix(0, ledgertest.GenesisTime).Add(6 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTimeFixture(t)
			tc.stamp(t, f)
			r := f.receipt(t, tc.ref)
			if tc.size == 0 {
				if r.Time != nil {
					t.Fatalf("time %+v, want none", r.Time)
				}
				b, _ := json.Marshal(r)
				if bytes.Contains(b, []byte(`"time":{`)) {
					t.Fatalf("a receipt without time has a time field: %s", b)
				}
			} else {
				if r.Time == nil || r.Time.TSA != tc.tsa || len(r.Time.ConsistencyProof) != tc.hashes || r.Time.ConsistencyProof == nil {
					t.Fatalf("time %+v, want TSA %s with %d proof hashes", r.Time, tc.tsa, tc.hashes)
				}
				cp, err := ledger.ParseCheckpoint([]byte(r.Time.Checkpoint))
				if err != nil || cp.Size != tc.size {
					t.Fatalf("stamped checkpoint %q (%v), want tree size %d", r.Time.Checkpoint, err, tc.size)
				}
				if tc.hashes == 0 && r.Time.Checkpoint != r.Checkpoint {
					t.Errorf("stamped checkpoint %q, want the receipt's %q", r.Time.Checkpoint, r.Checkpoint)
				}
			}
			rep := receipt.Verify(clone(t, r), f.roster(t), receipt.VerifyOptions{})
			st := stepOf(rep, receipt.StepTime)
			if !rep.OK || st == nil || len(rep.Steps) != len(receipt.Steps()) || rep.Steps[len(rep.Steps)-1].Name != receipt.StepTime {
				t.Fatalf("verify: %+v", rep)
			}
			if tc.size == 0 {
				if !st.Skipped || st.Reason != receipt.ReasonNoTime {
					t.Fatalf("time step %+v, want skipped no_time", st)
				}
				return
			}
			gen := tc.genTime.UTC().Format(time.RFC3339Nano)
			if !st.OK || st.Facts["tsa"] != tc.tsa || st.Facts["gen_time"] != gen || st.Facts["hash"] != tc.hash ||
				st.Facts["size"] != fmt.Sprint(tc.size) || !strings.HasPrefix(st.Facts["serial"], "0x") {
				t.Fatalf("time step %+v, want TSA %s at %s", st, tc.tsa, gen)
			}
			if want := "the record existed no later than " + gen + ", as TSA " + tc.tsa + " states"; !strings.HasPrefix(st.Detail, want) {
				t.Errorf("detail %q, want it to start %q", st.Detail, want)
			}
		})
	}
}

// TestReceiptTimeTamper: a receipt whose time was altered fails at the
// time step, with the reason that says what is wrong, every earlier step
// passing.
func TestReceiptTimeTamper(t *testing.T) {
	f := newTimeFixture(t)
	f.stamp(t, cpHeight4, "tsa-sm2", f.sm2, tsa.SM3)
	good := f.receipt(t, ledger.RecordRef{Index: 6}) // checkpoint of height 1, time over height 4
	if good.Time == nil || len(good.Time.ConsistencyProof) == 0 {
		t.Fatalf("time %+v", good.Time)
	}
	cp1, err := f.view.SignedCheckpoint(cpHeight1)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := tsa.NewAuthority(tsa.SM2, "tsa-sm2", time.Unix(0, ledgertest.GenesisTime).Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		if i < 0 {
			i += len(b)
		}
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name   string
		change func(tm *receipt.Time)
		reason string
	}{
		{"token: last byte (signature) changed", func(tm *receipt.Time) { tm.Token = flip(tm.Token, -1) }, receipt.ReasonTimeSignature},
		{"token: a byte of genTime changed", func(tm *receipt.Time) {
			i := bytes.Index(tm.Token, []byte("2026110100000"))
			if i < 0 {
				t.Fatal("no genTime in the token")
			}
			tm.Token = flip(tm.Token, i+12)
		}, receipt.ReasonTimeSignature},
		{"token: not DER", func(tm *receipt.Time) { tm.Token = []byte{0x30, 0x03, 0x02, 0x01, 0x01} }, receipt.ReasonTimeToken},
		{"token: by an untrusted TSA of the same name", func(tm *receipt.Time) { tm.Token = f.token(t, stranger, tsa.SM3, cpHeight4, time.Second) }, receipt.ReasonTimeUntrusted},
		{"token: another trusted TSA's, under this TSA's name", func(tm *receipt.Time) {
			tm.Token = f.token(t, f.ec, tsa.SHA256, cpHeight4, time.Second)
		}, receipt.ReasonTimeUntrusted},
		{"tsa: not in the roster", func(tm *receipt.Time) { tm.TSA = "tsa-none" }, receipt.ReasonTimeUntrusted},
		{"token: over another checkpoint", func(tm *receipt.Time) { tm.Token = f.token(t, f.sm2, tsa.SM3, cpHeight1, time.Second) }, receipt.ReasonTimeImprint},
		{"token: a hash the roster does not allow the TSA", func(tm *receipt.Time) {
			tm.TSA, tm.Token = "tsa-ec", f.token(t, f.ec, tsa.SM3, cpHeight4, time.Second)
		}, receipt.ReasonTimeImprint},
		{"token: the TSA's certificate expired by genTime", func(tm *receipt.Time) {
			tm.TSA, tm.Token = "tsa-old", f.token(t, f.old, tsa.SM3, cpHeight4, 3*time.Hour)
		}, receipt.ReasonTimeExpired},
		{"consistency proof: a hash changed", func(tm *receipt.Time) { tm.ConsistencyProof[0] = flip(tm.ConsistencyProof[0], 5) }, receipt.ReasonTimeConsistency},
		{"consistency proof: removed", func(tm *receipt.Time) { tm.ConsistencyProof = [][]byte{} }, receipt.ReasonTimeConsistency},
		{"checkpoint: the receipt's, with the proof", func(tm *receipt.Time) { tm.Checkpoint = string(cp1.Text) }, receipt.ReasonTimeConsistency},
		{"checkpoint: another root", func(tm *receipt.Time) {
			lines := strings.Split(tm.Checkpoint, "\n")
			lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			tm.Checkpoint = strings.Join(lines, "\n")
		}, receipt.ReasonTimeConsistency},
		{"checkpoint: another chain", func(tm *receipt.Time) {
			tm.Checkpoint = strings.Replace(tm.Checkpoint, "evidenced/"+testChain, "evidenced/other-chain", 1)
		}, receipt.ReasonTimeCheckpoint},
		{"checkpoint: not canonical", func(tm *receipt.Time) { tm.Checkpoint = strings.TrimSuffix(tm.Checkpoint, "\n") }, receipt.ReasonTimeCheckpoint},
		{"checkpoint: a tree without the record", func(tm *receipt.Time) {
			tm.Checkpoint = strings.Replace(tm.Checkpoint, "\n9\n", "\n6\n", 1)
		}, receipt.ReasonTimeCheckpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := clone(t, good)
			tc.change(r.Time)
			rep := receipt.Verify(clone(t, r), f.roster(t), receipt.VerifyOptions{})
			st := stepOf(rep, receipt.StepTime)
			if rep.OK || rep.FailedStep != receipt.StepTime || st == nil || st.Reason != tc.reason {
				t.Fatalf("failed step %q, time step %+v, want it failed with %s", rep.FailedStep, st, tc.reason)
			}
			for _, s := range rep.Steps[:len(rep.Steps)-1] {
				if !s.OK && !s.Skipped {
					t.Errorf("step %s failed: %+v", s.Name, s)
				}
			}
			if st.Facts["tsa"] != r.Time.TSA || st.Detail == "" {
				t.Errorf("time step facts %v, detail %q", st.Facts, st.Detail)
			}
		})
	}
}

// TestReceiptTimeEarlierStamp: a receipt whose checkpoint is later than
// the stamped one (as BuildFrom makes for a verifier holding a later
// roster) carries a proof from the stamped tree to its own, and verifies.
func TestReceiptTimeEarlierStamp(t *testing.T) {
	f := newTimeFixture(t)
	f.stamp(t, cpHeight1, "tsa-ec", f.ec, tsa.SHA256)
	r := f.receipt(t, ledger.RecordRef{Index: 6})
	later := f.receipt(t, ledger.RecordRef{Index: 8}) // the checkpoint of height 4, tree size 9
	r.TreeSize, r.Checkpoint, r.Signatures = later.TreeSize, later.Checkpoint, later.Signatures
	var err error
	if r.InclusionProof, err = f.view.InclusionProof(6, 9); err != nil {
		t.Fatal(err)
	}
	if r.Time.ConsistencyProof, err = f.view.ConsistencyProof(8, 9); err != nil {
		t.Fatal(err)
	}
	rep := receipt.Verify(clone(t, r), f.roster(t), receipt.VerifyOptions{})
	if st := stepOf(rep, receipt.StepTime); !rep.OK || !st.OK || st.Facts["size"] != "8" {
		t.Fatalf("verify: %+v", rep)
	}
	r.Time.ConsistencyProof[0][0] ^= 1
	if rep := receipt.Verify(clone(t, r), f.roster(t), receipt.VerifyOptions{}); rep.FailedStep != receipt.StepTime || rep.Steps[7].Reason != receipt.ReasonTimeConsistency {
		t.Fatalf("a broken proof: %+v", rep.Steps[7])
	}
}

func TestParseTimeBounds(t *testing.T) {
	f := newTimeFixture(t)
	f.stamp(t, cpHeight4, "tsa-sm2", f.sm2, tsa.SM3)
	good := f.receipt(t, ledger.RecordRef{Index: 6})
	for _, tc := range []struct {
		name   string
		change func(tm *receipt.Time)
		want   string
	}{
		{"no TSA name", func(tm *receipt.Time) { tm.TSA = "" }, "time.tsa"},
		{"long TSA name", func(tm *receipt.Time) { tm.TSA = strings.Repeat("t", ledger.MaxTSANameLen+1) }, "time.tsa"},
		{"no token", func(tm *receipt.Time) { tm.Token = nil }, "time.token"},
		{"long token", func(tm *receipt.Time) { tm.Token = make([]byte, tsa.MaxTokenBytes+1) }, "time.token"},
		{"no checkpoint", func(tm *receipt.Time) { tm.Checkpoint = "" }, "time.checkpoint"},
		{"long checkpoint", func(tm *receipt.Time) { tm.Checkpoint = strings.Repeat("c", receipt.MaxCheckpointBytes+1) }, "time.checkpoint"},
		{"long proof", func(tm *receipt.Time) {
			tm.ConsistencyProof = make([][]byte, receipt.MaxTimeProofHashes+1)
			for i := range tm.ConsistencyProof {
				tm.ConsistencyProof[i] = make([]byte, 32)
			}
		}, "more than 64"},
		{"short hash", func(tm *receipt.Time) { tm.ConsistencyProof[0] = tm.ConsistencyProof[0][:31] }, "time.consistency_proof hash 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := clone(t, good)
			tc.change(r.Time)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := receipt.Parse(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	// An unknown field inside time is refused, as everywhere in a receipt.
	b, _ := json.Marshal(good)
	b = bytes.Replace(b, []byte(`"time":{`), []byte(`"time":{"extra":1,`), 1)
	if _, err := receipt.Parse(b); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("Parse with an unknown time field = %v", err)
	}
}

// TestReceiptTimeTSAAddedLater: a TSA added by governance stamps a
// checkpoint covering a record whose own checkpoint the genesis roster
// (which trusts no TSA) signed. The receipt from the genesis roster has no
// time (its verifier would not trust the TSA), the one from the roster
// that added the TSA has it, and a record after the change gets it with
// the roster path from genesis, whose end trusts the TSA.
func TestReceiptTimeTSAAddedLater(t *testing.T) {
	f := newPathFixture(t, 0)
	auth, err := tsa.NewAuthority(tsa.SM2, "tsa-later", time.Unix(0, ledgertest.GenesisTime).Add(-time.Hour), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	before := ledger.RecordRef{Index: 6} // covered by the checkpoint of height 1, signed by the genesis roster
	f.change(t, ledger.RosterChange{Kind: ledger.ChangeAddTSA, TSA: ledger.TSA{Name: "tsa-later", Cert: auth.Certificate(), Hashes: []string{ledger.HashSM3}}})
	s := "Loan contract LOAN-2026-LATER\n"
	salt := bytes.Repeat([]byte{9}, 32)
	out := f.block(t, f.a.Sign(f.keys["bank-a"], &ledger.Body{ChainID: testChain, Time: f.now() - int64(time.Millisecond),
		Payload: &ledger.Evidence{Record: ledger.Record{Kind: "loan-contract", Chain: "LOAN-2026-LATER", Step: 1, Commitment: crypto.SM3(salt, []byte(s)), Size: uint64(len(s))}}}))
	after := ledger.RecordRef{Index: out.Results[0].Index}
	f.attest(t)
	cp, err := f.view.LatestCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ledgertest.Stamp(auth, tsa.SM3, cp.Text, big.NewInt(1), cp.Checkpoint.Time.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	f.block(t, f.a.Sign(f.keys["court"], &ledger.Body{ChainID: testChain, Time: f.now(), Payload: &ledger.Timestamp{Height: cp.Checkpoint.Height, TSA: "tsa-later", Token: tok}}))
	genesis, _ := f.rosterVersion(t, 0)
	v1, d1 := f.rosterVersion(t, 1)

	for _, tc := range []struct {
		name     string
		ref      ledger.RecordRef
		from     *crypto.Hash // nil: Build, from genesis
		roster   *ledger.Roster
		withTime bool
	}{
		{"record before the TSA, from genesis", before, nil, genesis, false},
		{"record before the TSA, from the roster that added it", before, &d1, v1, true},
		{"record after the TSA, from genesis through the roster path", after, nil, genesis, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *receipt.Receipt
			var err error
			if tc.from == nil {
				r, err = receipt.Build(f.view, tc.ref)
			} else {
				r, err = receipt.BuildFrom(f.view, tc.ref, *tc.from)
			}
			if err != nil {
				t.Fatal(err)
			}
			if (r.Time != nil) != tc.withTime {
				t.Fatalf("time %+v, want one: %v", r.Time, tc.withTime)
			}
			rep := receipt.Verify(clone(t, r), tc.roster, receipt.VerifyOptions{})
			st := stepOf(rep, receipt.StepTime)
			if !rep.OK || st == nil || st.OK != tc.withTime || (!tc.withTime && st.Reason != receipt.ReasonNoTime) {
				t.Fatalf("verify: %+v", rep)
			}
			if tc.withTime && (st.Facts["tsa"] != "tsa-later" || st.Facts["height"] != fmt.Sprint(cp.Checkpoint.Height)) {
				t.Errorf("time step %+v", st)
			}
		})
	}
}
