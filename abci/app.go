// Package abci adapts the evidence ledger (package ledger) to CometBFT's
// ABCI 2.0 interface. It only translates: every rule lives in ledger, every
// byte of state in store.
//
// Determinism (docs/ARCHITECTURE.md): FinalizeBlock applies the block to a
// snapshot of committed state and stages the outcome; Commit writes the
// staged changes with the new height, app hash and block time in one Badger
// transaction; Info reports only committed values. CheckTx, PrepareProposal
// and ProcessProposal run the same ledger validation and never write.
// Positive SM2 verification results are cached by the exact (key, body,
// signature) triple, so a node verifies a signature once, but the cache
// cannot change what FinalizeBlock accepts.
//
// State sync (snapshot.go): after Commit the App hands the height to the
// snapshot manager (package snapshots), which pins the committed state
// when a snapshot is due and writes it in the background; the ABCI
// snapshot methods list, serve, check and restore snapshots through it.
package abci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/snapshots"
	"github.com/evidenced/evidenced/store"
)

// Codespace is the CometBFT codespace of every evidenced result code.
const Codespace = "evidenced"

// NodeCodespace and CodeUnavailable mark a CheckTx refusal that is about
// this node, not the transaction (its store failed or is closing): the
// transaction may be valid; submit it again later or elsewhere.
const (
	NodeCodespace          = "evidenced-node"
	CodeUnavailable uint32 = 1
)

// AppVersion is the application protocol version reported in Info.
const AppVersion = 1

// CommittedTx is one transaction result of a committed block.
type CommittedTx struct {
	Result ledger.TxResult
}

// CommittedBlock is what the App reports after each Commit.
type CommittedBlock struct {
	Height  int64
	Time    time.Time
	AppHash crypto.Hash
	LogSize uint64
	Txs     []ledger.TxResult
}

// Options configure an App.
type Options struct {
	Logger *slog.Logger
	// VerifyCacheSize bounds the positive signature cache (entries); 0 =
	// 262144, several times what a full mempool holds, so rechecks never
	// verify again.
	VerifyCacheSize int
	// Workers verifies a block's signatures in parallel; 0 = GOMAXPROCS.
	Workers int
	// OnCommit, when set, is called after every Commit with the block's
	// results, in height order, on the consensus goroutine: keep it short.
	OnCommit func(CommittedBlock)
	// Now is the clock CheckTx uses for the client-time window, and the
	// peer filter to space its warnings (default time.Now). It never
	// reaches the consensus path.
	Now func() time.Time
	// OnVerify, when set, is told how long each SM2 verification that
	// missed the cache took (for metrics). It must be safe for concurrent use.
	OnVerify func(time.Duration)
	// Snapshots, when set, takes a snapshot after the Commit of each due
	// height and serves and restores snapshots for CometBFT's state sync
	// (snapshot.go); nil: none are served or restored.
	Snapshots *snapshots.Manager
	// Genesis is the genesis roster: while nothing is committed (a node
	// joining by state sync), the peer filter admits the nodes it names
	// (filter.go). nil: every peer is refused until genesis is committed.
	Genesis *ledger.GenesisState
	// Bootstrap are more node ids the filter admits while nothing is
	// committed: the nodes the operator chose to sync from (the node ids
	// in config.toml's persistent_peers, which `evidenced join` takes from
	// the alliance's published list of member nodes). Years after genesis
	// the genesis roster's nodes may all have been replaced or removed;
	// what a joining node restores from them is checked against the app
	// hash its light client trusts either way.
	Bootstrap []ledger.NodeID
}

// App is the CometBFT application.
type App struct {
	abcitypes.BaseApplication

	db       Store
	l        *ledger.Ledger
	log      *slog.Logger
	cache    *verifyCache
	onCommit func(CommittedBlock)
	now      func() time.Time

	member    string             // this node's member, for vote extensions
	memberKey *crypto.PrivateKey // signs checkpoints in ExtendVote; nil: no extensions
	keyWarned atomic.Bool        // the member key was found not to be the roster's (warned once)

	mu     sync.Mutex
	staged *stagedBlock // set by FinalizeBlock, written and cleared by Commit

	outcomes outcomeCache // block executions of the height being decided
	refused  refusals     // rations the warnings about refused peers (filter.go)

	snapshots    *snapshots.Manager       // nil: no state sync
	genesisNodes map[ledger.NodeID]string // the genesis roster's nodes, by id, to their members
}

type stagedBlock struct {
	height int64
	time   time.Time
	out    *ledger.Outcome
}

var _ abcitypes.Application = (*App)(nil)

