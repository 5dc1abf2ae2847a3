package receipt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// verifyPath verifies r against roster with record k's original.
func (f *pathFixture) verifyPath(r *receipt.Receipt, roster *ledger.Roster, k int) *receipt.Report {
	return receipt.Verify(r, roster, receipt.VerifyOptions{File: bytes.NewReader(f.original[k]), Salt: f.salts[k]})
}

func stepOf(rep *receipt.Report, name string) *receipt.Step {
	for i := range rep.Steps {
		if rep.Steps[i].Name == name {
			return &rep.Steps[i]
		}
	}
	return nil
}

func TestRosterPath(t *testing.T) {
	f := newPathFixture(t, 3)
	genesis, gd := f.rosterVersion(t, 0)
	tests := []struct {
		name     string
		record   int    // index into f.records
		from     uint32 // the roster version the verifier holds
		steps    int
		path     string // the path the roster_path step names
		verifyAs uint32 // the roster version verified with
	}{
		{"1 change from genesis", 0, 0, 1, "genesis → v1 (add bank-c, entry ", 0},
		{"3 changes from genesis", 2, 0, 3, "genesis → v1 (add bank-c, entry ", 0},
		{"3 changes from version 1", 2, 1, 2, "v1 → v2 (rotate notary, entry ", 1},
		{"from the signing version", 2, 3, 0, "", 3},
		// A verifier holding a later roster of the path starts there.
		{"3 changes from genesis, verified with version 2", 2, 0, 3, "v2 → v3 (remove arbitration, entry ", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, fd := f.rosterVersion(t, tc.from)
			r, err := receipt.BuildFrom(f.view, f.records[tc.record], fd)
			if err != nil {
				t.Fatal(err)
			}
			if tc.from == 0 {
				b, err := receipt.Build(f.view, f.records[tc.record])
				if err != nil {
					t.Fatal(err)
				}
				if !sameMeaning(b, r, true) {
					t.Fatal("Build and BuildFrom the genesis digest differ")
				}
			}
			_, signing := f.rosterVersion(t, uint32(tc.record)+1)
			if r.RosterDigest != signing {
				t.Errorf("roster_digest %s, want version %d's %s", r.RosterDigest, tc.record+1, signing)
			}
			if tc.steps == 0 {
				if r.Version != receipt.Version || r.RosterPath != nil {
					t.Fatalf("version %d path %+v, want version 1 without a path", r.Version, r.RosterPath)
				}
			} else {
				if r.Version != receipt.VersionPath || r.RosterPath == nil || len(r.RosterPath.Steps) != tc.steps {
					t.Fatalf("version %d path %+v, want version 2 with %d steps", r.Version, r.RosterPath, tc.steps)
				}
				if r.RosterPath.FromVersion != tc.from || r.RosterPath.FromDigest != fd {
					t.Errorf("path from version %d digest %s, want %d %s", r.RosterPath.FromVersion, r.RosterPath.FromDigest, tc.from, fd)
				}
				for i, st := range r.RosterPath.Steps {
					rv, err := f.view.RosterVersion(tc.from + uint32(i) + 1)
					if err != nil {
						t.Fatal(err)
					}
					if st.Version != rv.Version || st.Digest != rv.Digest || st.LeafIndex != rv.Entry {
						t.Errorf("step %d: version %d digest %s entry %d, want %d %s %d", i+1, st.Version, st.Digest, st.LeafIndex, rv.Version, rv.Digest, rv.Entry)
					}
					if cp, _ := ledger.ParseCheckpoint([]byte(st.Checkpoint)); cp == nil || uint64(cp.Height) != rv.Attested {
						t.Errorf("step %d: checkpoint %q, want the one of height %d", i+1, st.Checkpoint, rv.Attested)
					}
				}
			}
			// Through JSON, as a verifier gets it.
			r = clone(t, r)
			roster, _ := f.rosterVersion(t, tc.verifyAs)
			rep := f.verifyPath(r, roster, tc.record)
			if !rep.OK {
				t.Fatalf("does not verify: %+v", rep)
			}
			ps := stepOf(rep, receipt.StepRosterPath)
			if tc.path == "" {
				if !ps.Skipped || ps.Reason != receipt.ReasonNoPath {
					t.Errorf("roster_path step %+v, want it skipped: no path", ps)
				}
			} else if !strings.HasPrefix(ps.Detail, tc.path) || !strings.Contains(ps.Facts["path"], tc.path) {
				t.Errorf("roster_path detail %q, want it to start %q", ps.Detail, tc.path)
			}
			if tc.name == "3 changes from genesis" {
				for _, c := range []string{"v2 (rotate notary", "v3 (remove arbitration", "by 40/50)", "by 50/60)"} {
					if !strings.Contains(ps.Detail, c) {
						t.Errorf("roster_path detail %q does not say %q", ps.Detail, c)
					}
				}
			}
			// The record is bank-c's, which the genesis roster does not have.
			if rs := stepOf(rep, receipt.StepRecord); rs.Facts["member"] != "bank-c" {
				t.Errorf("record step %+v, want bank-c", rs)
			}
			if tc.verifyAs != 0 && tc.steps > 0 {
				// The genesis roster is not on a path from version 1.
				if rep := f.verifyPath(r, genesis, tc.record); tc.from != 0 && (rep.OK || rep.FailedStep != receipt.StepRoster || rep.Steps[0].Reason != receipt.ReasonRosterDigest) {
					t.Errorf("from version %d, verified with the genesis roster: %+v", tc.from, rep)
				}
			}
		})
	}

	// A record whose first checkpoint was signed by the genesis roster.
	old := ledger.RecordRef{Index: 6}
	r, err := receipt.Build(f.view, old)
	if err != nil || r.Version != receipt.Version || r.RosterPath != nil || r.RosterDigest != gd {
		t.Fatalf("receipt of an old record: %+v, %v", r, err)
	}
	if rep := f.verify(r, genesis, 0); !rep.OK {
		t.Fatalf("receipt of an old record: %+v", rep)
	}
	// From version 3, it is proven in a checkpoint version 3 signed.
	v3, d3 := f.rosterVersion(t, 3)
	r, err = receipt.BuildFrom(f.view, old, d3)
	if err != nil || r.RosterPath != nil || r.RosterDigest != d3 || r.TreeSize <= 9 {
		t.Fatalf("receipt of an old record from version 3: %+v, %v", r, err)
	}
	if rep := f.verify(r, v3, 0); !rep.OK {
		t.Fatalf("receipt of an old record from version 3: %+v", rep)
	}
	// An unknown roster.
	if _, err := receipt.BuildFrom(f.view, old, crypto.SM3([]byte("no roster"))); !errors.Is(err, receipt.ErrUnknownRoster) {
		t.Fatalf("from an unknown roster: %v, want ErrUnknownRoster", err)
	}
}

