package ledger_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// The checkpoint rules of package ledger, tested on the ledger alone: a
// checkpoint transaction in block h+2 carries members' signatures on the
// CheckpointText of the state after block h, and is accepted only when the
// signers hold more than 2/3 of the voting power (docs/ARCHITECTURE.md,
// "Checkpoints").

// buildTx is the one place these tests spell out a ledger.Body: it returns
// the transaction carrying payload in chainID at client time t, signed by
// signer, or unsigned (as proposers build checkpoints) when signer is nil.
// Every other transaction in these tests comes from the ledgertest builders.
func buildTx(tb testing.TB, chainID string, signer *crypto.PrivateKey, t int64, payload ledger.Payload) []byte {
	tb.Helper()
	b := ledger.Body{ChainID: chainID, Time: t, Payload: payload}
	if signer != nil {
		tx, err := ledger.SignTx(signer, rand.Reader, &b)
		if err != nil {
			tb.Fatalf("buildTx: %v", err)
		}
		return tx
	}
	body, err := ledger.EncodeBody(&b)
	if err != nil {
		tb.Fatalf("buildTx: %v", err)
	}
	tx, err := ledger.EncodeTx(body, nil)
	if err != nil {
		tb.Fatalf("buildTx: %v", err)
	}
	return tx
}

// checkpointTx returns the checkpoint transaction a proposer builds: the
// signatures on the checkpoint of the state after block height, unsigned.
func checkpointTx(tb testing.TB, chainID string, height uint64, sigs []ledger.MemberSignature) []byte {
	tb.Helper()
	return buildTx(tb, chainID, nil, 0, &ledger.CosignedCheckpoint{Height: height, Signatures: sigs})
}

// text returns the checkpoint text of the committed state after block height.
func (f *fixture) text(height int64) []byte {
	f.t.Helper()
	text, err := f.view().CheckpointText(height)
	if err != nil {
		f.t.Fatalf("CheckpointText(%d): %v", height, err)
	}
	return text
}

// cosign returns the named members' signatures on text with their member
// keys, sorted by member as a checkpoint transaction carries them.
func (f *fixture) cosign(text []byte, names ...string) []ledger.MemberSignature {
	f.t.Helper()
	names = slices.Sorted(slices.Values(names))
	sigs := make([]ledger.MemberSignature, len(names))
	for i, n := range names {
		sigs[i] = ledger.MemberSignature{Member: n, Signature: sign(f.t, f.a.Key(n), text)}
	}
	return sigs
}

