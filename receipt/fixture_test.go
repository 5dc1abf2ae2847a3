package receipt_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
)

const testChain = "evidenced-test"

// quorum is the smallest set of members that makes a trusted checkpoint
// (40 of 50 voting power): removing any one signature breaks it.
var quorum = []string{"arbitration", "bank-a", "bank-b", "notary"}

// allValidators is every member with voting power.
var allValidators = []string{"arbitration", "bank-a", "bank-b", "court", "notary"}

// fixture is committed ledger state holding evidence and two trusted
// checkpoints, with the originals the evidence commits to:
//
//	entries 0-5  genesis registrations (height 0)
//	entry 6      evidence by bank-a: LOAN-2026-000001 step 1 (original0) (height 1)
//	entry 7      batch by bank-b: LOAN-2026-000002 step 1, LOAN-2026-000003 step 1 with a cipher address (height 1)
//	block 3      trusted checkpoint of height 1 (tree size 8)
//	entry 8      evidence by bank-a: LOAN-2026-000001 step 2 (height 4)
//	block 6      trusted checkpoint of height 4 (tree size 9)
type fixture struct {
	a      *ledgertest.Alliance
	store  *ledgertest.MemStore
	l      *ledger.Ledger
	view   *ledger.View
	height int64

	originals [][]byte // by record: entry 6, entry 7 pos 0, entry 7 pos 1, entry 8
	salts     [][]byte
}

// fixtureOptions vary the fixture.
type fixtureOptions struct {
	seed    uint64   // key and signing randomness
	signers []string // checkpoint signers; quorum when nil
	fork    bool     // different evidence at entry 6 (a rewritten history)
	partial bool     // stop after entry 8 is committed, before its checkpoint
	tsas    []ledger.GenesisTSA
}

func newFixture(tb testing.TB, o fixtureOptions) *fixture {
	tb.Helper()
	if o.signers == nil {
		o.signers = quorum
	}
	rnd := rand.NewChaCha8([32]byte{byte(o.seed), 'r', 'e', 'c', 'e', 'i', 'p', 't'})
	a, err := ledgertest.NewAlliance(rnd, testChain)
	if err != nil {
		tb.Fatal(err)
	}
	a.Genesis.State.TSAs = o.tsas
	f := &fixture{a: a, store: ledgertest.NewMemStore(), l: ledger.New(ledger.Options{Workers: 1})}
	f.view = ledger.NewView(f.store)
	out, err := f.l.InitChain(f.store, a.Genesis)
	if err != nil {
		tb.Fatal(err)
	}
	f.store.Commit(out.Changes)

	originals := []string{
		"Loan contract LOAN-2026-000001\nBorrower: (see bank file 88121)\nAmount: CNY 50,000\nTerm: 12 months\n",
		"Loan contract LOAN-2026-000002\n",
		"Loan contract LOAN-2026-000003 (encrypted copy stored off chain)\n",
		"Repayment schedule for LOAN-2026-000001\n",
	}
	if o.fork {
		originals[0] = strings.Replace(originals[0], "50,000", "500,000", 1)
	}
	recs := make([]ledger.Record, len(originals))
	for i, s := range originals {
		salt := make([]byte, 32)
		for j := range salt {
			salt[j] = byte(i*32 + j)
		}
		f.originals = append(f.originals, []byte(s))
		f.salts = append(f.salts, salt)
		recs[i] = ledger.Record{Kind: "loan-contract", Chain: "LOAN-2026-00000" + string(rune('1'+i)), Step: 1,
			Commitment: crypto.SM3(salt, []byte(s)), Size: uint64(len(s))}
	}
	recs[0].Labels = []ledger.Label{{Key: "branch", Value: "shenzhen-01"}, {Key: "product", Value: "consumer-loan"}}
	cipher := crypto.SM3([]byte("sealed copy"))
	recs[2].Cipher = &cipher
	recs[3].Kind, recs[3].Chain, recs[3].Step = "repayment-schedule", "LOAN-2026-000001", 2

	t1 := ledgertest.GenesisTime + int64(time.Second)
	f.apply(tb, t1,
		a.Evidence(a.Key("bank-a"), t1-int64(time.Millisecond), recs[0]),
		a.Batch(a.Key("bank-b"), t1-int64(2*time.Millisecond), recs[1:3]))
	f.apply(tb, t1+int64(time.Second))
	f.apply(tb, t1+2*int64(time.Second), f.checkpointTx(tb, 1, o.signers))

	leaf6, err := f.view.EntryBytes(6)
	if err != nil {
		tb.Fatal(err)
	}
	recs[3].Prev = ledger.LeafHash(leaf6)
	t4 := t1 + 3*int64(time.Second)
	f.apply(tb, t4, a.Evidence(a.Key("bank-a"), t4-int64(time.Millisecond), recs[3]))
	if o.partial {
		return f
	}
	f.apply(tb, t4+int64(time.Second))
	f.apply(tb, t4+2*int64(time.Second), f.checkpointTx(tb, 4, o.signers))
	return f
}

// apply commits the next block, failing unless every tx is accepted.
func (f *fixture) apply(tb testing.TB, t int64, txs ...[]byte) {
	tb.Helper()
	f.height++
	out, err := f.l.Apply(f.store, ledger.Block{Height: f.height, Time: t, Txs: txs})
	if err != nil {
		tb.Fatal(err)
	}
	for i, r := range out.Results {
		if r.Code != ledger.CodeOK {
			tb.Fatalf("block %d tx %d rejected: %s: %s", f.height, i, r.Code, r.Log)
		}
	}
	f.store.Commit(out.Changes)
}

// checkpointTx returns a checkpoint transaction for the state after block
// height, signed (deterministically) by the named members.
func (f *fixture) checkpointTx(tb testing.TB, height int64, signers []string) []byte {
	tb.Helper()
	text, err := f.view.CheckpointText(height)
	if err != nil {
		tb.Fatal(err)
	}
	var sigs []ledger.MemberSignature
	for _, name := range signers {
		sig, err := f.a.Key(name).Sign(nil, text)
		if err != nil {
			tb.Fatal(err)
		}
		sigs = append(sigs, ledger.MemberSignature{Member: name, Signature: sig})
	}
	slices.SortFunc(sigs, func(x, y ledger.MemberSignature) int { return strings.Compare(x.Member, y.Member) })
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: testChain,
		Payload: &ledger.CosignedCheckpoint{Height: uint64(height), Signatures: sigs}})
	if err != nil {
		tb.Fatal(err)
	}
	tx, err := ledger.EncodeTx(body, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tx
}

// roster returns the committed roster.
func (f *fixture) roster(tb testing.TB) *ledger.Roster {
	tb.Helper()
	r, err := f.view.Roster()
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// receipt builds the receipt of ref.
func (f *fixture) receipt(tb testing.TB, ref ledger.RecordRef) *receipt.Receipt {
	tb.Helper()
	r, err := receipt.Build(f.view, ref)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// clone deep-copies a receipt through its JSON form.
func clone(tb testing.TB, r *receipt.Receipt) *receipt.Receipt {
	tb.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := receipt.Parse(b)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// verify runs Verify with the original of record i (or none when i < 0).
func (f *fixture) verify(r *receipt.Receipt, roster *ledger.Roster, i int) *receipt.Report {
	opts := receipt.VerifyOptions{}
	if i >= 0 {
		opts.File = bytes.NewReader(f.originals[i])
		opts.Salt = f.salts[i]
	}
	return receipt.Verify(r, roster, opts)
}
