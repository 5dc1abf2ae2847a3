package originals

import (
	"errors"
	"fmt"
	"slices"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Policy is the serving side of the exchange: on this node's committed
// state, it decides who may fetch a ciphertext and whose pushes this node
// keeps. Its methods are exchange.Config's Authorize and AcceptPush; they
// are safe for concurrent use.
type Policy struct {
	member   string
	replicas int
	roster   *Roster
	state    State
}

// NewPolicy returns the policy of member conf.Member's node, whose
// originals conf.Replicas members keep (Roster.Replicas).
func NewPolicy(conf Config, roster *Roster, state State) *Policy {
	return &Policy{member: conf.Member, replicas: conf.Replicas, roster: roster, state: state}
}

// errNotServed is what a refused requester is told: nothing about whether
// the original exists.
var errNotServed = errors.New("not authorised for this original on this node's committed state: the owner must grant it to you first")

// Authorize lets member fetch ciphertext addr when, on committed state, it
// owns a record naming it, holds a live grant for one, or is one of its
// owner's replicas. A refusal says nothing about whether addr exists.
func (p *Policy) Authorize(member string, addr crypto.Hash) error {
	v, refs, t, release, err := recordsOf(p.state, addr)
	if err != nil {
		return errNotServed
	}
	defer release()
	for _, ref := range refs {
		if _, _, err := v.Authorize(member, ref, t); err == nil {
			return nil
		}
		if _, owner, ok := recordOwner(v, ref); ok && slices.Contains(p.roster.Replicas(owner, p.replicas), member) {
			return nil
		}
	}
	return errNotServed
}

// AcceptPush keeps a replica of ciphertext addr of size bytes pushed by
// member when this node is one of member's replicas and a committed record
// of member names addr with that size.
func (p *Policy) AcceptPush(member string, addr crypto.Hash, size int64) error {
	if !slices.Contains(p.roster.Replicas(member, p.replicas), p.member) {
		return fmt.Errorf("%s is not one of %s's replicas", p.member, member)
	}
	v, refs, _, release, err := recordsOf(p.state, addr)
	if err != nil {
		return err
	}
	defer release()
	for _, ref := range refs {
		if r, owner, ok := recordOwner(v, ref); ok && owner == member && int64(r.CipherSize) == size {
			return nil
		}
	}
	return errors.New("no committed record of yours names this original with this size (yet): push after the block commits")
}

// maxRefs bounds the records read for one ciphertext (normally one: a
// fresh data key per original makes every ciphertext different).
const maxRefs = 16

// recordsOf returns the committed records whose kept original is addr,
// with the view and block time they were read at and its release.
func recordsOf(st State, addr crypto.Hash) (*ledger.View, []ledger.RecordRef, int64, func(), error) {
	v, t, release, err := committed(st)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	refs, err := v.ByCipher(addr, maxRefs)
	if err != nil {
		release()
		return nil, nil, 0, nil, fmt.Errorf("records of original %s: %w", addr.String()[:16], err)
	}
	return v, refs, t, release, nil
}

// recordOwner returns the record ref names and the member that owns its
// evidence chain; false when either cannot be read.
func recordOwner(v *ledger.View, ref ledger.RecordRef) (*ledger.Record, string, bool) {
	r, _, _, err := v.Record(ref)
	if err != nil {
		return nil, "", false
	}
	ci, err := v.Chain(r.Chain)
	if err != nil {
		return nil, "", false
	}
	return r, ci.Owner, true
}

// ownerOf returns the member owning a committed record that names addr,
// "" when none does.
func ownerOf(st State, addr crypto.Hash) (string, error) {
	v, refs, _, release, err := recordsOf(st, addr)
	if err != nil {
		return "", err
	}
	defer release()
	for _, ref := range refs {
		if _, owner, ok := recordOwner(v, ref); ok {
			return owner, nil
		}
	}
	return "", nil
}
