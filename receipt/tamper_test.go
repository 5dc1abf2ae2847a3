package receipt_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// TestTamperEveryByte flips every byte of the leaf, of each proof hash, of
// the checkpoint text, of each signature and public key and of the
// original, and checks that verification fails at the step that checks
// that part.
func TestTamperEveryByte(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	roster := f.roster(t)
	good := f.receipt(t, ledger.RecordRef{Index: 6})
	if rep := f.verify(good, roster, 0); !rep.OK {
		t.Fatalf("the untampered receipt does not verify: %+v", rep)
	}
	// flips is how many tampered receipts each part produced; every part
	// must produce at least one.
	flips := map[string]int{}
	check := func(part string, i int, r *receipt.Receipt, file []byte, want string) {
		t.Helper()
		flips[part]++
		rep := receipt.Verify(r, roster, receipt.VerifyOptions{File: bytes.NewReader(file), Salt: f.salts[0]})
		if rep.OK || rep.FailedStep != want {
			t.Errorf("%s byte %d flipped: ok=%v failed at %q, want %q", part, i, rep.OK, rep.FailedStep, want)
		}
	}

	for i := range good.Leaf {
		r := clone(t, good)
		r.Leaf[i] ^= 1
		check("leaf", i, r, f.originals[0], receipt.StepRecord)
	}
	for p := range good.InclusionProof {
		for i := range good.InclusionProof[p] {
			r := clone(t, good)
			r.InclusionProof[p][i] ^= 1
			check(fmt.Sprintf("proof[%d]", p), i, r, f.originals[0], receipt.StepInclusion)
		}
	}
	for i := range len(good.Checkpoint) {
		r := clone(t, good)
		b := []byte(r.Checkpoint)
		b[i] ^= 1
		r.Checkpoint = string(b)
		check("checkpoint", i, r, f.originals[0], checkpointStep(good, b))
	}
	for s := range good.Signatures {
		for i := range good.Signatures[s].Signature {
			r := clone(t, good)
			r.Signatures[s].Signature[i] ^= 1
			check(fmt.Sprintf("signature[%d]", s), i, r, f.originals[0], receipt.StepSignatures)
		}
		for i := range len(good.Signatures[s].PublicKey) {
			r := clone(t, good)
			b := []byte(r.Signatures[s].PublicKey)
			b[i] ^= 1
			r.Signatures[s].PublicKey = string(b)
			check(fmt.Sprintf("public_key[%d]", s), i, r, f.originals[0], receipt.StepSignatures)
		}
	}
	for i := range f.originals[0] {
		file := bytes.Clone(f.originals[0])
		file[i] ^= 1
		check("file", i, good, file, receipt.StepFile)
	}
	check("file", -1, good, f.originals[0][:len(f.originals[0])-1], receipt.StepFile)
	check("file", -1, good, append(bytes.Clone(f.originals[0]), 0), receipt.StepFile)

	for _, part := range []string{"leaf", "proof[0]", "checkpoint", "signature[3]", "public_key[3]", "file"} {
		if flips[part] == 0 {
			t.Errorf("no %s byte was flipped", part)
		}
	}
	if len(good.InclusionProof) != 3 {
		t.Errorf("the inclusion proof of entry 6 in a tree of 8 has %d hashes, want 3", len(good.InclusionProof))
	}
}

// checkpointStep predicts where a tampered checkpoint text fails: at the
// checkpoint step if it no longer parses or names another chain or size,
// at the inclusion step if its root changed, else (height or time changed)
// at the signatures step.
func checkpointStep(good *receipt.Receipt, text []byte) string {
	cp, err := ledger.ParseCheckpoint(text)
	if err != nil || cp.ChainID != good.ChainID || cp.Size != good.TreeSize {
		return receipt.StepCheckpoint
	}
	orig, _ := ledger.ParseCheckpoint([]byte(good.Checkpoint))
	if cp.Root != orig.Root {
		return receipt.StepInclusion
	}
	return receipt.StepSignatures
}

