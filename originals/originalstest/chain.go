package originalstest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// Chain is the committed state of a test alliance: a real ledger.Ledger
// applies each submitted transaction in a block of its own and commits it
// into an in-memory store. Snapshot and Submit have the shapes of
// originals.State and originals.SubmitFunc, so every service of a test
// shares one chain (every node has committed the same blocks). Block times
// come from the chain's clock, which starts at the wall clock, ticks a
// microsecond at each reading (so no two client times are equal) and jumps
// with Advance. It is safe for concurrent use.
type Chain struct {
	l *ledger.Ledger

	submitMu sync.Mutex // one block at a time, hooks in height order
	mu       sync.Mutex // guards the fields below
	// cur is the committed state. A block commits into a copy, so a
	// snapshot of cur stays valid without a lock.
	cur    *ledgertest.MemStore
	height int64
	last   int64 // time of the last block, Unix ns
	now    time.Time
	hooks  map[int]func([]ledger.TxResult)
	nextID int
}

// NewChain commits genesis g as height 0.
func NewChain(g *ledger.Genesis) (*Chain, error) {
	l := ledger.New(ledger.Options{})
	s := ledgertest.NewMemStore()
	out, err := l.InitChain(s, g)
	if err != nil {
		return nil, fmt.Errorf("originalstest: init chain %s: %w", g.ChainID, err)
	}
	s.Commit(out.Changes)
	now := time.Now()
	if t := time.Unix(0, g.Time); !now.After(t) {
		now = t.Add(time.Second)
	}
	return &Chain{l: l, cur: s, last: g.Time, now: now, hooks: map[int]func([]ledger.TxResult){}}, nil
}

// Snapshot returns a view of the committed state and its height
// (originals.State).
func (c *Chain) Snapshot() (*ledger.View, int64, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ledger.NewView(c.cur), c.height, func() {}, nil
}

// Now reads the chain's clock.
func (c *Chain) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Microsecond)
	return c.now
}

// Advance moves the clock by d and commits an empty block at the new time,
// as a running chain would.
func (c *Chain) Advance(d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	_, _, err := c.commit(nil)
	return err
}

// OnCommit calls fn with the results of every block committed from now on,
// in height order (like abci.Options.OnCommit); fn must not submit. The
// returned func stops the calls.
func (c *Chain) OnCommit(fn func([]ledger.TxResult)) (cancel func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	c.hooks[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.hooks, id)
	}
}

// Submit applies tx in a block of its own and commits it
// (originals.SubmitFunc). A rejected transaction commits nothing and is
// returned as a *ledger.RejectError, as CheckTx refuses it in a node.
func (c *Chain) Submit(ctx context.Context, tx []byte) (*api.Committed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, b, err := c.commit([][]byte{tx})
	if err != nil {
		return nil, err
	}
	r := out.Results[0]
	if r.Code != ledger.CodeOK {
		return nil, &ledger.RejectError{Code: r.Code, Msg: r.Log}
	}
	return &api.Committed{Height: b.Height, Time: time.Unix(0, b.Time).UTC(), Result: r}, nil
}

// commit applies a block of txs at the clock's time; it commits nothing
// when the only transaction is rejected.
func (c *Chain) commit(txs [][]byte) (*ledger.Outcome, ledger.Block, error) {
	c.submitMu.Lock()
	defer c.submitMu.Unlock()
	c.mu.Lock()
	cur := c.cur
	b := ledger.Block{Height: c.height + 1, Time: max(c.now.UnixNano(), c.last+1), Txs: txs}
	c.mu.Unlock()
	out, err := c.l.Apply(cur, b)
	if err != nil {
		return nil, b, fmt.Errorf("originalstest: apply block %d: %w", b.Height, err)
	}
	if len(txs) == 1 && out.Results[0].Code != ledger.CodeOK {
		return out, b, nil
	}
	next := ledgertest.NewMemStore()
	all, err := cur.Scan(nil, nil, cur.Len())
	if err != nil {
		return nil, b, err
	}
	next.Commit(all)
	next.Commit(out.Changes)
	c.mu.Lock()
	c.cur, c.height, c.last = next, b.Height, b.Time
	hooks := make([]func([]ledger.TxResult), 0, len(c.hooks))
	for id := range c.nextID {
		if fn, ok := c.hooks[id]; ok {
			hooks = append(hooks, fn)
		}
	}
	c.mu.Unlock()
	for _, fn := range hooks {
		fn(out.Results)
	}
	return out, b, nil
}
