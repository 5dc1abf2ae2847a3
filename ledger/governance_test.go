package ledger_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Governance on the ledger alone: proposals, votes, roster versions and
// the checkpoints that put them in force (docs/ARCHITECTURE.md,
// "Membership").

// newSeat makes a seat for a new member with fresh keys: its member key's
// private half, and the seat.
func newSeat(t *testing.T, name string, role ledger.Role, power uint64) (*crypto.PrivateKey, ledger.Seat) {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := ledger.Seat{Member: ledger.Member{Name: name, Role: role, Power: power, Keys: []*crypto.PublicKey{k.Public()}}}
	n := crypto.SM3([]byte("node of "+name), k.Public().Bytes())
	copy(st.Node[:], n[:])
	if power > 0 {
		v := crypto.SM3([]byte("validator of "+name), k.Public().Bytes())
		st.Validator = v[:]
	}
	return k, st
}

// propose submits a proposal of c by member by, votes until deadline.
func (f *fixture) propose(by string, c ledger.RosterChange, deadline uint64) ledger.TxResult {
	f.t.Helper()
	return f.one(buildTx(f.t, chainID, f.a.Key(by), f.now+int64(1e9), &ledger.Proposal{Change: c, Deadline: deadline, Reason: "董事会决议"}))
}

// vote submits members' votes on proposal, one block each, and returns
// the outcome of the last.
func (f *fixture) vote(proposal uint64, d ledger.Decision, by ...string) *ledger.Outcome {
	f.t.Helper()
	var out *ledger.Outcome
	for _, m := range by {
		out = f.block(buildTx(f.t, chainID, f.a.Key(m), f.now+int64(1e9), &ledger.Vote{Proposal: proposal, Decision: d}))
		if out.Results[0].Code != ledger.CodeOK {
			f.t.Fatalf("vote by %s on %d: %s %s", m, proposal, out.Results[0].Code, out.Results[0].Log)
		}
	}
	return out
}

// attest commits the checkpoint of the last committed block, co-signed by
// the roster version that signs it (every voting member whose key the
// alliance holds), two empty blocks on, and returns that block's outcome.
func (f *fixture) attest(extra map[string]*crypto.PrivateKey) *ledger.Outcome {
	f.t.Helper()
	target := f.height
	f.block()
	signers, err := f.view().RosterSigning(target)
	if err != nil {
		f.t.Fatal(err)
	}
	text := f.text(target)
	var sigs []ledger.MemberSignature
	for _, st := range signers.Seats {
		if st.Power == 0 {
			continue
		}
		k := extra[st.Name]
		if k == nil {
			p, ok := f.a.Parties[st.Name]
			if !ok || !p.Key.Public().Equal(st.Keys[0]) {
				continue
			}
			k = p.Key
		}
		sigs = append(sigs, ledger.MemberSignature{Member: st.Name, Signature: sign(f.t, k, text)})
	}
	out := f.block(checkpointTx(f.t, chainID, uint64(target), sigs))
	wantCode(f.t, out.Results[0], ledger.CodeOK)
	return out
}

