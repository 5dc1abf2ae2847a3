package ledger

import (
	"bytes"
	"fmt"

	"github.com/evidenced/evidenced/ledger/merkle"
)

// VerifyLog checks that the evidence log in r is the log its head commits
// to, as a node must before it trusts state it did not build itself (a
// snapshot restored by state sync): the entries 0 to size−1 are all there
// and there is no other, every stored Merkle hash is the one recomputed
// from the entries, there is no other stored hash, and the root recomputed
// from them is the head's. It returns the head; its AppHash then commits
// to exactly these entries and hashes, so the node serves the entries and
// proofs the alliance committed.
//
// It reads every entry and hashes the whole tree again, reading one entry
// at a time: O(size) time, O(log size) memory. A failure wraps
// ErrStoreCorrupt; ErrNotInitialized means r holds no state.
func VerifyLog(r Reader) (LogHead, error) {
	v := NewView(r)
	head, err := v.Head()
	if err != nil {
		return LogHead{}, err
	}
	// Stored hashes are checked in the order appends wrote them, so every
	// earlier hash an append reads has been checked already.
	hashes := merkle.HashReaderFunc(func(indexes []int64) ([][]byte, error) { return v.s.ReadHashes(indexes) })
	for i := range head.Size {
		entry, err := v.EntryBytes(i)
		if err != nil {
			return LogHead{}, fmt.Errorf("%w: log of size %d: %v", ErrStoreCorrupt, head.Size, err)
		}
		leaf := LeafHash(entry)
		want, err := hasher.StoredHashesForLeafHash(int64(i), leaf[:], hashes)
		if err != nil {
			return LogHead{}, fmt.Errorf("log entry %d: %w", i, err)
		}
		base := merkle.StoredHashIndex(0, int64(i))
		got, err := v.s.ReadHashes(indexRange(base, len(want)))
		if err != nil {
			return LogHead{}, fmt.Errorf("log entry %d: %w", i, err)
		}
		for k := range want {
			if !bytes.Equal(got[k], want[k]) {
				return LogHead{}, fmt.Errorf("%w: Merkle stored hash %d (entry %d) is not the hash of the entries", ErrStoreCorrupt, base+int64(k), i)
			}
		}
	}
	for _, extra := range []struct {
		prefix byte
		from   uint64
		what   string
	}{
		{prefixEntry, head.Size, "log entry"},
		{prefixHash, uint64(merkle.StoredHashCount(int64(head.Size))), "Merkle stored hash"},
	} {
		kvs, err := r.Scan(key1(extra.prefix), keyU64(extra.prefix, extra.from), 1)
		if err != nil {
			return LogHead{}, fmt.Errorf("verify the log: %w", err)
		}
		if len(kvs) > 0 {
			return LogHead{}, fmt.Errorf("%w: a %s beyond the log of size %d (key %x)", ErrStoreCorrupt, extra.what, head.Size, kvs[0].Key)
		}
	}
	root, err := hasher.TreeHash(int64(head.Size), hashes)
	if err != nil {
		return LogHead{}, fmt.Errorf("log root at size %d: %w", head.Size, err)
	}
	if !bytes.Equal(root, head.Root[:]) {
		return LogHead{}, fmt.Errorf("%w: the log's root is not its entries' root", ErrStoreCorrupt)
	}
	return head, nil
}

// indexRange returns n consecutive indexes from base.
func indexRange(base int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(i)
	}
	return out
}
