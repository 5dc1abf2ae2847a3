package node

import (
	"sync"

	dbm "github.com/cometbft/cometbft-db"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// cometDBProvider opens CometBFT's databases (block store, state, evidence)
// as CometBFT does, wrapped so that a read after Close answers "not found"
// instead of an error.
//
// CometBFT v0.40 closes its block store in Node.OnStop while the consensus
// reactor's per-peer queryMaj23Routine goroutines may still be between
// their "still running?" check and a LoadSeenCommit, which panics on the
// closed database ("panic: leveldb: closed"; cometbft/cometbft, seen in
// Tendermint since v0.34). That routine skips a nil commit, so answering
// "not found" once closed lets a node stop cleanly, in-process or by signal.
func cometDBProvider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	db, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	return &closeSafeDB{DB: db}, nil
}

// closeSafeDB is a dbm.DB whose Get and Has answer "not found" after
// Close; Close waits for reads in flight.
type closeSafeDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

func (d *closeSafeDB) Get(key []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, nil
	}
	return d.DB.Get(key)
}

func (d *closeSafeDB) Has(key []byte) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return false, nil
	}
	return d.DB.Has(key)
}

func (d *closeSafeDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.DB.Close()
}