func TestGovernanceAddMember(t *testing.T) {
	f := newFixture(t)
	key, seat := newSeat(t, "bank-c", ledger.RoleBank, 10)
	p := f.propose("notary", ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: seat}, 50)
	wantCode(t, p, ledger.CodeOK)
	// 30 of 50 approve: not yet more than 2/3.
	f.vote(p.Index, ledger.Approve, "bank-a", "bank-b", "notary")
	if pi, err := f.view().Proposal(p.Index, f.height); err != nil || pi.Status != ledger.ProposalOpen || pi.Approve != 30 || pi.Total != 50 {
		t.Fatalf("after 3 approvals: %+v, %v", pi, err)
	}
	// The fourth (40 of 50) passes it: the ledger appends roster version 1,
	// pending, right after the vote.
	out := f.vote(p.Index, ledger.Approve, "court")
	voteIdx := out.Results[0].Index
	e, tx, err := f.view().Entry(voteIdx + 1)
	if err != nil || tx.Body.Type() != ledger.TxRoster || e.Height != f.height {
		t.Fatalf("entry after the deciding vote: %+v %v", tx, err)
	}
	upd := tx.Body.Payload.(*ledger.RosterUpdate)
	if upd.Version != 1 || upd.Proposal != p.Index || len(upd.Seats) != 7 {
		t.Fatalf("roster entry %+v", upd)
	}
	if d, err := upd.Roster(chainID).Digest(); err != nil || d != upd.Digest {
		t.Fatalf("roster entry digest %s, the roster's %s (%v)", upd.Digest, d, err)
	}
	pi, err := f.view().Proposal(p.Index, f.height)
	if err != nil || pi.Status != ledger.ProposalPassed || pi.Version != 1 || pi.Decided != voteIdx {
		t.Fatalf("after the fourth approval: %+v, %v", pi, err)
	}
	rv, err := f.view().RosterVersion(1)
	if err != nil || !rv.Pending() || rv.Entry != voteIdx+1 {
		t.Fatalf("version 1: %+v, %v", rv, err)
	}
	// Pending: bank-c is no member yet and may not submit.
	if _, err := f.view().Member("bank-c"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("bank-c before version 1 takes effect: %v", err)
	}
	wantCode(t, f.one(f.a.Evidence(key, f.now, rec("LOAN-C", 1, crypto.Hash{}, "c"))), ledger.CodeUnknownKey)

	// A checkpoint co-signed by version 0 that covers the roster entry
	// puts version 1 in force, and the validators change two blocks on.
	cp := f.attest(nil)
	c := f.height
	if len(cp.ValidatorUpdates) != 1 || cp.ValidatorUpdates[0].Power != 10 || !bytes.Equal(cp.ValidatorUpdates[0].PubKey, seat.Validator) {
		t.Fatalf("validator updates %+v", cp.ValidatorUpdates)
	}
	if rv, err = f.view().RosterVersion(1); err != nil || rv.From != c+2 || rv.Pending() {
		t.Fatalf("version 1 in force: %+v, %v", rv, err)
	}
	for h, want := range map[int64]uint32{c: 0, c + 1: 0, c + 2: 1, math.MaxInt64: 1} {
		if at, err := f.view().RosterAt(h); err != nil || at.Version != want {
			t.Errorf("RosterAt(%d) = %v, %v; want version %d", h, at, err, want)
		}
	}
	if m, err := f.view().Member("bank-c"); err != nil || m.Power != 10 || m.Entry != voteIdx+1 {
		t.Fatalf("bank-c in force: %+v, %v", m, err)
	}
	if who, err := f.view().MemberByNode(seat.Node); err != nil || who.Name != "bank-c" {
		t.Fatalf("bank-c's node: %v, %v", who, err)
	}
	if total, err := f.view().TotalPower(); err != nil || total != 60 {
		t.Fatalf("total power %d, %v; want 60", total, err)
	}
	wantCode(t, f.one(f.a.Evidence(key, f.now, rec("LOAN-C", 1, crypto.Hash{}, "c"))), ledger.CodeOK)
	// The roster in the API is version 1's.
	r, err := f.view().Roster()
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := r.Digest(); d != upd.Digest {
		t.Fatalf("the committed roster's digest %s, version 1's %s", d, upd.Digest)
	}

	// From c+2 on, checkpoints are co-signed by version 1: 40 of 60 is not
	// enough, 50 of 60 is.
	f.block()
	target := f.height - 1 // signed by the validators of f.height: version 1
	text := f.text(target)
	weak := f.cosign(text, "bank-a", "bank-b", "court", "notary")
	wantCode(t, f.one(checkpointTx(t, chainID, uint64(target), weak)), ledger.CodeCheckpoint)
	target = f.height - 1
	text = f.text(target)
	sigs := append(f.cosign(text, "arbitration", "bank-a", "bank-b", "court"), ledger.MemberSignature{Member: "bank-c", Signature: sign(t, key, text)})
	slices.SortFunc(sigs, func(a, b ledger.MemberSignature) int {
		return bytes.Compare([]byte(a.Member), []byte(b.Member))
	})
	wantCode(t, f.one(checkpointTx(t, chainID, uint64(target), sigs)), ledger.CodeOK)
}

