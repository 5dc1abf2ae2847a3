package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/evidenced/evidenced/crypto"
)

// MaxBlockWrites bounds the state writes the transactions of one block may
// make, counted in Body.WriteCost units (10,000 individually signed records,
// or 26 batches of 1,000). It bounds the work of applying a block and the
// size of its atomic commit; a transaction that would exceed it is rejected
// with CodeBlockFull (and dropped by proposers, so it waits in the mempool
// for a later block). It is a consensus rule: change it only in a
// coordinated upgrade.
const MaxBlockWrites = 80000

// entryCost is the state writes of a log entry itself: the entry, its
// Merkle nodes, the tx id and the member index.
const entryCost = 5

// WriteCost is the most state writes accepting a transaction with this body
// makes, the unit of MaxBlockWrites: 5 for its log entry (the entry, its
// Merkle nodes, the tx id and the member index) plus what its payload
// writes (3 per evidence record: chain head, step and commitment index; 1
// per attestation target; …). Transactions that are not submitted (genesis
// registrations, checkpoints) cost 0.
func (b *Body) WriteCost() int {
	if b.Payload == nil || b.Type().Info() == nil || b.Type().Info().Origin != OriginMember {
		return 0
	}
	return entryCost + b.Payload.writeCost()
}

// VerifyFunc checks an SM2 signature. It must return nil exactly when
// key.Verify(msg, sig) does; a cache of positive results keyed by the exact
// (key, msg, sig) triple satisfies that and saves a node from verifying a
// signature it already verified in CheckTx.
type VerifyFunc func(key *crypto.PublicKey, msg, sig []byte) error

// Options configure a Ledger. The zero value is usable.
type Options struct {
	// Verify replaces signature verification; nil means key.Verify.
	Verify VerifyFunc
	// Workers is how many goroutines verify a block's signatures in
	// parallel; 0 means GOMAXPROCS. Results do not depend on it.
	Workers int
}

// Ledger is the evidence state machine. It holds no state of its own: every
// call reads committed state through a Reader and returns the changes.
type Ledger struct {
	verify  VerifyFunc
	workers int
	stamps  *stampCache // time-stamp tokens that verified (tx_timestamp.go)
}

// New returns a Ledger with the given options.
func New(opts Options) *Ledger {
	l := &Ledger{verify: opts.Verify, workers: opts.Workers, stamps: &stampCache{}}
	if l.verify == nil {
		l.verify = func(k *crypto.PublicKey, msg, sig []byte) error { return k.Verify(msg, sig) }
	}
	if l.workers <= 0 {
		l.workers = runtime.GOMAXPROCS(0)
	}
	return l
}

// Block is the input of Apply: the header values the ledger uses and the
// transactions in block order.
type Block struct {
	Height int64
	Time   int64 // block time, Unix ns (CometBFT BFT time)
	Txs    [][]byte
}

// TxResult is the outcome of one transaction.
type TxResult struct {
	Code   Code
	Log    string      // why it was rejected, naming the field; empty when accepted
	ID     crypto.Hash // tx id; zero when the bytes did not decode
	Type   TxType      // zero when the bytes did not decode
	Signer string      // member name when the key is registered
	Index  uint64      // entry index; valid only when Code == CodeOK and Type is not TxCheckpoint (not a log entry)
	Chains []string    // evidence chains the transaction extended, in record order
	Inner  []TxResult  // a bundle's inner results, in bundle order (Type == TxBundle only)
}

// Outcome is the result of applying a block: per-transaction results, the
// changes to write atomically with the new height, and the new app hash.
type Outcome struct {
	Results []TxResult
	Changes []KV
	AppHash crypto.Hash
	LogSize uint64
	LogRoot crypto.Hash
	// ValidatorUpdates change the consensus engine's validators: a roster
	// version took effect in the block (sorted by key; 0 power removes).
	ValidatorUpdates []ValidatorUpdate
}

// ErrNotInitialized is returned by Apply and Check before InitChain has been
// committed.
var ErrNotInitialized = errors.New("ledger: chain is not initialised (no genesis committed)")

// ErrAlreadyInitialized is returned by InitChain on a store that already holds a chain.
var ErrAlreadyInitialized = errors.New("ledger: chain is already initialised")

