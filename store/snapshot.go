package store

import (
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

	closed bool // guarded by db.mu
}

var _ ledger.Reader = (*Snapshot)(nil)

// Snapshot returns a read-only view of the current committed state. If the
// DB is closed, or its height cannot be read, the snapshot's reads return
// that error.
func (db *DB) Snapshot() *Snapshot {
	db.mu.Lock()
	defer db.mu.Unlock()
	s := &Snapshot{db: db, height: -1}
	if db.closed {
		s.closed = true
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
// closed.
func (s *Snapshot) use(f func(*badger.Txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.db.mu.RLock()
	defer s.db.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if s.err != nil {
		return s.err
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
	s.discard()
	delete(s.db.snaps, s)
}

// discard ends the transaction; the caller holds s.db.mu for writing.
func (s *Snapshot) discard() {
	s.closed = true
	s.txn.Discard()
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
