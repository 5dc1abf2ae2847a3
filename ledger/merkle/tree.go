package merkle

import (
	"fmt"
	"math/bits"
)

// HashReader reads stored hashes (see StoredHashIndex).
type HashReader interface {
	// ReadHashes returns the hashes stored at the given positions, in the
	// order of indexes. The returned slices are owned by the caller, which
	// may keep or modify them. A hash that is not stored is an error:
	// ReadHashes returns either exactly len(indexes) hashes or a non-nil
	// error. Callers in this package ask for increasing positions.
	ReadHashes(indexes []int64) ([][]byte, error)
}

// HashReaderFunc is a function that implements HashReader.
type HashReaderFunc func([]int64) ([][]byte, error)

// ReadHashes returns f(indexes).
func (f HashReaderFunc) ReadHashes(indexes []int64) ([][]byte, error) {
	return f(indexes)
}

// StoredHashes returns the hashes to store when appending leaf n (0-based),
// with the given data, to a tree of n leaves: the leaf hash followed by the
// hash of every complete subtree the leaf completes, to be stored at
// consecutive positions starting at StoredHashIndex(0, n). It reads at most
// log₂ n earlier hashes from r in one call and computes as many node hashes.
func (h *Hasher) StoredHashes(n int64, data []byte, r HashReader) ([][]byte, error) {
	return h.StoredHashesForLeafHash(n, h.HashLeaf(data), r)
}

// StoredHashesForLeafHash is like StoredHashes but takes the leaf hash
// HashLeaf(data) instead of the data. The first returned hash is a copy of
// leafHash.
func (h *Hasher) StoredHashesForLeafHash(n int64, leafHash []byte, r HashReader) ([][]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("append leaf %d: %w: the leaf index must not be negative", n, ErrInvalidSize)
	}
	if len(leafHash) != h.size {
		return nil, fmt.Errorf("append leaf %d: %w: leaf hash is %d bytes, want %d", n, ErrInvalidSize, len(leafHash), h.size)
	}
	// Leaf n completes one subtree per trailing one bit of n: the subtree at
	// level i+1 joins the stored left sibling (level i, index n>>i - 1) with
	// the subtree just completed at level i.
	m := bits.TrailingZeros64(uint64(n + 1))
	indexes := make([]int64, m)
	for i := range m {
		indexes[m-1-i] = StoredHashIndex(i, n>>uint(i)-1) // increasing order
	}
	left, err := h.readHashes(r, indexes)
	if err != nil {
		return nil, fmt.Errorf("append leaf %d: %w", n, err)
	}
	out := make([][]byte, 1, 1+m)
	out[0] = append([]byte(nil), leafHash...)
	d := h.newHash()
	cur := out[0]
	for i := range m {
		cur = hashChildren(d, left[m-1-i], cur)
		out = append(out, cur)
	}
	return out, nil
}

// TreeHash returns the root, the Merkle Tree Hash (RFC 9162 §2.1.1), of the
// tree made of the first n leaves of the log that r reads, or EmptyRoot for
// n == 0. It reads at most 1 + log₂ n stored hashes from r in one call.
func (h *Hasher) TreeHash(n int64, r HashReader) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("tree hash of size %d: %w: the size must not be negative", n, ErrInvalidSize)
	}
	if n == 0 {
		return h.EmptyRoot(), nil
	}
	roots, err := h.spanHashes([]span{{0, n}}, r)
	if err != nil {
		return nil, fmt.Errorf("tree hash of size %d: %w", n, err)
	}
	return roots[0], nil
}

// A span is the leaf range [lo, hi) of a subtree that appears in a tree of
// some size: either a complete subtree (hi-lo a power of two, lo a multiple
// of it) or the right edge of a tree, made of complete subtrees of
// decreasing size.
type span struct{ lo, hi int64 }

// appendIndexes appends the positions of the complete subtrees that make up
// s, from left to right, to need.
func (s span) appendIndexes(need []int64) []int64 {
	for lo := s.lo; lo < s.hi; {
		level := bits.Len64(uint64(s.hi-lo)) - 1 // largest 2^level <= hi-lo
		k := int64(1) << uint(level)
		if lo&(k-1) != 0 {
			panic("merkle: unaligned span") // broken invariant of the callers
		}
		need = append(need, StoredHashIndex(level, lo>>uint(level)))
		lo += k
	}
	return need
}

// count returns how many complete subtrees make up s.
func (s span) count() int {
	n := 0
	for lo := s.lo; lo < s.hi; n++ {
		lo += int64(1) << uint(bits.Len64(uint64(s.hi-lo))-1)
	}
	return n
}

// spanHashes returns the Merkle Tree Hash of every span, reading all the
// stored hashes they need in one ReadHashes call.
func (h *Hasher) spanHashes(spans []span, r HashReader) ([][]byte, error) {
	var indexes []int64
	for _, s := range spans {
		indexes = s.appendIndexes(indexes)
	}
	if len(indexes) == 0 {
		return [][]byte{}, nil
	}
	stored, err := h.readHashes(r, indexes)
	if err != nil {
		return nil, err
	}
	d := h.newHash()
	out := make([][]byte, len(spans))
	for i, s := range spans {
		c := s.count()
		parts := stored[:c]
		stored = stored[c:]
		// The right edge is MTH of its leftmost complete subtree and the
		// rest: fold from the right.
		acc := parts[c-1]
		for j := c - 2; j >= 0; j-- {
			acc = hashChildren(d, parts[j], acc)
		}
		out[i] = acc
	}
	return out, nil
}

// readHashes reads indexes from r and checks that r kept its contract.
func (h *Hasher) readHashes(r HashReader, indexes []int64) ([][]byte, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, fmt.Errorf("read %d stored hashes from position %d: %w", len(indexes), indexes[0], err)
	}
	if len(hashes) != len(indexes) {
		return nil, fmt.Errorf("%w: asked for %d stored hashes, got %d", ErrHashReader, len(indexes), len(hashes))
	}
	for i, hh := range hashes {
		if len(hh) != h.size {
			return nil, fmt.Errorf("%w: stored hash %d is %d bytes, want %d", ErrHashReader, indexes[i], len(hh), h.size)
		}
	}
	return hashes, nil
}
