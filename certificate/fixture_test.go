package certificate_test

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
)

const testChain = "evidenced-test"

var quorum = []string{"arbitration", "bank-a", "bank-b", "notary"}

// fixture is committed ledger state holding one record, an attestation of
// it by the notary, and a trusted checkpoint covering both:
//
//	entries 0-5  genesis registrations (height 0)
//	entry 6      evidence by bank-a: LOAN-2026-000001 step 1 (height 1)
//	entry 7      attestation by notary of entry 6, note (2026)沪东证字第1234号 (height 2)
//	block 4      trusted checkpoint of height 2
type fixture struct {
	a        *ledgertest.Alliance
	store    *ledgertest.MemStore
	l        *ledger.Ledger
	view     *ledger.View
	height   int64
	original []byte
	salt     []byte
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	rnd := rand.NewChaCha8([32]byte{'c', 'e', 'r', 't'})
	a, err := ledgertest.NewAlliance(rnd, testChain)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{a: a, store: ledgertest.NewMemStore(), l: ledger.New(ledger.Options{Workers: 1})}
	f.view = ledger.NewView(f.store)
	out, err := f.l.InitChain(f.store, a.Genesis)
	if err != nil {
		tb.Fatal(err)
	}
	f.store.Commit(out.Changes)
	f.original = []byte("个人消费贷款合同 LOAN-2026-000001\nAmount: CNY 50,000\n")
	f.salt = make([]byte, 32)
	for i := range f.salt {
		f.salt[i] = byte(i)
	}
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-2026-000001", Step: 1,
		Commitment: crypto.SM3(f.salt, f.original), Size: uint64(len(f.original))}
	t1 := ledgertest.GenesisTime + int64(time.Second)
	f.apply(tb, t1, a.Evidence(a.Key("bank-a"), t1-int64(time.Millisecond), rec))
	t2 := t1 + int64(time.Second)
	f.apply(tb, t2, a.Sign(a.Key("notary"), &ledger.Body{ChainID: testChain, Time: t2 - int64(time.Millisecond),
		Payload: &ledger.Attestation{Statement: "notarised", Targets: []ledger.RecordRef{{Index: 6}}, Note: "(2026)沪东证字第1234号"}}))
	f.apply(tb, t2+int64(time.Second))
	f.apply(tb, t2+2*int64(time.Second), f.checkpointTx(tb, 2))
	return f
}

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

func (f *fixture) checkpointTx(tb testing.TB, height int64) []byte {
	tb.Helper()
	text, err := f.view.CheckpointText(height)
	if err != nil {
		tb.Fatal(err)
	}
	var sigs []ledger.MemberSignature
	for _, name := range quorum {
		sig, err := f.a.Key(name).Sign(nil, text)
		if err != nil {
			tb.Fatal(err)
		}
		sigs = append(sigs, ledger.MemberSignature{Member: name, Signature: sig})
	}
	slices.SortFunc(sigs, func(x, y ledger.MemberSignature) int { return strings.Compare(x.Member, y.Member) })
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: testChain, Payload: &ledger.CosignedCheckpoint{Height: uint64(height), Signatures: sigs}})
	if err != nil {
		tb.Fatal(err)
	}
	tx, err := ledger.EncodeTx(body, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tx
}

func (f *fixture) roster(tb testing.TB) *ledger.Roster {
	tb.Helper()
	r, err := f.view.Roster()
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// data returns the certificate data of entry 6, issued by the notary.
func (f *fixture) data(tb testing.TB, lang string) certificate.Data {
	tb.Helper()
	rc, err := receipt.Build(f.view, ledger.RecordRef{Index: 6})
	if err != nil {
		tb.Fatal(err)
	}
	rj, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	facts, err := certificate.Collect(f.view, rc)
	if err != nil {
		tb.Fatal(err)
	}
	return certificate.Data{Facts: *facts, Issuer: certificate.Issuer{Member: "notary", Role: "notary"},
		IssuedAt: time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC), Lang: lang,
		VerifyURL: "http://127.0.0.1:8080/explorer/verify?id=6", Receipt: rj}
}

// build returns the certificate PDF of f.data, signed by the notary.
func (f *fixture) build(tb testing.TB, lang string) ([]byte, certificate.Data) {
	tb.Helper()
	font, err := certificate.LoadFont("")
	if err != nil {
		tb.Skipf("no CJK font: %v", err)
	}
	d := f.data(tb, lang)
	pdf, err := certificate.Build(d, f.a.Key("notary"), font)
	if err != nil {
		tb.Fatal(err)
	}
	return pdf, d
}
