package ledger

import "errors"

// KV is one key/value change produced by applying a block. Delete marks a
// removal of Key (Value is then nil). Keys begin with a one-byte prefix from
// the table in keys.go; prefix 0x00 is reserved for the storage layer.
type KV struct {
	Key    []byte
	Value  []byte
	Delete bool
}

// Reader reads committed state. It is implemented by the storage layer (see
// package store) and by in-memory maps in tests.
//
// Get returns the value stored under key and found=true, or found=false when
// the key is absent. The returned slice is owned by the caller.
//
// Scan returns, in ascending key order, at most limit pairs whose key starts
// with prefix and is >= start (start may be nil). The returned slices are
// owned by the caller.
//
// Any error is an infrastructure failure: the ledger passes it up unchanged
// and the node halts rather than diverge.
type Reader interface {
	Get(key []byte) (value []byte, found bool, err error)
	Scan(prefix, start []byte, limit int) ([]KV, error)
}

// ErrStoreCorrupt is returned when committed state is internally
// inconsistent (for example an index that points at a missing entry). It
// means the node's data directory is damaged; restore it from a peer.
var ErrStoreCorrupt = errors.New("ledger: committed state is corrupt")
