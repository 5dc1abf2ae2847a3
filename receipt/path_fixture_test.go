package receipt_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// pathFixture is the fixture after roster changes, each put in force by a
// checkpoint co-signed by a minimal quorum of the version before, with an
// evidence record after each:
//
//	version 1  add bank-c (bank, power 10)
//	version 2  rotate the notary's key
//	version 3  remove arbitration
//
// records[k] is the record submitted while version k+1 was in force, by
// bank-c; each is covered by a checkpoint signed by that version.
type pathFixture struct {
	*fixture
	keys     map[string]*crypto.PrivateKey // every member's current member key
	rnd      *rand.ChaCha8
	records  []ledger.RecordRef
	original [][]byte // of records
	salts    [][]byte
}

// pathChanges are the changes the path fixture makes, in order.
var pathChanges = []string{"add bank-c", "rotate notary", "remove arbitration"}

func newPathFixture(tb testing.TB, changes int) *pathFixture {
	tb.Helper()
	f := &pathFixture{fixture: newFixture(tb, fixtureOptions{}), keys: map[string]*crypto.PrivateKey{},
		rnd: rand.NewChaCha8([32]byte{'r', 'o', 's', 't', 'e', 'r', ' ', 'p', 'a', 't', 'h'})}
	for name, p := range f.a.Parties {
		f.keys[name] = p.Key
	}
	for i := range changes {
		var c ledger.RosterChange
		switch i {
		case 0:
			c = ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: f.newSeat(tb, "bank-c", ledger.RoleBank, 10)}
		case 1:
			c = ledger.RosterChange{Kind: ledger.ChangeRotate, Seat: f.newSeat(tb, "notary", ledger.RoleNotary, 10)}
		case 2:
			c = ledger.RosterChange{Kind: ledger.ChangeRemove, Seat: ledger.Seat{Member: ledger.Member{Name: "arbitration"}}}
		}
		f.change(tb, c)
		// A record by bank-c under the new version, and a checkpoint of it
		// signed by the new version.
		s := "Loan contract LOAN-2026-10000" + string(rune('1'+i)) + " (after roster change " + pathChanges[i] + ")\n"
		salt := make([]byte, 32)
		for j := range salt {
			salt[j] = byte(0x80 + i*32 + j)
		}
		rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-2026-10000" + string(rune('1'+i)), Step: 1,
			Commitment: crypto.SM3(salt, []byte(s)), Size: uint64(len(s))}
		out := f.block(tb, f.a.Sign(f.keys["bank-c"], &ledger.Body{ChainID: testChain, Time: f.now() - int64(time.Millisecond),
			Payload: &ledger.Evidence{Record: rec}}))
		f.records = append(f.records, ledger.RecordRef{Index: out.Results[0].Index})
		f.original = append(f.original, []byte(s))
		f.salts = append(f.salts, salt)
		f.attest(tb)
	}
	return f
}

// now is the time of the next block.
func (f *pathFixture) now() int64 { return ledgertest.GenesisTime + (f.height+1)*int64(time.Second) }

// block commits the next block, failing unless every tx is accepted.
func (f *pathFixture) block(tb testing.TB, txs ...[]byte) *ledger.Outcome {
	tb.Helper()
	t := f.now()
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
	return out
}

// newSeat makes a seat with fresh deterministic keys for member name, and
// makes its key the member's.
func (f *pathFixture) newSeat(tb testing.TB, name string, role ledger.Role, power uint64) ledger.Seat {
	tb.Helper()
	k, err := crypto.GenerateKey(f.rnd)
	if err != nil {
		tb.Fatal(err)
	}
	f.keys[name] = k
	st := ledger.Seat{Member: ledger.Member{Name: name, Role: role, Power: power, Keys: []*crypto.PublicKey{k.Public()}}}
	n := crypto.SM3([]byte("node of "+name), k.Public().Bytes())
	copy(st.Node[:], n[:])
	v := crypto.SM3([]byte("validator of "+name), k.Public().Bytes())
	st.Validator = v[:]
	return st
}

// change proposes c, votes it through with the fewest members in name
// order, and attests it so that it takes effect, then waits until the new
// version signs checkpoints.
func (f *pathFixture) change(tb testing.TB, c ledger.RosterChange) {
	tb.Helper()
	in, err := f.view.RosterAt(math.MaxInt64)
	if err != nil {
		tb.Fatal(err)
	}
	out := f.block(tb, f.a.Sign(f.keys["court"], &ledger.Body{ChainID: testChain, Time: f.now(),
		Payload: &ledger.Proposal{Change: c, Deadline: uint64(f.height + 50), Reason: "董事会决议 " + pathChanges[in.Version]}}))
	p := out.Results[0].Index
	for _, st := range in.Seats {
		if st.Power == 0 {
			continue
		}
		f.block(tb, f.a.Sign(f.keys[st.Name], &ledger.Body{ChainID: testChain, Time: f.now(), Payload: &ledger.Vote{Proposal: p, Decision: ledger.Approve}}))
		if pi, err := f.view.Proposal(p, f.height); err != nil || pi.Status == ledger.ProposalPassed {
			break
		}
	}
	if pi, err := f.view.Proposal(p, f.height); err != nil || pi.Status != ledger.ProposalPassed {
		tb.Fatalf("proposal %d did not pass: %+v %v", p, pi, err)
	}
	f.attest(tb)
	rv, err := f.view.RosterVersion(in.Version + 1)
	if err != nil || rv.Pending() {
		tb.Fatalf("version %d after its checkpoint: %+v %v", in.Version+1, rv, err)
	}
	for f.height+1 < rv.From {
		f.block(tb)
	}
}

// attest commits the checkpoint of the last committed block two blocks
// on, co-signed by the fewest voting members, in name order, of the
// version that signs it.
func (f *pathFixture) attest(tb testing.TB) {
	tb.Helper()
	target := f.height
	f.block(tb)
	signing, err := f.view.RosterSigning(target)
	if err != nil {
		tb.Fatal(err)
	}
	text, err := f.view.CheckpointText(target)
	if err != nil {
		tb.Fatal(err)
	}
	var sigs []ledger.MemberSignature
	var power uint64
	for _, st := range signing.Seats {
		if st.Power == 0 || ledger.Trusted(power, signing.TotalPower()) {
			continue
		}
		sig, err := f.keys[st.Name].Sign(nil, text)
		if err != nil {
			tb.Fatal(err)
		}
		sigs = append(sigs, ledger.MemberSignature{Member: st.Name, Signature: sig})
		power += st.Power
	}
	slices.SortFunc(sigs, func(x, y ledger.MemberSignature) int { return strings.Compare(x.Member, y.Member) })
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: testChain, Payload: &ledger.CosignedCheckpoint{Height: uint64(target), Signatures: sigs}})
	if err != nil {
		tb.Fatal(err)
	}
	tx, err := ledger.EncodeTx(body, nil)
	if err != nil {
		tb.Fatal(err)
	}
	f.block(tb, tx)
}

// rosterVersion returns roster version n as a verifier holds it.
func (f *pathFixture) rosterVersion(tb testing.TB, n uint32) (*ledger.Roster, crypto.Hash) {
	tb.Helper()
	rv, err := f.view.RosterVersion(n)
	if err != nil {
		tb.Fatal(err)
	}
	return rv.Roster(testChain), rv.Digest
}
