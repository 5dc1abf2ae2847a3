package originals

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// KeepOriginal implements api.Backend's KeepOriginal: it seals the
// original into the blob store under a fresh data key and salt, bounded by
// Config.MaxUploadBytes, wraps both to the member key (first key in
// committed state) of the member holding signer, and calls commit. It
// removes the blob when commit fails, unless the failure may still let the
// record commit (ctx ended). A crash before commit leaves at most a
// temporary file, which blob.Open removes at the next start, and no
// record; a crash after the record is submitted leaves blob and record.
func (s *Service) KeepOriginal(ctx context.Context, r io.Reader, size int64, signer crypto.KeyID, commit func(*api.Original) error) (*api.Original, error) {
	limit := s.conf.MaxUploadBytes
	if size > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, this node takes at most %d", api.ErrOriginalTooLarge, size, limit)
	}
	owner, ownerKey, err := s.memberKeyOf(signer)
	if err != nil {
		return nil, err
	}
	key, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	salt := make([]byte, crypto.SaltSize)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return nil, fmt.Errorf("draw a salt: %w", err)
	}
	sealed, err := s.blobs.Seal(ctx, r, key, salt, limit)
	if errors.Is(err, blob.ErrTooLarge) {
		return nil, fmt.Errorf("%w: more than %d bytes", api.ErrOriginalTooLarge, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("keep original: %w", err)
	}
	o := &api.Original{
		Owner: owner, Cipher: sealed.Address, CipherSize: sealed.CipherSize, Size: sealed.PlainSize,
		Commitment: sealed.Commitment, Salt: salt,
	}
	if o.OwnerKey, err = blob.WrapKey(ownerKey, rand.Reader, key, salt); err != nil {
		err = fmt.Errorf("keep original %s: %w", sealed.Address, err)
		return nil, errors.Join(err, s.drop(sealed.Address))
	}
	if err := commit(o); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			// The record may still commit: it must find its original.
			s.log.Warn("an uploaded original's record was not seen committed; its ciphertext is kept",
				"addr", sealed.Address.String(), "err", err)
			return nil, err
		}
		if derr := s.drop(sealed.Address); derr != nil {
			s.log.Error("could not remove the original of a record that did not go in", "addr", sealed.Address.String(), "err", derr)
		}
		return nil, err
	}
	s.log.Info("original kept", "owner", owner, "addr", sealed.Address.String(), "size", sealed.PlainSize)
	return o, nil
}

// memberKeyOf returns the name and the member key (the first key) of the
// member holding key id, read from committed state.
func (s *Service) memberKeyOf(id crypto.KeyID) (name string, key *crypto.PublicKey, err error) {
	err = s.withView(func(v *ledger.View, _ int64) error {
		m, err := v.MemberByKey(id)
		if errors.Is(err, ledger.ErrNotFound) {
			return &ledger.RejectError{Code: ledger.CodeUnknownKey,
				Msg: fmt.Sprintf("the node's client key %s is not registered to any member, so nobody could own the original", id.Short())}
		}
		if err != nil {
			return fmt.Errorf("look up the member of key %s: %w", id.Short(), err)
		}
		if len(m.Keys) == 0 {
			return fmt.Errorf("member %s has no key in committed state", m.Name)
		}
		name, key = m.Name, m.Keys[0]
		return nil
	})
	return name, key, err
}

// drop removes a sealed original whose record did not go in.
func (s *Service) drop(addr crypto.Hash) error {
	if err := s.blobs.Remove(addr); err != nil && !errors.Is(err, blob.ErrNotFound) {
		return err
	}
	return nil
}
