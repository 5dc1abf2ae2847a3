package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/evidenced/evidenced/ledger"
)

// SchemaVersion is the version of the key layout this package reads and
// writes, and of the ledger's state encoding inside it (version 2: member
// records with peers, grants, the records counter). It is stored at the
// first Open and checked by every later one, so a home written by an
// incompatible binary is refused with a clear error instead of failing
// consensus.
const SchemaVersion = 2

// Badger sizing; see the package documentation for why.
const (
	memTableSize     = 96 << 20
	numMemtables     = 2
	blockCacheSize   = 32 << 20
	indexCacheSize   = 16 << 20
	numCompactors    = 2
	valueLogFileSize = 64 << 20
)

// MaxCommitBytes is the largest change set one Commit accepts, in Badger's
// estimate of a transaction's size: the sum over all changes of
// len(Key)+len(Value)+12, plus about 100 bytes for the meta keys. It is 15%
// of Badger's memtable size. Independently, a commit may hold at most about
// MaxCommitBytes/96 changes (Badger's per-entry skiplist node).
const MaxCommitBytes = 15 * memTableSize / 100

// Reserved meta keys under prefix 0x00 (see the package documentation).
var (
	keySchema  = []byte{0x00, 0x01}
	keyChainID = []byte{0x00, 0x02}
	keyHeight  = []byte{0x00, 0x03}
	keyAppHash = []byte{0x00, 0x04}
	keyTime    = []byte{0x00, 0x05}
	// keyRestoring marks a restore in progress (restore.go): an Open that
	// finds it discards the unfinished restore's data.
	keyRestoring = []byte{0x00, 0x06}
)

// firstDataKey is the smallest key outside the reserved range.
var firstDataKey = []byte{0x01}

var (
	// ErrSchemaMismatch is returned by Open when the directory was written
	// with a different key layout than this binary's SchemaVersion.
	ErrSchemaMismatch = errors.New("store: schema version mismatch")

	// ErrChainMismatch is returned by Open when the directory holds the state
	// of another chain than Options.ChainID.
	ErrChainMismatch = errors.New("store: chain id mismatch")

	// ErrNoChainID is returned by Open when Options.ChainID is empty.
	ErrNoChainID = errors.New("store: no chain id given")

	// ErrHeightGap is returned by Commit when the height is not the one
	// after the committed height (or 0 on an empty store).
	ErrHeightGap = errors.New("store: commit height out of sequence")

	// ErrReservedKey is returned when a change, Get or Scan uses a key that
	// is empty or starts with the reserved prefix 0x00.
	ErrReservedKey = errors.New("store: key is empty or in the reserved 0x00 range")

	// ErrCommitTooBig is returned by Commit when the change set does not fit
	// in one Badger transaction (see MaxCommitBytes). Nothing is written.
	ErrCommitTooBig = errors.New("store: change set too big for one transaction")

	// ErrNothingCommitted is returned by Committed and CommittedTime when no
	// height has been committed yet.
	ErrNothingCommitted = errors.New("store: nothing committed yet")

	// ErrClosed is returned by any method called on a closed DB or Snapshot.
	ErrClosed = errors.New("store: closed")

	// ErrNotEmpty is returned by BeginRestore when the store already holds
	// committed state: a snapshot is restored only into an empty store.
	ErrNotEmpty = errors.New("store: already holds committed state")

	// ErrRestoring is returned by Commit and BeginRestore while a restore
	// is in progress (see BeginRestore).
	ErrRestoring = errors.New("store: a restore is in progress")
)

// Options configures Open. The zero value is not usable: ChainID is
// required. Start from DefaultOptions.
type Options struct {
	// Logger receives Badger's log lines with attribute component=badger
	// (Errorf→Error, Warningf→Warn, Infof→Info, Debugf→Debug). nil discards
	// them.
	Logger *slog.Logger
	// InMemory keeps everything in memory and ignores dir. For tests only.
	InMemory bool
	// SyncWrites syncs Badger's write-ahead log before Commit returns, so a
	// returned commit survives a power failure. Default true.
	SyncWrites bool
	// ChainID is the chain this store belongs to. The first Open records it;
	// a later Open with another ChainID fails with ErrChainMismatch.
	ChainID string
}

// DefaultOptions returns the options a node uses: SyncWrites on, logs
// discarded. The caller sets ChainID and, usually, Logger.
func DefaultOptions() Options {
	return Options{SyncWrites: true}
}