// TestRosterPathTamper changes a receipt after 3 roster changes one way
// at a time; each fails at the step, with the reason, that checks it.
func TestRosterPathTamper(t *testing.T) {
	f := newPathFixture(t, 3)
	genesis, _ := f.rosterVersion(t, 0)
	good, err := receipt.Build(f.view, f.records[2])
	if err != nil {
		t.Fatal(err)
	}
	if rep := f.verifyPath(good, genesis, 2); !rep.OK {
		t.Fatalf("the untampered receipt does not verify: %+v", rep)
	}
	// A receipt of the record after version 1, which version 3's members
	// claim to have signed: a path from the future.
	early, err := receipt.Build(f.view, f.records[0])
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		mutate func(r *receipt.Receipt)
		step   string
		reason string
		facts  map[string]string
		detail string
	}{
		{"one co-signature altered", func(r *receipt.Receipt) { r.RosterPath.Steps[1].Signatures[2].Signature[10] ^= 1 },
			receipt.StepRosterPath, receipt.ReasonPathSignature, map[string]string{"change": "2", "version": "2", "power": "40", "total": "60"},
			"the SM2 signature does not verify"},
		{"a bad co-signature beside a quorum of good ones", func(r *receipt.Receipt) {
			// The good signatures still hold more than 2/3: a court must
			// not lean on a path that was altered all the same.
			bad := r.RosterPath.Steps[1].Signatures[0]
			bad.Signature = slices.Clone(bad.Signature)
			bad.Signature[10] ^= 1
			r.RosterPath.Steps[1].Signatures = append(r.RosterPath.Steps[1].Signatures, bad)
		}, receipt.StepRosterPath, receipt.ReasonPathSignature, map[string]string{"change": "2", "version": "2", "power": "50", "total": "60"},
			"the path was altered"},
		{"forged roster entry", func(r *receipt.Receipt) { forgeRoster(t, &r.RosterPath.Steps[1], f.a.Outsider.Public()) },
			receipt.StepRosterPath, receipt.ReasonPathInclusion, map[string]string{"change": "2", "version": "2"}, "is not in the checkpoint's tree"},
		{"inclusion proof altered", func(r *receipt.Receipt) { r.RosterPath.Steps[0].InclusionProof[0][0] ^= 1 },
			receipt.StepRosterPath, receipt.ReasonPathInclusion, map[string]string{"change": "1", "version": "1"}, "is not in the checkpoint's tree"},
		{"a step dropped", func(r *receipt.Receipt) {
			r.RosterPath.Steps = append(r.RosterPath.Steps[:1], r.RosterPath.Steps[2])
		}, receipt.StepRosterPath, receipt.ReasonPathLink, map[string]string{"change": "2", "version": "3", "want": "2"}, "a step is missing"},
		{"the last step dropped", func(r *receipt.Receipt) { r.RosterPath.Steps = r.RosterPath.Steps[:2] },
			receipt.StepRosterPath, receipt.ReasonPathLink, map[string]string{"version": "2"}, "the path is incomplete"},
		{"the first step dropped", func(r *receipt.Receipt) { r.RosterPath.Steps = r.RosterPath.Steps[1:] },
			receipt.StepRosterPath, receipt.ReasonPathLink, map[string]string{"change": "1", "version": "2", "want": "1"}, "a step is missing"},
		{"too little power", func(r *receipt.Receipt) { r.RosterPath.Steps[0].Signatures = r.RosterPath.Steps[0].Signatures[1:] },
			receipt.StepRosterPath, receipt.ReasonPathPower, map[string]string{"change": "1", "version": "1", "power": "30", "total": "50"},
			"30 of 50 voting power, not more than 2/3"},
		{"consistency proof altered", func(r *receipt.Receipt) { r.RosterPath.Steps[2].ConsistencyProof[0][31] ^= 1 },
			receipt.StepRosterPath, receipt.ReasonPathConsistency, map[string]string{"change": "3"}, "does not show the receipt's log"},
		{"a path from the future", func(r *receipt.Receipt) {
			path := r.RosterPath
			*r = *clone(t, early)
			r.RosterPath, r.RosterDigest = path, good.RosterDigest
			// Step 1 is before the receipt's checkpoint: its consistency
			// proof checks out.
			cons, err := f.view.ConsistencyProof(path.Steps[0].TreeSize, r.TreeSize)
			if err != nil {
				t.Fatal(err)
			}
			path.Steps[0].ConsistencyProof = cons
			r.Signatures = nil
			for _, name := range []string{"bank-a", "bank-b", "bank-c", "court"} {
				sig, err := f.keys[name].Sign(nil, []byte(r.Checkpoint))
				if err != nil {
					t.Fatal(err)
				}
				r.Signatures = append(r.Signatures, receipt.Signature{Member: name, PublicKey: hexKey(f.keys[name].Public()), Signature: sig})
			}
		}, receipt.StepRosterPath, receipt.ReasonPathOrder, map[string]string{"change": "2"}, "is not before the receipt's checkpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := clone(t, good)
			tc.mutate(r)
			rep := f.verifyPath(r, genesis, 2)
			if rep.OK || rep.FailedStep != tc.step {
				t.Fatalf("ok=%v failed at %q, want %q: %+v", rep.OK, rep.FailedStep, tc.step, rep)
			}
			st := stepOf(rep, tc.step)
			if st.Reason != tc.reason || !strings.Contains(st.Detail, tc.detail) {
				t.Errorf("reason %q detail %q, want %q saying %q", st.Reason, st.Detail, tc.reason, tc.detail)
			}
			for k, v := range tc.facts {
				if st.Facts[k] != v {
					t.Errorf("fact %s = %q, want %q (facts %v)", k, st.Facts[k], v, st.Facts)
				}
			}
			for _, s := range rep.Steps[len(rep.Steps)-1:] {
				if !s.Skipped || s.Reason != receipt.ReasonAfterFailure {
					t.Errorf("step %s after the failure: %+v", s.Name, s)
				}
			}
		})
	}
}

