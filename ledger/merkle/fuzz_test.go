package merkle

import (
	"bytes"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// fuzzSize is the size of the log the proof fuzz targets draw proofs from.
const fuzzSize = 70

// fuzzLog builds the SM3 log and its roots for the fuzz targets.
func fuzzLog(tb testing.TB) (*Hasher, *MemoryStore, [][]byte) {
	tb.Helper()
	h := NewHasher(sm3.New)
	s := buildStore(tb, h, fuzzSize)
	roots := make([][]byte, fuzzSize+1)
	for n := range roots {
		r, err := h.TreeHash(int64(n), s)
		if err != nil {
			tb.Fatal(err)
		}
		roots[n] = r
	}
	return h, s, roots
}

// splitHashes cuts blob into size-byte hashes; the last one may be shorter.
func splitHashes(blob []byte, size int) [][]byte {
	var out [][]byte
	for len(blob) > size {
		out = append(out, blob[:size])
		blob = blob[size:]
	}
	if len(blob) > 0 {
		out = append(out, blob)
	}
	return out
}

// flipBit flips bit i (counted across all slices in order) of a deep copy of
// parts and returns the copy.
func flipBit(parts [][]byte, i uint64) [][]byte {
	total := uint64(0)
	for _, p := range parts {
		total += uint64(len(p))
	}
	i %= 8 * total
	out := cloneProof(parts)
	for _, p := range out {
		if i < 8*uint64(len(p)) {
			p[i/8] ^= 1 << (i % 8)
			break
		}
		i -= 8 * uint64(len(p))
	}
	return out
}

// FuzzVerifyInclusion checks that arbitrary proofs never panic VerifyInclusion
// and only verify when they are the real proof, and that a real proof with
// one flipped bit in the proof, leaf hash or root never verifies.
func FuzzVerifyInclusion(f *testing.F) {
	h, s, roots := fuzzLog(f)
	f.Add(int64(0), int64(1), []byte{}, uint64(0))
	f.Add(int64(3), int64(5), bytes.Repeat([]byte{7}, 96), uint64(9))
	f.Add(int64(6), int64(7), bytes.Repeat([]byte{1}, 95), uint64(300))
	f.Add(int64(-1), int64(-5), []byte{1, 2, 3}, uint64(1))
	f.Add(int64(1<<62), int64(1<<63-1), bytes.Repeat([]byte{0}, 32*62), uint64(77))
	f.Fuzz(func(t *testing.T, index, size int64, blob []byte, flip uint64) {
		// Arbitrary bytes as a proof, against the real leaf and root when
		// the arguments name one.
		proof := splitHashes(blob, h.Size())
		leaf := h.HashLeaf(leafData(index))
		root := h.EmptyRoot()
		if size >= 0 && size <= fuzzSize {
			root = roots[size]
		}
		if err := h.VerifyInclusion(index, size, leaf, proof, root); err == nil {
			real, perr := h.InclusionProof(index, size, s)
			if perr != nil || !equalProofs(real, proof) {
				t.Fatalf("VerifyInclusion(%d, %d) accepted a proof that is not the real one: %x", index, size, proof)
			}
		}

		// A real proof, then the same with one flipped bit.
		n := 1 + int64(uint64(size)%fuzzSize)
		i := int64(uint64(index) % uint64(n))
		real, err := h.InclusionProof(i, n, s)
		if err != nil {
			t.Fatal(err)
		}
		leaf = h.HashLeaf(leafData(i))
		if err := h.VerifyInclusion(i, n, leaf, real, roots[n]); err != nil {
			t.Fatalf("VerifyInclusion(%d, %d) rejected the real proof: %v", i, n, err)
		}
		m := flipBit(append(cloneProof(real), leaf, roots[n]), flip)
		p, l, r := m[:len(real)], m[len(real)], m[len(real)+1]
		if err := h.VerifyInclusion(i, n, l, p, r); !errors.Is(err, ErrProofMismatch) {
			t.Fatalf("VerifyInclusion(%d, %d) with bit %d flipped: error = %v, want ErrProofMismatch", i, n, flip, err)
		}
	})
}

// FuzzVerifyConsistency checks that arbitrary proofs never panic
// VerifyConsistency and only verify when they are the real proof, and that a
// real proof with one flipped bit in the proof or a root never verifies.
func FuzzVerifyConsistency(f *testing.F) {
	h, s, roots := fuzzLog(f)
	f.Add(int64(1), int64(1), []byte{}, uint64(0))
	f.Add(int64(3), int64(5), bytes.Repeat([]byte{7}, 128), uint64(9))
	f.Add(int64(4), int64(7), bytes.Repeat([]byte{1}, 95), uint64(300))
	f.Add(int64(0), int64(-5), []byte{1, 2, 3}, uint64(1))
	f.Add(int64(1<<62+1), int64(1<<63-1), bytes.Repeat([]byte{0}, 32*63), uint64(77))
	f.Fuzz(func(t *testing.T, size1, size2 int64, blob []byte, flip uint64) {
		proof := splitHashes(blob, h.Size())
		root1, root2 := h.EmptyRoot(), h.EmptyRoot()
		if size1 >= 0 && size1 <= fuzzSize {
			root1 = roots[size1]
		}
		if size2 >= 0 && size2 <= fuzzSize {
			root2 = roots[size2]
		}
		if err := h.VerifyConsistency(size1, size2, proof, root1, root2); err == nil {
			real, perr := h.ConsistencyProof(size1, size2, s)
			if perr != nil || !equalProofs(real, proof) {
				t.Fatalf("VerifyConsistency(%d, %d) accepted a proof that is not the real one: %x", size1, size2, proof)
			}
		}

		n := 1 + int64(uint64(size2)%fuzzSize)
		m := 1 + int64(uint64(size1)%uint64(n))
		real, err := h.ConsistencyProof(m, n, s)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.VerifyConsistency(m, n, real, roots[m], roots[n]); err != nil {
			t.Fatalf("VerifyConsistency(%d, %d) rejected the real proof: %v", m, n, err)
		}
		mut := flipBit(append(cloneProof(real), roots[m], roots[n]), flip)
		p, r1, r2 := mut[:len(real)], mut[len(real)], mut[len(real)+1]
		if err := h.VerifyConsistency(m, n, p, r1, r2); !errors.Is(err, ErrProofMismatch) {
			t.Fatalf("VerifyConsistency(%d, %d) with bit %d flipped: error = %v, want ErrProofMismatch", m, n, flip, err)
		}
	})
}

// FuzzAppend appends a random sequence of leaves and checks that TreeHash
// agrees with a naive recursive MTH over the leaves after every append and
// for every prefix at the end.
func FuzzAppend(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{3, 'a', 'b', 'c', 0, 1, 'x'})
	f.Add(bytes.Repeat([]byte{2, 0xff, 0}, 40))
	h := NewHasher(sm3.New)
	f.Fuzz(func(t *testing.T, data []byte) {
		// data is a sequence of leaves, each a length byte (mod 16) and
		// that many bytes; at most 100 leaves.
		var leaves [][]byte
		s := new(MemoryStore)
		for len(data) > 0 && len(leaves) < 100 {
			l := min(int(data[0]%16), len(data)-1)
			leaf := data[1 : 1+l]
			data = data[1+l:]
			idx, err := s.Append(h, leaf)
			if err != nil {
				t.Fatal(err)
			}
			if idx != int64(len(leaves)) {
				t.Fatalf("Append returned index %d, want %d", idx, len(leaves))
			}
			leaves = append(leaves, leaf)
			if got, want := s.Root(), naiveMTH(sm3.New, leaves); !bytes.Equal(got, want) {
				t.Fatalf("root after %d leaves = %x, naive MTH = %x", len(leaves), got, want)
			}
		}
		for k := 0; k <= len(leaves); k++ {
			got, err := h.TreeHash(int64(k), s)
			if err != nil {
				t.Fatal(err)
			}
			if want := naiveMTH(sm3.New, leaves[:k]); !bytes.Equal(got, want) {
				t.Fatalf("TreeHash(%d) = %x, naive MTH = %x", k, got, want)
			}
		}
	})
}
