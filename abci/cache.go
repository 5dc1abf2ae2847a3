package abci

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/evidenced/evidenced/crypto"
)

// verifyCache remembers signatures that verified, keyed by SM3 over the
// exact (public key, message, signature) triple. Only successes are cached,
// so a lookup can only skip work that would have succeeded: the cache never
// changes an outcome. Eviction is first in, first out, bounded by size.
type verifyCache struct {
	observe func(time.Duration) // told the duration of each verification; may be nil
	mu      sync.Mutex
	seen    map[crypto.Hash]struct{}
	ring    []crypto.Hash
	next    int
}

func newVerifyCache(size int) *verifyCache {
	return &verifyCache{seen: make(map[crypto.Hash]struct{}, size), ring: make([]crypto.Hash, size)}
}

func cacheKey(key *crypto.PublicKey, msg, sig []byte) crypto.Hash {
	var n [8]byte
	binary.BigEndian.PutUint32(n[:4], uint32(len(msg)))
	binary.BigEndian.PutUint32(n[4:], uint32(len(sig)))
	return crypto.SM3(key.Bytes(), n[:], msg, sig)
}

// verify is a ledger.VerifyFunc.
func (c *verifyCache) verify(key *crypto.PublicKey, msg, sig []byte) error {
	k := cacheKey(key, msg, sig)
	c.mu.Lock()
	_, ok := c.seen[k]
	c.mu.Unlock()
	if ok {
		return nil
	}
	start := time.Now()
	err := key.Verify(msg, sig)
	if c.observe != nil {
		c.observe(time.Since(start))
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	if _, ok := c.seen[k]; !ok {
		old := c.ring[c.next]
		if old != (crypto.Hash{}) {
			delete(c.seen, old)
		}
		c.ring[c.next] = k
		c.seen[k] = struct{}{}
		c.next = (c.next + 1) % len(c.ring)
	}
	c.mu.Unlock()
	return nil
}
