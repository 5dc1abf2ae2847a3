package abci

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// govern passes change through proposal, votes by voters and a checkpoint
// co-signed by signers, and returns the height C of the block that put the
// new roster version in force.
func govern(t *testing.T, h *harness, change ledger.RosterChange, voters, signers []string) int64 {
	t.Helper()
	sign := func(key string, p ledger.Payload) []byte {
		return h.a.Sign(h.a.Key(key), &ledger.Body{ChainID: chainID, Time: h.now.UnixNano() + 1e9, Payload: p})
	}
	block := func(txs ...[]byte) {
		t.Helper()
		res := h.finalize(txs...)
		h.commit()
		for i, r := range res.TxResults {
			if r.Code != 0 {
				t.Fatalf("block %d tx %d: code %d %s", h.h, i, r.Code, r.Log)
			}
		}
	}
	block(sign(voters[0], &ledger.Proposal{Change: change, Deadline: uint64(h.h + 100), Reason: "联盟决议"}))
	var proposal uint64
	if err := h.db.Read(func(r ledger.Reader, _ int64) error {
		ps, err := ledger.NewView(r).Proposals(0, 100)
		for _, p := range ps {
			proposal = max(proposal, p)
		}
		return err
	}); err != nil || proposal == 0 {
		t.Fatalf("proposal %d: %v", proposal, err)
	}
	for _, m := range voters {
		block(sign(m, &ledger.Vote{Proposal: proposal, Decision: ledger.Approve}))
	}
	target := h.h // holds the roster entry
	block()
	var text []byte
	if err := h.db.Read(func(r ledger.Reader, _ int64) (err error) {
		text, err = ledger.NewView(r).CheckpointText(target)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var sigs []ledger.MemberSignature
	for _, m := range signers {
		s, err := h.a.Key(m).Sign(rand.Reader, text)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, ledger.MemberSignature{Member: m, Signature: s})
	}
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: chainID, Payload: &ledger.CosignedCheckpoint{Height: uint64(target), Signatures: sigs}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.EncodeTx(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	block(cp)
	return h.h
}

// freshSeat is a seat for member name with a new member key, node id and
// (with power) validator key.
func freshSeat(t *testing.T, name string, role ledger.Role, power uint64) ledger.Seat {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := ledger.Seat{Member: ledger.Member{Name: name, Role: role, Power: power, Keys: []*crypto.PublicKey{k.Public()}}}
	n := crypto.SM3([]byte("node of "+name), k.Public().Bytes())
	copy(s.Node[:], n[:])
	if power > 0 {
		v := crypto.SM3([]byte("validator of "+name), k.Public().Bytes())
		s.Validator = v[:]
	}
	return s
}

// TestPeerFilterFollowsRoster: across roster changes the peer filter and
// Admitted (which the node disconnects peers by) agree on who may
// connect, block by block: a rotated member's new node and an added
// member's node are admitted from the block C that puts the version in
// force; a removed member's node and a rotated member's old node stay
// admitted through block C+1, the last one the version before votes on,
// and are refused from then on, with the reason the node logs.
func TestPeerFilterFollowsRoster(t *testing.T) {
	h := newHarness(t)
	filter := func(id ledger.NodeID) *abcitypes.ResponseQuery {
		t.Helper()
		res, err := h.app.Query(context.Background(), &abcitypes.RequestQuery{Path: "/p2p/filter/id/" + id.String()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	admitted := func() *Admitted {
		t.Helper()
		var ad *Admitted
		if err := h.db.Read(func(r ledger.Reader, height int64) (err error) {
			ad, err = ReadAdmitted(ledger.NewView(r), height)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ad
	}
	// want checks the filter and Admitted agree with admit for each node,
	// and that Admitted reads versions inForce and voting.
	type node struct {
		name   string
		id     ledger.NodeID
		member string // "" refused
	}
	want := func(step string, inForce, voting uint32, nodes ...node) *Admitted {
		t.Helper()
		ad := admitted()
		if ad.InForce.Version != inForce || ad.Voting.Version != voting {
			t.Errorf("%s: Admitted versions in force %d, voting %d; want %d, %d", step, ad.InForce.Version, ad.Voting.Version, inForce, voting)
		}
		for _, n := range nodes {
			res := filter(n.id)
			m, ok := ad.Node(n.id)
			switch {
			case n.member == "" && (res.Code != QueryCodeRefused || ok):
				t.Errorf("%s: %s: filter code %d %q, Admitted %q %v; want it refused", step, n.name, res.Code, res.Log, m, ok)
			case n.member != "" && (res.Code != 0 || !strings.Contains(res.Log, "member "+n.member) || !ok || m != n.member):
				t.Errorf("%s: %s: filter code %d %q, Admitted %q %v; want it admitted as %s", step, n.name, res.Code, res.Log, m, ok, n.member)
			}
		}
		return ad
	}
	node1 := h.a.Parties["notary"].Node
	arb := h.a.Parties["arbitration"].Node
	voters := []string{"bank-a", "bank-b", "court", "arbitration"}

	// 1. The notary rotates its key, so its node id.
	rotated := freshSeat(t, "notary", ledger.RoleNotary, 10)
	node2 := rotated.Node
	want("genesis", 0, 0, node{"notary's node", node1, "notary"}, node{"notary's new node", node2, ""})
	c := govern(t, h, ledger.RosterChange{Kind: ledger.ChangeRotate, Seat: rotated}, voters, []string{"arbitration", "bank-a", "bank-b", "court", "notary"})
	want("block C of version 1", 1, 0, node{"notary's node", node1, "notary"}, node{"notary's new node", node2, "notary"})
	if res := filter(node1); !strings.Contains(res.Log, "roster version 0, whose validators vote on the next block") {
		t.Errorf("filter of the old node in block C: %q", res.Log)
	}
	h.finalize()
	h.commit()
	ad := want("block C+1 of version 1", 1, 1, node{"notary's node", node1, ""}, node{"notary's new node", node2, "notary"})
	if got, w := ad.Why("notary", node1), "member notary's node changed to "+node2.String()+" in roster version 1 (a key rotation)"; got != w {
		t.Errorf("Why(old notary node) = %q, want %q", got, w)
	}
	if c+1 != h.h {
		t.Fatalf("height %d, want C+1 = %d", h.h, c+1)
	}

	// 2. Arbitration is removed (its node stays for one block).
	govern(t, h, ledger.RosterChange{Kind: ledger.ChangeRemove, Seat: ledger.Seat{Member: ledger.Member{Name: "arbitration"}}},
		voters, []string{"arbitration", "bank-a", "bank-b", "court"})
	ad = want("block C of version 2", 2, 1, node{"arbitration's node", arb, "arbitration"}, node{"notary's new node", node2, "notary"})
	if len(ad.Seats()) != len(ad.InForce.Seats)+1 {
		t.Errorf("Seats in block C: %d, want the %d in force and arbitration's", len(ad.Seats()), len(ad.InForce.Seats))
	}
	h.finalize()
	h.commit()
	ad = want("block C+1 of version 2", 2, 2, node{"arbitration's node", arb, ""}, node{"bank-a's node", h.a.Parties["bank-a"].Node, "bank-a"})
	if got, w := ad.Why("arbitration", arb), "member arbitration was removed from the roster in version 2"; got != w {
		t.Errorf("Why(arbitration's node) = %q, want %q", got, w)
	}

	// 3. An auditor (no power) is added: admitted from block C.
	auditor := freshSeat(t, "auditor", ledger.RoleRegulator, 0)
	want("before version 3", 2, 2, node{"auditor's node", auditor.Node, ""})
	govern(t, h, ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: auditor}, []string{"bank-a", "bank-b", "court"}, []string{"bank-a", "bank-b", "court"})
	want("block C of version 3", 3, 2, node{"auditor's node", auditor.Node, "auditor"}, node{"arbitration's node", arb, ""})
	h.finalize()
	h.commit()
	want("block C+1 of version 3", 3, 3, node{"auditor's node", auditor.Node, "auditor"}, node{"notary's node", node1, ""})

	// After a restart the answers are the same (committed state only).
	h.restart()
	want("after a restart", 3, 3, node{"auditor's node", auditor.Node, "auditor"}, node{"notary's new node", node2, "notary"}, node{"arbitration's node", arb, ""})
}