// InitChain registers the genesis roster: each member becomes a log entry at
// height 0, and the parameters and each member's node id are stored.
func (l *Ledger) InitChain(r Reader, g *Genesis) (*Outcome, error) {
	s := newState(r)
	ok, err := s.load()
	if err != nil {
		return nil, err
	}
	if ok {
		return nil, ErrAlreadyInitialized
	}
	gp := g.State.Params
	p := &Params{ChainID: g.ChainID, GenesisTime: g.Time, TimeWindow: int64(gp.TimeWindow), MaxBatchRecords: gp.MaxBatchRecords, MaxTxBytes: gp.MaxTxBytes}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("genesis params: %w", err)
	}
	members, nodes, err := g.State.members()
	if err != nil {
		return nil, err
	}
	tsas, err := g.State.tsas()
	if err != nil {
		return nil, err
	}
	if g.Validators != nil {
		if err := g.State.checkValidators(g.Validators); err != nil {
			return nil, err
		}
	}
	s.params = p
	s.set(key1(prefixParams), p.encode())
	out := &Outcome{}
	for _, m := range members {
		body := &Body{ChainID: p.ChainID, Time: g.Time, Payload: m}
		bb, err := EncodeBody(body)
		if err != nil {
			return nil, fmt.Errorf("genesis member %s: %w", m.Name, err)
		}
		txb, err := EncodeTx(bb, nil)
		if err != nil {
			return nil, err
		}
		res := TxResult{Code: CodeOK, ID: crypto.SM3(bb), Type: TxRegister, Signer: m.Name}
		if err := l.appendTx(&txContext{l: l, s: s, Block: Block{Height: 0, Time: g.Time}, Body: body, Member: m.Name, Staging: true, Result: &res}, txb); err != nil {
			return nil, err
		}
		out.Results = append(out.Results, res)
	}
	// Each member's consensus node, beside the member (not in its
	// registration entry): the peer filter admits exactly these.
	for i, m := range members {
		s.set(keyNode(nodes[i]), encodeNodeMember(m.Name))
	}
	// The genesis roster is roster version 0, in force from the start.
	v0 := &rosterVersion{Version: 0}
	for i, m := range members {
		st := Seat{Member: *m, Node: nodes[i]}
		if m.Power > 0 {
			st.Validator, _ = hex.DecodeString(g.State.Members[i].Validator) // checked by members
		}
		v0.Seats = append(v0.Seats, st)
	}
	slices.SortFunc(v0.Seats, func(a, b Seat) int { return strings.Compare(a.Name, b.Name) })
	v0.TSAs = tsas
	s.setTSAs(nil, tsas)
	s.putVersion(v0)
	s.setVersionNumber(prefixLatestVersion, 0)
	s.setVersionNumber(prefixCurrentVersion, 0)
	var total uint64
	for _, m := range members {
		total += m.Power
	}
	s.set(key1(prefixTotalPower), u64(total))
	s.set(keyU64(prefixBlock, 0), blockRecord(s.meta.Size, g.Time))
	return s.close(out)
}

func (s *state) close(out *Outcome) (*Outcome, error) {
	changes, err := s.finish()
	if err != nil {
		return nil, err
	}
	out.Changes = changes
	out.ValidatorUpdates = s.validatorUpdates
	out.LogSize = s.meta.Size
	out.LogRoot = s.meta.Root
	out.AppHash = s.meta.AppHash()
	return out, nil
}

// prepared is a transaction decoded and, where its key was already
// registered before the block, signature-checked in parallel.
type prepared struct {
	tx       *Tx
	err      *RejectError
	sg       *signer
	verified bool  // the signature was checked against sg.Key
	sigErr   error // result of that check

	bundle [][]byte   // a bundle's inner transactions (tx is nil)
	inner  []prepared // and their preparations
}

