package originals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
)

// Scrub rehashes every original this node holds; a corrupt one is moved
// aside by the store and fetched again from the owner's node or a replica.
// It returns how many were checked, found corrupt and repaired.
func (s *Service) Scrub(ctx context.Context) (checked, corrupt, repaired int, err error) {
	var bad []crypto.Hash
	checked, corrupt, err = s.blobs.Scrub(ctx, func(addr crypto.Hash, err error) {
		s.log.Warn("corrupt original found by the scrub; fetching it again", "addr", addr.String()[:16], "err", err)
		bad = append(bad, addr)
	})
	if err != nil {
		return checked, corrupt, 0, fmt.Errorf("scrub the originals: %w", err)
	}
	for _, addr := range bad {
		if err := s.refetch(ctx, addr); err != nil {
			s.log.Error("could not repair a corrupt original", "addr", addr.String()[:16], "err", err)
			continue
		}
		repaired++
	}
	return checked, corrupt, repaired, nil
}

// refetch gets addr again from the owner's node or one of its replicas,
// waiting for a transfer of it already under way (awaitCopy).
func (s *Service) refetch(ctx context.Context, addr crypto.Hash) error {
	if s.trans == nil {
		return ErrNoExchange
	}
	owner, err := ownerOf(s.state, addr)
	if err != nil {
		return err
	}
	if owner == "" {
		return errors.New("no committed record names this original")
	}
	from, err := s.awaitCopy(ctx, owner, addr)
	if err != nil {
		return err
	}
	if from == "" {
		from = "a transfer received meanwhile"
	}
	s.log.Info("corrupt original repaired", "addr", addr.String()[:16], "from", from)
	return nil
}

// awaitCopy gets ciphertext addr into the store from owner's node or one of
// its replicas (fetchCopy) and returns the member that served it. When the
// store is busy receiving addr already (its owner's push, say), it waits
// for that transfer, retrying with backoff, and returns "" once the copy
// is in: the store checked its SM3 address.
func (s *Service) awaitCopy(ctx context.Context, owner string, addr crypto.Hash) (string, error) {
	wait := s.conf.RetryWait
	for attempt := 1; ; attempt++ {
		if s.blobs.Has(addr) {
			return "", nil
		}
		from, err := s.fetchCopy(ctx, owner, addr)
		if err == nil {
			return from, nil
		}
		if !errors.Is(err, exchange.ErrBusy) || attempt == pushAttempts {
			return "", err
		}
		s.log.Debug("the original is being received; waiting for that transfer", "addr", addr.String()[:16], "retry_in", wait)
		if !sleep(ctx, wait) {
			return "", ctx.Err()
		}
		wait = min(2*wait, 30*s.conf.RetryWait)
	}
}

// scrubber runs every Config.ScrubInterval until Close: the scrub, the
// orphan sweep, and a full pass of pushes to each replica.
func (s *Service) scrubber() {
	t := time.NewTicker(s.conf.ScrubInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		checked, corrupt, repaired, err := s.Scrub(s.ctx)
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Error("scrub failed", "err", err)
			}
			continue
		}
		orphans, err := s.SweepOrphans(s.ctx, s.conf.OrphanAge)
		if err != nil && s.ctx.Err() == nil {
			s.log.Error("orphan sweep failed", "err", err)
		}
		for _, l := range s.links {
			l.requestPass()
		}
		s.log.Info("originals scrubbed", "checked", checked, "corrupt", corrupt, "repaired", repaired, "orphans_removed", orphans)
	}
}

// SweepOrphans removes the ciphertexts older than olderThan (by
// Config.Now) that no committed record names: uploads whose record was
// rejected or never committed. It returns how many it removed.
func (s *Service) SweepOrphans(ctx context.Context, olderThan time.Duration) (int, error) {
	var orphans []crypto.Hash
	err := s.blobs.List(func(addr crypto.Hash, _ int64) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, refs, _, release, err := recordsOf(s.state, addr)
		if err != nil {
			return err
		}
		release()
		if len(refs) > 0 {
			return nil
		}
		f, err := s.blobs.OpenBlob(addr)
		if err != nil {
			return nil // removed meanwhile
		}
		fi, err := f.Stat()
		f.Close()
		if err == nil && s.conf.Now().Sub(fi.ModTime()) >= olderThan {
			orphans = append(orphans, addr)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep orphan originals: %w", err)
	}
	removed := 0
	for _, addr := range orphans {
		if err := s.blobs.Remove(addr); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return removed, fmt.Errorf("remove orphan original %s: %w", addr.String()[:16], err)
		}
		s.log.Info("removed an original no committed record names", "addr", addr.String()[:16])
		removed++
	}
	return removed, nil
}
