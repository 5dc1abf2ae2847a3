package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cometbft/cometbft/mempool"

	"github.com/evidenced/evidenced/abci"
	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/ledger"
)

// SubmitBundle implements api.Backend. The transactions are first checked
// together against committed state (their signatures verified in parallel
// and remembered, so CheckTx does not verify them again); the accepted ones
// go to the mempool in as few bundles as the chain's size limit allows.
func (b *backend) SubmitBundle(ctx context.Context, txs [][]byte, waitCommit bool) ([]api.BundleOutcome, error) {
	out := make([]api.BundleOutcome, len(txs))
	all, err := ledger.EncodeBundle(txs)
	if err != nil {
		return nil, err
	}
	if b.n.home.DB == nil {
		return nil, api.ErrOverloaded
	}
	// Refuse at once when the mempool cannot take the bundle, before
	// verifying signatures that would only be verified again on the retry.
	if err := b.mempoolRoom(len(all)); err != nil {
		return nil, err
	}
	params, pre, err := b.precheck(ctx, all)
	if err != nil {
		return nil, err
	}
	if len(pre.Inner) != len(txs) {
		// The bundle as a whole was refused (too large for the chain).
		return nil, &ledger.RejectError{Code: pre.Code, Msg: pre.Log}
	}

	// Wait registrations come before the mempool can see the txs.
	chans := make([]<-chan committedTx, len(txs))
	var cancels []func()
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	var keep []int
	for i, r := range pre.Inner {
		if r.Code != ledger.CodeOK {
			out[i].Err = &ledger.RejectError{Code: r.Code, Msg: r.Log}
			continue
		}
		keep = append(keep, i)
		if waitCommit {
			c, cancel, err := b.n.waiters.register(r.ID)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", api.ErrOverloaded, err)
			}
			chans[i], cancels = c, append(cancels, cancel)
		}
	}

	// Send in chunks within the chain's size limit.
	limit := int(params.MaxTxBytes)
	for start := 0; start < len(keep); {
		end, size := start, 3
		for end < len(keep) && end-start < ledger.MaxBundleTxs && size+4+len(txs[keep[end]]) <= limit {
			size += 4 + len(txs[keep[end]])
			end++
		}
		if end == start { // one tx alone is over the limit: Check said too_large already
			end++
		}
		part := make([][]byte, 0, end-start)
		for _, i := range keep[start:end] {
			part = append(part, txs[i])
		}
		bundle, err := ledger.EncodeBundle(part)
		if err == nil {
			// Already in the cache: the same bundle was sent before and is
			// pending or committed; the waiters see its commit either way.
			if err = b.broadcast(ctx, bundle); errors.Is(err, errInMempoolCache) {
				err = nil
			}
		}
		for _, i := range keep[start:end] {
			if err != nil {
				out[i].Err = err
				chans[i] = nil
			} else {
				out[i].Committed = &api.Committed{Result: ledger.TxResult{Code: ledger.CodeOK, ID: pre.Inner[i].ID, Type: pre.Inner[i].Type, Signer: pre.Inner[i].Signer}}
			}
		}
		start = end
	}
	if !waitCommit {
		return out, nil
	}
	for i, ch := range chans {
		if ch == nil {
			continue
		}
		c, err := wait(ctx, ch)
		if err != nil {
			out[i] = api.BundleOutcome{Err: err}
			continue
		}
		if c.result.Code != ledger.CodeOK {
			out[i] = api.BundleOutcome{Err: &api.CommitRejectError{Height: c.block.Height, Err: &ledger.RejectError{Code: c.result.Code, Msg: c.result.Log}}}
			continue
		}
		out[i] = api.BundleOutcome{Committed: &api.Committed{Height: c.block.Height, Time: c.block.Time, Result: c.result}}
	}
	return out, nil
}

// precheck checks a bundle against committed state, one bundle at a time
// per node, and returns the chain's params with the result.
func (b *backend) precheck(ctx context.Context, bundle []byte) (*ledger.Params, ledger.TxResult, error) {
	select {
	case b.n.checking <- struct{}{}:
	case <-time.After(admitWait):
		return nil, ledger.TxResult{}, fmt.Errorf("%w: other submissions are being checked", api.ErrOverloaded)
	case <-ctx.Done():
		return nil, ledger.TxResult{}, ctx.Err()
	}
	defer func() { <-b.n.checking }()
	// The mempool may have filled while this bundle waited.
	if err := b.mempoolRoom(len(bundle)); err != nil {
		return nil, ledger.TxResult{}, err
	}
	var params *ledger.Params
	var pre ledger.TxResult
	err := b.n.home.DB.Read(func(r ledger.Reader, _ int64) (err error) {
		if params, err = ledger.NewView(r).Params(); err != nil {
			return err
		}
		if pre, err = b.n.app.Ledger().Check(r, bundle, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("check bundle: %w", err)
		}
		return nil
	})
	return params, pre, err
}

// admitWait is how long a bundle waits for its turn to be checked before
// the API answers 503.
const admitWait = 2 * time.Second

// errInMempoolCache is broadcast's answer when CometBFT has seen the bytes
// before (in its mempool, or committed).
var errInMempoolCache = errors.New("the transaction is already in the mempool cache")

// broadcast passes tx to the mempool (CheckTx). It returns nil when CheckTx
// accepted it, errInMempoolCache, a *ledger.RejectError, an error wrapping
// api.ErrOverloaded, or another error.
func (b *backend) broadcast(ctx context.Context, tx []byte) error {
	res, err := b.n.rpc.BroadcastTxSync(ctx, tx)
	switch {
	case err == nil:
	case errors.Is(err, mempool.ErrTxInCache):
		return errInMempoolCache
	case errors.As(err, new(mempool.ErrMempoolIsFull)), strings.Contains(err.Error(), "catching up"):
		return fmt.Errorf("%w: %v", api.ErrOverloaded, err)
	default:
		return fmt.Errorf("submit to the mempool: %w", err)
	}
	if res.Code != 0 {
		if res.Codespace == abci.NodeCodespace {
			return fmt.Errorf("%w: %s", api.ErrOverloaded, res.Log)
		}
		if res.Codespace != abci.Codespace {
			return fmt.Errorf("mempool refused the tx (codespace %q code %d): %s", res.Codespace, res.Code, res.Log)
		}
		return &ledger.RejectError{Code: ledger.Code(res.Code), Msg: res.Log}
	}
	return nil
}

// mempoolRoom returns an error wrapping api.ErrOverloaded when this node
// should not take n more bytes of its own submissions now. The API admits
// submissions only while the mempool is under half full: the other half is
// kept for transactions gossiped from the other members. A node whose
// mempool is full of its own submissions refuses its peers' transactions,
// so it has not verified them when they are proposed and must verify a
// whole block's signatures inside ProcessProposal, on consensus's critical
// path, while the work it did on its own backlog is wasted.
func (b *backend) mempoolRoom(n int) error {
	if b.n.cmt == nil {
		return api.ErrOverloaded
	}
	mp := b.n.cmt.Mempool()
	cfg := b.n.home.Comet.Mempool
	if mp.SizeBytes()+int64(n) > cfg.MaxTxsBytes/2 || mp.Size() >= cfg.Size/2 {
		return fmt.Errorf("%w: the mempool holds %d transactions, %d bytes; this node takes submissions up to half its limits (%d, %d bytes)", api.ErrOverloaded, mp.Size(), mp.SizeBytes(), cfg.Size, cfg.MaxTxsBytes)
	}
	return nil
}
