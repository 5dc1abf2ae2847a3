package abci

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"
	cryptoproto "github.com/cometbft/cometbft/proto/tendermint/crypto"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/store"
)

const chainID = "evidenced-abci-test"

type harness struct {
	t     *testing.T
	dir   string
	db    *store.DB
	app   *App
	a     *ledgertest.Alliance
	now   time.Time
	h     int64
	block []CommittedBlock
}

// initChain is the InitChain request of the harness's alliance for chain:
// its genesis state and, as CometBFT passes them, its validators.
func (h *harness) initChain(chain string) *abcitypes.RequestInitChain {
	h.t.Helper()
	state, err := json.Marshal(h.a.Genesis.State)
	if err != nil {
		h.t.Fatal(err)
	}
	req := &abcitypes.RequestInitChain{ChainId: chain, Time: h.now, AppStateBytes: state}
	for _, v := range h.a.Validators {
		req.Validators = append(req.Validators, abcitypes.ValidatorUpdate{
			PubKey: cryptoproto.PublicKey{Sum: &cryptoproto.PublicKey_Ed25519{Ed25519: v.PubKey}}, Power: int64(v.Power)})
	}
	return req
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	a, err := ledgertest.NewAlliance(rand.Reader, chainID)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: filepath.Join(t.TempDir(), "db"), a: a, now: time.Unix(0, ledgertest.GenesisTime).UTC()}
	h.open()
	t.Cleanup(func() { h.db.Close() })
	res, err := h.app.InitChain(context.Background(), h.initChain(chainID))
	if err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	if len(res.AppHash) != 32 {
		t.Fatalf("InitChain app hash %x", res.AppHash)
	}
	return h
}

func (h *harness) open() {
	h.t.Helper()
	db, err := store.Open(h.dir, store.Options{ChainID: chainID})
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	h.app = New(db, Options{Now: func() time.Time { return h.now }, OnCommit: func(b CommittedBlock) { h.block = append(h.block, b) }})
}

func (h *harness) restart() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

func (h *harness) finalize(txs ...[]byte) *abcitypes.ResponseFinalizeBlock {
	h.t.Helper()
	h.h++
	h.now = h.now.Add(time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abcitypes.RequestFinalizeBlock{Height: h.h, Time: h.now, Txs: txs})
	if err != nil {
		h.t.Fatalf("FinalizeBlock %d: %v", h.h, err)
	}
	return res
}

func (h *harness) commit() {
	h.t.Helper()
	if _, err := h.app.Commit(context.Background(), &abcitypes.RequestCommit{}); err != nil {
		h.t.Fatalf("Commit: %v", err)
	}
}

func (h *harness) info() *abcitypes.ResponseInfo {
	h.t.Helper()
	res, err := h.app.Info(context.Background(), &abcitypes.RequestInfo{})
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) evidence(chain string, key string) []byte {
	return h.a.Evidence(h.a.Key(key), h.now.UnixNano(), ledger.Record{Kind: "loan-contract", Chain: chain, Step: 1, Commitment: crypto.SM3([]byte(chain)), Size: 1})
}

func TestBlockLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if got := h.info(); got.LastBlockHeight != 0 || len(got.LastBlockAppHash) != 32 {
		t.Fatalf("Info after InitChain = height %d hash %x", got.LastBlockHeight, got.LastBlockAppHash)
	}
	good := h.evidence("LOAN-1", "bank-a")
	ct, err := h.app.CheckTx(ctx, &abcitypes.RequestCheckTx{Tx: good})
	if err != nil || ct.Code != 0 {
		t.Fatalf("CheckTx good = %+v, %v", ct, err)
	}
	bad := h.evidence("LOAN-2", "notary")
	ct, _ = h.app.CheckTx(ctx, &abcitypes.RequestCheckTx{Tx: bad})
	if ct.Code != uint32(ledger.CodeRoleNotAllowed) || ct.Codespace != Codespace || ct.Log == "" {
		t.Fatalf("CheckTx notary evidence = %+v", ct)
	}

	// PrepareProposal drops the rejected tx and keeps order; ProcessProposal
	// accepts the result and rejects the original.
	pp, err := h.app.PrepareProposal(ctx, &abcitypes.RequestPrepareProposal{Height: 1, Time: h.now, MaxTxBytes: 1 << 20, Txs: [][]byte{bad, good, []byte("junk")}})
	if err != nil || len(pp.Txs) != 1 || string(pp.Txs[0]) != string(good) {
		t.Fatalf("PrepareProposal kept %d txs, %v", len(pp.Txs), err)
	}
	acc, _ := h.app.ProcessProposal(ctx, &abcitypes.RequestProcessProposal{Height: 1, Time: h.now, Txs: pp.Txs})
	if acc.Status != abcitypes.ResponseProcessProposal_ACCEPT {
		t.Fatalf("ProcessProposal of a prepared block = %v", acc.Status)
	}
	rej, _ := h.app.ProcessProposal(ctx, &abcitypes.RequestProcessProposal{Height: 1, Time: h.now, Txs: [][]byte{good, bad}})
	if rej.Status != abcitypes.ResponseProcessProposal_REJECT {
		t.Fatalf("ProcessProposal with a rejected tx = %v", rej.Status)
	}
	pp, _ = h.app.PrepareProposal(ctx, &abcitypes.RequestPrepareProposal{Height: 1, Time: h.now, MaxTxBytes: int64(len(good) - 1), Txs: [][]byte{good}})
	if len(pp.Txs) != 0 {
		t.Fatal("PrepareProposal exceeded MaxTxBytes")
	}

	fb := h.finalize(good, bad)
	if fb.TxResults[0].Code != 0 || fb.TxResults[1].Code != uint32(ledger.CodeRoleNotAllowed) {
		t.Fatalf("FinalizeBlock results %+v", fb.TxResults)
	}
	if len(fb.TxResults[0].Events) != 1 || fb.TxResults[0].Events[0].Type != "evidence" {
		t.Fatalf("accepted tx events %+v", fb.TxResults[0].Events)
	}
	// Info reports only committed values: FinalizeBlock alone changes nothing.
	if got := h.info(); got.LastBlockHeight != 0 {
		t.Fatalf("Info after FinalizeBlock, before Commit = height %d", got.LastBlockHeight)
	}
	h.commit()
	got := h.info()
	if got.LastBlockHeight != 1 || string(got.LastBlockAppHash) != string(fb.AppHash) {
		t.Fatalf("Info after Commit = %d %x, want 1 %x", got.LastBlockHeight, got.LastBlockAppHash, fb.AppHash)
	}
	if len(h.block) != 1 || h.block[0].Height != 1 || len(h.block[0].Txs) != 2 || h.block[0].Txs[0].Index != 6 {
		t.Fatalf("OnCommit saw %+v", h.block)
	}
	// The same tx again is a duplicate in CheckTx.
	ct, _ = h.app.CheckTx(ctx, &abcitypes.RequestCheckTx{Tx: good, Type: abcitypes.CheckTxType_Recheck})
	if ct.Code != uint32(ledger.CodeDuplicate) {
		t.Fatalf("CheckTx of a committed tx = %+v", ct)
	}
	q, _ := h.app.Query(ctx, &abcitypes.RequestQuery{Path: "/entry", Data: []byte("6")})
	if q.Code != 0 || len(q.Value) == 0 {
		t.Fatalf("Query /entry 6 = %+v", q)
	}
	q, _ = h.app.Query(ctx, &abcitypes.RequestQuery{Path: "/nope"})
	if q.Code == 0 {
		t.Fatal("Query of an unknown path succeeded")
	}
}

