package ledger

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// The vote transaction (TxVote): a member with voting power approves or
// rejects an open proposal. Votes are weighed by the roster version in
// force at the block that takes each vote: the proposal passes when the
// approvals of that version's members hold more than 2/3 of its voting
// power, and is rejected when the rejections hold at least 1/3 (approval
// can no longer pass). A proposal that passes makes the next roster
// version, pending, in the same block, and the ledger appends the roster
// entry that holds it (tx_roster.go). Payload encoding:
//
//	Vote = u64 proposal entry ‖ u8 decision (1: approve, 2: reject)

var voteType = TxTypeInfo{
	Type: TxVote, Name: "vote", Title: "Vote",
	Doc:    "a member with voting power approves or rejects an open roster proposal",
	Origin: OriginMember, Roles: allRoles,
	JSONKey: "vote", NewDetails: func() Details { return &Vote{} },
	Example: func() Payload { return &Vote{Proposal: 9, Decision: Approve} },
	decode: func(s *cryptobyte.String) (Payload, error) {
		v := &Vote{}
		var d uint8
		if !s.ReadUint64(&v.Proposal) || !s.ReadUint8(&d) {
			return nil, reject(CodeMalformed, "vote is truncated")
		}
		v.Decision = Decision(d)
		return v, nil
	},
}

// Decision is how a member votes.
type Decision uint8

// Decisions. Numbers are part of the wire format.
const (
	Approve Decision = 1
	Reject  Decision = 2
)