// Apply executes a block over committed state. Transactions are applied in
// order; each is accepted (one new log entry) or rejected with a code. The
// returned error is an infrastructure failure only.
func (l *Ledger) Apply(r Reader, b Block) (*Outcome, error) {
	s := newState(r)
	ok, err := s.load()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotInitialized
	}
	preps, err := l.prepare(s, b.Txs)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Results: make([]TxResult, len(b.Txs))}
	for i, raw := range b.Txs {
		var res TxResult
		if preps[i].bundle != nil {
			res, err = l.applyBundle(s, b, raw, &preps[i], true)
		} else {
			res, err = l.applyTx(s, b, raw, &preps[i], true)
		}
		if err != nil {
			return nil, fmt.Errorf("block %d tx %d: %w", b.Height, i, err)
		}
		out.Results[i] = res
	}
	s.set(keyU64(prefixBlock, uint64(b.Height)), blockRecord(s.meta.Size, b.Time))
	if s.records > 0 {
		v, _, err := s.get(key1(prefixRecords))
		if err != nil {
			return nil, err
		}
		var total uint64
		if len(v) == 8 {
			total = binary.BigEndian.Uint64(v)
		}
		s.set(key1(prefixRecords), u64(total+uint64(s.records)))
	}
	return s.close(out)
}

// Check validates one transaction against committed state as if it were the
// only transaction of a block at the given time, without writing anything
// (the result's Index is not set). It is the same validation FinalizeBlock
// runs. A bundle's inner transactions are checked in order, each seeing the
// ones before it, so two inner transactions that conflict are caught; the
// bundle's Code is CodeOK when at least one inner transaction is accepted
// (the mempool keeps it; proposers include only the accepted ones).
func (l *Ledger) Check(r Reader, txBytes []byte, now int64) (TxResult, error) {
	s := newState(r)
	ok, err := s.load()
	if err != nil {
		return TxResult{}, err
	}
	if !ok {
		return TxResult{}, ErrNotInitialized
	}
	preps, err := l.prepare(s, [][]byte{txBytes})
	if err != nil {
		return TxResult{}, err
	}
	p := &preps[0]
	if p.bundle == nil {
		return l.applyTx(s, Block{Time: now}, txBytes, p, false)
	}
	s.checkedTxs, s.checkedChains, s.checkedVotes = map[crypto.Hash]bool{}, map[string]bool{}, map[voteKey]bool{}
	s.checkedStamps, s.checkedSerials = map[uint64]bool{}, map[crypto.Hash]bool{}
	res, err := l.applyBundle(s, Block{Time: now}, txBytes, p, false)
	if err != nil {
		return res, err
	}
	if res.Code == CodeBundleRejected && res.Accepted() > 0 {
		res.Code = CodeOK
	}
	return res, nil
}

// applyBundle applies a bundle's inner transactions in order, staging each
// accepted one when stage is set. The bundle's Code is CodeOK only if every
// inner transaction was accepted, else CodeBundleRejected; Inner says which.
func (l *Ledger) applyBundle(s *state, b Block, raw []byte, p *prepared, stage bool) (TxResult, error) {
	res := TxResult{ID: crypto.SM3(raw), Type: TxBundle, Inner: make([]TxResult, len(p.bundle))}
	rejected := 0
	var first *TxResult
	for i, inner := range p.bundle {
		r, err := l.applyTx(s, b, inner, &p.inner[i], stage)
		if err != nil {
			return res, fmt.Errorf("bundle tx %d: %w", i, err)
		}
		res.Inner[i] = r
		if r.Code != CodeOK {
			rejected++
			if first == nil {
				first = &res.Inner[i]
			}
		}
	}
	if rejected > 0 {
		res.Code = CodeBundleRejected
		res.Log = fmt.Sprintf("%d of %d transactions in the bundle were rejected; the first, tx %s: %s: %s",
			rejected, len(p.bundle), first.ID.String()[:16], first.Code, first.Log)
	}
	return res, nil
}