func TestCrashBeforeCommitReplays(t *testing.T) {
	h := newHarness(t)
	tx := h.evidence("LOAN-C", "bank-a")
	fb := h.finalize(tx)
	// Crash: the staged block is lost with the process.
	h.restart()
	if got := h.info(); got.LastBlockHeight != 0 {
		t.Fatalf("after a crash before Commit, Info height = %d, want 0", got.LastBlockHeight)
	}
	// CometBFT replays the block: same result, same app hash.
	h.h--
	h.now = h.now.Add(-time.Second)
	again := h.finalize(tx)
	if string(again.AppHash) != string(fb.AppHash) || again.TxResults[0].Code != 0 {
		t.Fatalf("replayed block app hash %x, first run %x", again.AppHash, fb.AppHash)
	}
	h.commit()
	h.restart()
	if got := h.info(); got.LastBlockHeight != 1 || string(got.LastBlockAppHash) != string(fb.AppHash) {
		t.Fatalf("after restart Info = %d %x", got.LastBlockHeight, got.LastBlockAppHash)
	}
}

func TestInitChainTwiceAfterRestart(t *testing.T) {
	h := newHarness(t)
	first := h.info().LastBlockAppHash
	h.restart()
	res, err := h.app.InitChain(context.Background(), h.initChain(chainID))
	if err != nil || string(res.AppHash) != string(first) {
		t.Fatalf("InitChain after restart at height 0 = %x, %v; want %x", res.AppHash, err, first)
	}
	if _, err := h.app.InitChain(context.Background(), h.initChain("other")); err == nil {
		t.Fatal("InitChain for another chain on this store succeeded")
	}
}

func TestCommitWithoutFinalize(t *testing.T) {
	h := newHarness(t)
	if _, err := h.app.Commit(context.Background(), &abcitypes.RequestCommit{}); err == nil {
		t.Fatal("Commit with nothing staged succeeded")
	}
}

// failingStore is a Store whose Commit fails while fail is set.
type failingStore struct {
	Store
	fail error
}

func (s *failingStore) Commit(c store.Commit) error {
	if s.fail != nil {
		return s.fail
	}
	return s.Store.Commit(c)
}

// TestStoreCommitFailure: a store that cannot commit makes Commit return
// the failure (CometBFT halts rather than diverge), OnCommit hears nothing,
// Info stays at the last committed height, and the replayed block commits
// with the same app hash once the store works again.
func TestStoreCommitFailure(t *testing.T) {
	h := newHarness(t)
	fs := &failingStore{Store: h.db, fail: errors.New("disk full")}
	h.app = New(fs, Options{Now: func() time.Time { return h.now }, OnCommit: func(b CommittedBlock) { h.block = append(h.block, b) }})
	tx := h.evidence("LOAN-F", "bank-a")
	fb := h.finalize(tx)
	if _, err := h.app.Commit(context.Background(), &abcitypes.RequestCommit{}); !errors.Is(err, fs.fail) {
		t.Fatalf("Commit over a failing store = %v, want the store's error", err)
	}
	if len(h.block) != 0 {
		t.Fatalf("OnCommit heard of a block the store did not commit: %+v", h.block)
	}
	if got := h.info(); got.LastBlockHeight != 0 {
		t.Fatalf("Info after a failed commit = height %d, want 0", got.LastBlockHeight)
	}
	fs.fail = nil
	h.h--
	h.now = h.now.Add(-time.Second)
	again := h.finalize(tx)
	h.commit()
	if got := h.info(); got.LastBlockHeight != 1 || string(got.LastBlockAppHash) != string(fb.AppHash) || string(again.AppHash) != string(fb.AppHash) {
		t.Fatalf("after the store recovered: Info %d %x, replay %x; want 1 %x", got.LastBlockHeight, got.LastBlockAppHash, again.AppHash, fb.AppHash)
	}
}

func TestVerifyCacheOnlyRemembersSuccess(t *testing.T) {
	c := newVerifyCache(2)
	k, _ := crypto.GenerateKey(rand.Reader)
	msg := []byte("body")
	sig, _ := k.Sign(rand.Reader, msg)
	if err := c.verify(k.Public(), msg, sig); err != nil {
		t.Fatal(err)
	}
	if err := c.verify(k.Public(), []byte("other"), sig); err == nil {
		t.Fatal("cache accepted a signature over other bytes")
	}
	other, _ := crypto.GenerateKey(rand.Reader)
	if err := c.verify(other.Public(), msg, sig); err == nil {
		t.Fatal("cache accepted the signature under another key")
	}
	// Eviction keeps the size bound.
	for i := range 5 {
		m := []byte{byte(i)}
		s, _ := k.Sign(rand.Reader, m)
		if err := c.verify(k.Public(), m, s); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.seen) != 2 {
		t.Fatalf("cache holds %d entries, bound is 2", len(c.seen))
	}
}

