package abci

import (
	"context"
	"errors"
	"fmt"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/evidenced/evidenced/snapshots"
	"github.com/evidenced/evidenced/store"
)

// State sync: the four ABCI snapshot methods translate to the snapshot
// manager (package snapshots), which takes the snapshots after Commit,
// keeps and serves them, and restores one into an empty store for a node
// that joins by state sync. Without a manager the App serves none and
// restores none.

// ListSnapshots lists the snapshots this node serves.
func (a *App) ListSnapshots(context.Context, *abcitypes.RequestListSnapshots) (*abcitypes.ResponseListSnapshots, error) {
	res := &abcitypes.ResponseListSnapshots{}
	if a.snapshots == nil {
		return res, nil
	}
	for _, s := range a.snapshots.List() {
		res.Snapshots = append(res.Snapshots, &abcitypes.Snapshot{Height: s.Height, Format: s.Format, Chunks: s.Chunks, Hash: s.Hash, Metadata: s.Metadata})
	}
	return res, nil
}

// LoadSnapshotChunk returns a chunk of a snapshot this node serves; none
// (CometBFT answers "missing") for a snapshot or chunk it does not hold.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abcitypes.RequestLoadSnapshotChunk) (*abcitypes.ResponseLoadSnapshotChunk, error) {
	if a.snapshots == nil {
		return &abcitypes.ResponseLoadSnapshotChunk{}, nil
	}
	chunk, err := a.snapshots.LoadChunk(req.Height, req.Format, req.Chunk)
	if err != nil {
		return nil, fmt.Errorf("load snapshot chunk: %w", err)
	}
	return &abcitypes.ResponseLoadSnapshotChunk{Chunk: chunk}, nil
}

// OfferSnapshot starts restoring a snapshot that checks out against the
// app hash CometBFT's light client trusts for its height (req.AppHash):
// ACCEPT. Otherwise REJECT_FORMAT for another format, REJECT_SENDER when
// what it claims does not check out (its senders are not to be trusted),
// REJECT when it is sound but not for this node (another chain or store
// schema), and ABORT when the store already holds state, which an operator
// must move aside.
func (a *App) OfferSnapshot(_ context.Context, req *abcitypes.RequestOfferSnapshot) (*abcitypes.ResponseOfferSnapshot, error) {
	result := func(r abcitypes.ResponseOfferSnapshot_Result) (*abcitypes.ResponseOfferSnapshot, error) {
		return &abcitypes.ResponseOfferSnapshot{Result: r}, nil
	}
	if a.snapshots == nil {
		a.log.Error("state sync offered a snapshot, but this node has no snapshot store; turn [statesync] enable off in config.toml")
		return result(abcitypes.ResponseOfferSnapshot_ABORT)
	}
	s := req.Snapshot
	if s == nil {
		return result(abcitypes.ResponseOfferSnapshot_REJECT)
	}
	err := a.snapshots.Offer(snapshots.Snapshot{Height: s.Height, Format: s.Format, Chunks: s.Chunks, Hash: s.Hash, Metadata: s.Metadata}, req.AppHash)
	switch {
	case err == nil:
		return result(abcitypes.ResponseOfferSnapshot_ACCEPT)
	case errors.Is(err, snapshots.ErrUnknownFormat):
		a.log.Info("state sync: refused a snapshot of another format", "height", s.Height, "err", err)
		return result(abcitypes.ResponseOfferSnapshot_REJECT_FORMAT)
	case errors.Is(err, snapshots.ErrForged):
		a.log.Warn("state sync: refused a snapshot that does not check out; its senders are refused", "height", s.Height, "err", err)
		return result(abcitypes.ResponseOfferSnapshot_REJECT_SENDER)
	case errors.Is(err, snapshots.ErrUnusable):
		a.log.Warn("state sync: refused a snapshot", "height", s.Height, "err", err)
		return result(abcitypes.ResponseOfferSnapshot_REJECT)
	case errors.Is(err, store.ErrNotEmpty):
		a.log.Error("state sync stopped: the app store already holds state but CometBFT has none; move the home's data/evidenced aside to state sync again",
			"err", err)
		return result(abcitypes.ResponseOfferSnapshot_ABORT)
	}
	return nil, fmt.Errorf("offer snapshot of height %d: %w", s.Height, err)
}

// ApplySnapshotChunk restores one chunk of the snapshot accepted by
// OfferSnapshot. A chunk whose SM3 is not the one the snapshot's metadata
// lists is written nowhere: RETRY, fetching it again, and its sender
// refused. A snapshot whose chunks or restored state do not check out is
// discarded: REJECT_SNAPSHOT, with its senders refused.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abcitypes.RequestApplySnapshotChunk) (*abcitypes.ResponseApplySnapshotChunk, error) {
	if a.snapshots == nil {
		return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_ABORT}, nil
	}
	_, err := a.snapshots.ApplyChunk(req.Index, req.Chunk, req.Sender)
	var bad *snapshots.BadChunkError
	var forged *snapshots.ForgedError
	switch {
	case err == nil:
		return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_ACCEPT}, nil
	case errors.As(err, &bad):
		a.log.Warn("state sync: a snapshot chunk did not match its hash; fetching it again from another member", "chunk", req.Index, "sender", req.Sender, "err", err)
		res := &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_RETRY, RefetchChunks: []uint32{req.Index}}
		if req.Sender != "" {
			res.RejectSenders = []string{req.Sender}
		}
		return res, nil
	case errors.As(err, &forged):
		a.log.Warn("state sync: the snapshot does not check out; it is discarded and its senders refused", "senders", forged.Senders, "err", err)
		return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_REJECT_SNAPSHOT, RejectSenders: forged.Senders}, nil
	case errors.Is(err, snapshots.ErrUnusable):
		a.log.Warn("state sync: the snapshot is discarded", "err", err)
		return &abcitypes.ResponseApplySnapshotChunk{Result: abcitypes.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}, nil
	}
	return nil, fmt.Errorf("apply snapshot chunk %d: %w", req.Index, err)
}
