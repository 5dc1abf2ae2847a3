// Package certtest builds committed ledger state holding a record and an
// attestation of it, for tests of evidence certificates (certificate, the
// API, the CLI).
package certtest

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
	"github.com/evidenced/evidenced/tsa"
)

// ChainID is the fixture's chain.
const ChainID = "evidenced-test"

// quorum signs the fixture's checkpoint.
var quorum = []string{"arbitration", "bank-a", "bank-b", "notary"}

// Fixture is committed ledger state holding one record with a kept
// original, an attestation of it by the notary, a trusted checkpoint
// covering both, stamped by a TSA the genesis trusts, and a grant of the
// original to the court, which took it:
//
//	entries 0-5  genesis registrations (height 0)
//	entry 6      evidence by bank-a: LOAN-2026-000001 step 1, original kept (height 1)
//	entry 7      attestation by notary of entry 6, note (2026)沪东证字第1234号 (height 2)
//	block 4      trusted checkpoint of height 2
//	entry 8      grant by bank-a of entry 6 to court, purpose case-2026-0115 (height 5)
//	entry 9      access by court to entry 6 through grant 8 (height 6)
//	block 7      timestamp of the checkpoint of height 2 by TSA tsa-sm2
type Fixture struct {
	A        *ledgertest.Alliance
	View     *ledger.View
	Original []byte // the original of entry 6
	Salt     []byte // its commitment salt
	TSA      *tsa.Authority
	store    *ledgertest.MemStore
	l        *ledger.Ledger
	height   int64
}