// Commit is one block's change set, written atomically by DB.Commit.
type Commit struct {
	// Height is the block height: 0 for InitChain, then 1, 2, 3, ….
	Height int64
	// AppHash is the app hash after applying the block.
	AppHash []byte
	// Time is the block time in Unix nanoseconds (0 for InitChain if the
	// caller has none). It is stored, not checked.
	Time int64
	// Changes are applied in order; a later change of the same key wins.
	// No key may be empty or start with 0x00.
	Changes []ledger.KV
}

// DB is a node's committed state. Its methods are safe for concurrent use;
// Commits are serialised.
type DB struct {
	bdb *badger.DB
	dir string

	commitMu sync.Mutex // serialises Commit

	mu     sync.RWMutex // guards closed, restoring and snaps; held for reading during every operation
	closed bool
	snaps  map[*Snapshot]struct{}
	// restoring is set while a Restore is in progress: readers see an
	// empty store and Commit is refused.
	restoring bool
}

// Open opens (creating if needed, mode 0700) the store in dir. The first
// Open records SchemaVersion and opts.ChainID; later ones check them and
// fail with ErrSchemaMismatch or ErrChainMismatch. Badger's errors (for
// example another process holding the directory) are returned wrapped with
// dir. With opts.InMemory, dir is ignored.
func Open(dir string, opts Options) (*DB, error) {
	if opts.ChainID == "" {
		return nil, fmt.Errorf("open store %s: %w: set the chain id from genesis in the options", dir, ErrNoChainID)
	}
	bdir := dir
	if opts.InMemory {
		bdir = ""
		dir = "(in memory)"
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bopts := badger.DefaultOptions(bdir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(opts.SyncWrites).
		WithLogger(newBadgerLogger(logger)).
		WithNumVersionsToKeep(1).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(blockCacheSize).
		WithIndexCacheSize(indexCacheSize).
		WithNumCompactors(numCompactors).
		WithValueLogFileSize(valueLogFileSize).
		WithDetectConflicts(false).
		WithMetricsEnabled(false)
	bdb, err := badger.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	db := &DB{bdb: bdb, dir: dir, snaps: map[*Snapshot]struct{}{}}
	if err := db.checkMeta(opts.ChainID); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if discarded, err := db.discardUnfinishedRestore(); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	} else if discarded > 0 {
		logger.Warn("discarded the state of a restore that did not finish (a state sync interrupted); the node restores a snapshot again or starts from genesis",
			"store", dir, "keys", discarded)
	}
	return db, nil
}

// checkMeta writes the schema version and chain id into an empty store, or
// checks them against this binary and chainID.
func (db *DB) checkMeta(chainID string) error {
	return db.bdb.Update(func(txn *badger.Txn) error {
		schema, found, err := txnGet(txn, keySchema)
		if err != nil {
			return err
		}
		if !found {
			if !txnEmpty(txn) {
				return fmt.Errorf("%w: found data but no schema version; this is not an evidenced store, or it is damaged: move it aside and resync from peers", ErrSchemaMismatch)
			}
			v := binary.BigEndian.AppendUint32(nil, SchemaVersion)
			if err := txn.Set(keySchema, v); err != nil {
				return err
			}
			return txn.Set(keyChainID, []byte(chainID))
		}
		if len(schema) != 4 {
			return fmt.Errorf("schema version is %d bytes, want 4: %w", len(schema), ledger.ErrStoreCorrupt)
		}
		if v := binary.BigEndian.Uint32(schema); v != SchemaVersion {
			return fmt.Errorf("%w: found %d, this binary supports %d; run a binary that supports version %d, or move the directory aside and resync from peers",
				ErrSchemaMismatch, v, SchemaVersion, v)
		}
		stored, found, err := txnGet(txn, keyChainID)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("no chain id recorded: %w", ledger.ErrStoreCorrupt)
		}
		if string(stored) != chainID {
			return fmt.Errorf("%w: the directory holds chain %q but the node is configured for chain %q; point the node at the data directory of %q, or at an empty one",
				ErrChainMismatch, stored, chainID, chainID)
		}
		return nil
	})
}

// txnEmpty reports whether the store holds no key at all.
func txnEmpty(txn *badger.Txn) bool {
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	it.Rewind()
	return !it.Valid()
}

