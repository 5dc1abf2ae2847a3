package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/ledger"
)

// GrantRequest asks this node's member, the owner, to grant another member
// access to originals: one record (Ref) or every record with an original
// of an evidence chain (Chain).
type GrantRequest = api.GrantRequest

// Grant builds the grant transaction: it unwraps each record's key and salt
// with this node's member key and wraps them to the grantee's member key,
// signs it with the member key and waits for its commit.
func (n *Node) Grant(ctx context.Context, req GrantRequest) (*api.Committed, error) {
	if (req.Ref == nil) == (req.Chain == "") {
		return nil, errors.New("grant: name either one record or one evidence chain")
	}
	g := &ledger.Grant{Grantee: req.Grantee, Purpose: req.Purpose, Chain: req.Chain}
	if !req.Expiry.IsZero() {
		g.Expiry = req.Expiry.UnixNano()
	}
	snap := n.db.Snapshot()
	v := ledger.NewView(snap)
	err := func() error {
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
			key, salt, err := blob.UnwrapKey(n.memberKey, r.OwnerKey)
			if err != nil {
				return &ledger.RejectError{Code: ledger.CodeChainOwner, Msg: fmt.Sprintf("record %d.%d's data key is not wrapped to %s's member key: only its owner grants it", ref.Index, ref.Pos, n.cfg.Member)}
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
	}()
	snap.Close()
	if err != nil {
		return nil, err
	}
	return n.signAndSubmit(ctx, &ledger.Body{Payload: g})
}

// Revoke withdraws the grant made at entry index, signed with the member key.
func (n *Node) Revoke(ctx context.Context, index uint64) (*api.Committed, error) {
	return n.signAndSubmit(ctx, &ledger.Body{Payload: &ledger.Revoke{Grant: index}})
}

// signAndSubmit signs b with the member key and waits for its commit.
func (n *Node) signAndSubmit(ctx context.Context, b *ledger.Body) (*api.Committed, error) {
	b.ChainID, b.Time = n.genesis.ChainID, time.Now().UnixNano()
	tx, err := ledger.SignTx(n.memberKey, rand.Reader, b)
	if err != nil {
		return nil, err
	}
	return (&backend{n: n}).Submit(ctx, tx, true)
}

// Grant implements api.Custodian.
func (b *backend) Grant(ctx context.Context, req api.GrantRequest) (*api.Committed, error) {
	return b.n.Grant(ctx, req)
}

// Revoke implements api.Custodian.
func (b *backend) Revoke(ctx context.Context, index uint64) (*api.Committed, error) {
	return b.n.Revoke(ctx, index)
}

// FetchOriginal implements api.Custodian.
func (b *backend) FetchOriginal(ctx context.Context, ref ledger.RecordRef, w io.Writer) (*api.Fetched, error) {
	return b.n.FetchOriginal(ctx, ref, w)
}
