package api_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/tsa"
)

// memNode is an api.Backend over an in-memory ledger: every submitted
// transaction is checked as CheckTx would check it and then applied as a
// one-transaction block, so every result is the ledger's real answer.
// The knobs are set before the node serves requests.
type memNode struct {
	mu     sync.RWMutex
	a      *ledgertest.Alliance
	st     *ledgertest.MemStore
	l      *ledger.Ledger
	height int64
	tsa    *tsa.Authority // "tsa-dev" in the genesis (ECDSA P-256, SHA-256 imprints)

	overloaded    bool  // Submit and Snapshot fail with api.ErrOverloaded
	notReady      bool  // Snapshot fails with ledger.ErrNotInitialized
	hang          bool  // Submit waits for its context to end
	skipCheck     bool  // rejections come from FinalizeBlock, with a height
	statusErr     error // Status fails with it
	statusPanics  bool  // Status panics
	catchingUp    bool  // Status reports the node catching up
	snapshotError error // Snapshot fails with it

	changed chan struct{}             // closed at the next commit (guarded by mu)
	hooks   map[string]client.Webhook // webhook subscriptions (guarded by mu)

	maxOriginal int64                 // KeepOriginal's limit; 0 means 1 MiB
	attester    string                // the member Govern signs attestations as; "" means notary
	originals   map[crypto.Hash]int64 // ciphertexts KeepOriginal keeps, by address (guarded by mu)
	grants      []api.GrantRequest    // what Grant was asked (guarded by mu)
}

var _ api.Backend = (*memNode)(nil)

