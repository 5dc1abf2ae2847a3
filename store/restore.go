package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/evidenced/evidenced/ledger"
)

// Restore loads another node's committed state into this store, for a node
// that joins by state sync. Start one with DB.BeginRestore, Put every
// pair, then Commit (or Abort). Its methods are for one goroutine at a
// time.
type Restore struct {
	db   *DB
	wb   *badger.WriteBatch
	n    int  // pairs Put
	done bool // committed or aborted
}

// BeginRestore starts a restore into the store, which must hold no
// committed state (ErrNotEmpty; ErrRestoring when a restore is already in
// progress). From then until Commit or Abort, the store shows nothing
// committed and no key to its readers (Get, Scan, Snapshot, Read), as
// before the restore, so that nothing unverified is served; Commit is
// refused. A mark in the store records the restore: an Open that finds
// it (the process ended before Commit or Abort) discards the restore's
// data. Data of an earlier restore that never finished is discarded
// first.
func (db *DB) BeginRestore() (*Restore, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil, fmt.Errorf("begin restore: %w", ErrClosed)
	}
	if db.restoring {
		return nil, fmt.Errorf("begin restore: %w", ErrRestoring)
	}
	err := db.bdb.View(func(txn *badger.Txn) error {
		h, found, err := txnHeight(txn)
		if err != nil {
			return err
		}
		if found {
			return fmt.Errorf("%w: height %d is committed; a snapshot is restored only into an empty store (move %s aside to start over)", ErrNotEmpty, h, db.dir)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("begin restore into store %s: %w", db.dir, err)
	}
	if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(keyRestoring, nil) }); err != nil {
		return nil, fmt.Errorf("begin restore into store %s: %w", db.dir, err)
	}
	if _, err := db.clearData(); err != nil {
		return nil, fmt.Errorf("begin restore into store %s: clear what an earlier restore left: %w", db.dir, err)
	}
	db.restoring = true
	return &Restore{db: db, wb: db.bdb.NewWriteBatch()}, nil
}

// Put writes one pair of the restored state. The key must lie outside the
// reserved range (ErrReservedKey). Put keeps no reference to key or
// value. Nothing Put is visible to the store's readers before Commit.
func (r *Restore) Put(key, value []byte) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("restore: put %x: %w", key, err)
	}
	if err := r.live(); err != nil {
		return err
	}
	r.db.mu.RLock()
	defer r.db.mu.RUnlock()
	if r.db.closed {
		return fmt.Errorf("restore: put %x: %w", key, ErrClosed)
	}
	if err := r.wb.Set(bytes.Clone(key), bytes.Clone(value)); err != nil {
		return fmt.Errorf("restore into store %s: put %x: %w", r.db.dir, key, err)
	}
	r.n++
	return nil
}

// Pairs returns the number of pairs Put so far.
func (r *Restore) Pairs() int { return r.n }

// Read writes out what was Put so far and calls fn with a consistent view
// of it (not empty, unlike the store's other readers), to check the
// restored state before Commit. fn must not keep reader.
func (r *Restore) Read(fn func(reader ledger.Reader) error) error {
	if err := r.live(); err != nil {
		return err
	}
	if err := r.flush(); err != nil {
		return err
	}
	s := r.db.snapshot(true)
	defer s.Close()
	return fn(s)
}

// flush writes out the batch and starts a new one.
func (r *Restore) flush() error {
	r.db.mu.RLock()
	defer r.db.mu.RUnlock()
	if r.db.closed {
		return fmt.Errorf("restore: %w", ErrClosed)
	}
	err := r.wb.Flush()
	r.wb = r.db.bdb.NewWriteBatch()
	if err != nil {
		return fmt.Errorf("restore into store %s: write: %w", r.db.dir, err)
	}
	return nil
}

// Commit makes what was Put the store's committed state at height, with
// the app hash and block time (Unix nanoseconds) of that height, in one
// transaction that also removes the restore's mark, and ends the restore.
// Height must be positive. After an error the restore can still be
// aborted.
func (r *Restore) Commit(height int64, appHash []byte, blockTime int64) error {
	if err := r.live(); err != nil {
		return err
	}
	if height <= 0 {
		return fmt.Errorf("restore: commit height %d: a restored height must be positive", height)
	}
	if err := r.flush(); err != nil {
		return err
	}
	r.db.mu.Lock()
	defer r.db.mu.Unlock()
	if r.db.closed {
		return fmt.Errorf("restore: commit height %d: %w", height, ErrClosed)
	}
	err := r.db.bdb.Update(func(txn *badger.Txn) error {
		for _, m := range []struct{ k, v []byte }{
			{keyHeight, binary.BigEndian.AppendUint64(nil, uint64(height))},
			{keyAppHash, bytes.Clone(appHash)},
			{keyTime, binary.BigEndian.AppendUint64(nil, uint64(blockTime))},
		} {
			if err := txn.Set(m.k, m.v); err != nil {
				return err
			}
		}
		return txn.Delete(keyRestoring)
	})
	if err != nil {
		return fmt.Errorf("restore into store %s: commit height %d: %w", r.db.dir, height, err)
	}
	r.done, r.db.restoring = true, false
	return nil
}

// Abort discards everything Put and ends the restore: the store is empty
// again. Aborting a restore that ended does nothing.
func (r *Restore) Abort() error {
	if r.done {
		return nil
	}
	r.wb.Cancel()
	r.db.mu.Lock()
	defer r.db.mu.Unlock()
	r.done = true
	if r.db.closed {
		// The next Open finds the mark and discards the data.
		return nil
	}
	r.db.restoring = false
	if _, err := r.db.clearData(); err != nil {
		return fmt.Errorf("restore into store %s: abort: %w", r.db.dir, err)
	}
	if err := r.db.bdb.Update(func(txn *badger.Txn) error { return txn.Delete(keyRestoring) }); err != nil {
		return fmt.Errorf("restore into store %s: abort: %w", r.db.dir, err)
	}
	return nil
}

// live returns an error once the restore has ended.
func (r *Restore) live() error {
	if r.done {
		return errors.New("restore: it has ended (committed or aborted)")
	}
	return nil
}

// discardUnfinishedRestore discards the data of a restore whose mark is in
// the store (the process ended before its Commit or Abort) and returns
// how many keys it removed.
func (db *DB) discardUnfinishedRestore() (int, error) {
	var marked bool
	err := db.bdb.View(func(txn *badger.Txn) (err error) {
		_, marked, err = txnGet(txn, keyRestoring)
		return err
	})
	if err != nil || !marked {
		return 0, err
	}
	n, err := db.clearData()
	if err != nil {
		return 0, fmt.Errorf("discard an unfinished restore: %w", err)
	}
	if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Delete(keyRestoring) }); err != nil {
		return 0, fmt.Errorf("discard an unfinished restore: %w", err)
	}
	return n, nil
}

// clearBatch is how many keys clearData deletes per pass.
const clearBatch = 10_000

// clearData deletes every key outside the reserved range and returns how
// many. Only a restore's data is ever cleared: the caller makes sure no
// height is committed.
func (db *DB) clearData() (int, error) {
	total := 0
	for {
		var keys [][]byte
		err := db.bdb.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{})
			defer it.Close()
			for it.Seek(firstDataKey); it.Valid() && len(keys) < clearBatch; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return total, err
		}
		wb := db.bdb.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return total, err
			}
		}
		if err := wb.Flush(); err != nil {
			return total, err
		}
		total += len(keys)
	}
}
