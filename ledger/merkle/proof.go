package merkle

import (
	"bytes"
	"fmt"
	"math/bits"
)

// InclusionProof returns the RFC 9162 §2.1.3.1 inclusion proof (audit path)
// of the leaf at index in the tree of the first size leaves: the hashes of
// the sibling subtrees on the path from the leaf to the root, ordered from
// the leaf upwards. It fails with ErrInvalidSize unless 0 <= index < size.
// It reads O(log size) stored hashes from r in one call.
func (h *Hasher) InclusionProof(index, size int64, r HashReader) ([][]byte, error) {
	if index < 0 || size <= 0 || index >= size {
		return nil, fmt.Errorf("inclusion proof of leaf %d in tree size %d: %w: need 0 <= index < size", index, size, ErrInvalidSize)
	}
	proof, err := h.spanHashes(inclusionSpans(index, size), r)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of leaf %d in tree size %d: %w", index, size, err)
	}
	return proof, nil
}

// inclusionSpans returns the subtrees whose hashes make up the inclusion
// proof of leaf m in a tree of n leaves, in proof order (RFC 9162 §2.1.3.1,
// PATH(m, D[n])).
func inclusionSpans(m, n int64) []span {
	var s []span
	lo, hi := int64(0), n
	for hi-lo > 1 {
		k := splitPoint(hi - lo)
		if m < lo+k {
			s = append(s, span{lo + k, hi}) // PATH(m, D[0:k]) : MTH(D[k:n])
			hi = lo + k
		} else {
			s = append(s, span{lo, lo + k}) // PATH(m-k, D[k:n]) : MTH(D[0:k])
			lo += k
		}
	}
	reverseSpans(s)
	return s
}