// newMemNode returns a node whose genesis holds the six members of a
// ledgertest alliance (entries 0 to 5).
func newMemNode() (*memNode, error) {
	a, err := ledgertest.NewAlliance(rand.Reader, "evidenced-test")
	if err != nil {
		return nil, err
	}
	n := &memNode{a: a, st: ledgertest.NewMemStore(), l: ledger.New(ledger.Options{}), originals: map[crypto.Hash]int64{}}
	if n.tsa, err = tsa.NewAuthority(tsa.ECDSAP256, "tsa-dev", time.Unix(0, ledgertest.GenesisTime).Add(-time.Hour), 365*24*time.Hour); err != nil {
		return nil, err
	}
	g := *a.Genesis
	g.State.TSAs = []ledger.GenesisTSA{ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-dev", Cert: n.tsa.Certificate(), Hashes: []string{ledger.HashSHA256}})}
	a.Genesis = &g
	out, err := n.l.InitChain(n.st, a.Genesis)
	if err != nil {
		return nil, err
	}
	n.st.Commit(out.Changes)
	return n, nil
}

// blockTime is the time of the block at height h: one second per block
// after genesis.
func blockTime(h int64) int64 { return ledgertest.GenesisTime + h*int64(time.Second) }

// Snapshot implements api.Backend.
func (n *memNode) Snapshot() (*ledger.View, int64, func(), error) {
	switch {
	case n.snapshotError != nil:
		return nil, 0, nil, n.snapshotError
	case n.overloaded:
		return nil, 0, nil, api.ErrOverloaded
	case n.notReady:
		return nil, 0, nil, ledger.ErrNotInitialized
	}
	n.mu.RLock()
	return ledger.NewView(n.st), n.height, n.mu.RUnlock, nil
}

// Submit implements api.Backend.
func (n *memNode) Submit(ctx context.Context, tx []byte, waitCommit bool) (*api.Committed, error) {
	if n.overloaded {
		return nil, api.ErrOverloaded
	}
	if n.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.height + 1
	if !n.skipCheck {
		res, err := n.l.Check(n.st, tx, blockTime(h))
		if err != nil {
			return nil, err
		}
		if res.Code != ledger.CodeOK {
			return nil, &ledger.RejectError{Code: res.Code, Msg: res.Log}
		}
	}
	out, err := n.l.Apply(n.st, ledger.Block{Height: h, Time: blockTime(h), Txs: [][]byte{tx}})
	if err != nil {
		return nil, err
	}
	n.st.Commit(out.Changes)
	n.height = h
	n.notifyLocked()
	res := out.Results[0]
	if res.Code != ledger.CodeOK {
		return nil, &api.CommitRejectError{Height: h, Err: &ledger.RejectError{Code: res.Code, Msg: res.Log}}
	}
	if !waitCommit {
		res.Index = 0
		return &api.Committed{Result: res}, nil
	}
	return &api.Committed{Height: h, Time: time.Unix(0, blockTime(h)), Result: res}, nil
}

// SubmitBundle implements api.Backend: the accepted transactions commit
// together in the next block.
func (n *memNode) SubmitBundle(ctx context.Context, txs [][]byte, waitCommit bool) ([]api.BundleOutcome, error) {
	if n.overloaded {
		return nil, api.ErrOverloaded
	}
	all, err := ledger.EncodeBundle(txs)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.height + 1
	pre, err := n.l.Check(n.st, all, blockTime(h))
	if err != nil {
		return nil, err
	}
	outs := make([]api.BundleOutcome, len(txs))
	var keep [][]byte
	var at []int
	for i, r := range pre.Inner {
		if r.Code != ledger.CodeOK {
			outs[i].Err = &ledger.RejectError{Code: r.Code, Msg: r.Log}
			continue
		}
		keep, at = append(keep, txs[i]), append(at, i)
	}
	if len(keep) == 0 {
		return outs, nil
	}
	b, err := ledger.EncodeBundle(keep)
	if err != nil {
		return nil, err
	}
	out, err := n.l.Apply(n.st, ledger.Block{Height: h, Time: blockTime(h), Txs: [][]byte{b}})
	if err != nil {
		return nil, err
	}
	n.st.Commit(out.Changes)
	n.height = h
	n.notifyLocked()
	for j, r := range out.Results[0].Inner {
		i := at[j]
		switch {
		case r.Code != ledger.CodeOK:
			outs[i].Err = &api.CommitRejectError{Height: h, Err: &ledger.RejectError{Code: r.Code, Msg: r.Log}}
		case waitCommit:
			outs[i].Committed = &api.Committed{Height: h, Time: time.Unix(0, blockTime(h)), Result: r}
		default:
			outs[i].Committed = &api.Committed{Result: ledger.TxResult{Code: ledger.CodeOK, ID: r.ID}}
		}
	}
	return outs, nil
}

// Status implements api.Backend.
func (n *memNode) Status(context.Context) (*client.Status, error) {
	if n.statusPanics {
		panic("memNode: status exploded")
	}
	if n.statusErr != nil {
		return nil, n.statusErr
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	head, err := ledger.NewView(n.st).Head()
	if err != nil {
		return nil, err
	}
	return &client.Status{
		ChainID: n.a.ChainID, Moniker: "node-a", Member: "bank-a", Role: "bank",
		Height: n.height, AppHash: head.AppHash, LogSize: head.Size, LogRoot: head.Root,
		BlockTime: time.Unix(0, blockTime(n.height)).In(time.FixedZone("CST", 8*3600)), Validators: 5, CatchingUp: n.catchingUp,
	}, nil
}

// KeepOriginal implements api.Backend as the node does, but keeps no
// ciphertext: the "ciphertext" address is SM3(random nonce ‖ original) and
// its size the original's plus 35 bytes; only the address and size are
// remembered, in n.originals, so that tests see what is kept and removed.
func (n *memNode) KeepOriginal(ctx context.Context, r io.Reader, size int64, signer crypto.KeyID, commit func(*api.Original) error) (*api.Original, error) {
	limit := n.maxOriginal
	if limit == 0 {
		limit = 1 << 20
	}
	if size > limit {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", api.ErrOriginalTooLarge, size, limit)
	}
	n.mu.RLock()
	m, err := ledger.NewView(n.st).MemberByKey(signer)
	n.mu.RUnlock()
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, &ledger.RejectError{Code: ledger.CodeUnknownKey, Msg: fmt.Sprintf("key %s is not a member's", signer)}
	} else if err != nil {
		return nil, err
	}
	key, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	salt, nonce := make([]byte, crypto.SaltSize), make([]byte, 16)
	rand.Read(salt)
	rand.Read(nonce)
	comm, addr := crypto.NewCommitter(salt), crypto.NewSM3()
	addr.Write(nonce)
	read, err := io.Copy(io.MultiWriter(comm, addr), io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if read > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", api.ErrOriginalTooLarge, limit)
	}
	wrapped, err := blob.WrapKey(m.Keys[0], rand.Reader, key, salt)
	if err != nil {
		return nil, err
	}
	o := &api.Original{Owner: m.Name, CipherSize: read + 35, Size: read, Salt: salt, OwnerKey: wrapped}
	comm.Sum(o.Commitment[:0])
	addr.Sum(o.Cipher[:0])
	n.mu.Lock()
	n.originals[o.Cipher] = o.CipherSize
	n.mu.Unlock()
	if err := commit(o); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			n.mu.Lock()
			delete(n.originals, o.Cipher)
			n.mu.Unlock()
		}
		return nil, err
	}
	return o, nil
}