// prepare decodes every transaction and verifies, in parallel, the
// signatures of those whose key is registered in committed state. Lookups
// run sequentially (Readers need not be safe for concurrent use); only the
// pure verification runs on several goroutines, each writing its own slot.
func (l *Ledger) prepare(s *state, txs [][]byte) ([]prepared, error) {
	preps := make([]prepared, len(txs))
	var work []*prepared
	for i, raw := range txs {
		p := &preps[i]
		if len(raw) > int(s.params.MaxTxBytes) {
			p.err = reject(CodeTooLarge, "transaction is %d bytes, the chain allows %d", len(raw), s.params.MaxTxBytes)
			continue
		}
		if IsBundle(raw) {
			inner, err := DecodeBundle(raw)
			if err != nil {
				p.err = asReject(err)
				continue
			}
			p.bundle = inner
			p.inner = make([]prepared, len(inner))
			for j, in := range inner {
				q := &p.inner[j]
				if err := l.prepareOne(s, q, in, &work); err != nil {
					return nil, err
				}
				// A bundle carries members' transactions only: a proposer's
				// checkpoint inside one would be accepted by Apply but not
				// by Check, and a block holds its checkpoint first, alone.
				if q.tx != nil && q.tx.Body.Type().Info().Origin == OriginProposer {
					q.err = reject(CodeProposerOnly, "a %s transaction is never carried in a bundle: proposers put it in blocks alone", q.tx.Body.Type())
				}
			}
			continue
		}
		if err := l.prepareOne(s, p, raw, &work); err != nil {
			return nil, err
		}
	}
	verifyOne := func(p *prepared) {
		p.sigErr = l.verify(p.sg.Key, p.tx.BodyBytes, p.tx.Signature)
		p.verified = true
	}
	if l.workers <= 1 || len(work) < 2 {
		for _, p := range work {
			verifyOne(p)
		}
		return preps, nil
	}
	var wg sync.WaitGroup
	next := make(chan *prepared, len(work))
	for _, p := range work {
		next <- p
	}
	close(next)
	for range min(l.workers, len(work)) {
		wg.Go(func() {
			for p := range next {
				verifyOne(p)
			}
		})
	}
	wg.Wait()
	return preps, nil
}

// prepareOne decodes one transaction and, if its key is registered, queues
// its signature for verification.
func (l *Ledger) prepareOne(s *state, p *prepared, raw []byte, work *[]*prepared) error {
	tx, err := DecodeTx(raw)
	if err != nil {
		p.err = asReject(err)
		return nil
	}
	p.tx = tx
	if tx.Body.Type().Info().Origin != OriginMember || len(tx.Signature) == 0 {
		return nil
	}
	sg, err := s.signer(tx.Body.Signer)
	if err != nil {
		return err
	}
	if sg != nil {
		p.sg = sg
		*work = append(*work, p)
	}
	return nil
}

func asReject(err error) *RejectError {
	var re *RejectError
	if !errors.As(err, &re) {
		re = reject(CodeMalformed, "%v", err)
	}
	return re
}

// txContext is what a payload's check and stage see of the transaction
// being applied.
type txContext struct {
	l       *Ledger
	s       *state
	Block   Block
	Body    *Body
	Member  string // the signer's member name ("" for a proposer's transaction)
	Staging bool   // Apply (stage the changes), not Check
	Result  *TxResult

	// Set by appendTx before stage: the entry appended for the transaction.
	Index uint64
	Leaf  crypto.Hash

	checkpointSize uint64      // a checkpoint's tree size, from check to stage
	stamp          *stampCheck // a timestamp's checkpoint size and replay key, from check to stage
}

// height is the height of the block the transaction is in; for a check
// outside a block (mempool), beyond every height, so that what is in force
// now applies.
func (c *txContext) height() int64 {
	if c.Block.Height == 0 && !c.Staging {
		return math.MaxInt64
	}
	return c.Block.Height
}

