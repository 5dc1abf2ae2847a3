package node

import (
	"context"
	"errors"
	"sync"

	"github.com/evidenced/evidenced/abci"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// errTooManyWaiters is returned when MaxWaiters submits already wait.
var errTooManyWaiters = errors.New("too many submissions are waiting for commit")

// committedTx is delivered to a waiter when the block holding its tx commits.
type committedTx struct {
	block  *abci.CommittedBlock
	result ledger.TxResult
}

// waiters lets submitters wait for their transaction's block. Registration
// happens before the tx reaches the mempool, so a commit cannot slip by
// unseen. Bounded: beyond max, register fails (the API answers 503).
type waiters struct {
	mu  sync.Mutex
	max int
	n   int
	m   map[crypto.Hash][]chan committedTx
}

func newWaiters(max int) *waiters {
	return &waiters{max: max, m: map[crypto.Hash][]chan committedTx{}}
}

// register returns a channel that receives the tx's result, and a cancel
// func that must be called when the caller stops waiting.
func (w *waiters) register(id crypto.Hash) (<-chan committedTx, func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n >= w.max {
		return nil, nil, errTooManyWaiters
	}
	ch := make(chan committedTx, 1)
	w.m[id] = append(w.m[id], ch)
	w.n++
	cancel := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		list := w.m[id]
		for i, c := range list {
			if c == ch {
				w.m[id] = append(list[:i], list[i+1:]...)
				w.n--
				break
			}
		}
		if len(w.m[id]) == 0 {
			delete(w.m, id)
		}
	}
	return ch, cancel, nil
}

// publish delivers a committed block's results. Called from Commit.
func (w *waiters) publish(b abci.CommittedBlock) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		return
	}
	ledger.EachTx(b.Txs, func(r *ledger.TxResult) {
		if r.ID == (crypto.Hash{}) {
			return
		}
		for _, ch := range w.m[r.ID] {
			select {
			case ch <- committedTx{block: &b, result: *r}:
			default: // already delivered (the same tx twice in a block)
			}
		}
	})
}

// wait blocks until ch delivers or ctx ends.
func wait(ctx context.Context, ch <-chan committedTx) (committedTx, error) {
	select {
	case c := <-ch:
		return c, nil
	case <-ctx.Done():
		return committedTx{}, ctx.Err()
	}
}

// broadcaster wakes everyone waiting for the next commit.
type broadcaster struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next notify.
func (b *broadcaster) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// notify closes the channel of the current waiters.
func (b *broadcaster) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// Changed implements api.Notifier.
func (b *backend) Changed() <-chan struct{} { return b.n.changed.wait() }
