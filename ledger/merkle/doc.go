// Package merkle implements the Merkle tree of RFC 9162 (Certificate
// Transparency version 2.0), §2.1, over an injected hash function.
//
// # Hashing
//
// A [Hasher] wraps a hash function H (SM3 in evidenced, SHA-256 in RFC 9162's
// own examples) and computes the Merkle Tree Hash (MTH) of §2.1.1:
//
//	MTH({})     = H("")                                   (Hasher.EmptyRoot)
//	MTH({d(0)}) = H(0x00 || d(0))                         (Hasher.HashLeaf)
//	MTH(D[n])   = H(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   (Hasher.HashChildren)
//
// where k is the largest power of two smaller than n. The package never
// imports a hash implementation itself; callers pass a constructor such as
// sm3.New or sha256.New.
//
// # Stored hashes
//
// A log of n leaves is kept as the hashes of its complete (perfect) subtrees.
// The hash of the complete subtree at level L with index K (covering leaves
// [K·2^L, (K+1)·2^L)) lives at the linear position [StoredHashIndex](L, K).
// Appending leaf n writes exactly the hashes it completes, in increasing
// index order starting at StoredHashIndex(0, n): its leaf hash, then one hash
// per trailing one bit of n. Positions are therefore dense and append-only,
// which suits a key-value store keyed by big-endian position.
//
// This indexing scheme and the algorithms that read it are those of
// golang.org/x/mod/sumdb/tlog (after Crosby and Wallach, "Efficient Data
// Structures for Tamper-Evident Logging", §3.3), rewritten here for an
// injected hash and with RFC 9162 terminology; a log stored by this package
// with H = SHA-256 has byte-for-byte the same stored hashes as a tlog log.
//
// Every operation that needs stored hashes reads them through a [HashReader]
// in a single ReadHashes call of O(log n) indexes.
//
// # Proofs
//
// [Hasher.InclusionProof] returns the RFC 9162 §2.1.3.1 inclusion path and
// [Hasher.ConsistencyProof] the §2.1.4.1 consistency path, both as a list of
// node hashes ordered from the leaves towards the root, exactly as an RFC 9162
// (or RFC 6962) verifier expects. [Hasher.VerifyInclusion] and
// [Hasher.VerifyConsistency] implement the verification algorithms of
// §2.1.3.2 and §2.1.4.2. A consistency proof from the empty tree is not
// defined by RFC 9162 and is rejected with [ErrInvalidSize]; between equal
// sizes the proof is empty.
package merkle
