package receipt_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

func checkpointFile(t *testing.T, f *fixture, height uint64) *receipt.CheckpointFile {
	t.Helper()
	sc, err := f.view.SignedCheckpoint(height)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := receipt.NewCheckpointFile(f.view, sc)
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func TestVerifyConsistency(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	fork := newFixture(t, fixtureOptions{fork: true}) // same members and keys, entry 6 rewritten
	roster := f.roster(t)
	old, newer := checkpointFile(t, f, 1), checkpointFile(t, f, 4)
	forked := checkpointFile(t, fork, 4)
	if old.TreeSize != 8 || newer.TreeSize != 9 || forked.TreeSize != 9 || forked.Root == newer.Root {
		t.Fatalf("fixture: sizes %d %d %d", old.TreeSize, newer.TreeSize, forked.TreeSize)
	}
	proof, err := f.view.ConsistencyProof(8, 9)
	if err != nil {
		t.Fatal(err)
	}
	forkProof, err := fork.view.ConsistencyProof(8, 9)
	if err != nil {
		t.Fatal(err)
	}
	// The old receipt's checkpoint stands in for old.
	rc := f.receipt(t, ledger.RecordRef{Index: 6})
	b, err := json.Marshal(rc)
	if err != nil {
		t.Fatal(err)
	}
	fromReceipt, err := receipt.ParseCheckpointFile(b)
	if err != nil {
		t.Fatal(err)
	}
	untrusted := *newer
	untrusted.Signatures = newer.Signatures[:3]
	lying := *newer
	lying.TreeSize = 10
	tamperedProof := [][]byte{append([]byte(nil), proof[0]...)}
	tamperedProof[0][0] ^= 1

	tests := []struct {
		name       string
		old, newer *receipt.CheckpointFile
		proof      [][]byte
		want       error
	}{
		{"extends", old, newer, proof, nil},
		{"old receipt", fromReceipt, newer, proof, nil},
		{"same checkpoint", old, old, nil, nil},
		{"rewritten history", old, forked, forkProof, receipt.ErrInconsistent},
		{"rewritten history, honest proof", old, forked, proof, receipt.ErrInconsistent},
		{"rewritten history, both forked", checkpointFile(t, fork, 1), forked, forkProof, nil},
		{"swapped", newer, old, proof, receipt.ErrInconsistent},
		{"tampered proof", old, newer, tamperedProof, receipt.ErrInconsistent},
		{"no proof", old, newer, nil, receipt.ErrInconsistent},
		{"newer untrusted", old, &untrusted, proof, receipt.ErrUntrusted},
		{"fields disagree with the text", old, &lying, proof, receipt.ErrUntrusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := receipt.VerifyConsistency(tc.old, tc.newer, tc.proof, roster)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// A fork is only possible with the members' signatures; the roster of
	// another alliance trusts neither.
	other := newFixture(t, fixtureOptions{seed: 1}).roster(t)
	if err := receipt.VerifyConsistency(old, newer, proof, other); !errors.Is(err, receipt.ErrUntrusted) {
		t.Errorf("another alliance's roster: err = %v, want ErrUntrusted", err)
	}
}

func TestParseCheckpointFile(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	cf := checkpointFile(t, f, 4)
	b, err := json.Marshal(cf)
	if err != nil {
		t.Fatal(err)
	}
	back, err := receipt.ParseCheckpointFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Checkpoint != cf.Checkpoint || back.Height != 4 || back.TreeSize != 9 || len(back.Signatures) != 4 {
		t.Errorf("round trip: %+v", back)
	}
	if _, err := receipt.ParseCheckpointFile(append(b[:len(b)-1], []byte(`,"x":1}`)...)); !errors.Is(err, receipt.ErrMalformed) {
		t.Errorf("unknown field: err = %v", err)
	}
	if _, err := receipt.VerifyCheckpoint(back, f.roster(t)); err != nil {
		t.Errorf("VerifyCheckpoint: %v", err)
	}
}