// txnGet returns a copy of the value of key, or found=false.
func txnGet(txn *badger.Txn, key []byte) ([]byte, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// checkKey rejects an empty key and keys in the reserved range.
func checkKey(key []byte) error {
	if len(key) == 0 || key[0] == 0x00 {
		return ErrReservedKey
	}
	return nil
}

// Get returns a copy of the latest committed value of key and found=true,
// or found=false when key is absent (or a restore is in progress: see
// BeginRestore). A key that is empty or starts with 0x00 gives
// ErrReservedKey.
func (db *DB) Get(key []byte) ([]byte, bool, error) {
	if err := checkKey(key); err != nil {
		return nil, false, fmt.Errorf("get %x: %w", key, err)
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, false, fmt.Errorf("get %x: %w", key, ErrClosed)
	}
	if db.restoring {
		return nil, false, nil
	}
	var v []byte
	var found bool
	err := db.bdb.View(func(txn *badger.Txn) error {
		var err error
		v, found, err = txnGet(txn, key)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("get %x from store %s: %w", key, db.dir, err)
	}
	return v, found, nil
}

// Scan returns, in ascending key order, at most limit pairs of the latest
// committed state whose key starts with prefix and is >= start (start may
// be nil). An empty prefix scans every key outside the reserved range; a
// prefix starting with 0x00 gives ErrReservedKey. limit <= 0 returns no
// pairs. The returned slices are owned by the caller.
func (db *DB) Scan(prefix, start []byte, limit int) ([]ledger.KV, error) {
	if len(prefix) > 0 && prefix[0] == 0x00 {
		return nil, fmt.Errorf("scan %x: %w", prefix, ErrReservedKey)
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, fmt.Errorf("scan %x: %w", prefix, ErrClosed)
	}
	if db.restoring {
		return nil, nil
	}
	var out []ledger.KV
	err := db.bdb.View(func(txn *badger.Txn) error {
		var err error
		out, err = txnScan(txn, prefix, start, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scan %x from store %s: %w", prefix, db.dir, err)
	}
	return out, nil
}

// txnScan implements Scan within txn; the caller has checked prefix.
func txnScan(txn *badger.Txn, prefix, start []byte, limit int) ([]ledger.KV, error) {
	if limit <= 0 {
		return nil, nil
	}
	seek := prefix
	if bytes.Compare(start, seek) > 0 {
		seek = start
	}
	if bytes.Compare(seek, firstDataKey) < 0 {
		seek = firstDataKey
	}
	it := txn.NewIterator(badger.IteratorOptions{
		PrefetchValues: true,
		PrefetchSize:   min(limit, 100),
		Prefix:         prefix,
	})
	defer it.Close()
	var out []ledger.KV
	for it.Seek(seek); it.ValidForPrefix(prefix) && len(out) < limit; it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return nil, fmt.Errorf("read %x: %w", item.Key(), err)
		}
		out = append(out, ledger.KV{Key: item.KeyCopy(nil), Value: v})
	}
	return out, nil
}

// Commit writes c.Changes together with c.Height, c.AppHash and c.Time in
// one Badger transaction: after a crash either all of it is present or none.
// c.Height must be 0 on an empty store and the committed height + 1
// afterwards (ErrHeightGap). A change with an empty key or one starting
// with 0x00 is rejected (ErrReservedKey), and a change set larger than
// MaxCommitBytes fails with ErrCommitTooBig; in every error case nothing is
// written. Commit does not retain c.
func (db *DB) Commit(c Commit) error {
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return fmt.Errorf("commit height %d: %w", c.Height, ErrClosed)
	}
	if db.restoring {
		return fmt.Errorf("commit height %d: %w: the store is being loaded from a snapshot (state sync)", c.Height, ErrRestoring)
	}
	for i, kv := range c.Changes {
		if err := checkKey(kv.Key); err != nil {
			return fmt.Errorf("commit height %d: change %d key %x: %w", c.Height, i, kv.Key, err)
		}
	}
	txn := db.bdb.NewTransaction(true)
	defer txn.Discard()
	last, found, err := txnHeight(txn)
	if err != nil {
		return fmt.Errorf("commit height %d to store %s: %w", c.Height, db.dir, err)
	}
	want := int64(0)
	if found {
		want = last + 1
	}
	if c.Height != want {
		if !found {
			return fmt.Errorf("commit height %d: %w: nothing committed yet, so the first commit must be height 0 (InitChain)", c.Height, ErrHeightGap)
		}
		return fmt.Errorf("commit height %d: %w: last committed height is %d, so the next must be %d", c.Height, ErrHeightGap, last, want)
	}
	var size int
	for i, kv := range c.Changes {
		size += len(kv.Key) + len(kv.Value) + 12
		if kv.Delete {
			err = txn.Delete(kv.Key)
		} else {
			err = txn.Set(kv.Key, kv.Value)
		}
		if err != nil {
			return db.commitErr(c, i, size, err)
		}
	}
	meta := []struct{ k, v []byte }{
		{keyHeight, binary.BigEndian.AppendUint64(nil, uint64(c.Height))},
		{keyAppHash, bytes.Clone(c.AppHash)},
		{keyTime, binary.BigEndian.AppendUint64(nil, uint64(c.Time))},
	}
	for _, m := range meta {
		if err := txn.Set(m.k, m.v); err != nil {
			return db.commitErr(c, len(c.Changes), size, err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("commit height %d (%d changes) to store %s: %w", c.Height, len(c.Changes), db.dir, err)
	}
	return nil
}

// commitErr describes a failure to stage change i of c.
func (db *DB) commitErr(c Commit, i, size int, err error) error {
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("commit height %d: %w: %d changes, too big at change %d (%d bytes so far, max %d); make blocks smaller (fewer records per block): %w",
			c.Height, ErrCommitTooBig, len(c.Changes), i, size, MaxCommitBytes, err)
	}
	return fmt.Errorf("commit height %d to store %s: change %d: %w", c.Height, db.dir, i, err)
}

// txnHeight reads the committed height.
func txnHeight(txn *badger.Txn) (int64, bool, error) {
	v, found, err := txnGet(txn, keyHeight)
	if err != nil || !found {
		return 0, false, err
	}
	h, err := decodeUint64(v)
	if err != nil {
		return 0, false, fmt.Errorf("committed height: %w", err)
	}
	if int64(h) < 0 {
		return 0, false, fmt.Errorf("committed height %d out of range: %w", h, ledger.ErrStoreCorrupt)
	}
	return int64(h), true, nil
}

// decodeUint64 decodes a stored u64 big-endian value.
func decodeUint64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("value is %d bytes, want 8: %w", len(b), ledger.ErrStoreCorrupt)
	}
	return binary.BigEndian.Uint64(b), nil
}

