package explorer_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

const testChain = "evidenced-test"

// node is an explorer.Source and api.Notifier over an in-memory ledger:
// each block is applied and committed as the node would.
type node struct {
	mu      sync.RWMutex
	a       *ledgertest.Alliance
	st      *ledgertest.MemStore
	l       *ledger.Ledger
	height  int64
	changed chan struct{} // closed at the next commit
	snapErr error         // Snapshot fails with it (set before serving)
}

var _ api.Notifier = (*node)(nil)

func newNode(t testing.TB) *node { return newNodeWith(t, nil) }

// newNodeWith is newNode with the genesis edited by edit.
func newNodeWith(t testing.TB, edit func(g *ledger.Genesis)) *node {
	t.Helper()
	a, err := ledgertest.NewAlliance(rand.Reader, testChain)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		g := *a.Genesis
		edit(&g)
		a.Genesis = &g
	}
	n := &node{a: a, st: ledgertest.NewMemStore(), l: ledger.New(ledger.Options{})}
	out, err := n.l.InitChain(n.st, a.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	n.st.Commit(out.Changes)
	return n
}

// blockTime is the time of block h: one second per block after genesis.
func blockTime(h int64) int64 { return ledgertest.GenesisTime + h*int64(time.Second) }

// Snapshot implements explorer.Source.
func (n *node) Snapshot() (*ledger.View, int64, func(), error) {
	if n.snapErr != nil {
		return nil, 0, nil, n.snapErr
	}
	n.mu.RLock()
	return ledger.NewView(n.st), n.height, n.mu.RUnlock, nil
}

// Status implements explorer.Source.
func (n *node) Status(context.Context) (*client.Status, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return &client.Status{ChainID: testChain, Member: "bank-a", Role: "bank", Height: n.height, Validators: 5}, nil
}

// Changed implements api.Notifier.
func (n *node) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.changed == nil {
		n.changed = make(chan struct{})
	}
	return n.changed
}

// block commits the next block holding txs; every tx must be accepted.
// It returns the entry index of each.
func (n *node) block(t testing.TB, txs ...[]byte) []uint64 {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.height + 1
	out, err := n.l.Apply(n.st, ledger.Block{Height: h, Time: blockTime(h), Txs: txs})
	if err != nil {
		t.Fatalf("apply block %d: %v", h, err)
	}
	idx := make([]uint64, len(out.Results))
	for i, r := range out.Results {
		if r.Code != ledger.CodeOK {
			t.Fatalf("block %d tx %d rejected: %s %s", h, i, r.Code, r.Log)
		}
		idx[i] = r.Index
	}
	n.st.Commit(out.Changes)
	n.height = h
	if n.changed != nil {
		close(n.changed)
		n.changed = nil
	}
	return idx
}

// next is the time of the next block, a valid client time for its txs.
func (n *node) next() int64 {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return blockTime(n.height + 1)
}

// view returns a view of committed state (for test assertions).
func (n *node) view() *ledger.View { return ledger.NewView(n.st) }

func (n *node) leaf(t testing.TB, i uint64) crypto.Hash {
	t.Helper()
	b, err := n.view().EntryBytes(i)
	if err != nil {
		t.Fatal(err)
	}
	return ledger.LeafHash(b)
}

// trust has all five validators co-sign the checkpoint of the current
// height, carried by block h+2 after an empty block h+1. It returns h.
func (n *node) trust(t testing.TB) int64 {
	t.Helper()
	return n.trustBy(t, "arbitration", "bank-a", "bank-b", "court", "notary")
}

// trustBy is trust with the signers named (in name order).
func (n *node) trustBy(t testing.TB, signers ...string) int64 {
	t.Helper()
	h := n.height
	text, err := n.view().CheckpointText(h)
	if err != nil {
		t.Fatal(err)
	}
	var sigs []ledger.MemberSignature
	for _, name := range signers {
		sig, err := n.a.Key(name).Sign(rand.Reader, text)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, ledger.MemberSignature{Member: name, Signature: sig})
	}
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: testChain,
		Payload: &ledger.CosignedCheckpoint{Height: uint64(h), Signatures: sigs}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.EncodeTx(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.block(t)
	n.mu.Lock()
	hh := n.height + 1
	out, err := n.l.Apply(n.st, ledger.Block{Height: hh, Time: blockTime(hh), Txs: [][]byte{tx}})
	if err != nil || out.Results[0].Code != ledger.CodeOK {
		n.mu.Unlock()
		t.Fatalf("checkpoint of height %d: %v %+v", h, err, out)
	}
	n.st.Commit(out.Changes)
	n.height = hh
	if n.changed != nil {
		close(n.changed)
		n.changed = nil
	}
	n.mu.Unlock()
	return h
}

// Values of the fixture that must never appear in a page.
// labelValue is a label value of entry 6: public chain metadata, shown.
const labelValue = "consumer-loan-1234"

