package merkle

import (
	"bytes"
	"fmt"
	"hash"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// leafData returns the data of leaf i in the test logs.
func leafData(i int64) []byte { return fmt.Appendf(nil, "leaf %d", i) }

// buildStore appends leaves 0..n-1 (leafData) to a new MemoryStore.
func buildStore(tb testing.TB, h *Hasher, n int64) *MemoryStore {
	tb.Helper()
	s := new(MemoryStore)
	for i := range n {
		got, err := s.Append(h, leafData(i))
		if err != nil {
			tb.Fatalf("Append(leaf %d): %v", i, err)
		}
		if got != i {
			tb.Fatalf("Append(leaf %d) returned index %d", i, got)
		}
	}
	return s
}

// naiveMTH is RFC 9162 §2.1.1 written out recursively over the raw hash
// function, independent of Hasher.
func naiveMTH(newHash func() hash.Hash, leaves [][]byte) []byte {
	d := newHash()
	switch len(leaves) {
	case 0:
		return d.Sum(nil)
	case 1:
		d.Write([]byte{0x00})
		d.Write(leaves[0])
		return d.Sum(nil)
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := naiveMTH(newHash, leaves[:k]), naiveMTH(newHash, leaves[k:])
	d.Write([]byte{0x01})
	d.Write(l)
	d.Write(r)
	return d.Sum(nil)
}

// sm3LogHasher is an RFC 9162 hasher over SM3 written directly against sm3
// (not Hasher), satisfying transparency-dev's merkle.LogHasher so that its
// independent tree and verifier run with SM3.
type sm3LogHasher struct{}

func (sm3LogHasher) EmptyRoot() []byte { s := sm3.Sum(nil); return s[:] }
func (sm3LogHasher) HashLeaf(leaf []byte) []byte {
	s := sm3.Sum(append([]byte{0x00}, leaf...))
	return s[:]
}
func (sm3LogHasher) HashChildren(l, r []byte) []byte {
	s := sm3.Sum(bytes.Join([][]byte{{0x01}, l, r}, nil))
	return s[:]
}
func (sm3LogHasher) Size() int { return sm3.Size }

// equalProofs reports whether two proofs have the same hashes in order.
func equalProofs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// cloneProof returns a deep copy of p.
func cloneProof(p [][]byte) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = bytes.Clone(p[i])
	}
	return out
}
