package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Governance: roster proposals and votes (POST /v1/proposals,
// POST /v1/proposals/{index}/votes), their state (GET /v1/proposals…) and
// the roster versions they made (GET /v1/roster/versions…). A proposal is
// named by the log index of its propose entry.

// DefaultProposalWindow is the deadline of a proposal that names none: the
// current height plus this many blocks.
const DefaultProposalWindow = 1000

// MaxGovernBody bounds the JSON body of POST /v1/proposals and of a vote.
const MaxGovernBody = 16 << 10

// ProposalRequest is the body of POST /v1/proposals: one roster change.
// Which fields count depends on Change:
//
//	add         member, role, power, keys (member key first, then client
//	            keys), validator (when power > 0), node, peer, addrs
//	remove      member
//	rotate      member, keys (the one new member key), validator (when the
//	            member has power), node, peer, addrs
//	add-key     member, keys (the one client key)
//	remove-key  member, keys (the one client key)
//	set-power   member, power, validator (when power goes from 0 to > 0)
//	set-role    member, role
//	add-tsa     tsa (the TSA's name), tsa_cert (base64 of its DER
//	            certificate), tsa_hashes ("sm3", "sha256" or both)
//	remove-tsa  tsa
//
// Deadline is the last block height at which votes count; 0 means the
// node's current height plus DefaultProposalWindow.
type ProposalRequest struct {
	Change    string     `json:"change"`
	Member    string     `json:"member,omitempty"`
	Role      string     `json:"role,omitempty"`
	Power     *uint64    `json:"power,omitempty"`
	Keys      []HexBytes `json:"keys,omitempty"`
	Validator HexBytes   `json:"validator,omitempty"`
	Node      string     `json:"node,omitempty"`
	Peer      string     `json:"peer,omitempty"`
	Addrs     []string   `json:"addrs,omitempty"`
	TSA       string     `json:"tsa,omitempty"`        // add-tsa, remove-tsa: the TSA's name
	TSACert   []byte     `json:"tsa_cert,omitempty"`   // add-tsa: its DER certificate (base64 in JSON)
	TSAHashes []string   `json:"tsa_hashes,omitempty"` // add-tsa: its hash algorithms
	Deadline  uint64     `json:"deadline,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// FieldError is a field of a ProposalRequest or VoteRequest that is wrong
// or missing.
type FieldError struct {
	Field string // the JSON field
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Proposal turns the request into the ledger payload, checking that the
// change has the fields its kind needs and no others. It does not apply
// the ledger's rules (a proposal is validated as a whole when it is
// encoded, and checked against the roster when it is taken); Deadline must
// be set. Errors are *FieldError.
func (r *ProposalRequest) Proposal() (*ledger.Proposal, error) {
	kind, err := ledger.ParseChangeKind(r.Change)
	if err != nil {
		return nil, fieldErr("change", "%v", err)
	}
	if r.Deadline == 0 {
		return nil, fieldErr("deadline", "a proposal needs a deadline height")
	}
	p := &ledger.Proposal{Change: ledger.RosterChange{Kind: kind}, Deadline: r.Deadline, Reason: r.Reason}
	if kind.IsTSA() {
		return r.tsaProposal(p)
	}
	switch {
	case r.TSA != "":
		return nil, fieldErr("tsa", "a change of kind %s takes no tsa", kind)
	case len(r.TSACert) > 0:
		return nil, fieldErr("tsa_cert", "a change of kind %s takes no tsa_cert", kind)
	case len(r.TSAHashes) > 0:
		return nil, fieldErr("tsa_hashes", "a change of kind %s takes no tsa_hashes", kind)
	}
	st := &p.Change.Seat
	st.Name = r.Member
	if r.Member == "" {
		return nil, fieldErr("member", "name the member the change is about")
	}
	// allowed lists the optional and required fields of each kind.
	type fields struct{ role, power, keys, validator, node, peer bool }
	allow := map[ledger.ChangeKind]fields{
		ledger.ChangeAdd:       {role: true, power: true, keys: true, validator: true, node: true, peer: true},
		ledger.ChangeRemove:    {},
		ledger.ChangeRotate:    {keys: true, validator: true, node: true, peer: true},
		ledger.ChangeAddKey:    {keys: true},
		ledger.ChangeRemoveKey: {keys: true},
		ledger.ChangeSetPower:  {power: true, validator: true},
		ledger.ChangeSetRole:   {role: true},
	}[kind]
	extra := func(field string) error {
		return fieldErr(field, "a change of kind %s takes no %s", kind, field)
	}
	switch {
	case r.Role != "" && !allow.role:
		return nil, extra("role")
	case r.Power != nil && !allow.power:
		return nil, extra("power")
	case len(r.Keys) > 0 && !allow.keys:
		return nil, extra("keys")
	case len(r.Validator) > 0 && !allow.validator:
		return nil, extra("validator")
	case r.Node != "" && !allow.node:
		return nil, extra("node")
	case (r.Peer != "" || len(r.Addrs) > 0) && !allow.peer:
		if r.Peer != "" {
			return nil, extra("peer")
		}
		return nil, extra("addrs")
	}
	if allow.role {
		switch {
		case r.Role != "":
			if st.Role, err = ledger.ParseRole(r.Role); err != nil {
				return nil, fieldErr("role", "%v", err)
			}
		case allow.role:
			return nil, fieldErr("role", "a change of kind %s needs the member's role", kind)
		}
	}
	if allow.power {
		if r.Power == nil {
			return nil, fieldErr("power", "a change of kind %s needs the voting power (0 for none)", kind)
		}
		st.Power = *r.Power
	}
	if allow.keys {
		switch {
		case len(r.Keys) == 0:
			return nil, fieldErr("keys", "a change of kind %s needs a key", kind)
		case kind != ledger.ChangeAdd && len(r.Keys) != 1:
			return nil, fieldErr("keys", "a change of kind %s carries exactly one key, not %d", kind, len(r.Keys))
		case len(r.Keys) > ledger.MaxMemberKeys:
			return nil, fieldErr("keys", "%d keys: a member has at most %d", len(r.Keys), ledger.MaxMemberKeys)
		}
		for i, kb := range r.Keys {
			k, err := crypto.ParsePublicKey(kb)
			if err != nil {
				return nil, fieldErr("keys", "key %d: %v (want the 130 hex digits of a 65-byte SM2 public key)", i, err)
			}
			st.Keys = append(st.Keys, k)
		}
	}
	if len(r.Validator) > 0 {
		if len(r.Validator) != ledger.ConsensusKeySize {
			return nil, fieldErr("validator", "the validator key is %d bytes, want the %d of an Ed25519 public key (hex)", len(r.Validator), ledger.ConsensusKeySize)
		}
		st.Validator = slices.Clone([]byte(r.Validator))
	}
	if allow.node {
		if r.Node == "" {
			return nil, fieldErr("node", "a change of kind %s needs the CometBFT node id of the member's node", kind)
		}
		if st.Node, err = ledger.ParseNodeID(r.Node); err != nil {
			return nil, fieldErr("node", "%v", err)
		}
	}
	st.Peer, st.Addrs = r.Peer, slices.Clone(r.Addrs)
	if len(st.Addrs) > ledger.MaxPeerAddrs {
		return nil, fieldErr("addrs", "%d peer addresses, more than %d", len(st.Addrs), ledger.MaxPeerAddrs)
	}
	if _, err := ledger.EncodeBody(&ledger.Body{ChainID: "check", Payload: p}); err != nil {
		var rej *ledger.RejectError
		if errors.As(err, &rej) && rej.Code == ledger.CodeBadDeadline {
			return nil, fieldErr("deadline", "%s", rej.Msg)
		}
		if errors.As(err, &rej) {
			return nil, fieldErr("change", "%s", rej.Msg)
		}
		return nil, fieldErr("change", "%v", err)
	}
	return p, nil
}

// tsaProposal fills p, of a TSA kind, from the request's tsa fields.
func (r *ProposalRequest) tsaProposal(p *ledger.Proposal) (*ledger.Proposal, error) {
	kind := p.Change.Kind
	switch {
	case r.Member != "" || r.Role != "" || r.Power != nil || len(r.Keys) > 0 || len(r.Validator) > 0 || r.Node != "" || r.Peer != "" || len(r.Addrs) > 0:
		return nil, fieldErr("member", "a change of kind %s names a TSA (tsa), not a member", kind)
	case r.TSA == "":
		return nil, fieldErr("tsa", "name the TSA the change is about")
	case kind == ledger.ChangeRemoveTSA && (len(r.TSACert) > 0 || len(r.TSAHashes) > 0):
		return nil, fieldErr("tsa_cert", "a change of kind remove-tsa takes the TSA's name only")
	case kind == ledger.ChangeAddTSA && len(r.TSACert) == 0:
		return nil, fieldErr("tsa_cert", "a change of kind add-tsa needs the TSA's DER certificate")
	case kind == ledger.ChangeAddTSA && len(r.TSAHashes) == 0:
		return nil, fieldErr("tsa_hashes", "a change of kind add-tsa needs the TSA's hash algorithms (sm3, sha256)")
	}
	p.Change.TSA = ledger.TSA{Name: r.TSA}
	if kind == ledger.ChangeAddTSA {
		hs, err := ledger.ParseTSAHashes(strings.Join(r.TSAHashes, ","))
		if err != nil {
			return nil, fieldErr("tsa_hashes", "%v", err)
		}
		p.Change.TSA.Cert, p.Change.TSA.Hashes = slices.Clone(r.TSACert), hs
		if err := p.Change.TSA.Validate(); err != nil {
			return nil, fieldErr("tsa_cert", "%v", err)
		}
	}
	if _, err := ledger.EncodeBody(&ledger.Body{ChainID: "c", Payload: p}); err != nil {
		return nil, fieldErr("change", "%v", err)
	}
	return p, nil
}

// ProposalRequestOf is the request that asks for p (its inverse).
func ProposalRequestOf(p *ledger.Proposal) ProposalRequest {
	st := &p.Change.Seat
	r := ProposalRequest{Change: p.Change.Kind.String(), Member: st.Name, Deadline: p.Deadline, Reason: p.Reason}
	for _, k := range st.Keys {
		r.Keys = append(r.Keys, k.Bytes())
	}
	if len(st.Validator) > 0 {
		r.Validator = slices.Clone(st.Validator)
	}
	switch p.Change.Kind {
	case ledger.ChangeAdd:
		power := st.Power
		r.Role, r.Power, r.Node, r.Peer, r.Addrs = st.Role.String(), &power, st.Node.String(), st.Peer, slices.Clone(st.Addrs)
	case ledger.ChangeRotate:
		r.Node, r.Peer, r.Addrs = st.Node.String(), st.Peer, slices.Clone(st.Addrs)
	case ledger.ChangeSetPower:
		power := st.Power
		r.Power = &power
	case ledger.ChangeSetRole:
		r.Role = st.Role.String()
	case ledger.ChangeAddTSA:
		t := &p.Change.TSA
		r.Member, r.TSA, r.TSACert, r.TSAHashes = "", t.Name, slices.Clone(t.Cert), slices.Clone(t.Hashes)
	case ledger.ChangeRemoveTSA:
		r.Member, r.TSA = "", p.Change.TSA.Name
	}
	return r
}

// VoteRequest is the body of POST /v1/proposals/{index}/votes.
type VoteRequest struct {
	Decision string `json:"decision"` // approve or reject
}

// Tally is the voting power for and against a proposal, and the power of
// the roster version it is counted in: a proposal passes when Approve*3 >
// Total*2, and is rejected when Reject*3 >= Total.
type Tally struct {
	Approve uint64 `json:"approve"`
	Reject  uint64 `json:"reject"`
	Total   uint64 `json:"total"`
}

// GovernResult answers POST /v1/proposals and POST
// /v1/proposals/{index}/votes: the committed transaction (as SubmitResult)
// and where the proposal stands after it.
type GovernResult struct {
	TxID   crypto.Hash `json:"tx_id"`
	Status string      `json:"status"` // StatusCommitted
	Code   ledger.Code `json:"code"`
	Index  uint64      `json:"index"` // the entry of the propose or vote
	Height int64       `json:"height"`
	Time   time.Time   `json:"time"`
	Signer string      `json:"signer"` // the member that proposed or voted
	Type   string      `json:"type"`   // propose or vote

	Proposal       uint64 `json:"proposal"`      // the proposal's entry index
	Change         string `json:"change"`        // its kind
	Member         string `json:"member"`        // the member it is about
	TSA            string `json:"tsa,omitempty"` // the TSA it is about (add-tsa, remove-tsa)
	Deadline       uint64 `json:"deadline"`
	Decision       string `json:"decision,omitempty"` // the vote's, for a vote
	ProposalStatus string `json:"proposal_status"`    // open, passed, rejected, failed, expired
	Tally          Tally  `json:"tally"`
	Version        uint32 `json:"version,omitempty"` // the roster version it made, once passed
}

// Proposal is a roster proposal as committed (GET /v1/proposals/{index}).
type Proposal struct {
	Proposal uint64 `json:"proposal"` // the entry index of the propose transaction
	Proposer string `json:"proposer"`
	Height   int64  `json:"height"` // the block that took it
	ledger.ProposalDetails
	Addrs   []string `json:"addrs,omitempty"` // add, rotate: the libp2p addresses
	Status  string   `json:"status"`          // open, passed, rejected, failed, expired
	Failure string   `json:"failure,omitempty"`
	// FailureCode is the code of the rule a failed proposal broke.
	FailureCode ledger.Code `json:"failure_code,omitempty"`
	Decided     uint64      `json:"decided,omitempty"` // the entry of the vote that decided it
	Version     *uint32     `json:"version,omitempty"` // the roster version it made (passed)
	Votes       []VoteInfo  `json:"votes"`
	Tally       Tally       `json:"tally"`
}

// VoteInfo is one member's vote on a proposal, with the member's power in
// the roster version the tally is counted in.
type VoteInfo struct {
	Member   string `json:"member"`
	Decision string `json:"decision"`
	Entry    uint64 `json:"entry"`
	Power    uint64 `json:"power"`
}

// ProposalsResponse is GET /v1/proposals: newest first. Next, when set, is
// the before parameter of the next page.
type ProposalsResponse struct {
	Proposals []Proposal `json:"proposals"`
	Next      uint64     `json:"next,omitempty"`
}

// RosterVersion is a roster version (GET /v1/roster/versions/{n}); Seats
// is set only by that endpoint.
type RosterVersion struct {
	Version  uint32       `json:"version"`
	Digest   crypto.Hash  `json:"digest"`
	From     *int64       `json:"from,omitempty"` // first block height whose validators are this version's; absent while pending
	Attested uint64       `json:"attested,omitempty"`
	Proposal uint64       `json:"proposal,omitempty"` // 0 for genesis
	Entry    uint64       `json:"entry,omitempty"`    // its roster entry; 0 for genesis
	Pending  bool         `json:"pending"`
	InForce  bool         `json:"in_force"`
	Power    uint64       `json:"power"`
	Members  int          `json:"members"`
	Seats    []Seat       `json:"seats,omitempty"`
	TSAs     []ledger.TSA `json:"tsas,omitempty"` // the trusted time-stamping authorities
}

// RosterVersionsResponse is GET /v1/roster/versions, oldest first.
type RosterVersionsResponse struct {
	Versions []RosterVersion `json:"versions"`
	Latest   uint32          `json:"latest"`
	InForce  uint32          `json:"in_force"`
}

// Seat is a member's seat in a roster version, and the seat file that
// `evidenced join` (HOME/seat.json) and `evidenced keys rotate`
// (HOME/rotate-seat.json) write: what a proposal to add the member, or to
// rotate its key, needs (power aside).
type Seat struct {
	Name      string      `json:"name"`
	Role      ledger.Role `json:"role"`
	Power     *uint64     `json:"power,omitempty"` // in a roster version; absent from a seat file
	Keys      []HexBytes  `json:"keys"`            // member key first
	Validator HexBytes    `json:"validator,omitempty"`
	Node      string      `json:"node"`
	Peer      string      `json:"peer,omitempty"`
	Addrs     []string    `json:"addrs,omitempty"`
}

// MaxSeatFile bounds a seat file.
const MaxSeatFile = 64 << 10

// ParseSeat decodes a seat file strictly: known fields only, one object,
// a name, a member key and a node id.
func ParseSeat(data []byte) (*Seat, error) {
	if len(data) > MaxSeatFile {
		return nil, fmt.Errorf("a seat file is at most %d bytes, this one %d", MaxSeatFile, len(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Seat
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a seat file (as `evidenced join` writes): %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a seat file: data after the JSON object")
	}
	switch {
	case s.Name == "":
		return nil, errors.New("the seat file names no member (name)")
	case len(s.Keys) == 0:
		return nil, errors.New("the seat file holds no member key (keys)")
	case s.Node == "":
		return nil, errors.New("the seat file names no CometBFT node id (node)")
	case !s.Role.Valid():
		return nil, errors.New("the seat file names no role (role: bank, notary, arbitration, court or regulator)")
	case len(s.Keys) > ledger.MaxMemberKeys:
		return nil, fmt.Errorf("the seat file holds %d keys, more than a member's %d", len(s.Keys), ledger.MaxMemberKeys)
	case len(s.Validator) != 0 && len(s.Validator) != ledger.ConsensusKeySize:
		return nil, fmt.Errorf("the seat file's validator key is %d bytes, want %d", len(s.Validator), ledger.ConsensusKeySize)
	}
	for i, k := range s.Keys {
		if _, err := crypto.ParsePublicKey(k); err != nil {
			return nil, fmt.Errorf("the seat file's key %d: %w", i, err)
		}
	}
	if _, err := ledger.ParseNodeID(s.Node); err != nil {
		return nil, fmt.Errorf("the seat file's node: %w", err)
	}
	return &s, nil
}

// SeatOf returns the public form of seat st.
func SeatOf(st *ledger.Seat) Seat {
	power := st.Power
	out := Seat{Name: st.Name, Role: st.Role, Power: &power, Node: st.Node.String(), Peer: st.Peer, Addrs: slices.Clone(st.Addrs)}
	if st.Node == (ledger.NodeID{}) {
		out.Node = ""
	}
	for _, k := range st.Keys {
		out.Keys = append(out.Keys, k.Bytes())
	}
	if len(st.Validator) > 0 {
		out.Validator = slices.Clone(st.Validator)
	}
	return out
}

// Propose asks the node to sign the proposal with its member key and
// submit it (POST /v1/proposals, bearer token with scope govern); it
// waits for the commit.
func (c *Client) Propose(ctx context.Context, p ProposalRequest) (*GovernResult, error) {
	var r GovernResult
	if err := c.postJSON(ctx, c.endpoint(nil, "proposals"), p, &r); err != nil {
		return nil, fmt.Errorf("propose: %w", err)
	}
	return &r, nil
}

// Vote asks the node to vote on proposal index with its member key
// (POST /v1/proposals/{index}/votes, scope govern); decision is approve
// or reject.
func (c *Client) Vote(ctx context.Context, index uint64, decision string) (*GovernResult, error) {
	var r GovernResult
	if err := c.postJSON(ctx, c.endpoint(nil, "proposals", strconv.FormatUint(index, 10), "votes"), VoteRequest{Decision: decision}, &r); err != nil {
		return nil, fmt.Errorf("vote on proposal %d: %w", index, err)
	}
	return &r, nil
}

// Proposals lists proposals newest first (GET /v1/proposals): status
// filters (open, passed, rejected, failed, expired; "" for all), before
// pages (0 from the newest), limit bounds the page (0: the node's default).
func (c *Client) Proposals(ctx context.Context, status string, before uint64, limit int) (*ProposalsResponse, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if before > 0 {
		q.Set("before", strconv.FormatUint(before, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var r ProposalsResponse
	if err := c.get(ctx, c.endpoint(q, "proposals"), &r); err != nil {
		return nil, fmt.Errorf("proposals: %w", err)
	}
	return &r, nil
}

// ProposalInfo returns proposal index (GET /v1/proposals/{index}).
func (c *Client) ProposalInfo(ctx context.Context, index uint64) (*Proposal, error) {
	var r Proposal
	if err := c.get(ctx, c.endpoint(nil, "proposals", strconv.FormatUint(index, 10)), &r); err != nil {
		return nil, fmt.Errorf("proposal %d: %w", index, err)
	}
	return &r, nil
}

// RosterVersions lists the roster versions (GET /v1/roster/versions).
func (c *Client) RosterVersions(ctx context.Context) (*RosterVersionsResponse, error) {
	var r RosterVersionsResponse
	if err := c.get(ctx, c.endpoint(nil, "roster", "versions"), &r); err != nil {
		return nil, fmt.Errorf("roster versions: %w", err)
	}
	return &r, nil
}

// RosterVersion returns roster version n with its seats
// (GET /v1/roster/versions/{n}).
func (c *Client) RosterVersion(ctx context.Context, n uint32) (*RosterVersion, error) {
	var r RosterVersion
	if err := c.get(ctx, c.endpoint(nil, "roster", "versions", strconv.FormatUint(uint64(n), 10)), &r); err != nil {
		return nil, fmt.Errorf("roster version %d: %w", n, err)
	}
	return &r, nil
}

// RosterOf returns roster version n as a roster file holds it
// (GET /v1/roster?version=N).
func (c *Client) RosterOf(ctx context.Context, n uint32) (*ledger.Roster, crypto.Hash, error) {
	q := url.Values{}
	q.Set("version", strconv.FormatUint(uint64(n), 10))
	var r RosterResponse
	if err := c.get(ctx, c.endpoint(q, "roster"), &r); err != nil {
		return nil, crypto.Hash{}, fmt.Errorf("roster version %d: %w", n, err)
	}
	return &r.Roster, r.Digest, nil
}

// postJSON posts v as JSON to u and decodes the answer into out; it never
// retries.
func (c *Client) postJSON(ctx context.Context, u string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}
