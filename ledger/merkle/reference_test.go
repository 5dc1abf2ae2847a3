package merkle

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"testing"

	tdmerkle "github.com/transparency-dev/merkle"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/emmansun/gmsm/sm3"
)

// sweepSize is the largest tree size the reference sweeps cover: every
// index and every pair of sizes up to it (a smaller one in -short mode).
func sweepSize() int64 {
	if testing.Short() {
		return 70
	}
	return 300
}

// tlogReader adapts a HashReader to tlog's SHA-256 HashReader.
func tlogReader(tb testing.TB, r HashReader) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		hs, err := r.ReadHashes(indexes)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(hs))
		for i, h := range hs {
			if len(h) != tlog.HashSize {
				tb.Fatalf("stored hash %d is %d bytes", indexes[i], len(h))
			}
			copy(out[i][:], h)
		}
		return out, nil
	})
}

func tlogProof(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func TestStoredHashIndexMatchesTlog(t *testing.T) {
	for level := 0; level <= 20; level++ {
		for n := int64(0); n < 2000; n++ {
			got, want := StoredHashIndex(level, n), tlog.StoredHashIndex(level, n)
			if got != want {
				t.Fatalf("StoredHashIndex(%d, %d) = %d, tlog says %d", level, n, got, want)
			}
		}
	}
	for i := int64(0); i < 50000; i++ {
		level, n := SplitStoredHashIndex(i)
		wl, wn := tlog.SplitStoredHashIndex(i)
		if level != wl || n != wn {
			t.Fatalf("SplitStoredHashIndex(%d) = %d, %d; tlog says %d, %d", i, level, n, wl, wn)
		}
		if back := StoredHashIndex(level, n); back != i {
			t.Fatalf("StoredHashIndex(SplitStoredHashIndex(%d)) = %d", i, back)
		}
	}
	for n := int64(0); n < 50000; n++ {
		if got, want := StoredHashCount(n), tlog.StoredHashCount(n); got != want {
			t.Fatalf("StoredHashCount(%d) = %d, tlog says %d", n, got, want)
		}
	}
}

// TestSHA256AgainstTlog checks stored hashes, roots and proofs with SHA-256
// against golang.org/x/mod/sumdb/tlog.
func TestSHA256AgainstTlog(t *testing.T) {
	h := NewHasher(sha256.New)
	s := new(MemoryStore)
	tr := tlogReader(t, s)
	sweepSize := sweepSize()
	for n := range sweepSize {
		got, err := h.StoredHashes(n, leafData(n), s)
		if err != nil {
			t.Fatalf("StoredHashes(%d): %v", n, err)
		}
		want, err := tlog.StoredHashes(n, leafData(n), tr)
		if err != nil {
			t.Fatalf("tlog.StoredHashes(%d): %v", n, err)
		}
		if !equalProofs(got, tlogProof(want)) {
			t.Fatalf("StoredHashes(%d) = %x, tlog says %x", n, got, want)
		}
		if _, err := s.Append(h, leafData(n)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := int64(len(s.hashes)), StoredHashCount(sweepSize); got != want {
		t.Fatalf("store holds %d hashes, StoredHashCount says %d", got, want)
	}
	for n := int64(1); n <= sweepSize; n++ {
		root, err := h.TreeHash(n, s)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tlog.TreeHash(n, tr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, want[:]) {
			t.Fatalf("TreeHash(%d) = %x, tlog says %x", n, root, want)
		}
		for i := range n {
			p, err := h.InclusionProof(i, n, s)
			if err != nil {
				t.Fatal(err)
			}
			wp, err := tlog.ProveRecord(n, i, tr)
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(p, tlogProof(wp)) {
				t.Fatalf("InclusionProof(%d, %d) differs from tlog.ProveRecord", i, n)
			}
		}
		for m := int64(1); m <= n; m++ {
			p, err := h.ConsistencyProof(m, n, s)
			if err != nil {
				t.Fatal(err)
			}
			wp, err := tlog.ProveTree(n, m, tr)
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(p, tlogProof(wp)) {
				t.Fatalf("ConsistencyProof(%d, %d) differs from tlog.ProveTree", m, n)
			}
		}
	}
}

// TestAgainstTransparencyDev checks roots and proofs, and verification in
// both directions, against github.com/transparency-dev/merkle for every tree
// size up to sweepSize, every index and every pair of sizes.
func TestAgainstTransparencyDev(t *testing.T) {
	tests := []struct {
		name    string
		newHash func() hash.Hash
		ref     tdmerkle.LogHasher
	}{
		{"SHA-256", sha256.New, rfc6962.DefaultHasher},
		{"SM3", sm3.New, sm3LogHasher{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sweepReference(t, NewHasher(tc.newHash), tc.ref)
		})
	}
}

func sweepReference(t *testing.T, h *Hasher, ref tdmerkle.LogHasher) {
	t.Helper()
	sweepSize := sweepSize()
	if !bytes.Equal(h.EmptyRoot(), ref.EmptyRoot()) {
		t.Fatalf("EmptyRoot = %x, reference says %x", h.EmptyRoot(), ref.EmptyRoot())
	}
	s := buildStore(t, h, sweepSize)
	tree := testonly.New(ref)
	for i := range sweepSize {
		tree.AppendData(leafData(i))
	}
	roots := make([][]byte, sweepSize+1)
	for n := int64(0); n <= sweepSize; n++ {
		root, err := h.TreeHash(n, s)
		if err != nil {
			t.Fatalf("TreeHash(%d): %v", n, err)
		}
		if want := tree.HashAt(uint64(n)); !bytes.Equal(root, want) {
			t.Fatalf("TreeHash(%d) = %x, reference says %x", n, root, want)
		}
		roots[n] = root
	}
	if !bytes.Equal(s.Root(), roots[sweepSize]) {
		t.Fatalf("Root() = %x, want %x", s.Root(), roots[sweepSize])
	}

	for n := int64(1); n <= sweepSize; n++ {
		for i := range n {
			leaf := tree.LeafHash(uint64(i))
			p, err := h.InclusionProof(i, n, s)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", i, n, err)
			}
			want, err := tree.InclusionProof(uint64(i), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(p, want) {
				t.Fatalf("InclusionProof(%d, %d) = %x, reference says %x", i, n, p, want)
			}
			if len(p) != inclusionProofLen(uint64(i), uint64(n)) {
				t.Fatalf("inclusionProofLen(%d, %d) = %d, proof has %d", i, n, inclusionProofLen(uint64(i), uint64(n)), len(p))
			}
			if err := proof.VerifyInclusion(ref, uint64(i), uint64(n), leaf, p, roots[n]); err != nil {
				t.Fatalf("reference rejects InclusionProof(%d, %d): %v", i, n, err)
			}
			if err := h.VerifyInclusion(i, n, leaf, want, roots[n]); err != nil {
				t.Fatalf("VerifyInclusion rejects the reference proof (%d, %d): %v", i, n, err)
			}
		}
	}

	for n := int64(1); n <= sweepSize; n++ {
		for m := int64(1); m <= n; m++ {
			p, err := h.ConsistencyProof(m, n, s)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", m, n, err)
			}
			want, err := tree.ConsistencyProof(uint64(m), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(p, want) {
				t.Fatalf("ConsistencyProof(%d, %d) = %x, reference says %x", m, n, p, want)
			}
			if len(p) != consistencyProofLen(uint64(m), uint64(n)) {
				t.Fatalf("consistencyProofLen(%d, %d) = %d, proof has %d", m, n, consistencyProofLen(uint64(m), uint64(n)), len(p))
			}
			if err := proof.VerifyConsistency(ref, uint64(m), uint64(n), p, roots[m], roots[n]); err != nil {
				t.Fatalf("reference rejects ConsistencyProof(%d, %d): %v", m, n, err)
			}
			if err := h.VerifyConsistency(m, n, want, roots[m], roots[n]); err != nil {
				t.Fatalf("VerifyConsistency rejects the reference proof (%d, %d): %v", m, n, err)
			}
		}
	}
}
