package abci

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/evidenced/evidenced/snapshots"
	"github.com/evidenced/evidenced/store"
)

// TestStateSync: a node's App takes a snapshot after the Commit of a due
// height and serves it; a joining App, over an empty store, admits the
// genesis roster's nodes, refuses a snapshot whose app hash is not the
// trusted one and a chunk that does not match its hash, restores the
// snapshot, reports its height and app hash in Info, and then agrees with
// the source on the next block.
func TestStateSync(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	ms, err := snapshots.New(snapshots.Config{Dir: t.TempDir(), ChainID: chainID, Interval: 3, Keep: 2, ChunkSize: snapshots.MinChunkSize}, nil, h.db)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	h.app = New(h.db, Options{Now: func() time.Time { return h.now }, Snapshots: ms})
	// waitSnapshot polls the background write of the snapshot of height
	// until it is listed. The manager skips a due snapshot while the one
	// before is still being written, so each is awaited before the next is
	// due.
	waitSnapshot := func(height uint64) *abcitypes.Snapshot {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := h.app.ListSnapshots(ctx, &abcitypes.RequestListSnapshots{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range res.Snapshots {
				if s.Height == height {
					return s
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no snapshot of height %d within 30s of its commit; listed: %v", height, res.Snapshots)
			}
			time.Sleep(10 * time.Millisecond) // polling the background write
		}
	}
	for i := range 6 {
		var txs [][]byte
		for j := range 20 {
			txs = append(txs, h.evidence(fmt.Sprintf("SYNC-%d-%d", i, j), "bank-a"))
		}
		h.finalize(txs...)
		h.commit()
		if i == 2 {
			waitSnapshot(3)
		}
	}
	snap := waitSnapshot(6)
	if snap.Format != snapshots.Format || snap.Chunks < 2 {
		t.Fatalf("snapshot of height 6: format %d, %d chunks; want format %d in several chunks", snap.Format, snap.Chunks, snapshots.Format)
	}
	source := h.info()

	// The joining node: an empty store, the genesis roster.
	db, err := store.Open(filepath.Join(t.TempDir(), "joiner"), store.Options{ChainID: chainID})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mj, err := snapshots.New(snapshots.Config{Dir: t.TempDir(), ChainID: chainID, Keep: 1}, nil, db)
	if err != nil {
		t.Fatal(err)
	}
	defer mj.Close()
	joiner := New(db, Options{Snapshots: mj, Genesis: &h.a.Genesis.State})
	court := h.a.Parties["court"].Node.String()
	if res, err := joiner.Query(ctx, &abcitypes.RequestQuery{Path: "/p2p/filter/id/" + court}); err != nil || res.Code != 0 || !strings.Contains(res.Log, "genesis roster") {
		t.Fatalf("a joining node's filter of the court's node = %v %v, want it admitted by the genesis roster", res, err)
	}
	outsider := strings.Repeat("ab", 20)
	if res, _ := joiner.Query(ctx, &abcitypes.RequestQuery{Path: "/p2p/filter/id/" + outsider}); res.Code != QueryCodeUnavailable {
		t.Fatalf("a joining node's filter of an outsider = code %d %q, want it refused", res.Code, res.Log)
	}

	offer := func(appHash []byte) abcitypes.ResponseOfferSnapshot_Result {
		t.Helper()
		res, err := joiner.OfferSnapshot(ctx, &abcitypes.RequestOfferSnapshot{Snapshot: snap, AppHash: appHash})
		if err != nil {
			t.Fatal(err)
		}
		return res.Result
	}
	if r := offer(bytes.Repeat([]byte{7}, 32)); r != abcitypes.ResponseOfferSnapshot_REJECT_SENDER {
		t.Fatalf("a snapshot whose app hash is not the trusted one: %v, want REJECT_SENDER", r)
	}
	other := *snap
	other.Format = 9
	if res, _ := joiner.OfferSnapshot(ctx, &abcitypes.RequestOfferSnapshot{Snapshot: &other, AppHash: source.LastBlockAppHash}); res.Result != abcitypes.ResponseOfferSnapshot_REJECT_FORMAT {
		t.Fatalf("a snapshot of format 9: %v, want REJECT_FORMAT", res.Result)
	}
	if r := offer(source.LastBlockAppHash); r != abcitypes.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("the snapshot with the trusted app hash: %v, want ACCEPT", r)
	}
	apply := func(i uint32, chunk []byte, sender string) *abcitypes.ResponseApplySnapshotChunk {
		t.Helper()
		res, err := joiner.ApplySnapshotChunk(ctx, &abcitypes.RequestApplySnapshotChunk{Index: i, Chunk: chunk, Sender: sender})
		if err != nil {
			t.Fatalf("ApplySnapshotChunk %d: %v", i, err)
		}
		return res
	}
	for i := uint32(0); i < snap.Chunks; i++ {
		res, err := h.app.LoadSnapshotChunk(ctx, &abcitypes.RequestLoadSnapshotChunk{Height: snap.Height, Format: snap.Format, Chunk: i})
		if err != nil || len(res.Chunk) == 0 {
			t.Fatalf("LoadSnapshotChunk %d: %d bytes, %v", i, len(res.Chunk), err)
		}
		if i == 1 {
			bad := slices.Clone(res.Chunk)
			bad[0] ^= 0xff
			r := apply(i, bad, "liar")
			if r.Result != abcitypes.ResponseApplySnapshotChunk_RETRY || !slices.Equal(r.RefetchChunks, []uint32{1}) || !slices.Equal(r.RejectSenders, []string{"liar"}) {
				t.Fatalf("a chunk that does not match its hash: %v, want RETRY refetching chunk 1 and rejecting its sender", r)
			}
			if info, _ := joiner.Info(ctx, &abcitypes.RequestInfo{}); info.LastBlockHeight != 0 {
				t.Fatalf("the joining node reports height %d while restoring", info.LastBlockHeight)
			}
		}
		if r := apply(i, res.Chunk, "member"); r.Result != abcitypes.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v, want ACCEPT", i, r)
		}
	}
	info, err := joiner.Info(ctx, &abcitypes.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != 6 || !bytes.Equal(info.LastBlockAppHash, source.LastBlockAppHash) || info.AppVersion != AppVersion {
		t.Fatalf("after the restore Info = height %d, app hash %x, version %d; the source has %d, %x", info.LastBlockHeight, info.LastBlockAppHash, info.AppVersion, source.LastBlockHeight, source.LastBlockAppHash)
	}
	if info.Data != source.Data {
		t.Fatalf("after the restore Info data %s, the source's %s", info.Data, source.Data)
	}
	// Both apply block 7 alike.
	txs := [][]byte{h.evidence("SYNC-7", "bank-a")}
	next := h.finalize(txs...)
	h.commit()
	joined, err := joiner.FinalizeBlock(ctx, &abcitypes.RequestFinalizeBlock{Height: 7, Time: h.now, Txs: txs})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(joined.AppHash, next.AppHash) {
		t.Fatalf("block 7: the restored node's app hash is %x, the source's %x", joined.AppHash, next.AppHash)
	}
	if _, err := joiner.Commit(ctx, &abcitypes.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	// It now has committed state: it takes no snapshot offered.
	if r := offer(source.LastBlockAppHash); r != abcitypes.ResponseOfferSnapshot_ABORT {
		t.Fatalf("a snapshot offered to a node with state: %v, want ABORT", r)
	}
}