// VerifyInclusion checks that proof proves that leafHash is the leaf at
// index in the tree of size leaves whose root is root, with the algorithm of
// RFC 9162 §2.1.3.2. It returns nil if it does, ErrProofMismatch if the
// proof leads to a different root, ErrMalformedProof if the proof has the
// wrong shape for index and size, and ErrInvalidSize if the arguments are
// out of range (0 <= index < size) or leafHash or root is not Size bytes.
func (h *Hasher) VerifyInclusion(index, size int64, leafHash []byte, proof [][]byte, root []byte) error {
	if index < 0 || size <= 0 || index >= size {
		return fmt.Errorf("verify inclusion of leaf %d in tree size %d: %w: need 0 <= index < size", index, size, ErrInvalidSize)
	}
	if len(leafHash) != h.size || len(root) != h.size {
		return fmt.Errorf("verify inclusion of leaf %d in tree size %d: %w: leaf hash is %d bytes and root %d, want %d", index, size, ErrInvalidSize, len(leafHash), len(root), h.size)
	}
	if want := inclusionProofLen(uint64(index), uint64(size)); len(proof) != want {
		return fmt.Errorf("verify inclusion of leaf %d in tree size %d: %w: %d hashes, want %d", index, size, ErrMalformedProof, len(proof), want)
	}
	if err := h.checkElements(proof); err != nil {
		return fmt.Errorf("verify inclusion of leaf %d in tree size %d: %w", index, size, err)
	}

	// RFC 9162 §2.1.3.2, steps 2–5.
	d := h.newHash()
	fn, sn := uint64(index), uint64(size-1)
	r := leafHash
	for _, p := range proof {
		if sn == 0 {
			return fmt.Errorf("verify inclusion of leaf %d in tree size %d: %w: proof too long", index, size, ErrMalformedProof)
		}
		if fn&1 == 1 || fn == sn {
			r = hashChildren(d, p, r)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = hashChildren(d, r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("verify inclusion of leaf %d in tree size %d: %w: proof too short", index, size, ErrMalformedProof)
	}
	if !bytes.Equal(r, root) {
		return fmt.Errorf("verify inclusion of leaf %d in tree size %d: %w", index, size, ErrProofMismatch)
	}
	return nil
}

// ConsistencyProof returns the RFC 9162 §2.1.4.1 consistency proof between
// the tree of the first size1 leaves and the tree of the first size2 leaves,
// ordered from the leaves upwards. The proof between equal sizes is empty.
// It fails with ErrInvalidSize unless 0 < size1 <= size2: RFC 9162 defines no
// proof from the empty tree. It reads O(log size2) stored hashes from r in
// one call.
func (h *Hasher) ConsistencyProof(size1, size2 int64, r HashReader) ([][]byte, error) {
	if size1 <= 0 || size1 > size2 {
		return nil, fmt.Errorf("consistency proof from tree size %d to %d: %w: need 0 < size1 <= size2", size1, size2, ErrInvalidSize)
	}
	if size1 == size2 {
		return [][]byte{}, nil
	}
	proof, err := h.spanHashes(consistencySpans(size1, size2), r)
	if err != nil {
		return nil, fmt.Errorf("consistency proof from tree size %d to %d: %w", size1, size2, err)
	}
	return proof, nil
}

// consistencySpans returns the subtrees whose hashes make up the consistency
// proof from m to n leaves, 0 < m < n, in proof order (RFC 9162 §2.1.4.1,
// SUBPROOF(m, D[n], true)).
func consistencySpans(m, n int64) []span {
	var s []span
	lo, hi := int64(0), n
	for m != hi { // lo < m <= hi
		k := splitPoint(hi - lo)
		if m <= lo+k {
			s = append(s, span{lo + k, hi}) // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
			hi = lo + k
		} else {
			s = append(s, span{lo, lo + k}) // SUBPROOF(m-k, D[k:n], false) : MTH(D[0:k])
			lo += k
		}
	}
	if lo != 0 { // b is false: the verifier does not know MTH(D[lo:hi]).
		s = append(s, span{lo, hi})
	}
	reverseSpans(s)
	return s
}

// VerifyConsistency checks that proof proves that the tree of size1 leaves
// with root root1 is a prefix of the tree of size2 leaves with root root2,
// with the algorithm of RFC 9162 §2.1.4.2. Between equal sizes the proof
// must be empty and the roots equal. It returns nil if the proof holds,
// ErrProofMismatch if it leads to different roots, ErrMalformedProof if it
// has the wrong shape for size1 and size2, and ErrInvalidSize if the sizes
// are out of range (0 < size1 <= size2) or a root is not Size bytes.
func (h *Hasher) VerifyConsistency(size1, size2 int64, proof [][]byte, root1, root2 []byte) error {
	if size1 <= 0 || size1 > size2 {
		return fmt.Errorf("verify consistency from tree size %d to %d: %w: need 0 < size1 <= size2", size1, size2, ErrInvalidSize)
	}
	if len(root1) != h.size || len(root2) != h.size {
		return fmt.Errorf("verify consistency from tree size %d to %d: %w: roots are %d and %d bytes, want %d", size1, size2, ErrInvalidSize, len(root1), len(root2), h.size)
	}
	if want := consistencyProofLen(uint64(size1), uint64(size2)); len(proof) != want {
		return fmt.Errorf("verify consistency from tree size %d to %d: %w: %d hashes, want %d", size1, size2, ErrMalformedProof, len(proof), want)
	}
	if err := h.checkElements(proof); err != nil {
		return fmt.Errorf("verify consistency from tree size %d to %d: %w", size1, size2, err)
	}
	if size1 == size2 {
		if !bytes.Equal(root1, root2) {
			return fmt.Errorf("verify consistency from tree size %d to %d: %w: equal sizes with different roots", size1, size2, ErrProofMismatch)
		}
		return nil
	}

	// RFC 9162 §2.1.4.2, steps 2–7 (step 1, the empty proof, is excluded by
	// the length check above).
	path := proof
	if size1&(size1-1) == 0 { // step 2: size1 is a power of two
		path = make([][]byte, 0, 1+len(proof))
		path = append(path, root1)
		path = append(path, proof...)
	}
	fn, sn := uint64(size1-1), uint64(size2-1)
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	d := h.newHash()
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return fmt.Errorf("verify consistency from tree size %d to %d: %w: proof too long", size1, size2, ErrMalformedProof)
		}
		if fn&1 == 1 || fn == sn {
			fr = hashChildren(d, c, fr)
			sr = hashChildren(d, c, sr)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			sr = hashChildren(d, sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("verify consistency from tree size %d to %d: %w: proof too short", size1, size2, ErrMalformedProof)
	}
	if !bytes.Equal(fr, root1) || !bytes.Equal(sr, root2) {
		return fmt.Errorf("verify consistency from tree size %d to %d: %w", size1, size2, ErrProofMismatch)
	}
	return nil
}

// checkElements reports ErrMalformedProof if a proof element is not Size
// bytes long.
func (h *Hasher) checkElements(proof [][]byte) error {
	for i, p := range proof {
		if len(p) != h.size {
			return fmt.Errorf("%w: hash %d is %d bytes, want %d", ErrMalformedProof, i, len(p), h.size)
		}
	}
	return nil
}

// inclusionProofLen returns the length of the inclusion proof of leaf m in a
// tree of n leaves, m < n: one hash per level below the point where the
// paths to m and to the last leaf n-1 split ("inner"), plus one per left
// sibling above it ("border").
func inclusionProofLen(m, n uint64) int {
	inner := bits.Len64(m ^ (n - 1))
	border := bits.OnesCount64(m >> uint(inner))
	return inner + border
}

// consistencyProofLen returns the length of the consistency proof from m to
// n leaves, 0 < m <= n: the inclusion proof of the largest complete subtree
// ending at leaf m-1 in the tree of n leaves, preceded by that subtree's hash
// unless it is the whole tree of m leaves.
func consistencyProofLen(m, n uint64) int {
	if m == n {
		return 0
	}
	shift := bits.TrailingZeros64(m)
	l := inclusionProofLen(m-1, n) - shift
	if m != 1<<uint(shift) {
		l++
	}
	return l
}

// splitPoint returns k, the largest power of two smaller than n, for n > 1
// (RFC 9162 §2.1.1).
func splitPoint(n int64) int64 {
	return int64(1) << uint(bits.Len64(uint64(n-1))-1)
}

func reverseSpans(s []span) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}
