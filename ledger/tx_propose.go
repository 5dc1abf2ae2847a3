package ledger

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// The propose transaction (TxPropose): a member proposes one change to the
// roster, to be decided by the votes of members holding more than 2/3 of
// the voting power before a deadline height (tx_vote.go). Payload encoding:
//
//	Proposal = u8 kind ‖ change ‖ u64 deadline height ‖ u16-prefixed UTF-8 reason
//	change   = add:        seat (as roster versions hold one)
//	           remove:     u8-prefixed member
//	           rotate:     u8-prefixed member ‖ 65-byte new member key ‖
//	                       u8-prefixed validator key ‖ 20-byte node id ‖
//	                       u8-prefixed peer ‖ u8 count ‖ u8-prefixed addresses
//	           add-key:    u8-prefixed member ‖ 65-byte client key
//	           remove-key: u8-prefixed member ‖ 65-byte client key
//	           set-power:  u8-prefixed member ‖ u64 power ‖ u8-prefixed validator key
//	           set-role:   u8-prefixed member ‖ u8 role
//	           add-tsa:    TSA (u8-prefixed name ‖ u16-prefixed DER certificate ‖
//	                       u8 count ‖ u8-prefixed hash names)
//	           remove-tsa: u8-prefixed TSA name

var proposeType = TxTypeInfo{
	Type: TxPropose, Name: "propose", Title: "Roster proposal",
	Doc:    "a member proposes a change to the roster (add, remove, rotate a member key, add or remove a client key, set power or role, add or remove a trusted TSA), decided by votes of more than 2/3 of the voting power before a deadline",
	Origin: OriginMember, Roles: allRoles,
	JSONKey: "proposal", NewDetails: func() Details { return &ProposalDetails{} },
	Example: func() Payload {
		k := exampleKey("example new member key")
		return &Proposal{Change: RosterChange{Kind: ChangeAdd, Seat: Seat{Member: Member{Name: "bank-b", Role: RoleBank, Power: 10,
			Keys: []*crypto.PublicKey{k, exampleKey("example client key")}, Peer: "12D3KooWExamplePeer"}, Validator: make([]byte, ConsensusKeySize), Node: NodeID{1}}},
			Deadline: 1000, Reason: "董事会决议 2026-12 号"}
	},
	decode: decodeProposal,
}

// MaxProposalWindow is how far ahead of the block that takes a proposal
// its deadline may lie, in blocks.
const MaxProposalWindow = 1_000_000

// ChangeKind is what a roster change does.
type ChangeKind uint8

// Roster change kinds. Numbers are part of the wire format.
const (
	ChangeAdd       ChangeKind = 1 // add a member (Seat)
	ChangeRemove    ChangeKind = 2 // remove a member
	ChangeRotate    ChangeKind = 3 // replace a member's member key and with it its node's keys (Seat: Keys[0], Validator, Node, Peer, Addrs)
	ChangeAddKey    ChangeKind = 4 // add a client key (Seat.Keys[0])
	ChangeRemoveKey ChangeKind = 5 // remove a client key (Seat.Keys[0])
	ChangeSetPower  ChangeKind = 6 // set a member's voting power (Seat.Power; Seat.Validator when it gets power)
	ChangeSetRole   ChangeKind = 7 // set a member's role (Seat.Role)
	ChangeAddTSA    ChangeKind = 8 // add a trusted time-stamping authority (TSA)
	ChangeRemoveTSA ChangeKind = 9 // remove a trusted time-stamping authority (TSA.Name)
)

// lastChange is the highest change kind.
const lastChange = ChangeRemoveTSA

// IsTSA reports whether the kind changes the roster's TSAs rather than
// its members.
func (k ChangeKind) IsTSA() bool { return k == ChangeAddTSA || k == ChangeRemoveTSA }

var changeNames = [...]string{ChangeAdd: "add", ChangeRemove: "remove", ChangeRotate: "rotate", ChangeAddKey: "add-key",
	ChangeRemoveKey: "remove-key", ChangeSetPower: "set-power", ChangeSetRole: "set-role", ChangeAddTSA: "add-tsa", ChangeRemoveTSA: "remove-tsa"}