// String returns the decision's name.
func (d Decision) String() string {
	switch d {
	case Approve:
		return "approve"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("decision_%d", uint8(d))
}

// MarshalText implements encoding.TextMarshaler.
func (d Decision) MarshalText() ([]byte, error) {
	if d != Approve && d != Reject {
		return nil, fmt.Errorf("invalid decision %d", uint8(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Decision) UnmarshalText(b []byte) error {
	switch string(b) {
	case "approve":
		*d = Approve
	case "reject":
		*d = Reject
	default:
		return fmt.Errorf("unknown decision %q: want approve or reject", b)
	}
	return nil
}

// Vote is the payload of TxVote, and its public form.
type Vote struct {
	Proposal uint64   `json:"proposal"` // the proposal's entry
	Decision Decision `json:"decision"`
}

// TxType implements Payload.
func (*Vote) TxType() TxType { return TxVote }

// Details implements Payload: the vote is its own public form.
func (v *Vote) Details() Details { return v }

// Fields implements Details.
func (v *Vote) Fields() []Field {
	return []Field{{Name: "proposal", Kind: FieldEntry, Value: v.Proposal}, {Name: "decision", Kind: FieldIdent, Value: v.Decision.String()}}
}

// Summary implements Details.
func (v *Vote) Summary() (string, []Field) {
	return "votes %s on the proposal of entry %d", []Field{{Name: "decision", Kind: FieldIdent, Value: v.Decision.String()},
		{Name: "proposal", Kind: FieldEntry, Value: v.Proposal}}
}

func (v *Vote) encode(b *cryptobyte.Builder) {
	b.AddUint64(v.Proposal)
	b.AddUint8(uint8(v.Decision))
}

func (v *Vote) validate() error {
	if v.Decision != Approve && v.Decision != Reject {
		return reject(CodeMalformed, "decision %d: 1 approves, 2 rejects", uint8(v.Decision))
	}
	return nil
}

// writeCost: the vote ('Y') and the proposal record, and when it decides
// the proposal a roster version, its pointer and the roster entry.
func (*Vote) writeCost() int { return 4 + entryCost }

func (v *Vote) check(c *txContext) (*RejectError, error) {
	s := c.s
	p, err := s.proposal(v.Proposal)
	if err != nil {
		return nil, err
	}
	switch {
	case p == nil:
		return reject(CodeUnknownProposal, "entry %d holds no proposal", v.Proposal), nil
	case p.Status != ProposalOpen:
		return reject(CodeProposalClosed, "the proposal of entry %d is already %s", v.Proposal, p.Status), nil
	case c.Block.Height > 0 && uint64(c.Block.Height) > p.Deadline:
		return reject(CodeProposalClosed, "the proposal of entry %d took votes until height %d; this is height %d", v.Proposal, p.Deadline, c.Block.Height), nil
	}
	voted, err := s.has(keyVote(v.Proposal, c.Member))
	if err != nil {
		return nil, err
	}
	if voted || s.checkedVotes[voteKey{v.Proposal, c.Member}] {
		return reject(CodeAlreadyVoted, "%s already voted on the proposal of entry %d", c.Member, v.Proposal), nil
	}
	in, err := s.versionAt(c.height())
	if err != nil {
		return nil, err
	}
	if st := in.seat(c.Member); st == nil || st.Power == 0 {
		return reject(CodeNotVoting, "%s has no voting power in roster version %d, which decides proposals now", c.Member, in.Version), nil
	}
	if !c.Staging && s.checkedVotes != nil {
		s.checkedVotes[voteKey{v.Proposal, c.Member}] = true
	}
	return nil, nil
}

// voteKey names one member's vote on one proposal (bundle checks).
type voteKey struct {
	proposal uint64
	member   string
}

func (v *Vote) stage(c *txContext) error {
	s := c.s
	var b cryptobyte.Builder
	b.AddUint8(uint8(v.Decision))
	b.AddUint64(c.Index)
	s.set(keyVote(v.Proposal, c.Member), b.BytesOrPanic())
	p, err := s.proposal(v.Proposal)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("%w: proposal %d vanished between check and stage", ErrStoreCorrupt, v.Proposal)
	}
	in, err := s.versionAt(c.Block.Height)
	if err != nil {
		return err
	}
	approve, rejected, err := s.tally(v.Proposal, in)
	if err != nil {
		return err
	}
	total := in.totalPower()
	switch {
	case Trusted(approve, total):
		return s.pass(c, v.Proposal, p)
	case total > 0 && 3*rejected >= total: // approval can no longer pass
		p.Status, p.Decided = ProposalRejected, c.Index
	}
	s.set(keyU64(prefixProposal, v.Proposal), p.encode())
	return nil
}

// tally sums the power, in version in, of the members who approved and
// who rejected proposal.
func (s *state) tally(proposal uint64, in *rosterVersion) (approve, rejected uint64, err error) {
	for i := range in.Seats {
		st := &in.Seats[i]
		if st.Power == 0 {
			continue
		}
		v, found, err := s.get(keyVote(proposal, st.Name))
		if err != nil {
			return 0, 0, err
		}
		if !found || len(v) != 9 {
			continue
		}
		switch Decision(v[0]) {
		case Approve:
			approve += st.Power
		case Reject:
			rejected += st.Power
		}
	}
	return approve, rejected, nil
}

// pass carries out proposal p, decided by the vote of c: its change
// applied to the newest roster version makes the next, pending, and the
// ledger appends the roster entry that holds it. If the newest version no
// longer allows the change (another proposal changed the roster first),
// the proposal fails instead, with the rule it breaks.
func (s *state) pass(c *txContext, index uint64, p *proposalRecord) error {
	p.Decided = c.Index
	_, tx, err := s.entryTx(index)
	if err != nil {
		return err
	}
	prop, ok := tx.Body.Payload.(*Proposal)
	if !ok {
		return fmt.Errorf("%w: proposal record %d names a %s entry", ErrStoreCorrupt, index, tx.Body.Type())
	}
	latest, err := s.latestVersion()
	if err != nil {
		return err
	}
	made, rej, err := prop.Change.apply(s, latest)
	if err != nil {
		return err
	}
	if rej != nil {
		p.Status, p.Code = ProposalFailed, rej.Code
		s.set(keyU64(prefixProposal, index), p.encode())
		return nil
	}
	next := &rosterVersion{Version: latest.Version + 1, Proposal: index, From: pendingFrom, Seats: made.Seats, TSAs: made.TSAs}
	update := &RosterUpdate{Version: next.Version, Proposal: index, Seats: made.Seats, TSAs: made.TSAs}
	update.Digest, err = next.roster(s.params.ChainID).Digest()
	if err != nil {
		return err
	}
	idx, err := c.l.appendLedgerTx(s, c.Block, update)
	if err != nil {
		return err
	}
	next.Entry = idx
	s.putVersion(next)
	s.setVersionNumber(prefixLatestVersion, next.Version)
	p.Status, p.Version = ProposalPassed, next.Version
	s.set(keyU64(prefixProposal, index), p.encode())
	return nil
}

func keyVote(proposal uint64, member string) []byte {
	k := keyU64(prefixVote, proposal)
	k = append(k, byte(len(member)))
	return append(k, member...)
}

// entryTx reads committed (or staged) log entry index and its transaction.
func (s *state) entryTx(index uint64) (*Entry, *Tx, error) {
	v, found, err := s.get(keyU64(prefixEntry, index))
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, fmt.Errorf("%w: entry %d is missing", ErrStoreCorrupt, index)
	}
	e, err := DecodeEntry(v)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry %d: %v", ErrStoreCorrupt, index, err)
	}
	tx, err := DecodeTx(e.TxBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry %d tx: %v", ErrStoreCorrupt, index, err)
	}
	return e, tx, nil
}