// forgeRoster replaces the roster of a path step's entry with one that
// gives key a seat, recomputing its digest.
func forgeRoster(t *testing.T, st *receipt.PathStep, key *crypto.PublicKey) {
	t.Helper()
	e, err := ledger.DecodeEntry(st.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.DecodeTx(e.TxBytes)
	if err != nil {
		t.Fatal(err)
	}
	upd := tx.Body.Payload.(*ledger.RosterUpdate)
	upd.Seats[0].Keys = []*crypto.PublicKey{key}
	upd.Seats[0].Power = 1000
	if upd.Digest, err = upd.Roster(tx.Body.ChainID).Digest(); err != nil {
		t.Fatal(err)
	}
	body, err := ledger.EncodeBody(&tx.Body)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ledger.EncodeTx(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.TxBytes = raw
	st.Leaf, st.Digest = e.Encode(), upd.Digest
}

// TestParseRosterPathBounds checks that Parse bounds the roster path.
func TestParseRosterPathBounds(t *testing.T) {
	f := newPathFixture(t, 1)
	r, err := receipt.Build(f.view, f.records[0])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(r *receipt.Receipt)
		want   string
	}{
		{"no steps", func(r *receipt.Receipt) { r.RosterPath.Steps = nil }, "roster_path has 0 steps"},
		{"too many steps", func(r *receipt.Receipt) {
			for len(r.RosterPath.Steps) <= receipt.MaxPathSteps {
				r.RosterPath.Steps = append(r.RosterPath.Steps, r.RosterPath.Steps[0])
			}
		}, "roster_path has 65 steps"},
		{"long proof", func(r *receipt.Receipt) {
			for len(r.RosterPath.Steps[0].ConsistencyProof) <= receipt.MaxProofHashes {
				r.RosterPath.Steps[0].ConsistencyProof = append(r.RosterPath.Steps[0].ConsistencyProof, make([]byte, 32))
			}
		}, "consistency_proof has 129 hashes"},
		{"short hash", func(r *receipt.Receipt) { r.RosterPath.Steps[0].InclusionProof[0] = []byte{1} }, "inclusion_proof hash 0 is 1 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := clone(t, r)
			tc.mutate(c)
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := receipt.Parse(b); !errors.Is(err, receipt.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed saying %q", err, tc.want)
			}
		})
	}
}