// applyTx validates one prepared transaction against the staged state and,
// if it is accepted and stage is set, stages its effects. The checks every
// transaction goes through come first, in this order: chain id, origin,
// block budget, time window, duplicate, signer and signature, role; then
// its payload's own check.
func (l *Ledger) applyTx(s *state, b Block, raw []byte, p *prepared, stage bool) (TxResult, error) {
	if p.err != nil {
		return TxResult{Code: p.err.Code, Log: p.err.Msg}, nil
	}
	tx := p.tx
	body := &tx.Body
	info := body.Type().Info()
	res := TxResult{ID: tx.ID(), Type: body.Type()}
	rej := func(e *RejectError) (TxResult, error) {
		res.Code, res.Log = e.Code, e.Msg
		return res, nil
	}
	if body.ChainID != s.params.ChainID {
		return rej(reject(CodeWrongChain, "transaction is for chain %q, this is %q", body.ChainID, s.params.ChainID))
	}
	c := &txContext{l: l, s: s, Block: b, Body: body, Staging: stage, Result: &res}
	switch info.Origin {
	case OriginGenesis:
		return rej(reject(CodeGenesisOnly, "%s transactions are only valid in genesis", info.Name))
	case OriginLedger:
		return rej(reject(CodeLedgerOnly, "%s entries are written by the ledger itself, never submitted", info.Name))
	case OriginProposer:
		if !stage {
			return rej(reject(CodeProposerOnly, "%s transactions are built by block proposers from vote extensions", info.Name))
		}
		if e, err := body.Payload.check(c); err != nil || e != nil {
			if err != nil {
				return res, err
			}
			return rej(e)
		}
		return res, body.Payload.stage(c)
	}
	// A full block is checked first: it is the cheapest answer, and a
	// proposer simulating a long mempool reaches it for most transactions.
	cost := body.WriteCost()
	if s.cost+cost > MaxBlockWrites {
		return rej(reject(CodeBlockFull, "the block's transactions already cost %d writes; %d more would pass the limit of %d", s.cost, cost, MaxBlockWrites))
	}
	if d := body.Time - b.Time; d > s.params.TimeWindow || -d > s.params.TimeWindow {
		return rej(reject(CodeTimeWindow, "client time is %s from block time, the window is ±%s", fmtDur(d), fmtDur(s.params.TimeWindow)))
	}
	dup, err := s.has(keyBytes(prefixTxID, res.ID[:]))
	if err != nil {
		return res, err
	}
	if dup {
		return rej(reject(CodeDuplicate, "tx %s was already accepted", res.ID))
	}
	if s.checkedTxs[res.ID] {
		return rej(reject(CodeDuplicate, "tx %s appears earlier in the same bundle", res.ID))
	}
	// Look the key up again: a roster version that took effect earlier in
	// this block may have removed or added it since prepare read it (the
	// lookup is cached, so this is the same *signer when nothing changed).
	sg, err := s.signer(body.Signer)
	if err != nil {
		return res, err
	}
	if sg == nil {
		return rej(reject(CodeUnknownKey, "signer key %s is not registered", body.Signer.Short()))
	}
	res.Signer = sg.Member
	sigErr := p.sigErr
	if !p.verified || p.sg != sg {
		sigErr = l.verify(sg.Key, tx.BodyBytes, tx.Signature)
	}
	if sigErr != nil {
		return rej(reject(CodeBadSignature, "signature by key %s of %s does not verify: %v", body.Signer.Short(), sg.Member, sigErr))
	}
	m, err := s.member(sg.Member)
	if err != nil {
		return res, err
	}
	if m == nil {
		return res, fmt.Errorf("%w: key %s names missing member %s", ErrStoreCorrupt, body.Signer.Short(), sg.Member)
	}
	if e := info.allowed(m.Role); e != nil {
		return rej(e)
	}
	c.Member = sg.Member
	// The payload's rules, checked completely before anything is staged.
	e, err := body.Payload.check(c)
	if err != nil {
		return res, err
	}
	if e != nil {
		return rej(e)
	}
	if !stage {
		if s.checkedTxs != nil {
			s.checkedTxs[res.ID] = true
			s.cost += cost
		}
		return res, nil
	}
	s.cost += cost
	if info.StateOnly {
		return res, body.Payload.stage(c)
	}
	return res, l.appendTx(c, raw)
}

// appendTx accepts the transaction of c: one log entry at the next index,
// its tx id and member indexes, then its payload's state changes.
func (l *Ledger) appendTx(c *txContext, raw []byte) error {
	s := c.s
	entry := (&Entry{Height: c.Block.Height, Time: c.Block.Time, TxBytes: raw}).Encode()
	idx, leaf, err := s.appendEntry(entry)
	if err != nil {
		return err
	}
	c.Index, c.Leaf, c.Result.Index = idx, leaf, idx
	s.set(keyBytes(prefixTxID, c.Result.ID[:]), u64(idx))
	s.set(keyMemberEntry(c.Member, idx), nil)
	return c.Body.Payload.stage(c)
}

func fmtDur(ns int64) string { return time.Duration(ns).String() }

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
