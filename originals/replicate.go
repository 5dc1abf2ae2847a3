package originals

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// pending is a bounded list of committed entries waiting to be read for
// replication. Past maxPending it drops them and remembers only that it
// overflowed: every replica then gets a full pass, which covers them.
type pending struct {
	mu       sync.Mutex
	q        []uint64
	overflow bool
}

func (p *pending) add(i uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.q) >= maxPending {
		p.overflow = true
		return
	}
	p.q = append(p.q, i)
}

func (p *pending) take() (entries []uint64, overflow bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	entries, overflow = p.q, p.overflow
	p.q, p.overflow = nil, false
	return entries, overflow
}

// replicator reads the committed entries NoteCommitted queued and hands
// this member's kept originals in them to each replica's link.
func (s *Service) replicator() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		}
		entries, overflow := s.pending.take()
		if overflow {
			s.log.Warn("more committed entries than the replication queue holds; pushing all of this member's originals to its replicas again",
				"queue", maxPending)
			for _, l := range s.links {
				l.requestPass()
			}
		}
		for _, idx := range entries {
			for _, addr := range s.keptOriginals(idx) {
				for _, l := range s.links {
					l.enqueue(addr)
				}
			}
		}
	}
}

// keptOriginals returns the cipher addresses of the kept originals of
// committed entry idx that this node holds.
func (s *Service) keptOriginals(idx uint64) []crypto.Hash {
	var recs []ledger.Record
	err := s.withView(func(v *ledger.View, _ int64) error {
		_, tx, err := v.Entry(idx)
		if err == nil {
			recs = tx.Body.EvidenceRecords()
		}
		return err
	})
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Warn("cannot read a committed entry to replicate its originals; the next pass pushes them", "entry", idx, "err", err)
		}
		return nil
	}
	var out []crypto.Hash
	for _, r := range recs {
		if r.Cipher != nil && len(r.OwnerKey) > 0 && s.blobs.Has(*r.Cipher) {
			out = append(out, *r.Cipher)
		}
	}
	return out
}

// link pushes this member's originals to one replica, one at a time: the
// ones queued as their records commit, and all of them in a full pass at
// start, after each scrub, after the queue overflowed, and (with a growing
// pause) after a push gave up.
type link struct {
	s       *Service
	replica string
	info    peer.AddrInfo
	queue   chan crypto.Hash // bounded: linkQueue
	pass    chan struct{}    // a full pass is wanted (capacity 1)
}

func newLink(s *Service, replica string, info peer.AddrInfo) *link {
	return &link{s: s, replica: replica, info: info, queue: make(chan crypto.Hash, linkQueue), pass: make(chan struct{}, 1)}
}

// enqueue queues addr, or asks for a full pass when the queue is full.
func (l *link) enqueue(addr crypto.Hash) {
	select {
	case l.queue <- addr:
	default:
		l.requestPass()
	}
}

// requestPass asks for a full pass (at most one waits).
func (l *link) requestPass() {
	select {
	case l.pass <- struct{}{}:
	default:
	}
}

// run serves the link until the service closes.
func (l *link) run() {
	ctx := l.s.ctx
	first := 60 * l.s.conf.RetryWait
	pause := first
	var again <-chan time.Time // a full pass after one gave up
	gaveUp := func() {
		// What is queued goes to the same unreachable replica: the pass
		// covers it.
		for len(l.queue) > 0 {
			<-l.queue
		}
		l.s.log.Info("a replica does not take this member's originals now; pushing them all again later",
			"replica", l.replica, "in", pause)
		again = time.After(pause)
		pause = min(2*pause, maxPassPause)
	}
	fullPass := func() {
		if l.pushAll(ctx) {
			again, pause = nil, first
		} else if ctx.Err() == nil {
			gaveUp()
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case addr := <-l.queue:
			if !l.push(ctx, addr) && ctx.Err() == nil {
				gaveUp()
			}
		case <-l.pass:
			fullPass()
		case <-again:
			fullPass()
		}
	}
}

// errGaveUp stops a full pass.
var errGaveUp = errors.New("a push gave up")

// pushAll pushes every original of this member that the store holds; false
// when a push gave up or ctx ended.
func (l *link) pushAll(ctx context.Context) bool {
	pushed := 0
	err := l.s.blobs.List(func(addr crypto.Hash, _ int64) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		owner, err := ownerOf(l.s.state, addr)
		if err != nil {
			return err
		}
		if owner != l.s.conf.Member {
			return nil
		}
		if !l.push(ctx, addr) {
			return errGaveUp
		}
		pushed++
		return nil
	})
	switch {
	case err == nil:
		l.s.log.Debug("a replica holds every original of this member", "replica", l.replica, "originals", pushed)
		return true
	case ctx.Err() == nil && !errors.Is(err, errGaveUp):
		l.s.log.Warn("cannot list this member's originals to push them to a replica", "replica", l.replica, "err", err)
	}
	return false
}

// push pushes addr to the replica, retrying with backoff; false when it
// gave up (the replica is unreachable or refuses) or ctx ended.
func (l *link) push(ctx context.Context, addr crypto.Hash) bool {
	wait := l.s.conf.RetryWait
	var err error
	for attempt := 1; ; attempt++ {
		err = l.s.trans.Connect(ctx, l.info)
		if err == nil {
			err = l.s.trans.Push(ctx, l.info.ID, addr)
		}
		switch {
		case err == nil:
			l.s.log.Debug("original replicated", "to", l.replica, "addr", addr.String()[:16])
			return true
		case errors.Is(err, exchange.ErrNotFound):
			return true // no longer held here (swept, or quarantined by the scrub)
		case errors.Is(err, exchange.ErrAddressMismatch):
			// The replica found this copy corrupt: the scrub repairs it.
			l.s.log.Warn("a replica found this node's copy of an original corrupt; the next scrub repairs it",
				"to", l.replica, "addr", addr.String()[:16], "err", err)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt == pushAttempts {
			l.s.log.Warn("could not replicate an original", "to", l.replica, "addr", addr.String()[:16], "attempts", attempt, "err", err)
			return false
		}
		if !sleep(ctx, wait) {
			return false
		}
		wait = min(2*wait, 30*l.s.conf.RetryWait)
	}
}