// ChangeKinds returns every change kind, in numeric order.
func ChangeKinds() []ChangeKind {
	out := make([]ChangeKind, 0, lastChange)
	for k := ChangeAdd; k <= lastChange; k++ {
		out = append(out, k)
	}
	return out
}

// String returns the kind's name, as the CLI takes it.
func (k ChangeKind) String() string {
	if k >= ChangeAdd && k <= lastChange {
		return changeNames[k]
	}
	return fmt.Sprintf("change_%d", uint8(k))
}

// ParseChangeKind parses a change kind's name.
func ParseChangeKind(s string) (ChangeKind, error) {
	for k := ChangeAdd; k <= lastChange; k++ {
		if changeNames[k] == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown roster change %q: want add, remove, rotate, add-key, remove-key, set-power, set-role, add-tsa or remove-tsa", s)
}

// RosterChange is one change to the roster. Seat.Name names the member;
// which other fields of Seat count depends on Kind (see the constants).
// The TSA kinds use TSA instead of Seat.
type RosterChange struct {
	Kind ChangeKind
	Seat Seat
	TSA  TSA // add-tsa: the TSA; remove-tsa: its Name
}

// Proposal is the payload of TxPropose.
type Proposal struct {
	Change   RosterChange
	Deadline uint64 // the last block height at which votes count
	Reason   string // why, for the record (UTF-8, e.g. a board resolution number); may be empty
}

// TxType implements Payload.
func (*Proposal) TxType() TxType { return TxPropose }

func (p *Proposal) encode(b *cryptobyte.Builder) {
	c := &p.Change
	b.AddUint8(uint8(c.Kind))
	st := &c.Seat
	switch c.Kind {
	case ChangeAdd:
		addSeat(b, st)
	case ChangeRemove:
		addString8(b, st.Name)
	case ChangeRotate:
		addString8(b, st.Name)
		b.AddBytes(st.Keys[0].Bytes())
		b.AddUint8LengthPrefixed(func(x *cryptobyte.Builder) { x.AddBytes(st.Validator) })
		b.AddBytes(st.Node[:])
		addString8(b, st.Peer)
		b.AddUint8(uint8(len(st.Addrs)))
		for _, a := range st.Addrs {
			addString8(b, a)
		}
	case ChangeAddKey, ChangeRemoveKey:
		addString8(b, st.Name)
		b.AddBytes(st.Keys[0].Bytes())
	case ChangeSetPower:
		addString8(b, st.Name)
		b.AddUint64(st.Power)
		b.AddUint8LengthPrefixed(func(x *cryptobyte.Builder) { x.AddBytes(st.Validator) })
	case ChangeSetRole:
		addString8(b, st.Name)
		b.AddUint8(uint8(st.Role))
	case ChangeAddTSA:
		addTSA(b, &c.TSA)
	case ChangeRemoveTSA:
		addString8(b, c.TSA.Name)
	}
	b.AddUint64(p.Deadline)
	b.AddUint16LengthPrefixed(func(x *cryptobyte.Builder) { x.AddBytes([]byte(p.Reason)) })
}

func readKey(s *cryptobyte.String, what string) (*crypto.PublicKey, error) {
	var kb []byte
	if !s.ReadBytes(&kb, crypto.PublicKeySize) {
		return nil, reject(CodeMalformed, "%s is truncated", what)
	}
	k, err := crypto.ParsePublicKey(kb)
	if err != nil {
		return nil, reject(CodeMalformed, "%s: %v", what, err)
	}
	return k, nil
}

func decodeProposal(s *cryptobyte.String) (Payload, error) {
	p := &Proposal{}
	var kind uint8
	if !s.ReadUint8(&kind) {
		return nil, reject(CodeMalformed, "proposal is truncated")
	}
	c := &p.Change
	c.Kind = ChangeKind(kind)
	st := &c.Seat
	if c.Kind != ChangeAdd && !c.Kind.IsTSA() && !readString8(s, &st.Name) {
		return nil, reject(CodeMalformed, "proposal is truncated in its member")
	}
	switch c.Kind {
	case ChangeAdd:
		seat, err := readSeat(s)
		if err != nil {
			return nil, err
		}
		*st = *seat
	case ChangeRemove:
	case ChangeRotate:
		k, err := readKey(s, "the new member key")
		if err != nil {
			return nil, err
		}
		st.Keys = []*crypto.PublicKey{k}
		var v cryptobyte.String
		var na uint8
		if !s.ReadUint8LengthPrefixed(&v) || !s.CopyBytes(st.Node[:]) || !readString8(s, &st.Peer) || !s.ReadUint8(&na) {
			return nil, reject(CodeMalformed, "key rotation is truncated")
		}
		if len(v) > 0 {
			st.Validator = []byte(v)
		}
		if int(na) > MaxPeerAddrs {
			return nil, reject(CodeMalformed, "key rotation names %d peer addresses, more than %d", na, MaxPeerAddrs)
		}
		for i := 0; i < int(na); i++ {
			var a string
			if !readString8(s, &a) {
				return nil, reject(CodeMalformed, "peer address %d is truncated", i)
			}
			st.Addrs = append(st.Addrs, a)
		}
	case ChangeAddKey, ChangeRemoveKey:
		k, err := readKey(s, "the client key")
		if err != nil {
			return nil, err
		}
		st.Keys = []*crypto.PublicKey{k}
	case ChangeSetPower:
		var v cryptobyte.String
		if !s.ReadUint64(&st.Power) || !s.ReadUint8LengthPrefixed(&v) {
			return nil, reject(CodeMalformed, "power change is truncated")
		}
		if len(v) > 0 {
			st.Validator = []byte(v)
		}
	case ChangeSetRole:
		var role uint8
		if !s.ReadUint8(&role) {
			return nil, reject(CodeMalformed, "role change is truncated")
		}
		st.Role = Role(role)
	case ChangeAddTSA:
		t, err := readTSA(s)
		if err != nil {
			return nil, err
		}
		c.TSA = *t
	case ChangeRemoveTSA:
		if !readString8(s, &c.TSA.Name) {
			return nil, reject(CodeMalformed, "proposal is truncated in its TSA name")
		}
	default:
		return nil, reject(CodeMalformed, "roster change kind %d: want 1 (add) to 9 (remove-tsa)", kind)
	}
	var reason cryptobyte.String
	if !s.ReadUint64(&p.Deadline) || !s.ReadUint16LengthPrefixed(&reason) {
		return nil, reject(CodeMalformed, "proposal is truncated in its deadline")
	}
	p.Reason = string(reason)
	return p, nil
}

func (p *Proposal) validate() error {
	c := &p.Change
	st := &c.Seat
	if c.Kind != ChangeAdd && !c.Kind.IsTSA() {
		if err := checkIdent("member name", st.Name, MaxNameLen, identKind); err != nil {
			return err
		}
	}
	switch c.Kind {
	case ChangeAdd:
		if err := st.validate(); err != nil {
			return err
		}
	case ChangeRemove:
	case ChangeRotate:
		if len(st.Keys) != 1 || st.Keys[0] == nil {
			return reject(CodeMalformed, "a key rotation carries one new member key")
		}
		if len(st.Validator) != 0 && len(st.Validator) != ConsensusKeySize {
			return reject(CodeMalformed, "the new validator key is %d bytes, want %d (or none for a member without power)", len(st.Validator), ConsensusKeySize)
		}
		if st.Node == (NodeID{}) {
			return reject(CodeMalformed, "a key rotation names the node id its new key gives the member's node")
		}
		probe := Member{Name: st.Name, Role: RoleBank, Keys: st.Keys, Peer: st.Peer, Addrs: st.Addrs}
		if err := probe.validate(); err != nil {
			return err
		}
	case ChangeAddKey, ChangeRemoveKey:
		if len(st.Keys) != 1 || st.Keys[0] == nil {
			return reject(CodeMalformed, "a key change carries one client key")
		}
	case ChangeSetPower:
		if len(st.Validator) != 0 && len(st.Validator) != ConsensusKeySize {
			return reject(CodeMalformed, "the validator key is %d bytes, want %d", len(st.Validator), ConsensusKeySize)
		}
	case ChangeSetRole:
		if !st.Role.Valid() {
			return reject(CodeMalformed, "invalid role %d", uint8(st.Role))
		}
	case ChangeAddTSA:
		if err := c.TSA.Validate(); err != nil {
			return err
		}
	case ChangeRemoveTSA:
		if err := checkIdent("TSA name", c.TSA.Name, MaxTSANameLen, identChain); err != nil {
			return err
		}
	default:
		return reject(CodeMalformed, "roster change kind %d: want 1 (add) to 9 (remove-tsa)", uint8(c.Kind))
	}
	if p.Deadline == 0 {
		return reject(CodeBadDeadline, "a proposal needs a deadline height")
	}
	if len(p.Reason) > MaxNoteLen || !utf8.ValidString(p.Reason) {
		return reject(CodeMalformed, "the reason must be UTF-8 of at most %d bytes", MaxNoteLen)
	}
	for _, r := range p.Reason {
		if r < 0x20 || r == 0x7f {
			return reject(CodeMalformed, "the reason contains a control character")
		}
	}
	return nil
}

// writeCost: the proposal record ('G').
func (*Proposal) writeCost() int { return 1 }

func (p *Proposal) check(c *txContext) (*RejectError, error) {
	if h := c.Block.Height; h > 0 && (p.Deadline <= uint64(h) || p.Deadline > uint64(h)+MaxProposalWindow) {
		return reject(CodeBadDeadline, "deadline %d: give a height after this block's (%d) and at most %d blocks ahead", p.Deadline, h, MaxProposalWindow), nil
	}
	latest, err := c.s.latestVersion()
	if err != nil {
		return nil, err
	}
	_, e, err := p.Change.apply(c.s, latest)
	return e, err
}

func (p *Proposal) stage(c *txContext) error {
	c.s.set(keyU64(prefixProposal, c.Index), (&proposalRecord{Proposer: c.Member, Deadline: p.Deadline}).encode())
	return nil
}

// apply returns version v changed by c (its seats and TSAs; the rest
// zero), or the rejection that says why the change cannot be made to v: it
// would break a rule that keeps the alliance alive (unique names and keys,
// keys never reused, some voting power, unique TSAs) or it names what v
// does not have.
func (c *RosterChange) apply(s *state, v *rosterVersion) (*rosterVersion, *RejectError, error) {
	if c.Kind.IsTSA() {
		tsas, e := c.applyTSA(v.TSAs)
		if e != nil {
			return nil, e, nil
		}
		return &rosterVersion{Seats: v.Seats, TSAs: tsas}, nil, nil
	}
	seats, e, err := c.applySeats(s, v)
	if e != nil || err != nil {
		return nil, e, err
	}
	return &rosterVersion{Seats: seats, TSAs: v.TSAs}, nil, nil
}

// applyTSA returns the TSAs tsas changed by c (a TSA kind).
func (c *RosterChange) applyTSA(tsas []TSA) ([]TSA, *RejectError) {
	i, found := slices.BinarySearchFunc(tsas, c.TSA.Name, func(t TSA, n string) int { return strings.Compare(t.Name, n) })
	if c.Kind == ChangeRemoveTSA {
		if !found {
			return nil, reject(CodeNotTSA, "the roster names no TSA %s", c.TSA.Name)
		}
		return slices.Delete(slices.Clone(tsas), i, i+1), nil
	}
	if found {
		return nil, reject(CodeDuplicateTSA, "the roster already names a TSA %s", c.TSA.Name)
	}
	for j := range tsas {
		if bytes.Equal(tsas[j].Cert, c.TSA.Cert) {
			return nil, reject(CodeDuplicateTSA, "the certificate is already TSA %s's: name each certificate once", tsas[j].Name)
		}
	}
	if len(tsas) >= MaxTSAs {
		return nil, reject(CodeTooLarge, "the roster already names %d TSAs, the most it may", MaxTSAs)
	}
	return slices.Insert(slices.Clone(tsas), i, c.TSA), nil
}

// applySeats returns the seats of version v changed by c (a member kind).
func (c *RosterChange) applySeats(s *state, v *rosterVersion) ([]Seat, *RejectError, error) {
	seats := make([]Seat, len(v.Seats))
	copy(seats, v.Seats)
	name := c.Seat.Name
	i, found := slices.BinarySearchFunc(seats, name, func(s Seat, n string) int { return strings.Compare(s.Name, n) })
	if c.Kind == ChangeAdd {
		if found {
			return nil, reject(CodeDuplicateMember, "%s is already a member of the alliance", name), nil
		}
		if len(seats) >= MaxSeats {
			return nil, reject(CodeTooLarge, "the roster already holds %d members, the most it may", MaxSeats), nil
		}
		if e, err := s.newKeys(c.Seat.Keys); e != nil || err != nil {
			return nil, e, err
		}
		seats = slices.Insert(seats, i, c.Seat)
		return finishSeats(seats)
	}
	if !found {
		return nil, reject(CodeNotMember, "%s is not a member of the alliance", name), nil
	}
	st := &seats[i]
	cur := *st
	cur.Keys = slices.Clone(st.Keys)
	switch c.Kind {
	case ChangeRemove:
		seats = slices.Delete(seats, i, i+1)
	case ChangeRotate:
		if e, err := s.newKeys(c.Seat.Keys); e != nil || err != nil {
			return nil, e, err
		}
		if cur.Power > 0 && len(c.Seat.Validator) == 0 {
			return nil, reject(CodeMalformed, "%s has voting power, so its new key's node needs its validator key", name), nil
		}
		if cur.Power == 0 && len(c.Seat.Validator) != 0 {
			return nil, reject(CodeMalformed, "%s has no voting power, so a rotation names no validator key", name), nil
		}
		cur.Keys[0] = c.Seat.Keys[0]
		cur.Validator, cur.Node, cur.Peer, cur.Addrs = c.Seat.Validator, c.Seat.Node, c.Seat.Peer, c.Seat.Addrs
	case ChangeAddKey:
		if e, err := s.newKeys(c.Seat.Keys); e != nil || err != nil {
			return nil, e, err
		}
		if len(cur.Keys) >= MaxMemberKeys {
			return nil, reject(CodeTooLarge, "%s already has %d keys, the most a member may", name, MaxMemberKeys), nil
		}
		cur.Keys = append(cur.Keys, c.Seat.Keys[0])
	case ChangeRemoveKey:
		j := slices.IndexFunc(cur.Keys, c.Seat.Keys[0].Equal)
		switch {
		case j < 0:
			return nil, reject(CodeNotMember, "key %s is not a key of %s", c.Seat.Keys[0].ID().Short(), name), nil
		case j == 0:
			return nil, reject(CodeMalformed, "key %s is %s's member key: rotate it (a change of kind rotate) instead of removing it", c.Seat.Keys[0].ID().Short(), name), nil
		}
		cur.Keys = slices.Delete(cur.Keys, j, j+1)
	case ChangeSetPower:
		cur.Power = c.Seat.Power
		switch {
		case cur.Power == 0:
			cur.Validator = nil
		case len(c.Seat.Validator) > 0:
			cur.Validator = c.Seat.Validator
		case len(cur.Validator) == 0:
			return nil, reject(CodeMalformed, "%s gets voting power, so the change needs its node's validator key", name), nil
		}
	case ChangeSetRole:
		cur.Role = c.Seat.Role
	}
	if c.Kind != ChangeRemove {
		seats[i] = cur
	}
	return finishSeats(seats)
}

// finishSeats checks a changed roster whole: a rule it breaks is the
// change's rejection.
func finishSeats(seats []Seat) ([]Seat, *RejectError, error) {
	if err := validateSeats(seats); err != nil {
		e := asReject(err)
		return nil, e, nil
	}
	return seats, nil, nil
}

// newKeys rejects keys that were ever registered: a key is never given to
// a second member, nor back to one that gave it up.
func (s *state) newKeys(keys []*crypto.PublicKey) (*RejectError, error) {
	for _, k := range keys {
		ever, err := s.everKey(k.ID())
		if err != nil {
			return nil, err
		}
		if ever {
			return reject(CodeDuplicateKey, "key %s is already registered, now or before: make a new key", k.ID().Short()), nil
		}
	}
	return nil, nil
}

// proposalRecord is a proposal's state ('G' ‖ entry):
//
//	u8-prefixed proposer ‖ u64 deadline ‖ u8 status ‖ u16 result code ‖
//	u64 deciding entry ‖ u32 version made
type proposalRecord struct {
	Proposer string
	Deadline uint64
	Status   ProposalStatus
	Code     Code   // why it failed, when Status is ProposalFailed
	Decided  uint64 // the entry of the vote that decided it
	Version  uint32 // the roster version it made, when passed
}

// ProposalStatus is where a proposal stands.
type ProposalStatus uint8

// Proposal statuses. An open proposal whose deadline has passed is
// reported as expired (View.Proposal).
const (
	ProposalOpen     ProposalStatus = 0
	ProposalPassed   ProposalStatus = 1 // more than 2/3 of the voting power approved; it made a roster version
	ProposalRejected ProposalStatus = 2 // at least 1/3 of the voting power rejected it
	ProposalFailed   ProposalStatus = 3 // it passed, but the roster had changed so that it could not be made (Code says why)
	ProposalExpired  ProposalStatus = 4 // its deadline passed before it was decided (never stored)
)

var statusNames = [...]string{"open", "passed", "rejected", "failed", "expired"}

// String returns the status's name.
func (p ProposalStatus) String() string {
	if int(p) < len(statusNames) {
		return statusNames[p]
	}
	return fmt.Sprintf("status_%d", uint8(p))
}

func (r *proposalRecord) encode() []byte {
	var b cryptobyte.Builder
	addString8(&b, r.Proposer)
	b.AddUint64(r.Deadline)
	b.AddUint8(uint8(r.Status))
	b.AddUint16(uint16(r.Code))
	b.AddUint64(r.Decided)
	b.AddUint32(r.Version)
	return b.BytesOrPanic()
}

func decodeProposalRecord(v []byte) (*proposalRecord, error) {
	s := cryptobyte.String(v)
	r := &proposalRecord{}
	var st uint8
	var code uint16
	if !readString8(&s, &r.Proposer) || !s.ReadUint64(&r.Deadline) || !s.ReadUint8(&st) || !s.ReadUint16(&code) ||
		!s.ReadUint64(&r.Decided) || !s.ReadUint32(&r.Version) || !s.Empty() {
		return nil, fmt.Errorf("%w: proposal record does not decode", ErrStoreCorrupt)
	}
	r.Status, r.Code = ProposalStatus(st), Code(code)
	return r, nil
}

func (s *state) proposal(index uint64) (*proposalRecord, error) {
	v, found, err := s.get(keyU64(prefixProposal, index))
	if err != nil || !found {
		return nil, err
	}
	return decodeProposalRecord(v)
}

// ProposalDetails is the public form of a proposal: the change, field by
// field as its kind has them, the deadline and the reason.
type ProposalDetails struct {
	Change    string     `json:"change"`               // the kind: add, remove, rotate, add-key, remove-key, set-power, set-role, add-tsa, remove-tsa
	Member    string     `json:"member"`               // empty for add-tsa and remove-tsa
	Role      *Role      `json:"role,omitempty"`       // add, set-role
	Power     *uint64    `json:"power,omitempty"`      // add, set-power
	Keys      []HexBytes `json:"keys,omitempty"`       // add: member key then client keys; rotate: the new member key; add-key, remove-key: the key
	Validator HexBytes   `json:"validator,omitempty"`  // the node's Ed25519 validator key, where the change names one
	Node      string     `json:"node,omitempty"`       // add, rotate: the node id
	Peer      string     `json:"peer,omitempty"`       // add, rotate: the libp2p peer id
	TSA       string     `json:"tsa,omitempty"`        // add-tsa, remove-tsa: the TSA's name
	TSACert   []byte     `json:"tsa_cert,omitempty"`   // add-tsa: its DER certificate (base64 in JSON)
	TSAHashes []string   `json:"tsa_hashes,omitempty"` // add-tsa: its hash algorithms
	Deadline  uint64     `json:"deadline"`             // last block height at which votes count
	Reason    string     `json:"reason,omitempty"`     // why, for the record
}

// Details implements Payload.
func (p *Proposal) Details() Details {
	c := &p.Change
	st := &c.Seat
	d := &ProposalDetails{Change: c.Kind.String(), Member: st.Name, Deadline: p.Deadline, Reason: p.Reason}
	for _, k := range st.Keys {
		d.Keys = append(d.Keys, k.Bytes())
	}
	d.Validator = st.Validator
	switch c.Kind {
	case ChangeAdd:
		role, power := st.Role, st.Power
		d.Role, d.Power, d.Node, d.Peer = &role, &power, st.Node.String(), st.Peer
	case ChangeRotate:
		d.Node, d.Peer = st.Node.String(), st.Peer
	case ChangeSetPower:
		power := st.Power
		d.Power = &power
	case ChangeSetRole:
		role := st.Role
		d.Role = &role
	case ChangeAddTSA:
		d.TSA, d.TSACert, d.TSAHashes = c.TSA.Name, c.TSA.Cert, c.TSA.Hashes
	case ChangeRemoveTSA:
		d.TSA = c.TSA.Name
	}
	return d
}

// Fields implements Details.
func (d *ProposalDetails) Fields() []Field {
	fs := []Field{{Name: "change", Kind: FieldIdent, Value: d.Change}}
	if d.Member != "" {
		fs = append(fs, Field{Name: "member", Kind: FieldMember, Value: d.Member})
	}
	if d.TSA != "" {
		fs = append(fs, Field{Name: "tsa", Kind: FieldIdent, Value: d.TSA})
	}
	if len(d.TSAHashes) > 0 {
		fs = append(fs, Field{Name: "tsa_hashes", Kind: FieldText, Value: strings.Join(d.TSAHashes, ",")})
	}
	if len(d.TSACert) > 0 {
		t := TSA{Cert: d.TSACert}
		fs = append(fs, Field{Name: "tsa_subject", Kind: FieldText, Value: t.Subject()},
			Field{Name: "tsa_cert_sm3", Kind: FieldHash, Value: crypto.SM3(d.TSACert)})
	}
	if d.Role != nil {
		fs = append(fs, Field{Name: "role", Kind: FieldRole, Value: *d.Role})
	}
	if d.Power != nil {
		fs = append(fs, Field{Name: "power", Kind: FieldNumber, Value: *d.Power})
	}
	if len(d.Keys) > 0 {
		fs = append(fs, Field{Name: "keys", Kind: FieldKeys, Value: d.Keys})
	}
	if len(d.Validator) > 0 {
		fs = append(fs, Field{Name: "validator", Kind: FieldText, Value: hex.EncodeToString(d.Validator)})
	}
	if d.Node != "" {
		fs = append(fs, Field{Name: "node", Kind: FieldText, Value: d.Node})
	}
	if d.Peer != "" {
		fs = append(fs, Field{Name: "peer", Kind: FieldText, Value: d.Peer})
	}
	fs = append(fs, Field{Name: "deadline", Kind: FieldNumber, Value: d.Deadline})
	if d.Reason != "" {
		fs = append(fs, Field{Name: "reason", Kind: FieldText, Value: d.Reason})
	}
	return fs
}

// Summary implements Details.
func (d *ProposalDetails) Summary() (string, []Field) {
	if d.TSA != "" {
		return "proposes %s of TSA %s, votes until height %d", []Field{{Name: "change", Kind: FieldIdent, Value: d.Change},
			{Name: "tsa", Kind: FieldIdent, Value: d.TSA}, {Name: "deadline", Kind: FieldNumber, Value: d.Deadline}}
	}
	return "proposes %s of %s, votes until height %d", []Field{{Name: "change", Kind: FieldIdent, Value: d.Change},
		{Name: "member", Kind: FieldMember, Value: d.Member}, {Name: "deadline", Kind: FieldNumber, Value: d.Deadline}}
}

// exampleKey is a fixed public key for examples.
func exampleKey(seed string) *crypto.PublicKey {
	d := crypto.SM3([]byte(seed))
	k, err := crypto.NewPrivateKey(d[:])
	if err != nil {
		panic("ledger: example key: " + err.Error())
	}
	return k.Public()
}