// keptOriginals returns how many originals n keeps.
func (n *memNode) keptOriginals() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.originals)
}

// fixture is a node with a few committed entries:
//
//	0-5  genesis registrations
//	6    bank-a evidence LOAN-1 step 1 (labels, commitment "loan1-step1")
//	7    bank-a evidence LOAN-1 step 2 (cipher, prev = leaf hash of 6)
//	8    bank-b batch: LOAN-2 step 1 (commitment "shared"), LOAN-3 step 1
//	9    notary attestation of 6/0 and 8/1
//	10   bank-a evidence LOAN-4 step 1 (commitment "shared" again)
type fixture struct {
	node *memNode
	txs  map[uint64][]byte // tx bytes by entry index
}

// newFixture builds the fixture; t may be a *testing.T or *testing.F.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	n, err := newMemNode()
	if err != nil {
		t.Fatalf("new node: %v", err)
	}
	f := &fixture{node: n, txs: map[uint64][]byte{}}
	a := n.a
	now := ledgertest.GenesisTime
	f.commit(t, 6, a.Evidence(a.Key("bank-a"), now, ledger.Record{
		Kind: "credit-authorisation", Chain: "LOAN-1", Step: 1, Size: 100,
		Commitment: ledgertest.Commitment("loan1-step1"),
		Labels:     []ledger.Label{{Key: "channel", Value: "app"}, {Key: "product", Value: "consumer-loan"}},
	}))
	cipher := ledgertest.Commitment("loan1-step2-cipher")
	f.commit(t, 7, a.Evidence(a.Key("bank-a"), now+1, ledger.Record{
		Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Size: 200, Prev: f.leaf(t, 6),
		Commitment: ledgertest.Commitment("loan1-step2"), Cipher: &cipher,
	}))
	f.commit(t, 8, a.Batch(a.Key("bank-b"), now+2, []ledger.Record{
		{Kind: "loan-contract", Chain: "LOAN-2", Step: 1, Size: 1, Commitment: ledgertest.Commitment("shared")},
		{Kind: "loan-contract", Chain: "LOAN-3", Step: 1, Size: 2, Commitment: ledgertest.Commitment("loan3")},
	}))
	f.commit(t, 9, a.Attest(a.Key("notary"), now+3, "notarised",
		ledger.RecordRef{Index: 6, Pos: 0}, ledger.RecordRef{Index: 8, Pos: 1}))
	f.commit(t, 10, a.Evidence(a.Key("bank-a"), now+4, ledger.Record{
		Kind: "disbursement", Chain: "LOAN-4", Step: 1, Size: 3, Commitment: ledgertest.Commitment("shared"),
	}))
	return f
}

func (f *fixture) commit(t testing.TB, want uint64, tx []byte) {
	t.Helper()
	c, err := f.node.Submit(context.Background(), tx, true)
	if err != nil {
		t.Fatalf("commit entry %d: %v", want, err)
	}
	if c.Result.Index != want {
		t.Fatalf("committed at entry %d, want %d", c.Result.Index, want)
	}
	f.txs[want] = tx
}

// entryBytes returns the committed bytes of entry i.
func (f *fixture) entryBytes(t testing.TB, i uint64) []byte {
	t.Helper()
	b, err := ledger.NewView(f.node.st).EntryBytes(i)
	if err != nil {
		t.Fatalf("entry %d: %v", i, err)
	}
	return b
}

func (f *fixture) leaf(t testing.TB, i uint64) crypto.Hash {
	return ledger.LeafHash(f.entryBytes(t, i))
}

