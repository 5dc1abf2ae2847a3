package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/evidenced/evidenced/crypto"
)

// RosterVersionInfo is a roster version as committed.
type RosterVersionInfo struct {
	Version  uint32
	Proposal uint64 // the proposal that made it; 0 for genesis
	Entry    uint64 // its roster entry; 0 for genesis
	// From is the first block height whose validators are this version's
	// (it co-signs checkpoints of heights From-1 on); -1 while pending.
	From     int64
	Attested uint64 // height of the checkpoint, co-signed by the version before, that put it in force
	Digest   crypto.Hash
	Seats    []Seat
	TSAs     []TSA // the trusted time-stamping authorities, sorted by name
}

// Pending reports whether the version has not taken effect yet.
func (r *RosterVersionInfo) Pending() bool { return r.From == pendingFrom }

// Roster returns the version as a verifier holds it.
func (r *RosterVersionInfo) Roster(chainID string) *Roster {
	return (&rosterVersion{Seats: r.Seats, TSAs: r.TSAs}).roster(chainID)
}

// TotalPower returns the version's voting power.
func (r *RosterVersionInfo) TotalPower() uint64 { return (&rosterVersion{Seats: r.Seats}).totalPower() }

// Seat returns the seat of member name, or nil.
func (r *RosterVersionInfo) Seat(name string) *Seat {
	return (&rosterVersion{Seats: r.Seats}).seat(name)
}

func (v *View) versionInfo(rv *rosterVersion) (*RosterVersionInfo, error) {
	p, err := v.Params()
	if err != nil {
		return nil, err
	}
	d, err := rv.roster(p.ChainID).Digest()
	if err != nil {
		return nil, fmt.Errorf("%w: roster version %d: %v", ErrStoreCorrupt, rv.Version, err)
	}
	return &RosterVersionInfo{Version: rv.Version, Proposal: rv.Proposal, Entry: rv.Entry, From: rv.From, Attested: rv.Attested,
		Digest: d, Seats: rv.Seats, TSAs: rv.TSAs}, nil
}

// RosterVersion returns roster version n; ErrNotFound beyond the newest.
func (v *View) RosterVersion(n uint32) (*RosterVersionInfo, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	latest, err := v.s.versionNumber(prefixLatestVersion)
	if err != nil {
		return nil, err
	}
	if n > latest {
		return nil, fmt.Errorf("roster version %d (the newest is %d): %w", n, latest, ErrNotFound)
	}
	rv, err := v.s.version(n)
	if err != nil {
		return nil, err
	}
	return v.versionInfo(rv)
}

// LatestRosterVersion returns the newest roster version number, pending or
// in force, and the one in force.
func (v *View) LatestRosterVersion() (latest, inForce uint32, err error) {
	if _, err := v.Params(); err != nil {
		return 0, 0, err
	}
	if latest, err = v.s.versionNumber(prefixLatestVersion); err != nil {
		return 0, 0, err
	}
	inForce, err = v.s.versionNumber(prefixCurrentVersion)
	return latest, inForce, err
}

// RosterAt returns the roster version whose validators vote on block
// height h (and so co-sign the checkpoint of height h-1); math.MaxInt64
// gives the version in force now.
func (v *View) RosterAt(h int64) (*RosterVersionInfo, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	rv, err := v.s.versionAt(h)
	if err != nil {
		return nil, err
	}
	return v.versionInfo(rv)
}

// RosterSigning returns the roster version that co-signs the checkpoint
// of height h: the one in force at height h+1.
func (v *View) RosterSigning(h int64) (*RosterVersionInfo, error) {
	if h == math.MaxInt64 {
		return v.RosterAt(h)
	}
	return v.RosterAt(h + 1)
}

// ProposalInfo is a roster proposal as committed, with its votes.
type ProposalInfo struct {
	Entry    uint64
	Proposer string
	Proposal Proposal
	Status   ProposalStatus // ProposalExpired for an open one past its deadline
	Code     Code           // why it failed (ProposalFailed)
	Decided  uint64         // the entry of the vote that decided it
	Version  uint32         // the roster version it made (ProposalPassed)
	Votes    []VoteInfo     // in member order
	// The tally in the roster version in force at the height asked about.
	Approve, Reject, Total uint64
}

// VoteInfo is one member's vote.
type VoteInfo struct {
	Member   string
	Decision Decision
	Entry    uint64
	Power    uint64 // the member's power in the version the tally is in
}

// ErrNotProposal is wrapped by View.Proposal when the entry holds no proposal.
var ErrNotProposal = errors.New("not a proposal")

// Proposal returns the proposal at entry index, its status and tally as of
// block height h (an open proposal past its deadline is expired).
func (v *View) Proposal(index uint64, h int64) (*ProposalInfo, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	rec, err := v.s.proposal(index)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("entry %d: %w: %w", index, ErrNotProposal, ErrNotFound)
	}
	_, tx, err := v.Entry(index)
	if err != nil {
		return nil, err
	}
	prop, ok := tx.Body.Payload.(*Proposal)
	if !ok {
		return nil, fmt.Errorf("%w: proposal record %d names a %s entry", ErrStoreCorrupt, index, tx.Body.Type())
	}
	info := &ProposalInfo{Entry: index, Proposer: rec.Proposer, Proposal: *prop, Status: rec.Status, Code: rec.Code,
		Decided: rec.Decided, Version: rec.Version}
	if rec.Status == ProposalOpen && h > 0 && uint64(h) > rec.Deadline {
		info.Status = ProposalExpired
	}
	in, err := v.s.versionAt(h)
	if err != nil {
		return nil, err
	}
	info.Total = in.totalPower()
	prefix := keyU64(prefixVote, index)
	kvs, err := v.r.Scan(prefix, nil, MaxSeats*2)
	if err != nil {
		return nil, fmt.Errorf("scan the votes on %d: %w", index, err)
	}
	for _, kv := range kvs {
		k := kv.Key[len(prefix):]
		if len(k) < 1 || int(k[0]) != len(k)-1 || len(kv.Value) != 9 {
			return nil, fmt.Errorf("%w: vote on %d", ErrStoreCorrupt, index)
		}
		vi := VoteInfo{Member: string(k[1:]), Decision: Decision(kv.Value[0]), Entry: binary.BigEndian.Uint64(kv.Value[1:])}
		if st := in.seat(vi.Member); st != nil {
			vi.Power = st.Power
		}
		switch vi.Decision {
		case Approve:
			info.Approve += vi.Power
		case Reject:
			info.Reject += vi.Power
		}
		info.Votes = append(info.Votes, vi)
	}
	return info, nil
}

// Proposals returns up to limit entries of proposals, oldest first, from
// entry from on.
func (v *View) Proposals(from uint64, limit int) ([]uint64, error) {
	kvs, err := v.r.Scan(key1(prefixProposal), keyU64(prefixProposal, from), limit)
	if err != nil {
		return nil, fmt.Errorf("scan proposals: %w", err)
	}
	out := make([]uint64, 0, len(kvs))
	for _, kv := range kvs {
		if len(kv.Key) != 9 {
			return nil, fmt.Errorf("%w: proposal key", ErrStoreCorrupt)
		}
		out = append(out, binary.BigEndian.Uint64(kv.Key[1:]))
	}
	return out, nil
}