// TestTamperFields changes one field of the receipt, the roster or the
// inputs at a time.
func TestTamperFields(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	other := newFixture(t, fixtureOptions{seed: 1})
	roster := f.roster(t)
	good := f.receipt(t, ledger.RecordRef{Index: 6})

	// rekeyed returns the roster with member's first key replaced by an
	// outsider's.
	rekeyed := func(member string) *ledger.Roster {
		r := f.roster(t)
		r.Members[memberIndex(r, member)].Keys[0] = hexKey(f.a.Outsider.Public())
		return r
	}
	digestOf := func(r *ledger.Roster) crypto.Hash {
		d, err := r.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name   string
		mutate func(r *receipt.Receipt)
		roster *ledger.Roster
		file   []byte // original given to Verify; nil for f.originals[0]
		salt   []byte // nil for f.salts[0]
		want   string
		detail string
	}{
		{"wrong roster", nil, other.roster(t), nil, nil, receipt.StepRoster, "digest"},
		{"roster of another chain", nil, func() *ledger.Roster { r := f.roster(t); r.ChainID = "other"; return r }(), nil, nil, receipt.StepRoster, `the roster is of chain "other"`},
		{"roster with another key for a member", nil, rekeyed("bank-a"), nil, nil, receipt.StepRoster, "digest"},
		{"submitter rekeyed, digest forged", func(r *receipt.Receipt) { r.RosterDigest = digestOf(rekeyed("bank-a")) }, rekeyed("bank-a"), nil, nil, receipt.StepRecord, "no member of the roster holds"},
		{"signer rekeyed, digest forged", func(r *receipt.Receipt) { r.RosterDigest = digestOf(rekeyed("notary")) }, rekeyed("notary"), nil, nil, receipt.StepSignatures, `"notary": public_key is not the member key`},
		{"submitter demoted, digest forged", func(r *receipt.Receipt) {
			rr := f.roster(t)
			rr.Members[memberIndex(rr, "bank-a")].Role = ledger.RoleNotary
			r.RosterDigest = digestOf(rr)
		}, func() *ledger.Roster {
			rr := f.roster(t)
			rr.Members[memberIndex(rr, "bank-a")].Role = ledger.RoleNotary
			return rr
		}(), nil, nil, receipt.StepRecord, "only banks submit evidence"},
		{"roster digest", func(r *receipt.Receipt) { r.RosterDigest[0] ^= 1 }, nil, nil, nil, receipt.StepRoster, "digest"},
		{"chain id", func(r *receipt.Receipt) { r.ChainID = "other" }, nil, nil, nil, receipt.StepRoster, "chain"},
		{"version", func(r *receipt.Receipt) { r.Version = 2 }, nil, nil, nil, receipt.StepRoster, "version 2"},
		{"another file", nil, nil, []byte("another file"), nil, receipt.StepFile, "not the record's commitment"},
		{"wrong salt", nil, nil, nil, make([]byte, 32), receipt.StepFile, "not the record's commitment"},
		{"no salt", nil, nil, nil, []byte{}, receipt.StepFile, "no salt: pass the sidecar FILE.evidence.json or --salt"},
		{"commitment", func(r *receipt.Receipt) { r.Record.Commitment[31] ^= 1 }, nil, nil, nil, receipt.StepFile, "not the record's commitment"},
		{"size", func(r *receipt.Receipt) { r.Record.Size++ }, nil, nil, nil, receipt.StepFile, "the file is 98 bytes, but the record says 99"},
		{"kind", func(r *receipt.Receipt) { r.Record.Kind = "deed" }, nil, nil, nil, receipt.StepRecord, "differs from the record in the leaf in: kind"},
		{"chain", func(r *receipt.Receipt) { r.Record.Chain = "LOAN-2026-000009" }, nil, nil, nil, receipt.StepRecord, "in: chain"},
		{"step", func(r *receipt.Receipt) { r.Record.Step = 2 }, nil, nil, nil, receipt.StepRecord, "in: step"},
		{"prev", func(r *receipt.Receipt) { r.Record.Prev[0] = 1 }, nil, nil, nil, receipt.StepRecord, "in: prev"},
		{"cipher", func(r *receipt.Receipt) { h := crypto.SM3(); r.Record.Cipher = &h }, nil, nil, nil, receipt.StepRecord, "in: cipher"},
		{"labels", func(r *receipt.Receipt) { r.Record.Labels["product"] = "mortgage" }, nil, nil, nil, receipt.StepRecord, "in: labels"},
		{"labels removed", func(r *receipt.Receipt) { r.Record.Labels = nil }, nil, nil, nil, receipt.StepRecord, "in: labels"},
		{"submitter", func(r *receipt.Receipt) { r.Record.Submitter = "bank-b" }, nil, nil, nil, receipt.StepRecord, "in: submitter"},
		{"submitter key", func(r *receipt.Receipt) { r.Record.SubmitterKey[0] ^= 1 }, nil, nil, nil, receipt.StepRecord, "in: submitter_key"},
		{"tx id", func(r *receipt.Receipt) { r.Record.TxID[0] ^= 1 }, nil, nil, nil, receipt.StepRecord, "in: tx_id"},
		{"height", func(r *receipt.Receipt) { r.Record.Height = 2 }, nil, nil, nil, receipt.StepRecord, "in: height"},
		{"time", func(r *receipt.Receipt) { r.Record.Time = r.Record.Time.Add(time.Nanosecond) }, nil, nil, nil, receipt.StepRecord, "in: time"},
		{"client time", func(r *receipt.Receipt) { r.Record.ClientTime = r.Record.ClientTime.Add(-time.Hour) }, nil, nil, nil, receipt.StepRecord, "in: client_time"},
		{"type", func(r *receipt.Receipt) { r.Record.Type = "batch" }, nil, nil, nil, receipt.StepRecord, "in: type"},
		{"position", func(r *receipt.Receipt) { r.Record.Pos = 1 }, nil, nil, nil, receipt.StepRecord, "no record at position 1"},
		{"leaf of another entry", func(r *receipt.Receipt) { r.Leaf = f.receipt(t, ledger.RecordRef{Index: 7}).Leaf }, nil, nil, nil, receipt.StepRecord, "differs"},
		{"empty leaf", func(r *receipt.Receipt) { r.Leaf = nil }, nil, nil, nil, receipt.StepRecord, "not a log entry"},
		{"tree size", func(r *receipt.Receipt) { r.TreeSize = 9 }, nil, nil, nil, receipt.StepCheckpoint, "tree size 8, but the receipt says 9"},
		{"checkpoint of another chain", func(r *receipt.Receipt) {
			r.Checkpoint = strings.Replace(r.Checkpoint, testChain, "other", 1)
		}, nil, nil, nil, receipt.StepCheckpoint, `of chain "other"`},
		{"leaf index", func(r *receipt.Receipt) { r.LeafIndex = 7 }, nil, nil, nil, receipt.StepInclusion, "does not lead"},
		{"leaf index outside", func(r *receipt.Receipt) { r.LeafIndex = 8 }, nil, nil, nil, receipt.StepInclusion, "not inside the tree"},
		{"truncated proof", func(r *receipt.Receipt) { r.InclusionProof = r.InclusionProof[:2] }, nil, nil, nil, receipt.StepInclusion, "2 hashes, want 3"},
		{"extended proof", func(r *receipt.Receipt) { r.InclusionProof = append(r.InclusionProof, r.InclusionProof[0]) }, nil, nil, nil, receipt.StepInclusion, "does not lead"},
		{"short proof hash", func(r *receipt.Receipt) { r.InclusionProof[1] = r.InclusionProof[1][:31] }, nil, nil, nil, receipt.StepInclusion, "does not lead"},
		{"signature removed", func(r *receipt.Receipt) { r.Signatures = r.Signatures[1:] }, nil, nil, nil, receipt.StepSignatures, "30 of 50"},
		{"signature member renamed", func(r *receipt.Receipt) { r.Signatures[0].Member = "court" }, nil, nil, nil, receipt.StepSignatures, `"court": public_key is not the member key`},
	}
	wantReason := map[string]string{
		"roster digest":      receipt.ReasonRosterDigest,
		"chain id":           receipt.ReasonRosterChain,
		"version":            receipt.ReasonVersion,
		"another file":       receipt.ReasonCommitment,
		"no salt":            receipt.ReasonNoSalt,
		"size":               receipt.ReasonSize,
		"kind":               receipt.ReasonRecordDiffers,
		"position":           receipt.ReasonLeaf,
		"tree size":          receipt.ReasonTreeSize,
		"leaf index":         receipt.ReasonInclusion,
		"leaf index outside": receipt.ReasonLeafIndex,
		"signature removed":  receipt.ReasonNotTrusted,
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := clone(t, good)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			roster := roster
			if tc.roster != nil {
				roster = tc.roster
			}
			file, salt := f.originals[0], f.salts[0]
			if tc.file != nil {
				file = tc.file
			}
			if tc.salt != nil {
				salt = tc.salt
			}
			rep := receipt.Verify(r, roster, receipt.VerifyOptions{File: bytes.NewReader(file), Salt: salt})
			if rep.OK || rep.FailedStep != tc.want {
				t.Fatalf("ok=%v failed at %q, want %q: %+v", rep.OK, rep.FailedStep, tc.want, rep)
			}
			var failed receipt.Step
			for i, s := range rep.Steps {
				if s.Name != receipt.Steps()[i] {
					t.Errorf("step %d is %q, want %q", i, s.Name, receipt.Steps()[i])
				}
				if s.Name == tc.want {
					failed = s
				}
			}
			if !strings.Contains(failed.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", failed.Detail, tc.detail)
			}
			// The reason, for programs and translations, names the failure.
			if want, ok := wantReason[tc.name]; ok && failed.Reason != want {
				t.Errorf("reason %q, want %q", failed.Reason, want)
			}
			if failed.Reason == "" {
				t.Errorf("the failed step has no reason: %+v", failed)
			}
			after := false
			for _, s := range rep.Steps {
				if after && (!s.Skipped || s.OK || s.Reason != receipt.ReasonAfterFailure || s.Facts["step"] != tc.want) {
					t.Errorf("step %s after the failure ran, or does not say why not: %+v", s.Name, s)
				}
				after = after || s.Name == tc.want
			}
		})
	}
}
