package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// backend is the node's side of the HTTP API.
type backend struct{ n *Node }

var (
	_ api.Backend    = (*backend)(nil)
	_ api.Custodian  = (*backend)(nil)
	_ api.Notifier   = (*backend)(nil)
	_ api.Subscriber = (*backend)(nil)
	_ api.Governor   = (*backend)(nil)
)

// Snapshot implements api.Backend (and originals.State).
func (b *backend) Snapshot() (*ledger.View, int64, func(), error) {
	db := b.n.home.DB
	if db == nil {
		return nil, 0, nil, api.ErrOverloaded
	}
	s := db.Snapshot()
	return ledger.NewView(s), s.Height(), s.Close, nil
}

// Submit implements api.Backend: CheckTx through CometBFT's mempool, then,
// when asked, a wait for the block that holds the transaction.
func (b *backend) Submit(ctx context.Context, tx []byte, waitCommit bool) (*api.Committed, error) {
	var ch <-chan committedTx
	dtx, decodeErr := ledger.DecodeTx(tx)
	if waitCommit {
		// Register before the tx can reach a block. An undecodable tx is
		// refused by CheckTx below, so it needs no registration.
		if decodeErr == nil {
			c, cancel, err := b.n.waiters.register(dtx.ID())
			if err != nil {
				return nil, fmt.Errorf("%w: %v", api.ErrOverloaded, err)
			}
			defer cancel()
			ch = c
		}
	}
	if err := b.mempoolRoom(len(tx)); err != nil {
		return nil, err
	}
	switch err := b.broadcast(ctx, tx); {
	case err == nil:
	case errors.Is(err, errInMempoolCache):
		// CometBFT has seen these bytes: either they are still in the
		// mempool (wait for them) or already committed (a duplicate, which
		// CheckTx would have said had the cache not answered first).
		if decodeErr == nil {
			if dup := b.committedIndex(dtx); dup != nil {
				return nil, dup
			}
		}
	default:
		return nil, err
	}
	if !waitCommit || ch == nil {
		// Accepted into the mempool (CheckTx passed): only Result is meaningful.
		return &api.Committed{Result: ledger.TxResult{Code: ledger.CodeOK}}, nil
	}
	c, err := wait(ctx, ch)
	if err != nil {
		return nil, err
	}
	if c.result.Code != ledger.CodeOK {
		return nil, &api.CommitRejectError{Height: c.block.Height, Err: &ledger.RejectError{Code: c.result.Code, Msg: c.result.Log}}
	}
	return &api.Committed{Height: c.block.Height, Time: c.block.Time, Result: c.result}, nil
}

// Status implements api.Backend.
func (b *backend) Status(ctx context.Context) (*client.Status, error) {
	view, height, release, err := b.Snapshot()
	if err != nil {
		return nil, err
	}
	defer release()
	head, err := view.Head()
	if err != nil {
		return nil, fmt.Errorf("read log head: %w", err)
	}
	st := &client.Status{
		ChainID: b.n.home.Genesis.ChainID, Moniker: b.n.home.Config.Moniker, Member: b.n.home.Config.Member, Role: b.n.home.Config.Role,
		Height: height, LogSize: head.Size, Records: head.Records, LogRoot: head.Root, AppHash: head.AppHash,
	}
	if blk, err := view.Block(height); err == nil {
		st.BlockTime = time.Unix(0, blk.Time).UTC()
	}
	cs, err := b.n.rpc.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("CometBFT status: %w", err)
	}
	st.CatchingUp = cs.SyncInfo.CatchingUp
	if cs.SyncInfo.LatestBlockHeight == 0 {
		// Before the first block CometBFT has no validator set to report.
		st.Validators = len(b.n.home.Genesis.Validators)
		return st, nil
	}
	vals, err := b.n.rpc.Validators(ctx, nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("CometBFT validators: %w", err)
	}
	st.Validators = vals.Total
	return st, nil
}

// committedIndex returns a duplicate rejection if tx is already committed.
func (b *backend) committedIndex(tx *ledger.Tx) *ledger.RejectError {
	view, _, release, err := b.Snapshot()
	if err != nil {
		return nil
	}
	defer release()
	idx, err := view.IndexOfTx(tx.ID())
	if err != nil {
		return nil
	}
	return &ledger.RejectError{Code: ledger.CodeDuplicate, Msg: fmt.Sprintf("tx %s was already accepted, at entry %d", tx.ID(), idx)}
}

// KeepOriginal implements api.Backend through the originals service.
func (b *backend) KeepOriginal(ctx context.Context, r io.Reader, size int64, signer crypto.KeyID, commit func(*api.Original) error) (*api.Original, error) {
	return b.n.originals.KeepOriginal(ctx, r, size, signer, commit)
}

// Grant implements api.Custodian through the originals service.
func (b *backend) Grant(ctx context.Context, req api.GrantRequest) (*api.Committed, error) {
	return b.n.originals.Grant(ctx, req)
}

// Revoke implements api.Custodian through the originals service.
func (b *backend) Revoke(ctx context.Context, index uint64) (*api.Committed, error) {
	return b.n.originals.Revoke(ctx, index)
}

// FetchOriginal implements api.Custodian through the originals service.
func (b *backend) FetchOriginal(ctx context.Context, ref ledger.RecordRef, w io.Writer) (*api.Fetched, error) {
	return b.n.originals.FetchOriginal(ctx, ref, w)
}

// Govern implements api.Governor: p is signed with the member key and
// submitted, and the call waits for its commit.
func (b *backend) Govern(ctx context.Context, p ledger.Payload) (*api.Committed, error) {
	body := &ledger.Body{ChainID: b.n.home.Genesis.ChainID, Time: time.Now().UnixNano(), Payload: p}
	tx, err := ledger.SignTx(b.n.home.MemberKey, rand.Reader, body)
	if err != nil {
		return nil, fmt.Errorf("sign the %s with the member key: %w", p.TxType(), err)
	}
	return b.Submit(ctx, tx, true)
}
