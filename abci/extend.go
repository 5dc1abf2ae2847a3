package abci

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	abcitypes "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// ExtendVote signs, with the member key, the checkpoint of the last
// committed state (the state after block Height-1). A node without a
// member key (or with nothing committed) extends with nothing; its vote
// still counts for consensus but not for checkpoints.
func (a *App) ExtendVote(_ context.Context, req *abcitypes.RequestExtendVote) (*abcitypes.ResponseExtendVote, error) {
	if a.memberKey == nil || req.Height < 1 {
		return &abcitypes.ResponseExtendVote{}, nil
	}
	var text []byte
	var signers *ledger.RosterVersionInfo
	err := a.db.Read(func(r ledger.Reader, _ int64) (err error) {
		v := ledger.NewView(r)
		if text, err = v.CheckpointText(req.Height - 1); err != nil {
			return err
		}
		// The validators of this height sign: the roster version in force.
		signers, err = v.RosterAt(req.Height)
		return err
	})
	if err != nil {
		a.log.Warn("no checkpoint to sign", "height", req.Height-1, "err", err)
		return &abcitypes.ResponseExtendVote{}, nil
	}
	// CometBFT checks its own extension with VerifyVoteExtension and halts
	// the node if that fails, so a key the roster does not hold must not
	// sign: the vote goes out without a checkpoint signature instead.
	if m := signers.Seat(a.member); m == nil || m.Power == 0 || !m.Keys[0].Equal(a.memberKey.Public()) {
		if !a.keyWarned.Swap(true) {
			a.log.Warn("not co-signing checkpoints: this node's member key is not the roster's voting member key for "+a.member+"; the other members would reject its signatures",
				"height", req.Height-1, "key_id", a.memberKey.Public().ID().Short())
		}
		return &abcitypes.ResponseExtendVote{}, nil
	}
	sig, err := a.memberKey.Sign(rand.Reader, text)
	if err != nil {
		return nil, fmt.Errorf("extend vote %d: sign checkpoint: %w", req.Height, err)
	}
	ext := &ledger.VoteExtension{Height: uint64(req.Height - 1), Member: a.member, Signature: sig}
	return &abcitypes.ResponseExtendVote{VoteExtension: ext.Encode()}, nil
}

// VerifyVoteExtension accepts an empty extension (the validator does not
// co-sign) and a valid signature by a voting member on the checkpoint of
// the state after block Height-1; it rejects anything else, so a validator
// sending bad extensions has its precommits ignored, which is not fatal
// while more than 2/3 of the power behaves.
func (a *App) VerifyVoteExtension(_ context.Context, req *abcitypes.RequestVerifyVoteExtension) (*abcitypes.ResponseVerifyVoteExtension, error) {
	if len(req.VoteExtension) == 0 {
		return &abcitypes.ResponseVerifyVoteExtension{Status: abcitypes.ResponseVerifyVoteExtension_ACCEPT}, nil
	}
	if err := a.db.Read(func(r ledger.Reader, _ int64) error {
		_, _, err := a.verifiedExtension(ledger.NewView(r), req.Height-1, req.VoteExtension)
		return err
	}); err != nil {
		a.log.Warn("rejecting a vote extension", "height", req.Height, "validator", fmt.Sprintf("%X", req.ValidatorAddress), "err", err)
		return &abcitypes.ResponseVerifyVoteExtension{Status: abcitypes.ResponseVerifyVoteExtension_REJECT}, nil
	}
	return &abcitypes.ResponseVerifyVoteExtension{Status: abcitypes.ResponseVerifyVoteExtension_ACCEPT}, nil
}

// verifiedExtension decodes an extension and verifies that it signs the
// checkpoint of height h under a voting member's key. It returns the
// extension and the member's voting power.
func (a *App) verifiedExtension(v *ledger.View, h int64, b []byte) (*ledger.VoteExtension, uint64, error) {
	ext, err := ledger.DecodeVoteExtension(b)
	if err != nil {
		return nil, 0, err
	}
	if int64(ext.Height) != h {
		return nil, 0, fmt.Errorf("extension signs height %d, want %d", ext.Height, h)
	}
	signers, err := v.RosterSigning(h)
	if err != nil {
		return nil, 0, err
	}
	m := signers.Seat(ext.Member)
	if m == nil || m.Power == 0 {
		return nil, 0, fmt.Errorf("extension by %s, who has no voting power in roster version %d, which signs the checkpoint of height %d", ext.Member, signers.Version, h)
	}
	text, err := v.CheckpointText(h)
	if err != nil {
		return nil, 0, err
	}
	if err := a.cache.verify(m.Keys[0], text, ext.Signature); err != nil {
		return nil, 0, fmt.Errorf("extension by %s: %w", ext.Member, err)
	}
	return ext, m.Power, nil
}

// checkpointTx builds, from the vote extensions of the last commit, the
// checkpoint transaction for block height (signing the state after block
// height-2), or returns nil when the signatures are not trusted or the
// checkpoint would not extend the last trusted one.
func (a *App) checkpointTx(height int64, votes []abcitypes.ExtendedVoteInfo) ([]byte, error) {
	if height < 3 {
		return nil, nil
	}
	var tx []byte
	err := a.db.Read(func(r ledger.Reader, _ int64) (err error) {
		tx, err = a.checkpointTxOn(ledger.NewView(r), height, votes)
		return err
	})
	return tx, err
}

// checkpointTxOn is checkpointTx over the committed state v.
func (a *App) checkpointTxOn(v *ledger.View, height int64, votes []abcitypes.ExtendedVoteInfo) ([]byte, error) {
	target := height - 2
	text, err := v.CheckpointText(target)
	if err != nil {
		return nil, nil
	}
	cp, err := ledger.ParseCheckpoint(text)
	if err != nil {
		return nil, err
	}
	if last, err := v.LatestCheckpoint(); err == nil && cp.Size <= last.Checkpoint.Size {
		return nil, nil
	}
	signers, err := v.RosterSigning(target)
	if err != nil {
		return nil, err
	}
	total := signers.TotalPower()
	var sigs []ledger.MemberSignature
	var power uint64
	seen := map[string]bool{}
	for _, vote := range votes {
		if vote.BlockIdFlag != cmtproto.BlockIDFlagCommit || len(vote.VoteExtension) == 0 {
			continue
		}
		ext, p, err := a.verifiedExtension(v, target, vote.VoteExtension)
		if err != nil || seen[ext.Member] {
			continue
		}
		seen[ext.Member] = true
		power += p
		sigs = append(sigs, ledger.MemberSignature{Member: ext.Member, Signature: ext.Signature})
	}
	if !ledger.Trusted(power, total) {
		return nil, nil
	}
	slices.SortFunc(sigs, func(x, y ledger.MemberSignature) int { return strings.Compare(x.Member, y.Member) })
	p, err := v.Params()
	if err != nil {
		return nil, err
	}
	body, err := ledger.EncodeBody(&ledger.Body{ChainID: p.ChainID,
		Payload: &ledger.CosignedCheckpoint{Height: uint64(target), Signatures: sigs}})
	if err != nil {
		return nil, err
	}
	return ledger.EncodeTx(body, nil)
}

// SetMemberKey sets the member whose key signs checkpoints in ExtendVote.
func (a *App) SetMemberKey(member string, key *crypto.PrivateKey) {
	a.member, a.memberKey = member, key
}
