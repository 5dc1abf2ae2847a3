package merkle

import "errors"

var (
	// ErrProofMismatch is returned by VerifyInclusion and VerifyConsistency
	// when a well-formed proof does not lead to the given root: the leaf
	// hash, index, tree size or root does not belong with the proof. Check
	// that the proof was made for the same leaf, index and tree sizes as the
	// roots it is checked against.
	ErrProofMismatch = errors.New("merkle: proof does not match the root")

	// ErrMalformedProof is returned by VerifyInclusion and VerifyConsistency
	// when the proof cannot be a proof for the given index and sizes: it has
	// the wrong number of elements, or an element is not exactly Hasher.Size
	// bytes long.
	ErrMalformedProof = errors.New("merkle: malformed proof")

	// ErrInvalidSize is returned when an index or tree size argument is out
	// of range: a negative index or size, an index not below the tree size,
	// a first tree size larger than the second, or a consistency proof from
	// the empty tree (RFC 9162 §2.1.4 defines none). It is also returned when
	// a leaf hash or root argument is not exactly Hasher.Size bytes long.
	ErrInvalidSize = errors.New("merkle: invalid index or tree size")

	// ErrHashReader is returned (wrapped) when a HashReader breaks its
	// contract: it returns a different number of hashes than indexes asked
	// for, or a hash that is not Hasher.Size bytes long. It points at a
	// corrupt or mismatched hash store.
	ErrHashReader = errors.New("merkle: hash reader returned bad hashes")
)
