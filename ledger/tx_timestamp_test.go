package ledger_test

import (
	"bytes"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/tsa"
)

// Timestamps: RFC 3161 tokens of trusted TSAs over trusted checkpoints
// (tx_timestamp.go).

// stampFixture is a fixture whose genesis trusts three development TSAs:
// tsa-sm2 (SM3 imprints), tsa-ec (ECDSA P-256, SHA-256 imprints) and
// tsa-old (SM2, whose certificates expire two hours after genesis).
type stampFixture struct {
	*fixture
	sm2, ec, old *tsa.Authority
}

func newStampFixture(t *testing.T) *stampFixture {
	t.Helper()
	t0 := time.Unix(0, ledgertest.GenesisTime).Add(-time.Hour)
	mk := func(kind tsa.KeyKind, name string, validity time.Duration) *tsa.Authority {
		a, err := tsa.NewAuthority(kind, name, t0, validity)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	sf := &stampFixture{sm2: mk(tsa.SM2, "tsa-sm2", 365*24*time.Hour), ec: mk(tsa.ECDSAP256, "tsa-ec", 365*24*time.Hour), old: mk(tsa.SM2, "tsa-old", 3*time.Hour)}
	sf.fixture = newFixtureWith(t, func(g *ledger.Genesis) {
		g.State.TSAs = []ledger.GenesisTSA{
			ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-ec", Cert: sf.ec.Certificate(), Hashes: []string{ledger.HashSHA256}}),
			ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-old", Cert: sf.old.Certificate(), Hashes: []string{ledger.HashSM3}}),
			ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-sm2", Cert: sf.sm2.Certificate(), Hashes: []string{ledger.HashSM3}}),
		}
	})
	return sf
}

// token returns a's token over the checkpoint text of height with hash h,
// stamped at the checkpoint's block time plus after, with a nonce.
func (f *stampFixture) token(a *tsa.Authority, h tsa.HashAlg, height int64, after time.Duration) []byte {
	f.t.Helper()
	cp, err := f.view().SignedCheckpoint(uint64(height))
	if err != nil {
		f.t.Fatal(err)
	}
	tok, err := ledgertest.Stamp(a, h, cp.Text, big.NewInt(height+1000), cp.Checkpoint.Time.Add(after))
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

func (f *stampFixture) stampTx(height int64, name string, token []byte) []byte {
	f.t.Helper()
	return buildTx(f.t, chainID, f.a.Key("bank-a"), f.now+int64(time.Second), &ledger.Timestamp{Height: height, TSA: name, Token: token})
}

// checkpoint commits a trusted checkpoint of a new block holding one
// evidence record, and returns its height.
func (f *stampFixture) checkpoint() int64 {
	f.t.Helper()
	wantCode(f.t, f.one(f.a.Evidence(f.a.Key("bank-a"), f.now+int64(time.Second), rec(fmt.Sprint("LOAN-TS-", f.height), 1, crypto.Hash{}, "x"))), ledger.CodeOK)
	h := f.height
	f.attest(nil)
	return h
}

func TestTimestampAccepted(t *testing.T) {
	f := newStampFixture(t)
	h1 := f.checkpoint()
	tok1 := f.token(f.sm2, tsa.SM3, h1, 3*time.Second)
	// CheckTx, then FinalizeBlock: the same answer (the second from the cache).
	tx := f.stampTx(h1, "tsa-sm2", tok1)
	if res, err := f.l.Check(f.st, tx, f.now+int64(time.Second)); err != nil || res.Code != ledger.CodeOK {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	before, err := f.view().Head()
	if err != nil {
		t.Fatal(err)
	}
	r1 := f.one(tx)
	wantCode(t, r1, ledger.CodeOK)
	accepted1 := f.height
	// A timestamp is state, not a log entry: the log does not grow.
	if after, err := f.view().Head(); err != nil || after.Size != before.Size || r1.Index != 0 {
		t.Fatalf("after a timestamp the log is %+v (%v), result index %d; want the size %d unchanged", after, err, r1.Index, before.Size)
	}

	h2 := f.checkpoint()
	tok2 := f.token(f.ec, tsa.SHA256, h2, 0)
	r2 := f.one(f.stampTx(h2, "tsa-ec", tok2))
	wantCode(t, r2, ledger.CodeOK)
	accepted2 := f.height

	v := f.view()
	cp1, _ := v.SignedCheckpoint(uint64(h1))
	ti, err := v.Timestamp(h1)
	if err != nil {
		t.Fatal(err)
	}
	if ti.Height != h1 || ti.Accepted != accepted1 || ti.TSA != "tsa-sm2" || !bytes.Equal(ti.Token, tok1) || ti.Hash != "sm3" ||
		!ti.GenTime.Equal(cp1.Checkpoint.Time.Add(3*time.Second).Truncate(time.Second)) || ti.Serial == "" || ti.Serial[:2] != "0x" ||
		!bytes.Equal(ti.Checkpoint.Text, cp1.Text) {
		t.Fatalf("Timestamp(%d) = %+v", h1, ti)
	}
	ti2, err := v.Timestamp(h2)
	if err != nil || ti2.TSA != "tsa-ec" || ti2.Hash != "sha256" || ti2.Accepted != accepted2 {
		t.Fatalf("Timestamp(%d) = %+v, %v", h2, ti2, err)
	}
	if _, err := v.Timestamp(h1 + 1); err == nil {
		t.Fatal("a checkpoint without a token has a timestamp")
	}
	// Covering: entry 0 is in both trees, the first wins; the record of
	// the second checkpoint's block is only in the second.
	if c, err := v.TimestampCovering(0); err != nil || c.Height != h1 {
		t.Fatalf("TimestampCovering(0) = %+v, %v", c, err)
	}
	if c, err := v.TimestampCovering(cp1.Checkpoint.Size); err != nil || c.Height != h2 {
		t.Fatalf("TimestampCovering(%d) = %+v, %v", cp1.Checkpoint.Size, c, err)
	}
	cp2, _ := v.SignedCheckpoint(uint64(h2))
	if _, err := v.TimestampCovering(cp2.Checkpoint.Size); err == nil {
		t.Fatal("an entry beyond every stamped tree is covered")
	}
	all, err := v.Timestamps(0, 10)
	if err != nil || len(all) != 2 || all[0].Height != h1 || all[1].Height != h2 {
		t.Fatalf("Timestamps = %+v, %v", all, err)
	}
	if later, err := v.Timestamps(h1+1, 10); err != nil || len(later) != 1 || later[0].Height != h2 {
		t.Fatalf("Timestamps(%d) = %+v, %v", h1+1, later, err)
	}

	// The transaction's details say what the token states.
	d := (&ledger.Timestamp{Height: h1, TSA: "tsa-sm2", Token: tok1}).Details().(*ledger.TimestampDetails)
	if d.Checkpoint != uint64(h1) || d.TSA != "tsa-sm2" || d.GenTime == nil || !d.GenTime.Equal(ti.GenTime) || d.Serial != ti.Serial || d.Hash != "sm3" || d.TokenSize != uint64(len(tok1)) {
		t.Fatalf("details %+v", d)
	}
	if fs := d.Fields(); len(fs) != 6 || fs[2].Name != "gen_time" {
		t.Fatalf("fields %+v", fs)
	}
}

func TestTimestampRejected(t *testing.T) {
	f := newStampFixture(t)
	h1 := f.checkpoint()
	good1 := f.token(f.sm2, tsa.SM3, h1, time.Second)
	wantCode(t, f.one(f.stampTx(h1, "tsa-sm2", good1)), ledger.CodeOK)
	h2 := f.checkpoint()

	stranger, err := tsa.NewAuthority(tsa.SM2, "tsa-sm2", time.Unix(0, ledgertest.GenesisTime).Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	flipped := f.token(f.sm2, tsa.SM3, h2, time.Second)
	flipped[len(flipped)-1] ^= 1 // in the signature
	cp2, _ := f.view().SignedCheckpoint(uint64(h2))
	noNonce, err := ledgertest.Stamp(f.sm2, tsa.SM3, cp2.Text, nil, cp2.Checkpoint.Time)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		height int64
		tsa    string
		token  []byte
		want   ledger.Code
	}{
		{"one byte flipped", h2, "tsa-sm2", flipped, ledger.CodeBadToken},
		{"not a token", h2, "tsa-sm2", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, ledger.CodeBadToken},
		{"untrusted TSA", h2, "tsa-sm2", f.token(stranger, tsa.SM3, h2, time.Second), ledger.CodeBadToken},
		{"unknown TSA name", h2, "tsa-none", f.token(f.sm2, tsa.SM3, h2, time.Second), ledger.CodeNotTSA},
		{"another TSA's name", h2, "tsa-old", f.token(f.sm2, tsa.SM3, h2, time.Second), ledger.CodeBadToken},
		{"over another checkpoint", h2, "tsa-sm2", f.token(f.sm2, tsa.SM3, h1, 2*time.Second), ledger.CodeTokenImprint},
		{"hash the TSA may not use", h2, "tsa-ec", f.token(f.ec, tsa.SM3, h2, time.Second), ledger.CodeTokenImprint},
		{"no nonce", h2, "tsa-sm2", noNonce, ledger.CodeBadToken},
		{"genTime too early", h2, "tsa-sm2", f.token(f.sm2, tsa.SM3, h2, -ledger.TimestampSkew-time.Minute), ledger.CodeTokenTime},
		{"genTime early within the skew", h2, "tsa-sm2", f.token(f.sm2, tsa.SM3, h2, -ledger.TimestampSkew+time.Minute), ledger.CodeOK},
		{"second token for the checkpoint", h2, "tsa-ec", f.token(f.ec, tsa.SHA256, h2, time.Second), ledger.CodeAlreadyStamped},
		{"replay for its own checkpoint", h1, "tsa-sm2", good1, ledger.CodeAlreadyStamped},
		{"unknown checkpoint height", 999, "tsa-sm2", good1, ledger.CodeUnknownCheckpoint},
		{"height without a trusted checkpoint", h2 + 1, "tsa-sm2", good1, ledger.CodeUnknownCheckpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, f.one(f.stampTx(tc.height, tc.tsa, tc.token)), tc.want)
		})
	}

	// A token accepted once, submitted for another, unstamped checkpoint.
	h3 := f.checkpoint()
	wantCode(t, f.one(f.stampTx(h3, "tsa-sm2", good1)), ledger.CodeTokenReplayed)

	// Certificates expired by the token's genTime.
	wantCode(t, f.one(f.stampTx(h3, "tsa-old", f.token(f.old, tsa.SM3, h3, 3*time.Hour))), ledger.CodeTokenExpired)

	// Two tokens for one checkpoint in one block: the first is kept; and
	// so in a bundle's check.
	a, b := f.stampTx(h3, "tsa-sm2", f.token(f.sm2, tsa.SM3, h3, time.Second)), f.stampTx(h3, "tsa-ec", f.token(f.ec, tsa.SHA256, h3, time.Second))
	bundle, err := ledger.EncodeBundle([][]byte{a, b})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.l.Check(f.st, bundle, f.now+int64(time.Second))
	if err != nil || res.Code != ledger.CodeOK || res.Inner[0].Code != ledger.CodeOK || res.Inner[1].Code != ledger.CodeAlreadyStamped {
		t.Fatalf("Check of a bundle of two tokens for one checkpoint: %+v, %v", res, err)
	}
	out := f.block(a, b)
	wantCode(t, out.Results[0], ledger.CodeOK)
	wantCode(t, out.Results[1], ledger.CodeAlreadyStamped)
	if ti, err := f.view().Timestamp(h3); err != nil || ti.TSA != "tsa-sm2" {
		t.Fatalf("Timestamp(%d) = %+v, %v", h3, ti, err)
	}
}

// TestTimestampTSARemoved: a TSA removed from the roster by governance
// stamps no more checkpoints once the new roster version is in force.
func TestTimestampTSARemoved(t *testing.T) {
	f := newStampFixture(t)
	p := f.propose("bank-a", ledger.RosterChange{Kind: ledger.ChangeRemoveTSA, TSA: ledger.TSA{Name: "tsa-sm2"}}, uint64(f.height+50))
	wantCode(t, p, ledger.CodeOK)
	f.vote(p.Index, ledger.Approve, "bank-a", "bank-b", "notary", "court")
	h := f.checkpoint() // attests the roster version without tsa-sm2: in force now
	if ts, _ := f.view().TSAs(); len(ts) != 2 {
		t.Fatalf("TSAs in force after the removal: %+v", ts)
	}
	wantCode(t, f.one(f.stampTx(h, "tsa-sm2", f.token(f.sm2, tsa.SM3, h, time.Second))), ledger.CodeNotTSA)
	wantCode(t, f.one(f.stampTx(h, "tsa-ec", f.token(f.ec, tsa.SHA256, h, time.Second))), ledger.CodeOK)
}

// TestTimestampWire: the payload round-trips, and tokens longer than
// tsa.MaxTokenBytes are refused before they are read.
func TestTimestampWire(t *testing.T) {
	p := ledger.TxTypeNamed("timestamp").Example().(*ledger.Timestamp)
	b := mustBody(t, p)
	back, err := ledger.DecodeBody(b)
	if err != nil || back.Payload.(*ledger.Timestamp).Height != p.Height || !bytes.Equal(back.Payload.(*ledger.Timestamp).Token, p.Token) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	big := &ledger.Timestamp{Height: 1, TSA: "a", Token: make([]byte, tsa.MaxTokenBytes+1)}
	if _, err := ledger.EncodeBody(&ledger.Body{ChainID: chainID, Time: 1, Payload: big}); err == nil {
		t.Fatal("a token over the limit encodes")
	}
	d := p.Details().(*ledger.TimestampDetails)
	if d.GenTime == nil || d.Hash != "sm3" || d.TSA != "tsa-example" {
		t.Fatalf("example details %+v", d)
	}
}
