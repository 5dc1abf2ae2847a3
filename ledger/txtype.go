package ledger

import (
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// TxType says what a transaction does. Numbers are part of the wire format:
// never reuse one.
type TxType uint8

// Transaction types. Each has one file that owns its payload (tx_*.go, and
// checkpoint.go for TxCheckpoint) and one row in txTypes below.
const (
	TxEvidence   TxType = 1  // one evidence record, signed by a bank key
	TxBatch      TxType = 2  // many evidence records under one signature
	TxAttest     TxType = 3  // an attestation by a notary, arbitration centre or court
	TxRegister   TxType = 4  // a member registration; valid only in the genesis roster
	TxCheckpoint TxType = 5  // validators' co-signatures on a checkpoint, put in a block by its proposer
	TxGrant      TxType = 6  // the owner of records gives a member access to their originals
	TxRevoke     TxType = 7  // the owner withdraws a grant
	TxAccess     TxType = 8  // a member logs its retrieval of an original (chain of custody)
	TxPropose    TxType = 9  // a member proposes a change to the roster
	TxVote       TxType = 10 // a member votes on a roster proposal
	TxRoster     TxType = 11 // the ledger's record of a roster version a proposal made
	TxTimestamp  TxType = 12 // an RFC 3161 token of a trusted TSA over a trusted checkpoint
	TxRequest    TxType = 13 // a court or arbitration centre asks an owner for originals (调取)
	TxRefuse     TxType = 14 // the owner declines a retrieval request, with a reason
)

// Origin says where transactions of a type come from.
type Origin uint8

// Origins of transactions.
const (
	// OriginMember: signed with a registered member key and submitted to
	// the mempool; accepted ones become log entries.
	OriginMember Origin = iota
	// OriginGenesis: only in the genesis roster, as log entries at height
	// 0 signed by nobody; refused in blocks with CodeGenesisOnly.
	OriginGenesis
	// OriginProposer: built by block proposers (from vote extensions) and
	// put in blocks unsigned; refused from the mempool with
	// CodeProposerOnly. They are state, not log entries.
	OriginProposer
	// OriginLedger: log entries the ledger appends itself as an effect of
	// another transaction, signed by nobody; refused in blocks with
	// CodeLedgerOnly.
	OriginLedger
)

// Payload is what a transaction carries. There is one payload type per
// transaction type; it owns, in its own file, the payload's encoding, its
// validation, its write cost, its check against committed state and its
// state changes. The roles that may sign it and the rest of what other
// packages derive (names, JSON, display) are its row in the registry
// (TxTypes). The interface is sealed: payload types live in this package.
type Payload interface {
	// TxType returns the transaction type the payload belongs to.
	TxType() TxType
	// Details returns the payload's public form (see Details), or nil
	// when the payload shows nothing beyond its evidence records.
	Details() Details

	// encode appends the payload's canonical bytes.
	encode(b *cryptobyte.Builder)
	// validate checks the payload alone (no state): ranges, orders,
	// character sets. Decoding and encoding both run it.
	validate() error
	// writeCost is the most state writes accepting the payload makes
	// beyond its log entry's own (entryCost); see MaxBlockWrites.
	writeCost() int
	// check validates the payload against the staged state; a rejection
	// is a *RejectError, an infrastructure failure an error. It runs
	// after the common checks (chain id, time window, duplicate,
	// signature, role) and stages nothing.
	check(c *txContext) (*RejectError, error)
	// stage writes the payload's state changes; c.Index and c.Leaf name
	// the log entry just appended for it.
	stage(c *txContext) error
}

// TxTypeInfo is one row of the registry of transaction types: everything
// about a type that is not in its payload's methods. Other packages derive
// from it what they show of each type (API JSON, event types, the
// explorer's pages, the CLI's text, the OpenAPI enums); tests in those
// packages walk TxTypes and fail when one lacks a type.
type TxTypeInfo struct {
	Type  TxType
	Name  string // stable snake_case name in the API, events and the CLI: "grant"
	Title string // English title for people: "Grant"
	Doc   string // what the transaction does, one line
	// Origin is where transactions of the type come from.
	Origin Origin
	// Roles may sign it (OriginMember only), and RoleRule says so in
	// words after "a <role> member ", for the role_not_allowed message.
	Roles    []Role
	RoleRule string
	// StateOnly: accepted transactions of the type (OriginMember) change
	// state and append no log entry. The timestamp transaction is one: a
	// token is a statement about a checkpoint, kept beside it as its
	// co-signatures are, so record indexes never depend on when a TSA
	// answered, and a token never makes a new checkpoint to stamp.
	StateOnly bool
	// JSONKey is the key of the payload's Details in the API's JSON form
	// of an entry ("" when it has none).
	JSONKey string
	// NewDetails returns an empty Details value of the type's JSON form,
	// for decoding it (nil when JSONKey is "").
	NewDetails func() Details
	// Example returns a valid payload of the type, for documentation and
	// for the tests that walk the registry.
	Example func() Payload

	decode func(s *cryptobyte.String) (Payload, error)
}

// Entry reports whether accepted transactions of the type become log
// entries (every type but the proposers' checkpoints and the StateOnly
// timestamps).
func (i *TxTypeInfo) Entry() bool { return i.Origin != OriginProposer && !i.StateOnly }

// txTypes is the registry, indexed by type number. The rows are in the
// payloads' files.
var txTypes = [...]*TxTypeInfo{
	TxEvidence:   &evidenceType,
	TxBatch:      &batchType,
	TxAttest:     &attestType,
	TxRegister:   &registerType,
	TxCheckpoint: &checkpointType,
	TxGrant:      &grantType,
	TxRevoke:     &revokeType,
	TxAccess:     &accessType,
	TxPropose:    &proposeType,
	TxVote:       &voteType,
	TxRoster:     &rosterType,
	TxTimestamp:  &timestampType,
	TxRequest:    &requestType,
	TxRefuse:     &refuseType,
}

// TxTypes returns the registry of transaction types in type-number order.
// The rows are shared: do not modify them.
func TxTypes() []*TxTypeInfo {
	out := make([]*TxTypeInfo, 0, len(txTypes))
	for _, i := range txTypes {
		if i != nil {
			out = append(out, i)
		}
	}
	return out
}

// Info returns the registry row of t, or nil for a type this code does not
// know (and for TxBundle, which is not a transaction type of a body).
func (t TxType) Info() *TxTypeInfo {
	if int(t) < len(txTypes) {
		return txTypes[t]
	}
	return nil
}

// TxTypeNamed returns the registry row of the type called name, or nil.
func TxTypeNamed(name string) *TxTypeInfo {
	for _, i := range txTypes {
		if i != nil && i.Name == name {
			return i
		}
	}
	return nil
}

// String returns the type's name as used in the CLI and API.
func (t TxType) String() string {
	if i := t.Info(); i != nil {
		return i.Name
	}
	if t == TxBundle {
		return "bundle"
	}
	return fmt.Sprintf("type_%d", uint8(t))
}

// allowed reports whether a member of role r may sign a transaction of type
// info.
func (i *TxTypeInfo) allowed(r Role) *RejectError {
	if i.Origin != OriginMember {
		return reject(CodeUnsupported, "transaction type %s is not accepted in blocks", i.Name)
	}
	if slices.Contains(i.Roles, r) {
		return nil
	}
	return reject(CodeRoleNotAllowed, "a %s member %s", r, i.RoleRule)
}

// allRoles is every role, for types any member may sign.
var allRoles = []Role{RoleBank, RoleNotary, RoleArbitration, RoleCourt, RoleRegulator}

// CarriesRecords reports whether transactions of the type carry evidence
// records (Body.EvidenceRecords), which receipts prove.
func (i *TxTypeInfo) CarriesRecords() bool {
	_, ok := i.Example().(recordHolder)
	return ok
}