// fixture is a node with this history:
//
//	height 0   entries 0-5   genesis registrations
//	height 1   entry 6       bank-a LOAN-1 step 1, original kept, labels channel=app, product=<secret>
//	height 2   entry 7       bank-a LOAN-1 step 2
//	height 3   entry 8       bank-b batch: LOAN-2 step 1 (commitment "shared"), LOAN-3 step 1
//	height 4   entry 9       notary attests 6 and 8.1
//	height 5   entries 10-11 bank-a LOAN-4 step 1 (commitment "shared"), LOAN-1 step 3
//	height 6   entry 12      bank-a grants court the original of 6
//	height 7   entry 13      court retrieves 6 through grant 12
//	height 8   -             empty
//	height 9   -             the trusted checkpoint of height 7
//	height 10  entry 14      bank-a revokes grant 12
//	height 11  entry 15      bank-b LOAN-5 step 1 (no checkpoint covers it)
type fixture struct {
	n        *node
	txID     map[uint64]crypto.Hash
	secrets  []string // encodings of wrapped keys: never in a page
	ownerKey []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	n := newNode(t)
	a := n.a
	f := &fixture{n: n, txID: map[uint64]crypto.Hash{}}
	bankA, bankB, court := a.Key("bank-a"), a.Key("bank-b"), a.Key("court")
	add := func(want uint64, tx []byte) []byte {
		t.Helper()
		d, err := ledger.DecodeTx(tx)
		if err != nil {
			t.Fatal(err)
		}
		f.txID[want] = d.ID()
		return tx
	}
	commit := func(want []uint64, txs ...[]byte) {
		t.Helper()
		for i, tx := range txs {
			add(want[i], tx)
		}
		got := n.block(t, txs...)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("committed at entries %v, want %v", got, want)
			}
		}
	}

	dk, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.ownerKey, err = bankA.Public().WrapKey(rand.Reader, dk)
	if err != nil {
		t.Fatal(err)
	}
	courtKey, err := court.Public().WrapKey(rand.Reader, dk)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]byte{f.ownerKey, courtKey} {
		f.secrets = append(f.secrets, hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k))
	}
	cipher := ledgertest.Commitment("loan1-step1-cipher")
	commit([]uint64{6}, a.Evidence(bankA, n.next(), ledger.Record{
		Kind: "credit-authorisation", Chain: "LOAN-1", Step: 1, Size: 100,
		Commitment: ledgertest.Commitment("loan1-step1"), Cipher: &cipher, CipherSize: 4096, OwnerKey: f.ownerKey,
		Labels: []ledger.Label{{Key: "channel", Value: "app"}, {Key: "product", Value: labelValue}},
	}))
	commit([]uint64{7}, a.Evidence(bankA, n.next(), ledger.Record{
		Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Size: 200, Prev: n.leaf(t, 6),
		Commitment: ledgertest.Commitment("loan1-step2"),
	}))
	commit([]uint64{8}, a.Batch(bankB, n.next(), []ledger.Record{
		{Kind: "loan-contract", Chain: "LOAN-2", Step: 1, Size: 1, Commitment: ledgertest.Commitment("shared")},
		{Kind: "loan-contract", Chain: "LOAN-3", Step: 1, Size: 2, Commitment: ledgertest.Commitment("loan3")},
	}))
	commit([]uint64{9}, a.Attest(a.Key("notary"), n.next(), "notarised", ledger.RecordRef{Index: 6}, ledger.RecordRef{Index: 8, Pos: 1}))
	commit([]uint64{10, 11},
		a.Evidence(bankA, n.next(), ledger.Record{Kind: "disbursement", Chain: "LOAN-4", Step: 1, Size: 3, Commitment: ledgertest.Commitment("shared")}),
		a.Evidence(bankA, n.next(), ledger.Record{Kind: "repayment", Chain: "LOAN-1", Step: 3, Size: 4, Prev: n.leaf(t, 7),
			Commitment: ledgertest.Commitment("loan1-step3")}))
	commit([]uint64{12}, a.Sign(bankA, &ledger.Body{ChainID: testChain, Time: n.next(), Payload: &ledger.Grant{
		Grantee: "court", Purpose: "case-2026-001", Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 6}, Wrapped: courtKey}},
	}}))
	commit([]uint64{13}, a.Sign(court, &ledger.Body{ChainID: testChain, Time: n.next(),
		Payload: &ledger.Access{Ref: ledger.RecordRef{Index: 6}, ViaGrant: true, Grant: 12}}))
	if h := n.trust(t); h != 7 {
		t.Fatalf("trusted checkpoint of height %d, want 7", h)
	}
	commit([]uint64{14}, a.Sign(bankA, &ledger.Body{ChainID: testChain, Time: n.next(), Payload: &ledger.Revoke{Grant: 12}}))
	commit([]uint64{15}, a.Evidence(bankB, n.next(), ledger.Record{Kind: "loan-contract", Chain: "LOAN-5", Step: 1, Size: 5,
		Commitment: ledgertest.Commitment("loan5")}))
	if n.height != 11 {
		t.Fatalf("fixture height %d, want 11", n.height)
	}
	return f
}