// A bundle with a rejected inner transaction is cut down by the proposer to
// its accepted part; the original stays acceptable to the mempool until all
// its good inner transactions are committed.
func TestBundleProposalKeepsAcceptedPart(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a, b, bad := h.evidence("LOAN-A", "bank-a"), h.evidence("LOAN-B", "bank-b"), h.evidence("LOAN-N", "notary")
	bundle, err := ledger.EncodeBundle([][]byte{a, bad, b})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := h.app.CheckTx(ctx, &abcitypes.RequestCheckTx{Tx: bundle})
	if err != nil || ct.Code != 0 {
		t.Fatalf("CheckTx of a bundle with 2 of 3 good = %+v, %v", ct, err)
	}
	pp, err := h.app.PrepareProposal(ctx, &abcitypes.RequestPrepareProposal{Height: 1, Time: h.now, MaxTxBytes: 1 << 20, Txs: [][]byte{bad, bundle, []byte("junk")}})
	if err != nil || len(pp.Txs) != 1 {
		t.Fatalf("PrepareProposal = %d txs, %v", len(pp.Txs), err)
	}
	inner, err := ledger.DecodeBundle(pp.Txs[0])
	if err != nil || len(inner) != 2 || string(inner[0]) != string(a) || string(inner[1]) != string(b) {
		t.Fatalf("proposed bundle holds %d txs (%v), want the 2 good ones in order", len(inner), err)
	}
	// The outcome PrepareProposal leaves for reuse is exactly what executing
	// the kept block gives.
	cached := h.app.outcomes.get(keyOf(1, h.now, pp.Txs))
	if cached == nil {
		t.Fatal("PrepareProposal cached no outcome for its proposal")
	}
	fresh, err := h.app.simulate(1, h.now, pp.Txs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached, fresh) {
		t.Fatalf("cached outcome differs from executing the proposal:\ncached %+v\nfresh  %+v", cached.Results, fresh.Results)
	}
	if acc, _ := h.app.ProcessProposal(ctx, &abcitypes.RequestProcessProposal{Height: 1, Time: h.now, Txs: pp.Txs}); acc.Status != abcitypes.ResponseProcessProposal_ACCEPT {
		t.Fatalf("ProcessProposal of the prepared bundle = %v", acc.Status)
	}
	if rej, _ := h.app.ProcessProposal(ctx, &abcitypes.RequestProcessProposal{Height: 1, Time: h.now, Txs: [][]byte{bundle}}); rej.Status != abcitypes.ResponseProcessProposal_REJECT {
		t.Fatalf("ProcessProposal of the partly bad bundle = %v", rej.Status)
	}
	fb := h.finalize(pp.Txs...)
	if fb.TxResults[0].Code != 0 || len(fb.TxResults[0].Events) != 2 {
		t.Fatalf("FinalizeBlock bundle result %+v", fb.TxResults[0])
	}
	h.commit()
	var indexes []uint64
	ledger.EachTx(h.block[0].Txs, func(r *ledger.TxResult) { indexes = append(indexes, r.Index) })
	if len(indexes) != 2 || indexes[0] != 6 || indexes[1] != 7 {
		t.Fatalf("committed inner indexes %v, want [6 7]", indexes)
	}
	// Recheck of the original: every inner tx is now committed or bad.
	ct, _ = h.app.CheckTx(ctx, &abcitypes.RequestCheckTx{Tx: bundle, Type: abcitypes.CheckTxType_Recheck})
	if ct.Code != uint32(ledger.CodeBundleRejected) || ct.Log == "" {
		t.Fatalf("recheck of a spent bundle = %+v", ct)
	}
}
