package store

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/evidenced/evidenced/ledger"
)

// Snapshot is a consistent read-only view of the committed state as of the
// moment DB.Snapshot was called: later commits are invisible to it. It
// implements ledger.Reader. It is safe for concurrent use (calls are
// serialised). Close it when done: an open snapshot pins old versions in
// Badger. DB.Close closes all open snapshots.
type Snapshot struct {
	db     *DB
	mu     sync.Mutex // serialises use of txn (a Badger txn is not goroutine-safe)
	txn    *badger.Txn
	height int64
	err    error // set if reading the height failed; returned by every read
	// empty is set when the snapshot was taken during a restore: it shows
	// an empty store (nothing committed, no key), as the store was before.
	empty bool

	closed bool // guarded by db.mu
}

var _ ledger.Reader = (*Snapshot)(nil)

// Snapshot returns a read-only view of the current committed state. If the
// DB is closed, or its height cannot be read, the snapshot's reads return
// that error. While a restore is in progress (BeginRestore) the view is
// empty: nothing committed and no key.
func (db *DB) Snapshot() *Snapshot { return db.snapshot(false) }

// snapshot returns a Snapshot; raw shows what a restore in progress has
// written so far instead of an empty store.
func (db *DB) snapshot(raw bool) *Snapshot {
	db.mu.Lock()
	defer db.mu.Unlock()
	s := &Snapshot{db: db, height: -1}
	if db.closed {
		s.closed = true
		return s
	}
	if db.restoring && !raw {
		// No transaction: Close has nothing to discard.
		s.empty = true
		return s
	}
	s.txn = db.bdb.NewTransaction(false)
	h, found, err := txnHeight(s.txn)
	switch {
	case err != nil:
		s.err = fmt.Errorf("snapshot of store %s: %w", db.dir, err)
	case found:
		s.height = h
	}
	db.snaps[s] = struct{}{}
	return s
}

// Height returns the committed height the snapshot shows, or -1 if nothing
// had been committed when it was taken.
func (s *Snapshot) Height() int64 { return s.height }

// Get implements ledger.Reader: it returns a copy of the value of key as of
// the snapshot, or found=false. A key that is empty or starts with 0x00
// gives ErrReservedKey; a closed snapshot gives ErrClosed.
func (s *Snapshot) Get(key []byte) ([]byte, bool, error) {
	if err := checkKey(key); err != nil {
		return nil, false, fmt.Errorf("get %x: %w", key, err)
	}
	var v []byte
	var found bool
	err := s.use(func(txn *badger.Txn) error {
		var err error
		v, found, err = txnGet(txn, key)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("get %x: %w", key, err)
	}
	return v, found, nil
}

// Scan implements ledger.Reader with the semantics of DB.Scan, as of the
// snapshot.
func (s *Snapshot) Scan(prefix, start []byte, limit int) ([]ledger.KV, error) {
	if len(prefix) > 0 && prefix[0] == 0x00 {
		return nil, fmt.Errorf("scan %x: %w", prefix, ErrReservedKey)
	}
	var out []ledger.KV
	err := s.use(func(txn *badger.Txn) error {
		var err error
		out, err = txnScan(txn, prefix, start, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scan %x: %w", prefix, err)
	}
	return out, nil
}

// use runs f on the snapshot's transaction unless the snapshot or its DB is
// closed; on an empty snapshot (taken during a restore) it returns nil
// without running f.
func (s *Snapshot) use(f func(*badger.Txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	if s.closed || (s.empty && s.db.closed) {
		return ErrClosed
	}
	if s.err != nil {
		return s.err
	}
	if s.empty {
		return nil
	}
	if err := f(s.txn); err != nil {
		return fmt.Errorf("snapshot at height %d of store %s: %w", s.height, s.db.dir, err)
	}
	return nil
}

// Close releases the snapshot. Calling it again, or after DB.Close, does
// nothing.
func (s *Snapshot) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if s.closed {
		return
	}
	if s.empty {
		s.closed = true
		return
	}
	s.discard()
	delete(s.db.snaps, s)
}

// discard ends the transaction; the caller holds s.db.mu for writing.
func (s *Snapshot) discard() {
	s.closed = true
	s.txn.Discard()
}

// Committed returns the height the snapshot shows with its app hash (a
// copy) and block time (Unix nanoseconds), or ErrNothingCommitted when it
// shows nothing committed.
func (s *Snapshot) Committed() (height int64, appHash []byte, blockTime int64, err error) {
	if s.height < 0 && s.err == nil {
		return 0, nil, 0, ErrNothingCommitted
	}
	err = s.use(func(txn *badger.Txn) error {
		hash, found, err := txnGet(txn, keyAppHash)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("height %d has no app hash: %w", s.height, ledger.ErrStoreCorrupt)
		}
		t, found, err := txnGet(txn, keyTime)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("height %d has no block time: %w", s.height, ledger.ErrStoreCorrupt)
		}
		u, err := decodeUint64(t)
		if err != nil {
			return fmt.Errorf("block time of height %d: %w", s.height, err)
		}
		height, appHash, blockTime = s.height, hash, int64(u)
		return nil
	})
	if err != nil {
		return 0, nil, 0, fmt.Errorf("read committed height: %w", err)
	}
	return height, appHash, blockTime, nil
}

// exportPageBytes is about how many bytes of pairs Export reads under the
// snapshot's lock at a time.
const exportPageBytes = 1 << 20

// Export calls fn with every pair of the snapshot outside the reserved
// range (its whole committed state, without the store's own keys), in
// ascending key order, and stops at fn's first error, which it returns.
// key and value belong to fn only during the call.
//
// It reads a page of about 1 MiB at a time (and at least one pair), holding
// the snapshot only while it reads a page and calling fn between pages, so
// a long export (a state sync snapshot written to disk) neither holds up
// the DB's other users nor holds more than a page in memory.
func (s *Snapshot) Export(fn func(key, value []byte) error) error {
	start := firstDataKey
	var page []ledger.KV
	for {
		page = page[:0]
		more := false
		err := s.use(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100})
			defer it.Close()
			size := 0
			for it.Seek(start); it.Valid(); it.Next() {
				if size >= exportPageBytes {
					more = true
					return nil
				}
				item := it.Item()
				v, err := item.ValueCopy(nil)
				if err != nil {
					return fmt.Errorf("read %x: %w", item.Key(), err)
				}
				k := item.KeyCopy(nil)
				page = append(page, ledger.KV{Key: k, Value: v})
				size += len(k) + len(v)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for _, kv := range page {
			if err := fn(kv.Key, kv.Value); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		// The next key after the page's last: the same bytes and a zero.
		start = append(bytes.Clone(page[len(page)-1].Key), 0)
	}
}

// Read calls fn with a Snapshot of the committed state, as a ledger.Reader,
// and the height it shows (-1 when nothing had been committed), and closes
// the snapshot when fn returns; fn must not keep r. It returns fn's error.
// On a closed DB, fn still runs and every read through r fails with
// ErrClosed.
func (db *DB) Read(fn func(r ledger.Reader, height int64) error) error {
	s := db.Snapshot()
	defer s.Close()
	return fn(s, s.Height())
}