// txID returns the id of the transaction at entry i.
func (f *fixture) txID(t testing.TB, i uint64) crypto.Hash {
	t.Helper()
	tx, err := ledger.DecodeTx(f.txs[i])
	if err != nil {
		t.Fatalf("decode tx %d: %v", i, err)
	}
	return tx.ID()
}

// applyBlock commits the next block holding txs (possibly none) and returns
// its results.
func (n *memNode) applyBlock(txs ...[]byte) ([]ledger.TxResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.height + 1
	out, err := n.l.Apply(n.st, ledger.Block{Height: h, Time: blockTime(h), Txs: txs})
	if err != nil {
		return nil, err
	}
	n.st.Commit(out.Changes)
	n.height = h
	n.notifyLocked()
	return out.Results, nil
}

// trust makes the state at the current height a trusted checkpoint, as the
// validators would: the checkpoint text of height h is co-signed by signers
// (default: all five voting members; four are enough) and carried by block
// h+2, after an empty block h+1. It returns h.
func (f *fixture) trust(t testing.TB, signers ...string) int64 {
	t.Helper()
	if signers == nil {
		// The five voting members of a ledgertest alliance, in name
		// order, as checkpoint signatures must be.
		signers = []string{"arbitration", "bank-a", "bank-b", "court", "notary"}
	}
	n := f.node
	h := n.height
	text, err := ledger.NewView(n.st).CheckpointText(h)
	if err != nil {
		t.Fatalf("checkpoint text of height %d: %v", h, err)
	}
	sigs := make([]ledger.MemberSignature, 0, len(signers))
	for _, name := range signers {
		sig, err := n.a.Key(name).Sign(rand.Reader, text)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, ledger.MemberSignature{Member: name, Signature: sig})
	}
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: n.a.ChainID,
		Payload: &ledger.CosignedCheckpoint{Height: uint64(h), Signatures: sigs}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.EncodeTx(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.applyBlock(); err != nil {
		t.Fatal(err)
	}
	res, err := n.applyBlock(tx)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Code != ledger.CodeOK {
		t.Fatalf("checkpoint of height %d rejected: %v %s", h, res[0].Code, res[0].Log)
	}
	return h
}

// The custody side of memNode is canned (its ledger keeps no originals):
// grants and revokes of entry 99 succeed, the grantee "nobody" is refused,
// and record 7 (the one with a cipher address) has a 12-byte original.
var _ api.Custodian = (*memNode)(nil)

// Grant implements api.Custodian.
func (n *memNode) Grant(_ context.Context, req api.GrantRequest) (*api.Committed, error) {
	n.mu.Lock()
	n.grants = append(n.grants, req)
	n.mu.Unlock()
	if req.Grantee == "nobody" {
		return nil, &ledger.RejectError{Code: ledger.CodeUnknownMember, Msg: "grantee nobody is not a member of the alliance"}
	}
	return &api.Committed{Height: n.height, Time: time.Unix(0, blockTime(n.height)), Result: ledger.TxResult{Code: ledger.CodeOK,
		ID: crypto.SM3([]byte("grant")), Index: 99, Type: ledger.TxGrant, Signer: "bank-a"}}, nil
}

// Revoke implements api.Custodian.
func (n *memNode) Revoke(_ context.Context, index uint64) (*api.Committed, error) {
	if index != 99 {
		return nil, &ledger.RejectError{Code: ledger.CodeNoGrant, Msg: fmt.Sprintf("entry %d is not a grant", index)}
	}
	return &api.Committed{Height: n.height, Time: time.Unix(0, blockTime(n.height)), Result: ledger.TxResult{Code: ledger.CodeOK,
		ID: crypto.SM3([]byte("revoke")), Index: 100, Type: ledger.TxRevoke, Signer: "bank-a"}}, nil
}

// cannedOriginal is record 7's original in memNode.
const cannedOriginal = "the original"

// FetchOriginal implements api.Custodian.
func (n *memNode) FetchOriginal(_ context.Context, ref ledger.RecordRef, w io.Writer) (*api.Fetched, error) {
	if ref.Index != 7 {
		return nil, fmt.Errorf("record %d.%d: %w", ref.Index, ref.Pos, ledger.ErrNotGranted)
	}
	k, err := io.WriteString(w, cannedOriginal)
	return &api.Fetched{Ref: ref, Size: int64(k), Access: 101, Salt: []byte{1, 2, 3}}, err
}