// Committed returns the committed height and its app hash (a copy), or
// ErrNothingCommitted with height 0 and a nil hash when nothing has been
// committed yet.
func (db *DB) Committed() (height int64, appHash []byte, err error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return 0, nil, fmt.Errorf("read committed height: %w", ErrClosed)
	}
	err = db.bdb.View(func(txn *badger.Txn) error {
		h, found, err := txnHeight(txn)
		if err != nil {
			return err
		}
		if !found {
			return ErrNothingCommitted
		}
		hash, found, err := txnGet(txn, keyAppHash)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("height %d has no app hash: %w", h, ledger.ErrStoreCorrupt)
		}
		height, appHash = h, hash
		return nil
	})
	if errors.Is(err, ErrNothingCommitted) {
		return 0, nil, err
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read committed height from store %s: %w", db.dir, err)
	}
	return height, appHash, nil
}

// CommittedTime returns the block time (Unix nanoseconds) recorded with the
// committed height, or ErrNothingCommitted when nothing has been committed.
func (db *DB) CommittedTime() (int64, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return 0, fmt.Errorf("read committed time: %w", ErrClosed)
	}
	var t int64
	err := db.bdb.View(func(txn *badger.Txn) error {
		v, found, err := txnGet(txn, keyTime)
		if err != nil {
			return err
		}
		if !found {
			return ErrNothingCommitted
		}
		u, err := decodeUint64(v)
		t = int64(u)
		return err
	})
	if errors.Is(err, ErrNothingCommitted) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("read committed time from store %s: %w", db.dir, err)
	}
	return t, nil
}

// Close closes every open Snapshot, then the database, flushing it to disk.
// Calling Close again returns nil.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	for s := range db.snaps {
		s.discard()
	}
	db.snaps = nil
	if err := db.bdb.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", db.dir, err)
	}
	return nil
}

// Size returns the bytes the store occupies on disk: lsm for the LSM tree
// (tables, memtable write-ahead logs, manifest), vlog for the value log.
// Pre-allocated but unwritten file space is not counted. It is 0, 0 for an
// in-memory or closed store, and best effort: files that vanish during the
// walk (compaction) are skipped.
func (db *DB) Size() (lsm, vlog int64) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed || db.bdb.Opts().InMemory {
		return 0, 0
	}
	return dirSize(db.bdb.Opts().Dir)
}
