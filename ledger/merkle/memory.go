package merkle

import (
	"fmt"
	"sync"
)

// MemoryStore is an in-memory log of stored hashes, for tests and small
// logs. The zero MemoryStore is an empty log ready to use. It is safe for
// concurrent use.
//
// A MemoryStore remembers the Hasher of its first Append; every later Append
// must use a Hasher over the same hash function.
type MemoryStore struct {
	mu     sync.RWMutex
	h      *Hasher
	size   int64
	hashes [][]byte // position i holds the stored hash at StoredHashIndex position i
}

// Append appends a leaf with the given data, hashed with h, and returns its
// index. It fails with ErrInvalidSize if h's hash size differs from that of
// the Hasher of earlier appends.
func (s *MemoryStore) Append(h *Hasher, data []byte) (index int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		s.h = h
	} else if h.Size() != s.h.Size() {
		return 0, fmt.Errorf("append leaf %d: %w: hasher makes %d-byte hashes, the store holds %d-byte hashes", s.size, ErrInvalidSize, h.Size(), s.h.Size())
	}
	n := s.size
	hashes, err := h.StoredHashes(n, data, HashReaderFunc(s.readLocked))
	if err != nil {
		return 0, err
	}
	s.hashes = append(s.hashes, hashes...)
	s.size++
	return n, nil
}

// ReadHashes implements HashReader: it returns copies of the hashes stored
// at indexes, or an error if one is not stored.
func (s *MemoryStore) ReadHashes(indexes []int64) ([][]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.readLocked(indexes)
}

func (s *MemoryStore) readLocked(indexes []int64) ([][]byte, error) {
	out := make([][]byte, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("read stored hash %d: not stored (the store holds %d hashes for %d leaves)", x, len(s.hashes), s.size)
		}
		out[i] = append([]byte(nil), s.hashes[x]...)
	}
	return out, nil
}

// Size returns the number of leaves in the log.
func (s *MemoryStore) Size() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size
}

// Root returns the root of the whole log. The root of a MemoryStore that has
// never been appended to is nil, as it has no Hasher yet; use
// Hasher.EmptyRoot for the empty tree.
func (s *MemoryStore) Root() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.h == nil {
		return nil
	}
	root, err := s.h.TreeHash(s.size, HashReaderFunc(s.readLocked))
	if err != nil {
		panic("merkle: MemoryStore is inconsistent: " + err.Error()) // broken invariant
	}
	return root
}