var _ api.Notifier = (*memNode)(nil)

// Changed implements api.Notifier.
func (n *memNode) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.changed == nil {
		n.changed = make(chan struct{})
	}
	return n.changed
}

// notifyLocked wakes Changed's waiters; n.mu is held.
func (n *memNode) notifyLocked() {
	if n.changed != nil {
		close(n.changed)
		n.changed = nil
	}
}

// The webhook side of memNode keeps subscriptions in memory and delivers
// nothing.
var _ api.Subscriber = (*memNode)(nil)

// Subscribe implements api.Subscriber.
func (n *memNode) Subscribe(_ context.Context, r api.WebhookRequest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.hooks == nil {
		n.hooks = map[string]client.Webhook{}
	}
	if _, ok := n.hooks[r.Name]; ok {
		return api.ErrExists
	}
	if len(r.Secret) < 16 {
		return &api.InputError{Field: "secret", Err: errors.New("the secret is shorter than 16 bytes")}
	}
	n.hooks[r.Name] = client.Webhook{Name: r.Name, URL: r.URL, Types: r.Types, Chain: r.Chain, Kind: r.Kind, Source: "api", Owner: r.Owner, Cursor: fmt.Sprint(n.height)}
	return nil
}

// Unsubscribe implements api.Subscriber.
func (n *memNode) Unsubscribe(_ context.Context, name, owner string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.hooks[name]
	if !ok {
		return fmt.Errorf("webhook %s: %w", name, ledger.ErrNotFound)
	}
	if owner != "" && h.Owner != owner {
		return fmt.Errorf("webhook %s: %w", name, api.ErrNotOwner)
	}
	delete(n.hooks, name)
	return nil
}

// Subscriptions implements api.Subscriber.
func (n *memNode) Subscriptions(context.Context) ([]client.Webhook, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []client.Webhook{}
	for _, h := range n.hooks {
		out = append(out, h)
	}
	return out, nil
}

// memNode governs as bank-a: proposals and votes are signed with its
// member key and committed as the ledger takes them.
var _ api.Governor = (*memNode)(nil)

// governor is the member memNode proposes and votes as.
const governor = "bank-a"

// requester is the member memNode files retrieval requests as (a bank
// may not request).
const requester = "court"

// Govern implements api.Governor; attestations are signed as the
// attester (the notary unless set), retrieval requests as the requester.
func (n *memNode) Govern(ctx context.Context, p ledger.Payload) (*api.Committed, error) {
	if _, ok := p.(*ledger.Request); ok {
		return n.govern(ctx, requester, p)
	}
	if p.TxType() == ledger.TxAttest {
		n.mu.RLock()
		member := cmp.Or(n.attester, "notary")
		n.mu.RUnlock()
		return n.govern(ctx, member, p)
	}
	return n.govern(ctx, governor, p)
}

// govern signs a transaction carrying p with member's key and commits it.
func (n *memNode) govern(ctx context.Context, member string, p ledger.Payload) (*api.Committed, error) {
	n.mu.RLock()
	t := blockTime(n.height + 1)
	n.mu.RUnlock()
	tx, err := ledger.SignTx(n.a.Key(member), rand.Reader, &ledger.Body{ChainID: n.a.ChainID, Time: t, Payload: p})
	if err != nil {
		return nil, err
	}
	return n.Submit(ctx, tx, true)
}

// stamp commits a token of the node's TSA over the trusted checkpoint of
// height h, stamped a second after its block, and returns the token.
func (f *fixture) stamp(t testing.TB, h int64) []byte {
	t.Helper()
	n := f.node
	cp, err := ledger.NewView(n.st).SignedCheckpoint(uint64(h))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ledgertest.Stamp(n.tsa, tsa.SHA256, cp.Text, big.NewInt(h), cp.Checkpoint.Time.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tx := n.a.Sign(n.a.Key("court"), &ledger.Body{ChainID: n.a.ChainID, Time: blockTime(n.height + 1), Payload: &ledger.Timestamp{Height: h, TSA: "tsa-dev", Token: tok}})
	res, err := n.applyBlock(tx)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Code != ledger.CodeOK {
		t.Fatalf("timestamp of height %d rejected: %v %s", h, res[0].Code, res[0].Log)
	}
	return tok
}
