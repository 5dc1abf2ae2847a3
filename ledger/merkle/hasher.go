package merkle

import "hash"

// Hasher is RFC 9162 §2.1 hashing over an injected hash function.
// A Hasher is immutable and safe for concurrent use; it creates a fresh
// hash.Hash for every computation.
type Hasher struct {
	newHash func() hash.Hash
	size    int
}

// NewHasher returns a Hasher over the hash function that newHash constructs
// (for example sm3.New or sha256.New). newHash must return a fresh, reset
// hash.Hash on every call. NewHasher panics if newHash is nil.
func NewHasher(newHash func() hash.Hash) *Hasher {
	if newHash == nil {
		panic("merkle: NewHasher called with a nil hash constructor")
	}
	return &Hasher{newHash: newHash, size: newHash().Size()}
}

// Size returns the length in bytes of every hash h computes.
func (h *Hasher) Size() int { return h.size }

// EmptyRoot returns H(""), the Merkle Tree Hash of the empty list
// (RFC 9162 §2.1.1).
func (h *Hasher) EmptyRoot() []byte {
	return h.newHash().Sum(nil)
}

// HashLeaf returns the leaf hash H(0x00 || data) (RFC 9162 §2.1.1).
func (h *Hasher) HashLeaf(data []byte) []byte {
	d := h.newHash()
	d.Write([]byte{0x00})
	d.Write(data)
	return d.Sum(nil)
}

// HashChildren returns the interior node hash H(0x01 || l || r)
// (RFC 9162 §2.1.1).
func (h *Hasher) HashChildren(l, r []byte) []byte {
	return hashChildren(h.newHash(), l, r)
}

// hashChildren computes H(0x01 || l || r) with d, which it resets first.
func hashChildren(d hash.Hash, l, r []byte) []byte {
	d.Reset()
	d.Write([]byte{0x01})
	d.Write(l)
	d.Write(r)
	return d.Sum(nil)
}
