package merkle

import "math/bits"

// StoredHashIndex returns the linear position at which the hash of the
// complete subtree at the given level with index n is stored: the subtree
// covering leaves [n·2^level, (n+1)·2^level). Level 0 holds the leaf hashes.
// Positions are dense: appending leaf n stores hashes at positions
// StoredHashIndex(0, n) up to, but excluding, StoredHashCount(n+1).
// level and n must not be negative.
func StoredHashIndex(level int, n int64) int64 {
	// A subtree hash is stored by the append of the last leaf it covers,
	// leaf (n+1)·2^level - 1, whose append completes it. Walk down to it.
	for l := level; l > 0; l-- {
		n = 2*n + 1
	}
	// Leaf n is preceded by the hashes stored with leaves 0..n-1; leaf j
	// stores 1 + trailingOnes(j) hashes, so the total is n + n/2 + n/4 + ….
	i := int64(0)
	for ; n > 0; n >>= 1 {
		i += n
	}
	// The level-L hash comes L positions after that leaf's own hash.
	return i + int64(level)
}

// SplitStoredHashIndex is the inverse of StoredHashIndex: it returns the
// level and index of the subtree whose hash is stored at position index.
// index must not be negative.
func SplitStoredHashIndex(index int64) (level int, n int64) {
	// StoredHashIndex(0, n) lies in [n, 2n), so the leaf that stored this
	// position is in [index/2, index/2 + log₂ index].
	n = index / 2
	at := StoredHashIndex(0, n)
	for {
		// Leaf n stores 1 + trailingOnes(n) hashes.
		next := at + 1 + int64(bits.TrailingZeros64(uint64(n+1)))
		if next > index {
			break
		}
		n++
		at = next
	}
	// The position holds the level-L hash completed by leaf n.
	level = int(index - at)
	return level, n >> uint(level)
}

// StoredHashCount returns the number of hashes stored for a tree of n leaves,
// which is also the position of the first hash stored by leaf n.
// n must not be negative.
func StoredHashCount(n int64) int64 {
	return StoredHashIndex(0, n)
}
