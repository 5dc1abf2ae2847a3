package originals

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/ledger"
)

// Grant builds the grant transaction req asks for: it unwraps each
// record's key and salt with this node's member key (so only the owner can
// grant) and wraps them to the grantee's member key, signs it with the
// member key and waits for its commit. A grant of a chain covers every
// record of the chain that has an original. Refusals are
// *ledger.RejectError (CodeUnknownMember, CodeNoOriginal, CodeChainOwner).
func (s *Service) Grant(ctx context.Context, req api.GrantRequest) (*api.Committed, error) {
	if (req.Ref == nil) == (req.Chain == "") {
		return nil, errors.New("grant: name either one record or one evidence chain")
	}
	g := &ledger.Grant{Grantee: req.Grantee, Purpose: ledger.NormalizeText(req.Purpose), Chain: req.Chain, Request: req.Request}
	if !req.Expiry.IsZero() {
		exp, err := ledger.GrantExpiry(req.Expiry)
		if err != nil {
			return nil, err
		}
		g.Expiry = exp
	}
	err := s.withView(func(v *ledger.View, _ int64) error {
		gm, err := v.Member(req.Grantee)
		if err != nil {
			return &ledger.RejectError{Code: ledger.CodeUnknownMember, Msg: fmt.Sprintf("grantee %s is not a member of the alliance", req.Grantee)}
		}
		refs := []ledger.RecordRef{}
		if req.Ref != nil {
			refs = append(refs, *req.Ref)
		} else if refs, err = v.ChainSteps(req.Chain, 1, ledger.MaxGrantKeys+1); err != nil {
			return err
		}
		for _, ref := range refs {
			r, _, _, err := v.Record(ref)
			if err != nil {
				return fmt.Errorf("grant record %d.%d: %w", ref.Index, ref.Pos, err)
			}
			if r.Cipher == nil || len(r.OwnerKey) == 0 {
				if req.Ref != nil {
					return &ledger.RejectError{Code: ledger.CodeNoOriginal, Msg: fmt.Sprintf("record %d.%d has no original kept by the alliance", ref.Index, ref.Pos)}
				}
				continue
			}
			key, salt, err := blob.UnwrapKey(s.key, r.OwnerKey)
			if err != nil {
				return &ledger.RejectError{Code: ledger.CodeChainOwner, Msg: fmt.Sprintf("record %d.%d's data key is not wrapped to %s's member key: only its owner grants it", ref.Index, ref.Pos, s.conf.Member)}
			}
			w, err := blob.WrapKey(gm.Keys[0], rand.Reader, key, salt)
			clear(key[:])
			if err != nil {
				return err
			}
			g.Keys = append(g.Keys, ledger.GrantKey{Ref: ref, Wrapped: w})
		}
		if len(g.Keys) == 0 {
			return &ledger.RejectError{Code: ledger.CodeNoOriginal, Msg: fmt.Sprintf("evidence chain %s has no record with an original kept by the alliance", req.Chain)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.signAndSubmit(ctx, g)
}

// Revoke withdraws the grant made at entry index, signed with the member
// key, and waits for its commit.
func (s *Service) Revoke(ctx context.Context, index uint64) (*api.Committed, error) {
	return s.signAndSubmit(ctx, &ledger.Revoke{Grant: index})
}

// signAndSubmit signs a transaction carrying p with the member key and
// waits for its commit.
func (s *Service) signAndSubmit(ctx context.Context, p ledger.Payload) (*api.Committed, error) {
	b := &ledger.Body{ChainID: s.conf.ChainID, Time: s.conf.Now().UnixNano(), Payload: p}
	tx, err := ledger.SignTx(s.key, rand.Reader, b)
	if err != nil {
		return nil, fmt.Errorf("sign with the member key: %w", err)
	}
	return s.submit(ctx, tx)
}