// New builds the fixture.
func New(tb testing.TB) *Fixture {
	tb.Helper()
	rnd := rand.NewChaCha8([32]byte{'c', 'e', 'r', 't'})
	a, err := ledgertest.NewAlliance(rnd, ChainID)
	if err != nil {
		tb.Fatal(err)
	}
	auth, err := tsa.NewAuthority(tsa.SM2, "tsa-sm2", time.Unix(0, ledgertest.GenesisTime).Add(-time.Hour), 365*24*time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	a.Genesis.State.TSAs = []ledger.GenesisTSA{ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-sm2", Cert: auth.Certificate(), Hashes: []string{ledger.HashSM3}})}
	f := &Fixture{A: a, TSA: auth, store: ledgertest.NewMemStore(), l: ledger.New(ledger.Options{Workers: 1})}
	f.View = ledger.NewView(f.store)
	out, err := f.l.InitChain(f.store, a.Genesis)
	if err != nil {
		tb.Fatal(err)
	}
	f.store.Commit(out.Changes)
	f.Original = []byte("个人消费贷款合同 LOAN-2026-000001\nAmount: CNY 50,000\n")
	f.Salt = make([]byte, 32)
	for i := range f.Salt {
		f.Salt[i] = byte(i)
	}
	dk, err := crypto.NewDataKey(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	ownerKey, err := a.Key("bank-a").Public().WrapKey(rnd, dk)
	if err != nil {
		tb.Fatal(err)
	}
	courtKey, err := a.Key("court").Public().WrapKey(rnd, dk)
	if err != nil {
		tb.Fatal(err)
	}
	cipher := crypto.SM3([]byte("sealed original"))
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-2026-000001", Step: 1,
		Commitment: crypto.SM3(f.Salt, f.Original), Size: uint64(len(f.Original)),
		Cipher: &cipher, CipherSize: 4096, OwnerKey: ownerKey}
	t1 := ledgertest.GenesisTime + int64(time.Second)
	f.apply(tb, t1, a.Evidence(a.Key("bank-a"), t1-int64(time.Millisecond), rec))
	t2 := t1 + int64(time.Second)
	f.apply(tb, t2, a.Sign(a.Key("notary"), &ledger.Body{ChainID: ChainID, Time: t2 - int64(time.Millisecond),
		Payload: &ledger.Attestation{Statement: "notarised", Targets: []ledger.RecordRef{{Index: 6}}, Note: "(2026)沪东证字第1234号"}}))
	f.apply(tb, t2+int64(time.Second))
	f.apply(tb, t2+2*int64(time.Second), f.checkpointTx(tb, 2))
	t5 := t2 + 3*int64(time.Second)
	f.apply(tb, t5, a.Sign(a.Key("bank-a"), &ledger.Body{ChainID: ChainID, Time: t5 - int64(time.Millisecond), Payload: &ledger.Grant{
		Grantee: "court", Purpose: "case-2026-0115", Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 6}, Wrapped: courtKey}}}}))
	t6 := t5 + int64(time.Second)
	f.apply(tb, t6, a.Sign(a.Key("court"), &ledger.Body{ChainID: ChainID, Time: t6 - int64(time.Millisecond),
		Payload: &ledger.Access{Ref: ledger.RecordRef{Index: 6}, ViaGrant: true, Grant: 8}}))
	cp, err := f.View.SignedCheckpoint(2)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := ledgertest.Stamp(auth, tsa.SM3, cp.Text, big.NewInt(1002), cp.Checkpoint.Time.Add(2*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	t7 := t6 + int64(time.Second)
	f.apply(tb, t7, a.Sign(a.Key("court"), &ledger.Body{ChainID: ChainID, Time: t7 - int64(time.Millisecond),
		Payload: &ledger.Timestamp{Height: 2, TSA: "tsa-sm2", Token: tok}}))
	return f
}

// TrustedTime is the genTime of the fixture's token.
func (f *Fixture) TrustedTime(tb testing.TB) time.Time {
	tb.Helper()
	cp, err := f.View.SignedCheckpoint(2)
	if err != nil {
		tb.Fatal(err)
	}
	return cp.Checkpoint.Time.Add(2 * time.Second).UTC()
}

// apply commits the next block, failing unless every tx is accepted.
func (f *Fixture) apply(tb testing.TB, t int64, txs ...[]byte) {
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
// height, signed by the quorum.
func (f *Fixture) checkpointTx(tb testing.TB, height int64) []byte {
	tb.Helper()
	text, err := f.View.CheckpointText(height)
	if err != nil {
		tb.Fatal(err)
	}
	var sigs []ledger.MemberSignature
	for _, name := range quorum {
		sig, err := f.A.Key(name).Sign(nil, text)
		if err != nil {
			tb.Fatal(err)
		}
		sigs = append(sigs, ledger.MemberSignature{Member: name, Signature: sig})
	}
	slices.SortFunc(sigs, func(x, y ledger.MemberSignature) int { return strings.Compare(x.Member, y.Member) })
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: ChainID, Payload: &ledger.CosignedCheckpoint{Height: uint64(height), Signatures: sigs}})
	if err != nil {
		tb.Fatal(err)
	}
	tx, err := ledger.EncodeTx(body, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tx
}

// Roster returns the committed roster.
func (f *Fixture) Roster(tb testing.TB) *ledger.Roster {
	tb.Helper()
	r, err := f.View.Roster()
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// Data returns the certificate data of entry 6, issued by the notary.
func (f *Fixture) Data(tb testing.TB, lang string) certificate.Data {
	tb.Helper()
	rc, err := receipt.Build(f.View, ledger.RecordRef{Index: 6})
	if err != nil {
		tb.Fatal(err)
	}
	rj, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	facts, err := certificate.Collect(f.View, rc)
	if err != nil {
		tb.Fatal(err)
	}
	return certificate.Data{Facts: *facts, Issuer: certificate.Issuer{Member: "notary", Role: "notary"},
		IssuedAt: time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC), Lang: lang,
		VerifyURL: "http://127.0.0.1:8080/explorer/verify?id=6", Receipt: rj}
}

// Build returns the certificate PDF of f.Data, signed by the notary; it
// skips the test when no CJK font is installed.
func (f *Fixture) Build(tb testing.TB, lang string) ([]byte, certificate.Data) {
	tb.Helper()
	font, err := certificate.LoadFont("")
	if err != nil {
		if os.Getenv("EVIDENCED_REQUIRE_PDFTOOLS") != "" {
			tb.Fatal(err)
		}
		tb.Skipf("no CJK font: %v", err)
	}
	d := f.Data(tb, lang)
	pdf, err := certificate.Build(d, f.A.Key("notary"), font)
	if err != nil {
		tb.Fatal(err)
	}
	return pdf, d
}
