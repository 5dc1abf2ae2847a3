package abci

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/evidenced/evidenced/ledger"
)

// TestRosterChangeUpdatesValidators: a roster version that takes effect
// (arbitration removed) changes CometBFT's validators through
// FinalizeBlock's updates in the block that puts it in force, and from two
// blocks on checkpoints are signed, verified and collected with the new
// roster: the removed member's extension goes out empty and is refused
// from others.
func TestRosterChangeUpdatesValidators(t *testing.T) {
	h := newHarness(t)
	sign := func(key string, p ledger.Payload) []byte {
		return h.a.Sign(h.a.Key(key), &ledger.Body{ChainID: chainID, Time: h.now.UnixNano() + 1e9, Payload: p})
	}
	block := func(txs ...[]byte) *abcitypes.ResponseFinalizeBlock {
		t.Helper()
		res := h.finalize(txs...)
		h.commit()
		for i, r := range res.TxResults {
			if r.Code != 0 {
				t.Fatalf("block %d tx %d: code %d %s", h.h, i, r.Code, r.Log)
			}
		}
		return res
	}
	res := block(sign("notary", &ledger.Proposal{Change: ledger.RosterChange{Kind: ledger.ChangeRemove,
		Seat: ledger.Seat{Member: ledger.Member{Name: "arbitration"}}}, Deadline: 100}))
	var proposal uint64
	if err := h.db.Read(func(r ledger.Reader, _ int64) error {
		ps, err := ledger.NewView(r).Proposals(0, 10)
		if len(ps) == 1 {
			proposal = ps[0]
		}
		return err
	}); err != nil || proposal == 0 {
		t.Fatalf("proposal %d: %v (%v)", proposal, err, res)
	}
	for _, m := range []string{"bank-a", "bank-b", "court", "notary"} {
		block(sign(m, &ledger.Vote{Proposal: proposal, Decision: ledger.Approve}))
	}
	// The checkpoint of the last block (which holds the roster entry),
	// co-signed by the genesis roster, carried two blocks on.
	target := h.h
	block()
	var text []byte
	if err := h.db.Read(func(r ledger.Reader, _ int64) (err error) {
		text, err = ledger.NewView(r).CheckpointText(target)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var sigs []ledger.MemberSignature
	for _, m := range []string{"arbitration", "bank-a", "bank-b", "court", "notary"} {
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
	res = block(cp)
	c := h.h
	arbValidator := validatorOf(t, h, "arbitration")
	if len(res.ValidatorUpdates) != 1 || res.ValidatorUpdates[0].Power != 0 ||
		!bytes.Equal(res.ValidatorUpdates[0].PubKey.GetEd25519(), arbValidator) {
		t.Fatalf("validator updates %+v, want arbitration's key %x at power 0", res.ValidatorUpdates, arbValidator)
	}

	// Votes on block c+1 are still the genesis roster's: arbitration signs
	// the checkpoint of c. On block c+2 it is no longer a voter.
	h.app.SetMemberKey("arbitration", h.a.Key("arbitration"))
	ext := func(height int64) []byte {
		t.Helper()
		r, err := h.app.ExtendVote(context.Background(), &abcitypes.RequestExtendVote{Height: height})
		if err != nil {
			t.Fatal(err)
		}
		return r.VoteExtension
	}
	if e := ext(c + 1); len(e) == 0 {
		t.Fatal("arbitration did not co-sign the checkpoint of the block that put the new roster in force")
	}
	block()
	if e := ext(c + 2); len(e) != 0 {
		t.Fatal("arbitration co-signed a checkpoint after its removal took effect")
	}
	// An extension by arbitration for height c+2, made by hand, is refused.
	var text2 []byte
	if err := h.db.Read(func(r ledger.Reader, _ int64) (err error) {
		text2, err = ledger.NewView(r).CheckpointText(c + 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s, err := h.a.Key("arbitration").Sign(rand.Reader, text2)
	if err != nil {
		t.Fatal(err)
	}
	forged := (&ledger.VoteExtension{Height: uint64(c + 1), Member: "arbitration", Signature: s}).Encode()
	vr, err := h.app.VerifyVoteExtension(context.Background(), &abcitypes.RequestVerifyVoteExtension{Height: c + 2, VoteExtension: forged})
	if err != nil || vr.Status != abcitypes.ResponseVerifyVoteExtension_REJECT {
		t.Fatalf("arbitration's extension after removal: %v, %v", vr.Status, err)
	}
}

// validatorOf is member name's validator key in the genesis roster.
func validatorOf(t *testing.T, h *harness, name string) []byte {
	t.Helper()
	var out []byte
	if err := h.db.Read(func(r ledger.Reader, _ int64) error {
		rv, err := ledger.NewView(r).RosterVersion(0)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(rv.Seats, func(s ledger.Seat) bool { return strings.EqualFold(s.Name, name) })
		if i < 0 {
			t.Fatalf("no %s in version 0", name)
		}
		out = rv.Seats[i].Validator
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
