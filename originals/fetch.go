package originals

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// FetchOriginal retrieves the original of ref for this node's member: it
// logs the access on chain first (as owner, or through the member's live
// grant), gets the ciphertext (held here, or from the owner's node, else
// from a replica), unwraps key ‖ salt with the member key, and decrypts it
// into w while checking it against the record's commitment. If the check
// fails after bytes were written, w holds a prefix of garbage: write to a
// temporary file and keep it only on success.
//
// Without a live grant it fails with an error wrapping ledger.ErrNotGranted
// before anything is logged; when no member node serves the ciphertext,
// with one wrapping ErrNoCopy (the access is logged by then).
func (s *Service) FetchOriginal(ctx context.Context, ref ledger.RecordRef, w io.Writer) (*api.Fetched, error) {
	if s.trans == nil {
		return nil, ErrNoExchange
	}
	var out *api.Fetched
	var wrapped []byte
	var owner string
	err := s.withView(func(v *ledger.View, t int64) error {
		r, _, _, err := v.Record(ref)
		if err != nil {
			return err
		}
		grant, via, err := v.Authorize(s.conf.Member, ref, t)
		if err != nil {
			return err
		}
		if wrapped, err = wrappedKey(v, r, ref, grant, via); err != nil {
			return err
		}
		ci, err := v.Chain(r.Chain)
		if err != nil {
			return err
		}
		owner = ci.Owner
		out = &api.Fetched{Ref: ref, Record: *r, Grant: grant, Via: via}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// The access is on chain before anything is decrypted.
	c, err := s.signAndSubmit(ctx, &ledger.Access{Ref: ref, ViaGrant: out.Via, Grant: out.Grant})
	if err != nil {
		return nil, fmt.Errorf("log the access on chain: %w", err)
	}
	out.Access = c.Result.Index

	// A replica may be receiving the same ciphertext right now (its
	// owner's push): then wait for that transfer rather than fail.
	addr := *out.Record.Cipher
	if out.From, err = s.awaitCopy(ctx, owner, addr); err != nil {
		return out, err
	}
	key, salt, err := blob.UnwrapKey(s.key, wrapped)
	if err != nil {
		return out, fmt.Errorf("unwrap the data key of record %d.%d with the member key: %w", ref.Index, ref.Pos, err)
	}
	defer clear(key[:])
	out.Salt = salt
	out.Size, err = s.blobs.DecryptCommitted(addr, key, salt, out.Record.Commitment, w)
	if err != nil {
		return out, fmt.Errorf("decrypt original of record %d.%d: %w", ref.Index, ref.Pos, err)
	}
	return out, nil
}

// wrappedKey returns the key ‖ salt of record r (at ref) wrapped to this
// member: the owner's wrap, or the one in the grant it fetches through.
func wrappedKey(v *ledger.View, r *ledger.Record, ref ledger.RecordRef, grant uint64, via bool) ([]byte, error) {
	if !via {
		return r.OwnerKey, nil
	}
	g, err := v.Grant(grant)
	if err != nil {
		return nil, err
	}
	for _, k := range g.Keys {
		if k.Ref == ref {
			return k.Wrapped, nil
		}
	}
	return nil, fmt.Errorf("grant %d carries no key for record %d.%d: %w", grant, ref.Index, ref.Pos, ledger.ErrStoreCorrupt)
}

// fetchCopy gets ciphertext addr into the store from owner's node, else
// from one of owner's replicas, and returns the member that served it.
func (s *Service) fetchCopy(ctx context.Context, owner string, addr crypto.Hash) (string, error) {
	var errs []error
	for _, m := range append([]string{owner}, s.roster.Replicas(owner, s.conf.Replicas)...) {
		info, ok := s.roster.Peer(m)
		if !ok || m == s.conf.Member {
			continue
		}
		err := s.trans.Connect(ctx, info)
		if err == nil {
			err = s.trans.Fetch(ctx, info.ID, addr)
		}
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("from %s: %w", m, err))
	}
	if len(errs) == 0 {
		errs = append(errs, fmt.Errorf("no other member keeps %s's originals", owner))
	}
	return "", fmt.Errorf("%w: %w", ErrNoCopy, errors.Join(errs...))
}
