package abci

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// blockKey names the inputs of one block execution: the height, the block
// time and the exact transactions. Over the same committed state (the one
// below height, which is all a node ever executes a block at that height
// against) equal keys give equal outcomes, so an outcome computed by
// PrepareProposal or ProcessProposal can be reused by ProcessProposal and
// FinalizeBlock instead of executing the block two or three times.
type blockKey struct {
	height int64
	time   int64
	txs    crypto.Hash // SM3 over each tx, length-prefixed
}

func keyOf(height int64, t time.Time, txs [][]byte) blockKey {
	h := crypto.NewSM3()
	var n [4]byte
	for _, tx := range txs {
		binary.BigEndian.PutUint32(n[:], uint32(len(tx)))
		h.Write(n[:])
		h.Write(tx)
	}
	k := blockKey{height: height, time: t.UnixNano()}
	copy(k.txs[:], h.Sum(nil))
	return k
}

// outcomeCache holds the few outcomes of the height being decided (one per
// proposal seen). It never changes a result: an entry is exactly what
// Apply returns for its key.
type outcomeCache struct {
	mu sync.Mutex
	m  map[blockKey]*ledger.Outcome
}

// maxOutcomes bounds the cache: proposals of a few rounds of one height.
const maxOutcomes = 4

func (c *outcomeCache) get(k blockKey) *ledger.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *outcomeCache) put(k blockKey, out *ledger.Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxOutcomes {
		c.m = map[blockKey]*ledger.Outcome{}
	}
	c.m[k] = out
}

// forget drops every outcome for heights up to height (committed).
func (c *outcomeCache) forget(height int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.height <= height {
			delete(c.m, k)
		}
	}
}

// keptOutcome derives the outcome of the kept transactions from the outcome
// of all offered ones: rejected transactions (and a bundle's rejected inner
// transactions) staged nothing, so the changes and app hash are the same and
// only the results of what was dropped go. kept[i] is the tx whose result
// is results[i].
func keptOutcome(all *ledger.Outcome, keptResults []ledger.TxResult) *ledger.Outcome {
	return &ledger.Outcome{Results: keptResults, Changes: all.Changes, AppHash: all.AppHash, LogSize: all.LogSize, LogRoot: all.LogRoot,
		ValidatorUpdates: all.ValidatorUpdates}
}