func TestGovernanceRotateAndRemove(t *testing.T) {
	f := newFixture(t)
	old := f.a.Key("notary")
	// An attestation by the notary, signed with its first key.
	ev := f.one(f.a.Evidence(f.a.Key("bank-a"), f.now, rec("LOAN-R", 1, crypto.Hash{}, "r")))
	att := f.one(f.a.Attest(old, f.now, "notarised", ledger.RecordRef{Index: ev.Index}))
	wantCode(t, att, ledger.CodeOK)

	newKey, fresh := newSeat(t, "notary", ledger.RoleNotary, 10)
	fresh.Keys[0] = newKey.Public()
	p := f.propose("court", ledger.RosterChange{Kind: ledger.ChangeRotate, Seat: fresh}, 100)
	f.vote(p.Index, ledger.Approve, "bank-a", "bank-b", "court", "arbitration")
	cp := f.attest(nil)
	// The notary's validator is replaced: the old key out, the new in.
	if len(cp.ValidatorUpdates) != 2 {
		t.Fatalf("validator updates on rotation: %+v", cp.ValidatorUpdates)
	}
	wantCode(t, f.one(f.a.Attest(old, f.now, "reviewed", ledger.RecordRef{Index: ev.Index})), ledger.CodeUnknownKey)
	wantCode(t, f.one(f.a.Attest(newKey, f.now, "reviewed", ledger.RecordRef{Index: ev.Index})), ledger.CodeOK)
	// Entries signed with the old key still name the notary.
	_, tx, err := f.view().Entry(att.Index)
	if err != nil {
		t.Fatal(err)
	}
	if who, err := f.view().SignerName(tx); err != nil || who != "notary" {
		t.Fatalf("signer of an entry signed with the rotated key: %q, %v", who, err)
	}
	// The old key can never come back.
	back := fresh
	back.Keys = []*crypto.PublicKey{old.Public()}
	back.Node[0] ^= 1
	wantCode(t, f.propose("court", ledger.RosterChange{Kind: ledger.ChangeRotate, Seat: back}, uint64(f.height+50)), ledger.CodeDuplicateKey)

	// Remove arbitration (version 1 signs: the notary with its new key).
	p = f.propose("bank-a", ledger.RosterChange{Kind: ledger.ChangeRemove, Seat: ledger.Seat{Member: ledger.Member{Name: "arbitration"}}}, uint64(f.height+50))
	out := f.vote(p.Index, ledger.Approve, "bank-a", "bank-b", "court", "arbitration")
	if pi, _ := f.view().Proposal(p.Index, f.height); pi.Status != ledger.ProposalPassed {
		t.Fatalf("removal: %+v (%v)", pi, out.Results)
	}
	cp = f.attest(map[string]*crypto.PrivateKey{"notary": newKey})
	if len(cp.ValidatorUpdates) != 1 || cp.ValidatorUpdates[0].Power != 0 {
		t.Fatalf("validator updates on removal: %+v", cp.ValidatorUpdates)
	}
	if _, err := f.view().Member("arbitration"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("arbitration after removal: %v", err)
	}
	wantCode(t, f.one(f.a.Attest(f.a.Key("arbitration"), f.now, "reviewed", ledger.RecordRef{Index: ev.Index})), ledger.CodeUnknownKey)
	if total, _ := f.view().TotalPower(); total != 40 {
		t.Fatalf("total power after removal %d, want 40", total)
	}
}