func sign(tb testing.TB, k *crypto.PrivateKey, msg []byte) []byte {
	tb.Helper()
	sig, err := k.Sign(rand.Reader, msg)
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

// alter returns checkpoint text with one field changed by edit.
func alter(tb testing.TB, text []byte, edit func(*ledger.Checkpoint)) []byte {
	tb.Helper()
	cp, err := ledger.ParseCheckpoint(text)
	if err != nil {
		tb.Fatal(err)
	}
	edit(cp)
	return ledger.CheckpointText(cp.ChainID, cp.Size, cp.Root, cp.Height, cp.Time.UnixNano())
}

// quorum is four of the five voting members of the test alliance: 40 of 50.
var quorum = []string{"arbitration", "bank-a", "bank-b", "notary"}

// advanceTo commits block 1 with one evidence record, then empty blocks,
// until the next block is at.
func (f *fixture) advanceTo(at int64) {
	f.t.Helper()
	if f.height == 0 && at > 1 {
		wantCode(f.t, f.one(f.a.Evidence(f.a.Key("bank-a"), f.now, rec("LOAN-CP", 1, crypto.Hash{}, "cp"))), ledger.CodeOK)
	}
	for f.height < at-1 {
		f.block()
	}
}

// TestCheckpointRules applies, after block 1 (one evidence record) and
// empty blocks, a block at height at holding the case's transactions.
func TestCheckpointRules(t *testing.T) {
	type txsFunc func(f *fixture) [][]byte
	// one builds a single checkpoint transaction of height h signed over
	// text(f) by the quorum.
	one := func(h uint64, text func(f *fixture) []byte) txsFunc {
		return func(f *fixture) [][]byte {
			return [][]byte{checkpointTx(f.t, chainID, h, f.cosign(text(f), quorum...))}
		}
	}
	state := func(h int64) func(f *fixture) []byte { return func(f *fixture) []byte { return f.text(h) } }
	edited := func(h int64, edit func(*ledger.Checkpoint)) func(f *fixture) []byte {
		return func(f *fixture) []byte { return alter(f.t, f.text(h), edit) }
	}
	signers := func(h uint64, names ...string) txsFunc {
		return func(f *fixture) [][]byte {
			return [][]byte{checkpointTx(f.t, chainID, h, f.cosign(f.text(int64(h)), names...))}
		}
	}
	// with adds one signature to the quorum's on the state after block 1.
	with := func(extra func(f *fixture, text []byte) ledger.MemberSignature) txsFunc {
		return func(f *fixture) [][]byte {
			text := f.text(1)
			sigs := append(f.cosign(text, quorum...), extra(f, text))
			slices.SortFunc(sigs, func(a, b ledger.MemberSignature) int { return strings.Compare(a.Member, b.Member) })
			return [][]byte{checkpointTx(f.t, chainID, 1, sigs)}
		}
	}
	const none = -1
	tests := []struct {
		name    string
		at      int64
		txs     txsFunc
		want    []ledger.Code
		why     string // in the log of the last rejected transaction
		trusted int64  // height of the latest trusted checkpoint afterwards, or none
	}{
		{"quorum of four in block h+2", 3, one(1, state(1)), []ledger.Code{ledger.CodeOK}, "", 1},
		{"all five voting members", 3, signers(1, "arbitration", "bank-a", "bank-b", "court", "notary"), []ledger.Code{ledger.CodeOK}, "", 1},
		{"the genesis state in block 2", 2, one(0, state(0)), []ledger.Code{ledger.CodeOK}, "", 0},
		{"three of five hold 30 of 50", 3, signers(1, "bank-a", "bank-b", "court"), []ledger.Code{ledger.CodeCheckpoint}, "signers hold 30 of 50 voting power", none},
		{"one member", 3, signers(1, "court"), []ledger.Code{ledger.CodeCheckpoint}, "hold 10 of 50", none},
		{"regulator signs too", 3, with(func(f *fixture, text []byte) ledger.MemberSignature {
			return ledger.MemberSignature{Member: "regulator", Signature: sign(f.t, f.a.Key("regulator"), text)}
		}), []ledger.Code{ledger.CodeCheckpoint}, "signer regulator is not a voting member", none},
		{"regulator makes up a quorum", 3, signers(1, "bank-a", "bank-b", "court", "regulator"), []ledger.Code{ledger.CodeCheckpoint}, "signer regulator is not a voting member", none},
		{"unknown member", 3, with(func(f *fixture, text []byte) ledger.MemberSignature {
			return ledger.MemberSignature{Member: "nobody", Signature: sign(f.t, f.a.Outsider, text)}
		}), []ledger.Code{ledger.CodeCheckpoint}, "signer nobody is not a voting member", none},
		{"outsider key under a member's name", 3, with(func(f *fixture, text []byte) ledger.MemberSignature {
			return ledger.MemberSignature{Member: "court", Signature: sign(f.t, f.a.Outsider, text)}
		}), []ledger.Code{ledger.CodeCheckpoint}, "signature of court does not verify", none},
		{"another member's key under a member's name", 3, with(func(f *fixture, text []byte) ledger.MemberSignature {
			return ledger.MemberSignature{Member: "court", Signature: sign(f.t, f.a.Key("notary"), text)}
		}), []ledger.Code{ledger.CodeCheckpoint}, "signature of court does not verify", none},
		{"signature that is not DER", 3, with(func(f *fixture, text []byte) ledger.MemberSignature {
			return ledger.MemberSignature{Member: "court", Signature: []byte{0x30, 0x00}}
		}), []ledger.Code{ledger.CodeCheckpoint}, "signature of court does not verify", none},
		{"wrong root", 3, one(1, edited(1, func(c *ledger.Checkpoint) { c.Root = crypto.SM3([]byte("another tree")) })), []ledger.Code{ledger.CodeCheckpoint}, "does not verify", none},
		{"wrong tree size", 3, one(1, edited(1, func(c *ledger.Checkpoint) { c.Size++ })), []ledger.Code{ledger.CodeCheckpoint}, "does not verify", none},
		{"wrong height in the text", 3, one(1, edited(1, func(c *ledger.Checkpoint) { c.Height = 2 })), []ledger.Code{ledger.CodeCheckpoint}, "does not verify", none},
		{"wrong time", 3, one(1, edited(1, func(c *ledger.Checkpoint) { c.Time = c.Time.Add(time.Nanosecond) })), []ledger.Code{ledger.CodeCheckpoint}, "does not verify", none},
		{"foreign checkpoint of another chain", 3, one(1, edited(1, func(c *ledger.Checkpoint) { c.ChainID = "other-chain" })), []ledger.Code{ledger.CodeCheckpoint}, "does not verify", none},
		{"the text of block 2 under height 1", 3, one(1, state(2)), []ledger.Code{ledger.CodeCheckpoint}, "does not verify", none},
		{"transaction of another chain", 3, func(f *fixture) [][]byte {
			return [][]byte{checkpointTx(f.t, "other-chain", 1, f.cosign(f.text(1), quorum...))}
		}, []ledger.Code{ledger.CodeWrongChain}, "other-chain", none},
		{"one block early (h+1)", 3, one(2, state(2)), []ledger.Code{ledger.CodeCheckpoint}, "may carry the checkpoint of height 1, not 2", none},
		{"one block late (h+3)", 4, one(1, state(1)), []ledger.Code{ledger.CodeCheckpoint}, "may carry the checkpoint of height 2, not 1", none},
		{"its own block", 3, one(3, state(2)), []ledger.Code{ledger.CodeCheckpoint}, "may carry the checkpoint of height 1, not 3", none},
		{"height 2^64-1 is block -1, which does not exist", 1, func(f *fixture) [][]byte {
			return [][]byte{checkpointTx(f.t, chainID, math.MaxUint64, f.cosign(f.text(0), quorum...))}
		}, []ledger.Code{ledger.CodeCheckpoint}, "no block 18446744073709551615 to checkpoint", none},
		{"second checkpoint in one block", 3, func(f *fixture) [][]byte {
			text := f.text(1)
			return [][]byte{
				checkpointTx(f.t, chainID, 1, f.cosign(text, quorum...)),
				checkpointTx(f.t, chainID, 1, f.cosign(text, "bank-a", "bank-b", "court", "notary")),
			}
		}, []ledger.Code{ledger.CodeOK, ledger.CodeCheckpoint}, "at most one checkpoint", 1},
		{"a rejected checkpoint does not count as the block's one", 3, func(f *fixture) [][]byte {
			text := f.text(1)
			return [][]byte{
				checkpointTx(f.t, chainID, 1, f.cosign(text, "bank-a", "bank-b")),
				checkpointTx(f.t, chainID, 1, f.cosign(text, quorum...)),
			}
		}, []ledger.Code{ledger.CodeCheckpoint, ledger.CodeOK}, "hold 20 of 50", 1},
		{"after evidence in the same block", 3, func(f *fixture) [][]byte {
			return [][]byte{
				f.a.Evidence(f.a.Key("bank-b"), f.now, rec("LOAN-SAME", 1, crypto.Hash{}, "same")),
				checkpointTx(f.t, chainID, 1, f.cosign(f.text(1), quorum...)),
			}
		}, []ledger.Code{ledger.CodeOK, ledger.CodeOK}, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.advanceTo(tt.at)
			txs := tt.txs(f)
			if len(txs) != len(tt.want) {
				t.Fatalf("case builds %d transactions, wants %d results", len(txs), len(tt.want))
			}
			// The same block without the transactions: what a block
			// whose transactions are all rejected must come to.
			bare, err := f.l.Apply(f.st, ledger.Block{Height: f.height + 1, Time: f.now + int64(time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			out := f.block(txs...)
			accepted, why := 0, ""
			for i, want := range tt.want {
				wantCode(t, out.Results[i], want)
				if want == ledger.CodeOK {
					accepted++
				} else {
					why = out.Results[i].Log
				}
			}
			if !strings.Contains(why, tt.why) {
				t.Fatalf("rejected because %q, want a reason saying %q", why, tt.why)
			}
			if accepted == 0 && out.AppHash != bare.AppHash {
				t.Fatal("a block whose transactions were all rejected has another app hash than the same block without them")
			}
			v := f.view()
			latest, err := v.LatestCheckpoint()
			if tt.trusted == none {
				if !errors.Is(err, ledger.ErrNotFound) {
					t.Fatalf("LatestCheckpoint = %+v, %v; want ErrNotFound", latest, err)
				}
				for h := uint64(0); h <= uint64(f.height); h++ {
					if _, err := v.SignedCheckpoint(h); !errors.Is(err, ledger.ErrNotFound) {
						t.Fatalf("SignedCheckpoint(%d) = %v, want ErrNotFound", h, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("LatestCheckpoint: %v", err)
			}
			if latest.Checkpoint.Height != tt.trusted {
				t.Fatalf("latest trusted checkpoint is of height %d, want %d", latest.Checkpoint.Height, tt.trusted)
			}
			// It is exactly the accepted transaction's signatures on the
			// text of that height, and each verifies under its member key.
			var sent *ledger.Tx
			for i, r := range out.Results {
				if r.Code == ledger.CodeOK && r.Type == ledger.TxCheckpoint {
					if sent, err = ledger.DecodeTx(txs[i]); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !bytes.Equal(latest.Text, f.text(tt.trusted)) {
				t.Fatalf("trusted text\n%s\nis not the checkpoint text of height %d\n%s", latest.Text, tt.trusted, f.text(tt.trusted))
			}
			if !slices.EqualFunc(latest.Signatures, sent.Body.Payload.(*ledger.CosignedCheckpoint).Signatures, func(a, b ledger.MemberSignature) bool {
				return a.Member == b.Member && bytes.Equal(a.Signature, b.Signature)
			}) {
				t.Fatalf("stored signatures %v differ from the accepted transaction's", latest.Signatures)
			}
			var power uint64
			for _, sg := range latest.Signatures {
				m, err := v.Member(sg.Member)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Keys[0].Verify(latest.Text, sg.Signature); err != nil {
					t.Fatalf("stored signature of %s does not verify: %v", sg.Member, err)
				}
				power += m.Power
			}
			total, err := v.TotalPower()
			if err != nil || total != 50 {
				t.Fatalf("TotalPower = %d, %v; want 50", total, err)
			}
			if !ledger.Trusted(power, total) {
				t.Fatalf("stored signers hold %d of %d", power, total)
			}
		})
	}
}

// TestCheckpointQuorum: the quorum is strictly more than 2/3 of the voting
// power, counted in power, not in members.
func TestCheckpointQuorum(t *testing.T) {
	tests := []struct {
		name    string
		power   map[string]uint64 // changed powers; the others keep 10
		signers []string
		want    ledger.Code
	}{
		{"40 of 50", nil, quorum, ledger.CodeOK},
		{"30 of 50", nil, []string{"bank-a", "court", "notary"}, ledger.CodeCheckpoint},
		{"exactly 2/3: 40 of 60", map[string]uint64{"bank-a": 20}, []string{"bank-a", "bank-b", "notary"}, ledger.CodeCheckpoint},
		{"exactly 2/3 without the heavy member: 40 of 60", map[string]uint64{"bank-a": 20}, []string{"arbitration", "bank-b", "court", "notary"}, ledger.CodeCheckpoint},
		{"50 of 60", map[string]uint64{"bank-a": 20}, []string{"arbitration", "bank-a", "bank-b", "notary"}, ledger.CodeOK},
		{"one member with 100 of 140", map[string]uint64{"court": 100}, []string{"court"}, ledger.CodeOK},
		{"four members with 40 of 140", map[string]uint64{"court": 100}, quorum, ledger.CodeCheckpoint},
		{"exactly 2/3 with power 1 each: 2 of 3", map[string]uint64{"bank-a": 1, "bank-b": 1, "court": 1, "notary": 0, "arbitration": 0}, []string{"bank-a", "bank-b"}, ledger.CodeCheckpoint},
		{"3 of 3", map[string]uint64{"bank-a": 1, "bank-b": 1, "court": 1, "notary": 0, "arbitration": 0}, []string{"bank-a", "bank-b", "court"}, ledger.CodeOK},
		// Twice the total does not fit in 64 bits.
		{"10 of 2^63", map[string]uint64{"bank-a": 1<<63 - 40}, []string{"court"}, ledger.CodeCheckpoint},
		{"2^63-10 of 2^63", map[string]uint64{"bank-a": 1<<63 - 40}, []string{"arbitration", "bank-a", "bank-b", "notary"}, ledger.CodeOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, func(g *ledger.Genesis) { setPowers(t, g, tt.power) })
			f.advanceTo(3)
			res := f.one(checkpointTx(t, chainID, 1, f.cosign(f.text(1), tt.signers...)))
			wantCode(t, res, tt.want)
			_, err := f.view().LatestCheckpoint()
			if (err == nil) != (tt.want == ledger.CodeOK) {
				t.Fatalf("LatestCheckpoint after %s: %v", tt.want, err)
			}
		})
	}
}

// newFixtureWith is newFixture over the test alliance's genesis changed by edit.
func newFixtureWith(t *testing.T, edit func(g *ledger.Genesis)) *fixture {
	t.Helper()
	a, err := ledgertest.NewAlliance(rand.Reader, chainID)
	if err != nil {
		t.Fatal(err)
	}
	g := *a.Genesis
	g.State.Members = slices.Clone(g.State.Members)
	g.Validators = slices.Clone(g.Validators)
	edit(&g)
	a.Genesis = &g
	f := &fixture{t: t, l: ledger.New(ledger.Options{}), st: ledgertest.NewMemStore(), a: a, now: ledgertest.GenesisTime}
	out, err := f.l.InitChain(f.st, &g)
	if err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	f.st.Commit(out.Changes)
	return f
}

// setPowers gives the named members new voting power in the roster and in
// the consensus validators; a member with power 0 stops being a validator.
func setPowers(t *testing.T, g *ledger.Genesis, power map[string]uint64) {
	t.Helper()
	var vs []ledger.ConsensusValidator
	for i := range g.State.Members {
		m := &g.State.Members[i]
		if p, ok := power[m.Name]; ok {
			m.Power = p
			if p == 0 {
				m.Validator = ""
			}
		}
		if m.Power > 0 {
			vk := hexBytes(t, m.Validator)
			vs = append(vs, ledger.ConsensusValidator{PubKey: vk, Power: m.Power})
		}
	}
	g.Validators = vs
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckpointLifecycle follows trusted checkpoints through a chain: a
// stale checkpoint (no larger tree than the last trusted one) is refused,
// and CheckpointCovering names the earliest trusted checkpoint holding an
// entry.
func TestCheckpointLifecycle(t *testing.T) {
	f := newFixture(t)
	v := f.view()
	if _, err := v.LatestCheckpoint(); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("LatestCheckpoint of a new chain = %v, want ErrNotFound", err)
	}
	if _, err := v.CheckpointCovering(0); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("CheckpointCovering(0) of a new chain = %v, want ErrNotFound", err)
	}
	bank := f.a.Key("bank-a")
	cp := func(h int64) []byte { return checkpointTx(t, chainID, uint64(h), f.cosign(f.text(h), quorum...)) }

	// Block 1 appends entry 6 (size 7); block 2 appends nothing.
	wantCode(t, f.one(f.a.Evidence(bank, f.now, rec("LIFE-1", 1, crypto.Hash{}, "1"))), ledger.CodeOK)
	f.block()
	// Block 3 trusts the state after block 1: size 7.
	wantCode(t, f.one(cp(1)), ledger.CodeOK)
	// Block 4 appends entry 7 (size 8); its checkpoint of block 2 (size
	// 7) is stale.
	out := f.block(cp(2), f.a.Evidence(bank, f.now, rec("LIFE-2", 1, crypto.Hash{}, "2")))
	wantCode(t, out.Results[0], ledger.CodeCheckpoint)
	if !strings.Contains(out.Results[0].Log, "does not extend") {
		t.Fatalf("stale checkpoint rejected for another reason: %s", out.Results[0].Log)
	}
	wantCode(t, out.Results[1], ledger.CodeOK)
	// Block 5: a checkpoint is not a log entry, so block 3 is still size 7.
	wantCode(t, f.one(cp(3)), ledger.CodeCheckpoint)
	// Block 6 trusts the state after block 4: size 8.
	wantCode(t, f.one(cp(4)), ledger.CodeOK)
	// Block 8: block 6 is size 8 too.
	f.block()
	wantCode(t, f.one(cp(6)), ledger.CodeCheckpoint)

	v = f.view()
	latest, err := v.LatestCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	want4 := ledger.Checkpoint{ChainID: chainID, Size: 8, Height: 4, Time: time.Unix(0, ledgertest.GenesisTime+4*int64(time.Second)).UTC()}
	if want4.Root, err = v.RootAt(8); err != nil {
		t.Fatal(err)
	}
	if latest.Checkpoint != want4 {
		t.Fatalf("latest checkpoint = %+v, want %+v", latest.Checkpoint, want4)
	}
	for _, tc := range []struct {
		index  uint64
		height int64 // of the covering checkpoint; -1: none
	}{
		{0, 1}, {5, 1}, {6, 1}, {7, 4}, {8, -1}, {1 << 40, -1}, {math.MaxUint64, -1},
	} {
		got, err := v.CheckpointCovering(tc.index)
		if tc.height < 0 {
			if err == nil {
				t.Errorf("CheckpointCovering(%d) = the checkpoint of height %d, want ErrNotFound", tc.index, got.Checkpoint.Height)
			} else if !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("CheckpointCovering(%d) = %v, want ErrNotFound", tc.index, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("CheckpointCovering(%d): %v", tc.index, err)
			continue
		}
		if got.Checkpoint.Height != tc.height || got.Checkpoint.Size <= tc.index || !bytes.Equal(got.Text, f.text(tc.height)) {
			t.Errorf("CheckpointCovering(%d) = height %d size %d, want the checkpoint of height %d", tc.index, got.Checkpoint.Height, got.Checkpoint.Size, tc.height)
		}
		if len(got.Signatures) != len(quorum) {
			t.Errorf("CheckpointCovering(%d) carries %d signatures, want %d", tc.index, len(got.Signatures), len(quorum))
		}
	}
	for h := uint64(0); h <= 8; h++ {
		sc, err := v.SignedCheckpoint(h)
		switch h {
		case 1, 4:
			if err != nil || sc.Checkpoint.Height != int64(h) {
				t.Errorf("SignedCheckpoint(%d) = %+v, %v", h, sc, err)
			}
		default:
			if !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("SignedCheckpoint(%d) = %+v, %v; want ErrNotFound", h, sc, err)
			}
		}
	}
	// A checkpoint text exists for every committed block, trusted or not.
	if _, err := v.CheckpointText(8); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CheckpointText(9); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("CheckpointText(9) = %v, want ErrNotFound", err)
	}
}

// TestCheckpointIsProposerOnly: the mempool refuses checkpoint
// transactions, valid or not; only a block carries them.
func TestCheckpointIsProposerOnly(t *testing.T) {
	f := newFixture(t)
	f.advanceTo(3)
	tx := checkpointTx(t, chainID, 1, f.cosign(f.text(1), quorum...))
	res, err := f.l.Check(f.st, tx, f.now+int64(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res, ledger.CodeProposerOnly)
	if res.Type != ledger.TxCheckpoint {
		t.Fatalf("Check result type %s, want checkpoint", res.Type)
	}
	if _, err := f.view().LatestCheckpoint(); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Check trusted a checkpoint: %v", err)
	}
	// The very same transaction in block 3 is accepted.
	wantCode(t, f.one(tx), ledger.CodeOK)
}

// TestCheckpointMalformed: a checkpoint transaction whose signatures are
// not one per member, sorted by member, each of a DER signature's size,
// does not decode, whatever its signatures are worth.
func TestCheckpointMalformed(t *testing.T) {
	f := newFixture(t)
	f.advanceTo(3)
	sigs := f.cosign(f.text(1), quorum...) // arbitration, bank-a, bank-b, notary
	good := checkpointTx(t, chainID, 1, sigs)
	tx, err := ledger.DecodeTx(good)
	if err != nil {
		t.Fatal(err)
	}
	// The body is a header, then the payload: u64 height ‖ u8 count ‖
	// count × (u8-prefixed member ‖ u8-prefixed signature).
	header := tx.BodyBytes[:len(tx.BodyBytes)-len(rawCheckpoint(1, sigs))]
	if !bytes.Equal(append(bytes.Clone(header), rawCheckpoint(1, sigs)...), tx.BodyBytes) {
		t.Fatal("the test's checkpoint payload encoding differs from the ledger's")
	}
	withPayload := func(height uint64, s []ledger.MemberSignature) []byte {
		b, err := ledger.EncodeTx(append(bytes.Clone(header), rawCheckpoint(height, s)...), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	renamed := func(i int, name string) []ledger.MemberSignature {
		s := slices.Clone(sigs)
		s[i].Member = name
		return s
	}
	resigned := func(i int, sig []byte) []ledger.MemberSignature {
		s := slices.Clone(sigs)
		s[i].Signature = sig
		return s
	}
	tests := []struct {
		name string
		tx   []byte
	}{
		{"duplicate signer", withPayload(1, append(slices.Clone(sigs), sigs[3]))},
		{"duplicate signer in place", withPayload(1, renamed(2, "bank-a"))},
		{"unsorted signers", withPayload(1, []ledger.MemberSignature{sigs[1], sigs[0], sigs[2], sigs[3]})},
		{"reversed signers", withPayload(1, []ledger.MemberSignature{sigs[3], sigs[2], sigs[1], sigs[0]})},
		{"no signatures", withPayload(1, nil)},
		{"empty signature", withPayload(1, resigned(0, nil))},
		{"signature longer than DER SM2", withPayload(1, resigned(0, make([]byte, crypto.MaxSignatureSize+1)))},
		{"upper-case member name", withPayload(1, renamed(0, "Arbitration"))},
		{"empty member name", withPayload(1, renamed(0, ""))},
		{"truncated", good[:len(good)-2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.DecodeTx(tt.tx)
			var re *ledger.RejectError
			if !errors.As(err, &re) || re.Code != ledger.CodeMalformed {
				t.Fatalf("DecodeTx = %v, want code %s", err, ledger.CodeMalformed)
			}
		})
	}
	// In a block they are rejected as malformed, and the good one still
	// makes the block's checkpoint.
	var txs [][]byte
	for _, tt := range tests {
		txs = append(txs, tt.tx)
	}
	out := f.block(append(txs, good)...)
	for i, r := range out.Results[:len(tests)] {
		if r.Code != ledger.CodeMalformed {
			t.Errorf("%s in a block: %s (%s), want %s", tests[i].name, r.Code, r.Log, ledger.CodeMalformed)
		}
	}
	wantCode(t, out.Results[len(tests)], ledger.CodeOK)
}

// rawCheckpoint encodes a checkpoint payload without any validation.
func rawCheckpoint(height uint64, sigs []ledger.MemberSignature) []byte {
	var b cryptobyte.Builder
	b.AddUint64(height)
	b.AddUint8(uint8(len(sigs)))
	for _, sg := range sigs {
		b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes([]byte(sg.Member)) })
		b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(sg.Signature) })
	}
	return b.BytesOrPanic()
}

func TestTrusted(t *testing.T) {
	tests := []struct {
		power, total uint64
		want         bool
	}{
		{0, 0, false},
		{1, 0, false}, // no voting power at all trusts nothing
		{0, 1, false},
		{1, 1, true},
		{1, 2, false},
		{2, 3, false}, // exactly 2/3
		{3, 3, true},
		{3, 4, true},
		{2, 4, false},
		{33, 50, false},
		{34, 50, true},
		{40, 60, false},
		{41, 60, true},
		{66, 100, false},
		{67, 100, true},
		{200, 300, false},
		{201, 300, true},
		// Powers whose double or triple does not fit in 64 bits.
		{1, 1 << 63, false},
		{1 << 62, 1 << 63, false},
		{3 << 62, 3 << 62, true},
		{math.MaxUint64 / 3 * 2, math.MaxUint64, false}, // exactly 2/3
		{math.MaxUint64/3*2 + 1, math.MaxUint64, true},
		{math.MaxUint64, math.MaxUint64, true},
	}
	for _, tt := range tests {
		if got := ledger.Trusted(tt.power, tt.total); got != tt.want {
			t.Errorf("Trusted(%d, %d) = %v, want %v", tt.power, tt.total, got, tt.want)
		}
	}
}

func TestCheckpointTextRoundTrip(t *testing.T) {
	root := crypto.SM3([]byte("root"))
	// The published form, byte for byte.
	got := ledger.CheckpointText("evidenced-test", 7, root, 1, ledgertest.GenesisTime+int64(time.Second))
	want := "evidenced/evidenced-test\n7\n" + base64.StdEncoding.EncodeToString(root[:]) + "\nheight 1\ntime 2026-11-01T00:00:01Z\n"
	if string(got) != want {
		t.Fatalf("CheckpointText =\n%s\nwant\n%s", got, want)
	}
	for _, c := range []ledger.Checkpoint{
		{ChainID: "evidenced-test", Size: 7, Root: root, Height: 1, Time: time.Unix(0, ledgertest.GenesisTime)},
		{ChainID: "a", Size: 0, Height: 0, Time: time.Unix(0, 0)},
		{ChainID: "Chain:1.x_y-z", Size: math.MaxUint64, Root: crypto.SM3(nil), Height: math.MaxInt64, Time: time.Unix(0, math.MaxInt64)},
		{ChainID: "c", Size: 1, Root: root, Height: 2, Time: time.Unix(0, math.MinInt64)},
		{ChainID: "c", Size: 1, Root: root, Height: 2, Time: time.Unix(1, 1)},
		{ChainID: "c", Size: 1, Root: root, Height: 2, Time: time.Unix(1, 100_000_000)},
	} {
		text := ledger.CheckpointText(c.ChainID, c.Size, c.Root, c.Height, c.Time.UnixNano())
		p, err := ledger.ParseCheckpoint(text)
		if err != nil {
			t.Fatalf("ParseCheckpoint(%q): %v", text, err)
		}
		if p.ChainID != c.ChainID || p.Size != c.Size || p.Root != c.Root || p.Height != c.Height || !p.Time.Equal(c.Time) || p.Time.Location() != time.UTC {
			t.Errorf("ParseCheckpoint(%q) = %+v, want %+v", text, *p, c)
		}
	}
}

func TestParseCheckpointRejects(t *testing.T) {
	root := crypto.SM3([]byte("root"))
	b64 := base64.StdEncoding.EncodeToString(root[:])
	good := "evidenced/evidenced-test\n7\n" + b64 + "\nheight 1\ntime 2026-11-01T00:00:01.5Z\n"
	if _, err := ledger.ParseCheckpoint([]byte(good)); err != nil {
		t.Fatalf("the good text does not parse: %v", err)
	}
	sub := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("good text lacks %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	// A root with non-zero padding bits: same bytes under lax decoding.
	lax := b64[:len(b64)-2] + string(b64[len(b64)-2]+1) + "="
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"no final newline", strings.TrimSuffix(good, "\n")},
		{"extra newline", good + "\n"},
		{"four lines", sub("height 1\n", "")},
		{"six lines", good + "extra\n"},
		{"CRLF", strings.ReplaceAll(good, "\n", "\r\n")},
		{"other origin", sub("evidenced/", "evidence/")},
		{"empty chain id", sub("evidenced-test", "")},
		{"size with a leading zero", sub("\n7\n", "\n07\n")},
		{"size with a sign", sub("\n7\n", "\n+7\n")},
		{"negative size", sub("\n7\n", "\n-7\n")},
		{"size beyond u64", sub("\n7\n", "\n18446744073709551616\n")},
		{"size with a space", sub("\n7\n", "\n7 \n")},
		{"root in URL base64", sub(b64, base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32)))},
		{"root unpadded", sub(b64, strings.TrimRight(b64, "="))},
		{"root with non-zero padding bits", sub(b64, lax)},
		{"root of 31 bytes", sub(b64, base64.StdEncoding.EncodeToString(root[:31]))},
		{"root in hex", sub(b64, root.String())},
		{"height line without its word", sub("height 1", "1")},
		{"Height capitalised", sub("height 1", "Height 1")},
		{"two spaces", sub("height 1", "height  1")},
		{"negative height", sub("height 1", "height -1")},
		{"height -0", sub("height 1", "height -0")},
		{"height with a leading zero", sub("height 1", "height 01")},
		{"time line without its word", sub("time 2026", "2026")},
		{"time with an offset", sub("2026-11-01T00:00:01.5Z", "2026-11-01T08:00:01.5+08:00")},
		{"time with trailing zeros", sub("01.5Z", "01.500Z")},
		{"time without a zone", sub("01.5Z", "01.5")},
		{"time with a space", sub("T00", " 00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp, err := ledger.ParseCheckpoint([]byte(tt.text))
			if !errors.Is(err, ledger.ErrBadCheckpoint) {
				t.Fatalf("ParseCheckpoint(%q) = %+v, %v; want ErrBadCheckpoint", tt.text, cp, err)
			}
		})
	}
}

// TestCheckpointStorageErrors: a storage failure while applying a block
// with a checkpoint is an error of Apply, never a verdict on the
// checkpoint.
func TestCheckpointStorageErrors(t *testing.T) {
	f := newFixture(t)
	f.advanceTo(3)
	tx := checkpointTx(t, chainID, 1, f.cosign(f.text(1), quorum...))
	b := ledger.Block{Height: 3, Time: f.now + int64(time.Second), Txs: [][]byte{tx}}
	for n := 1; ; n++ {
		reads := 0
		r := &errReader{r: f.st, fail: func([]byte) bool { reads++; return reads == n }}
		out, err := f.l.Apply(r, b)
		if reads < n { // no read failed
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, out.Results[0], ledger.CodeOK)
			if n < 10 {
				t.Fatalf("Apply made only %d reads", n-1)
			}
			break
		}
		if !errors.Is(err, errDisk) {
			t.Fatalf("Apply with read %d failing = %v, want an error wrapping the storage error", n, err)
		}
	}
}