// New returns an App over the committed state in db.
func New(db Store, opts Options) *App {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.VerifyCacheSize <= 0 {
		opts.VerifyCacheSize = 1 << 18
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &App{db: db, log: opts.Logger.With("component", "abci"), cache: newVerifyCache(opts.VerifyCacheSize),
		onCommit: opts.OnCommit, now: opts.Now, snapshots: opts.Snapshots, genesisNodes: genesisNodes(opts.Genesis, opts.Bootstrap)}
	a.cache.observe = opts.OnVerify
	a.l = ledger.New(ledger.Options{Verify: a.cache.verify, Workers: opts.Workers})
	return a
}

// Ledger returns the state machine the App drives (for queries).
func (a *App) Ledger() *ledger.Ledger { return a.l }

// Info reports the last committed height and app hash.
func (a *App) Info(context.Context, *abcitypes.RequestInfo) (*abcitypes.ResponseInfo, error) {
	h, appHash, err := a.db.Committed()
	if errors.Is(err, store.ErrNothingCommitted) {
		return &abcitypes.ResponseInfo{Data: "evidenced", Version: "1", AppVersion: AppVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("info: read committed height: %w", err)
	}
	var head ledger.LogHead
	if err := a.db.Read(func(r ledger.Reader, _ int64) (err error) {
		head, err = ledger.NewView(r).Head()
		return err
	}); err != nil {
		return nil, fmt.Errorf("info: read log head: %w", err)
	}
	data, _ := json.Marshal(map[string]any{"log_size": head.Size, "log_root": head.Root.String()})
	// Height 0 is the genesis state written by InitChain: CometBFT counts
	// that as "nothing committed yet" and calls InitChain again, which we
	// answer from the store.
	return &abcitypes.ResponseInfo{Data: string(data), Version: "1", AppVersion: AppVersion,
		LastBlockHeight: h, LastBlockAppHash: appHash}, nil
}

// InitChain registers the genesis roster and commits it as height 0.
func (a *App) InitChain(_ context.Context, req *abcitypes.RequestInitChain) (*abcitypes.ResponseInitChain, error) {
	gs, err := ledger.ParseGenesisState(req.AppStateBytes)
	if err != nil {
		return nil, fmt.Errorf("init chain %s: %w", req.ChainId, err)
	}
	h, appHash, err := a.db.Committed()
	switch {
	case err == nil && h == 0:
		// InitChain again after a restart before block 1: the genesis state
		// is already committed. Check it is the same chain.
		var p *ledger.Params
		if err := a.db.Read(func(r ledger.Reader, _ int64) (err error) {
			p, err = ledger.NewView(r).Params()
			return err
		}); err != nil {
			return nil, err
		}
		if p.ChainID != req.ChainId {
			return nil, fmt.Errorf("init chain %s: the store holds chain %s", req.ChainId, p.ChainID)
		}
		return &abcitypes.ResponseInitChain{AppHash: appHash}, nil
	case err == nil:
		return nil, fmt.Errorf("init chain %s: the store is already at height %d", req.ChainId, h)
	case !errors.Is(err, store.ErrNothingCommitted):
		return nil, err
	}
	// The consensus validators must be the roster's voting members.
	validators := make([]ledger.ConsensusValidator, 0, len(req.Validators))
	for _, v := range req.Validators {
		pk := v.PubKey.GetEd25519()
		if pk == nil || v.Power < 0 {
			return nil, fmt.Errorf("init chain %s: genesis validator %v is not an Ed25519 key with a voting power", req.ChainId, v.PubKey)
		}
		validators = append(validators, ledger.ConsensusValidator{PubKey: pk, Power: uint64(v.Power)})
	}
	var out *ledger.Outcome
	err = a.db.Read(func(r ledger.Reader, _ int64) (err error) {
		out, err = a.l.InitChain(r, &ledger.Genesis{ChainID: req.ChainId, Time: req.Time.UnixNano(), State: *gs, Validators: validators})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("init chain %s: %w", req.ChainId, err)
	}
	if err := a.db.Commit(store.Commit{Height: 0, AppHash: out.AppHash[:], Time: req.Time.UnixNano(), Changes: out.Changes}); err != nil {
		return nil, fmt.Errorf("init chain %s: commit genesis state: %w", req.ChainId, err)
	}
	a.log.Info("genesis committed", "chain_id", req.ChainId, "members", len(gs.Members), "app_hash", out.AppHash.String())
	return &abcitypes.ResponseInitChain{AppHash: out.AppHash[:]}, nil
}

// CheckTx validates a transaction against committed state for the mempool.
func (a *App) CheckTx(_ context.Context, req *abcitypes.RequestCheckTx) (*abcitypes.ResponseCheckTx, error) {
	var res ledger.TxResult
	err := a.db.Read(func(r ledger.Reader, _ int64) (err error) {
		res, err = a.l.Check(r, req.Tx, a.now().UnixNano())
		return err
	})
	if err != nil {
		// CometBFT halts on a CheckTx error (a recheck may even run while
		// the node stops and its store is closed): refuse the tx instead.
		a.log.Warn("check tx failed", "err", err)
		return &abcitypes.ResponseCheckTx{Code: CodeUnavailable, Log: "the node cannot check transactions now: " + err.Error(), Codespace: NodeCodespace}, nil
	}
	return &abcitypes.ResponseCheckTx{Code: uint32(res.Code), Log: res.Log, Codespace: codespace(res.Code)}, nil
}

// PrepareProposal keeps, in mempool order and within MaxTxBytes, the
// transactions the ledger would accept in this block. Dropping a rejected
// transaction never changes the outcome of another (a rejected transaction
// stages nothing), so the kept set is accepted whole.
func (a *App) PrepareProposal(_ context.Context, req *abcitypes.RequestPrepareProposal) (*abcitypes.ResponsePrepareProposal, error) {
	start := time.Now()
	var txs [][]byte
	var size int64
	cp, err := a.checkpointTx(req.Height, req.LocalLastCommit.Votes)
	if err != nil {
		return nil, fmt.Errorf("prepare proposal %d: checkpoint: %w", req.Height, err)
	}
	if cp != nil && int64(len(cp)) <= req.MaxTxBytes {
		txs = append(txs, cp)
		size += int64(len(cp))
	}
	for _, tx := range req.Txs {
		if size+int64(len(tx)) > req.MaxTxBytes {
			break
		}
		size += int64(len(tx))
		txs = append(txs, tx)
	}
	out, err := a.simulate(req.Height, req.Time, txs)
	if err != nil {
		return nil, fmt.Errorf("prepare proposal %d: %w", req.Height, err)
	}
	var kept [][]byte
	var keptResults []ledger.TxResult
	dropped := 0
	for i, r := range out.Results {
		switch {
		case r.Code == ledger.CodeOK:
			kept, keptResults = append(kept, txs[i]), append(keptResults, r)
		case r.Type == ledger.TxBundle && r.Accepted() > 0:
			// Keep the accepted part of a bundle. Its rejected inner
			// transactions staged nothing, so the accepted ones apply
			// exactly as simulated.
			b, res, err := acceptedPart(txs[i], &r)
			if err != nil {
				return nil, fmt.Errorf("prepare proposal %d: tx %d: %w", req.Height, i, err)
			}
			kept, keptResults = append(kept, b), append(keptResults, res)
			dropped += len(r.Inner) - r.Accepted()
		default:
			dropped++
		}
	}
	// What was dropped staged nothing: the kept block's outcome is this one
	// with only the kept results. ProcessProposal and FinalizeBlock of this
	// proposal reuse it.
	a.outcomes.put(keyOf(req.Height, req.Time, kept), keptOutcome(out, keptResults))
	a.log.Debug("proposal prepared", "height", req.Height, "offered", len(req.Txs), "kept", len(kept), "dropped", dropped, "dur", time.Since(start))
	return &abcitypes.ResponsePrepareProposal{Txs: kept}, nil
}

// ProcessProposal accepts a proposal only if the ledger accepts every
// transaction in it: an honest proposer never includes a rejected one.
func (a *App) ProcessProposal(_ context.Context, req *abcitypes.RequestProcessProposal) (*abcitypes.ResponseProcessProposal, error) {
	start := time.Now()
	k := keyOf(req.Height, req.Time, req.Txs)
	out, cached := a.outcomes.get(k), true
	if out == nil {
		var err error
		cached = false
		if out, err = a.simulate(req.Height, req.Time, req.Txs); err != nil {
			return nil, fmt.Errorf("process proposal %d: %w", req.Height, err)
		}
		a.outcomes.put(k, out)
	}
	defer func() {
		a.log.Debug("proposal processed", "height", req.Height, "txs", len(req.Txs), "cached", cached, "dur", time.Since(start))
	}()
	for i, r := range out.Results {
		if r.Code != ledger.CodeOK {
			a.log.Warn("rejecting proposal with a rejected tx", "height", req.Height, "tx", i, "code", r.Code.String(), "log", r.Log)
			return &abcitypes.ResponseProcessProposal{Status: abcitypes.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abcitypes.ResponseProcessProposal{Status: abcitypes.ResponseProcessProposal_ACCEPT}, nil
}

// acceptedPart rebuilds bundle raw with only the inner transactions its
// result accepted, and returns the result Apply gives that bundle.
func acceptedPart(raw []byte, r *ledger.TxResult) ([]byte, ledger.TxResult, error) {
	inner, err := ledger.DecodeBundle(raw)
	if err != nil {
		return nil, ledger.TxResult{}, err
	}
	keep := make([][]byte, 0, r.Accepted())
	res := ledger.TxResult{Type: ledger.TxBundle, Code: ledger.CodeOK, Inner: make([]ledger.TxResult, 0, r.Accepted())}
	for j := range inner {
		if r.Inner[j].Code == ledger.CodeOK {
			keep = append(keep, inner[j])
			res.Inner = append(res.Inner, r.Inner[j])
		}
	}
	b, err := ledger.EncodeBundle(keep)
	if err != nil {
		return nil, ledger.TxResult{}, err
	}
	res.ID = crypto.SM3(b)
	return b, res, nil
}

// simulate applies a block to committed state without staging it.
func (a *App) simulate(height int64, t time.Time, txs [][]byte) (out *ledger.Outcome, err error) {
	err = a.db.Read(func(r ledger.Reader, _ int64) error {
		out, err = a.l.Apply(r, ledger.Block{Height: height, Time: t.UnixNano(), Txs: txs})
		return err
	})
	return out, err
}

// FinalizeBlock applies the decided block to committed state and stages the
// outcome for Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abcitypes.RequestFinalizeBlock) (*abcitypes.ResponseFinalizeBlock, error) {
	h, _, err := a.db.Committed()
	if err != nil {
		return nil, fmt.Errorf("finalize block %d: %w", req.Height, err)
	}
	if req.Height != h+1 {
		return nil, fmt.Errorf("finalize block %d: committed height is %d", req.Height, h)
	}
	start := time.Now()
	out, cached := a.outcomes.get(keyOf(req.Height, req.Time, req.Txs)), true
	if out == nil {
		cached = false
		if out, err = a.simulate(req.Height, req.Time, req.Txs); err != nil {
			return nil, fmt.Errorf("finalize block %d: %w", req.Height, err)
		}
	}
	a.log.Debug("block finalized", "height", req.Height, "txs", len(req.Txs), "changes", len(out.Changes), "cached", cached, "dur", time.Since(start))
	a.mu.Lock()
	a.staged = &stagedBlock{height: req.Height, time: req.Time, out: out}
	a.mu.Unlock()
	results := make([]*abcitypes.ExecTxResult, len(out.Results))
	for i, r := range out.Results {
		results[i] = execResult(r)
	}
	// A roster version that took effect in this block changes the
	// validators from two blocks on (ABCI: updates in block H apply to
	// H+2), when the ledger's checkpoints expect its signatures.
	var updates []abcitypes.ValidatorUpdate
	for _, u := range out.ValidatorUpdates {
		updates = append(updates, abcitypes.Ed25519ValidatorUpdate(u.PubKey, int64(u.Power)))
	}
	if len(updates) > 0 {
		a.log.Info("roster version in force: validator set changes", "height", req.Height, "updates", len(updates), "from_height", req.Height+2)
	}
	return &abcitypes.ResponseFinalizeBlock{TxResults: results, AppHash: out.AppHash[:], ValidatorUpdates: updates}, nil
}

// Commit writes the staged block atomically.
func (a *App) Commit(context.Context, *abcitypes.RequestCommit) (*abcitypes.ResponseCommit, error) {
	a.mu.Lock()
	st := a.staged
	a.staged = nil
	a.mu.Unlock()
	if st == nil {
		return nil, errors.New("commit: no finalized block is staged")
	}
	start := time.Now()
	if err := a.db.Commit(store.Commit{Height: st.height, AppHash: st.out.AppHash[:], Time: st.time.UnixNano(), Changes: st.out.Changes}); err != nil {
		return nil, fmt.Errorf("commit block %d: %w", st.height, err)
	}
	a.outcomes.forget(st.height)
	a.log.Debug("block committed", "height", st.height, "txs", len(st.out.Results), "log_size", st.out.LogSize, "dur", time.Since(start))
	if a.snapshots != nil {
		a.snapshots.Committed(st.height) // pins the state when due; writes it in the background
	}
	if a.onCommit != nil {
		a.onCommit(CommittedBlock{Height: st.height, Time: st.time, AppHash: st.out.AppHash, LogSize: st.out.LogSize, Txs: st.out.Results})
	}
	return &abcitypes.ResponseCommit{}, nil
}

// Query result codes (codespace Codespace).
const (
	QueryCodeBadRequest  uint32 = 1 // the path or its data is malformed
	QueryCodeUnavailable uint32 = 2 // committed state cannot answer: nothing committed yet, or the store failed
	QueryCodeNotFound    uint32 = 3 // what was asked for is not in committed state
	QueryCodeRefused     uint32 = 4 // the peer filter refuses the peer: it is no current member's node
)

// Query answers ABCI queries: CometBFT's abci_query RPC and its peer
// filter (p2p.filter_peers):
//
//	path "/head"              → JSON {log_size, log_root, app_hash}
//	path "/entry"             data = decimal entry index → the exact entry bytes
//	path "/tx"                data = 64-hex tx id → the exact entry bytes
//	path "/p2p/filter/id/ID"  → code 0 when ID is a current member's node (filter.go)
//	path "/p2p/filter/addr/A" → code 0: the id decides
//
// The node's HTTP API (/v1) is the richer interface; this one exists for
// standard CometBFT clients.
func (a *App) Query(_ context.Context, req *abcitypes.RequestQuery) (res *abcitypes.ResponseQuery, err error) {
	err = a.db.Read(func(r ledger.Reader, height int64) error {
		v := ledger.NewView(r)
		if res = a.filterPeer(v, height, req.Path); res == nil {
			res = query(v, req)
		}
		res.Height = height
		return nil
	})
	return res, err
}

// queryFailure is a failed query's answer.
func queryFailure(code uint32, err error) *abcitypes.ResponseQuery {
	return &abcitypes.ResponseQuery{Code: code, Log: err.Error(), Codespace: Codespace}
}

// query answers req from v.
func query(v *ledger.View, req *abcitypes.RequestQuery) *abcitypes.ResponseQuery {
	switch req.Path {
	case "/head":
		head, err := v.Head()
		if err != nil {
			return queryFailure(QueryCodeUnavailable, err)
		}
		b, _ := json.Marshal(map[string]any{"log_size": head.Size, "log_root": head.Root.String(), "app_hash": head.AppHash.String()})
		return &abcitypes.ResponseQuery{Value: b}
	case "/entry", "/tx":
		var idx uint64
		if req.Path == "/entry" {
			if _, err := fmt.Sscan(string(req.Data), &idx); err != nil {
				return queryFailure(QueryCodeBadRequest, fmt.Errorf("data must be a decimal entry index: %w", err))
			}
		} else {
			var id crypto.Hash
			if err := id.UnmarshalText(req.Data); err != nil {
				return queryFailure(QueryCodeBadRequest, fmt.Errorf("data must be a 64-hex tx id: %w", err))
			}
			var err error
			if idx, err = v.IndexOfTx(id); err != nil {
				return queryFailure(QueryCodeNotFound, err)
			}
		}
		b, err := v.EntryBytes(idx)
		if err != nil {
			return queryFailure(QueryCodeNotFound, err)
		}
		return &abcitypes.ResponseQuery{Key: req.Data, Value: b}
	}
	return queryFailure(QueryCodeBadRequest, fmt.Errorf("unknown query path %q: use /head, /entry, /tx, /p2p/filter/id/NODEID or /p2p/filter/addr/HOST:PORT", req.Path))
}

func codespace(c ledger.Code) string {
	if c == ledger.CodeOK {
		return ""
	}
	return Codespace
}

// execResult converts a ledger result, with events CometBFT can index
// (evidence.tx_id, evidence.index, evidence.chain): one event per accepted
// log entry, so a bundle has one per accepted inner transaction.
func execResult(r ledger.TxResult) *abcitypes.ExecTxResult {
	res := &abcitypes.ExecTxResult{Code: uint32(r.Code), Log: r.Log, Codespace: codespace(r.Code)}
	ledger.EachTx([]ledger.TxResult{r}, func(t *ledger.TxResult) {
		if t.Code != ledger.CodeOK {
			return
		}
		attrs := []abcitypes.EventAttribute{
			{Key: "tx_id", Value: t.ID.String(), Index: true},
			{Key: "index", Value: fmt.Sprint(t.Index), Index: true},
			{Key: "type", Value: t.Type.String(), Index: true},
			{Key: "signer", Value: t.Signer, Index: true},
		}
		for _, c := range t.Chains {
			attrs = append(attrs, abcitypes.EventAttribute{Key: "chain", Value: c, Index: true})
		}
		res.Events = append(res.Events, abcitypes.Event{Type: "evidence", Attributes: attrs})
	})
	return res
}