// TestGovernanceRejections: each rule, with its code.
func TestGovernanceRejections(t *testing.T) {
	f := newFixture(t)
	_, seat := newSeat(t, "bank-c", ledger.RoleBank, 10)
	add := ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: seat}

	// A proposal by a non-member.
	wantCode(t, f.one(buildTx(t, chainID, f.a.Outsider, f.now+int64(1e9), &ledger.Proposal{Change: add, Deadline: 50})), ledger.CodeUnknownKey)
	// A duplicate key: the new member's key is bank-a's.
	dup := seat
	dup.Keys = []*crypto.PublicKey{f.a.Key("bank-a").Public()}
	wantCode(t, f.propose("notary", ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: dup}, 50), ledger.CodeDuplicateKey)
	// A duplicate name, and a change naming no member.
	named := seat
	named.Name = "court"
	wantCode(t, f.propose("notary", ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: named}, 50), ledger.CodeDuplicateMember)
	wantCode(t, f.propose("notary", ledger.RosterChange{Kind: ledger.ChangeRemove, Seat: ledger.Seat{Member: ledger.Member{Name: "nobody"}}}, 50), ledger.CodeNotMember)
	// A deadline that has passed, or is too far.
	wantCode(t, f.propose("notary", add, 1), ledger.CodeBadDeadline)
	wantCode(t, f.propose("notary", add, uint64(f.height)+ledger.MaxProposalWindow+10), ledger.CodeBadDeadline)

	p := f.propose("regulator", add, uint64(f.height+5)) // a regulator may propose
	wantCode(t, p, ledger.CodeOK)
	// A member without voting power may not vote; nobody votes twice.
	wantCode(t, f.one(buildTx(t, chainID, f.a.Key("regulator"), f.now+int64(1e9), &ledger.Vote{Proposal: p.Index, Decision: ledger.Approve})), ledger.CodeNotVoting)
	f.vote(p.Index, ledger.Approve, "bank-a")
	wantCode(t, f.one(buildTx(t, chainID, f.a.Key("bank-a"), f.now+int64(1e9), &ledger.Vote{Proposal: p.Index, Decision: ledger.Reject})), ledger.CodeAlreadyVoted)
	// A vote on no proposal, and after the deadline.
	wantCode(t, f.one(buildTx(t, chainID, f.a.Key("bank-b"), f.now+int64(1e9), &ledger.Vote{Proposal: 2, Decision: ledger.Approve})), ledger.CodeUnknownProposal)
	f.block()
	wantCode(t, f.one(buildTx(t, chainID, f.a.Key("bank-b"), f.now+int64(1e9), &ledger.Vote{Proposal: p.Index, Decision: ledger.Approve})), ledger.CodeProposalClosed)
	if pi, err := f.view().Proposal(p.Index, f.height); err != nil || pi.Status != ledger.ProposalExpired {
		t.Fatalf("proposal past its deadline: %+v, %v", pi, err)
	}
	// Roster entries are the ledger's.
	upd := &ledger.RosterUpdate{Version: 5, Seats: []ledger.Seat{seat}}
	wantCode(t, f.one(buildTx(t, chainID, nil, f.now, upd)), ledger.CodeLedgerOnly)

	// Rejected: at least 1/3 of the power against.
	p = f.propose("notary", add, uint64(f.height+20))
	f.vote(p.Index, ledger.Reject, "bank-a", "court")
	if pi, _ := f.view().Proposal(p.Index, f.height); pi.Status != ledger.ProposalRejected || pi.Reject != 20 {
		t.Fatalf("after 20 of 50 against: %+v", pi)
	}
	wantCode(t, f.one(buildTx(t, chainID, f.a.Key("bank-b"), f.now+int64(1e9), &ledger.Vote{Proposal: p.Index, Decision: ledger.Approve})), ledger.CodeProposalClosed)
}

// TestGovernanceNoQuorum: a change that would leave nobody with voting
// power is refused; so is a proposal that became such a change by the time
// it passed (it fails).
func TestGovernanceNoQuorum(t *testing.T) {
	f := newFixtureWith(t, func(g *ledger.Genesis) {
		setPowers(t, g, map[string]uint64{"bank-b": 0, "notary": 0, "arbitration": 0, "court": 0})
	})
	remove := ledger.RosterChange{Kind: ledger.ChangeRemove, Seat: ledger.Seat{Member: ledger.Member{Name: "bank-a"}}}
	wantCode(t, f.propose("court", remove, 50), ledger.CodeNoQuorum)
	zero := ledger.RosterChange{Kind: ledger.ChangeSetPower, Seat: ledger.Seat{Member: ledger.Member{Name: "bank-a"}}}
	wantCode(t, f.propose("court", zero, 50), ledger.CodeNoQuorum)

	// Two proposals each adding bank-c: both pass, the second fails (its
	// change no longer applies) with duplicate_member.
	_, seat := newSeat(t, "bank-c", ledger.RoleBank, 10)
	add := ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: seat}
	p1 := f.propose("court", add, 50)
	_, seat2 := newSeat(t, "bank-c", ledger.RoleBank, 10)
	p2 := f.propose("court", ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: seat2}, 50)
	f.vote(p1.Index, ledger.Approve, "bank-a")
	f.vote(p2.Index, ledger.Approve, "bank-a")
	pi, err := f.view().Proposal(p2.Index, f.height)
	if err != nil || pi.Status != ledger.ProposalFailed || pi.Code != ledger.CodeDuplicateMember {
		t.Fatalf("the second add of bank-c: %+v, %v", pi, err)
	}
	if latest, _, _ := f.view().LatestRosterVersion(); latest != 1 {
		t.Fatalf("latest roster version %d, want 1", latest)
	}
}
