package ledger

import (
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// The roster transaction (TxRoster): the ledger's own record of a roster
// version, appended right after the vote that passed the proposal making
// it. It holds the whole roster, so that a verifier holding the version
// before can rebuild this one from the entry alone, once a checkpoint its
// predecessor co-signed proves the entry (receipts carry that path). Never
// submitted: a transaction of this type in a block is refused
// (CodeLedgerOnly). Payload encoding:
//
//	RosterUpdate = u32 version ‖ u64 proposal entry ‖ 32-byte roster digest ‖
//	               u8 count ‖ seats, sorted by name ‖
//	               [u8 count ‖ TSAs, sorted by name: only when the version names TSAs]
//
// An entry whose version names no TSAs has the bytes it had before rosters
// named TSAs.

var rosterType = TxTypeInfo{
	Type: TxRoster, Name: "roster", Title: "Roster version",
	Doc:     "the ledger's record of a roster version a proposal made: the whole roster and its digest; it takes effect once a checkpoint co-signed by the version before covers it",
	Origin:  OriginLedger,
	JSONKey: "roster", NewDetails: func() Details { return &RosterDetails{} },
	Example: func() Payload {
		return &RosterUpdate{Version: 1, Proposal: 9, Seats: []Seat{{Member: Member{Name: "bank-a", Role: RoleBank, Power: 10,
			Keys: []*crypto.PublicKey{exampleKey("example member key")}}, Validator: make([]byte, ConsensusKeySize), Node: NodeID{2}}}}
	},
	decode: func(s *cryptobyte.String) (Payload, error) {
		u := &RosterUpdate{}
		var n uint8
		if !s.ReadUint32(&u.Version) || !s.ReadUint64(&u.Proposal) || !s.CopyBytes(u.Digest[:]) || !s.ReadUint8(&n) {
			return nil, reject(CodeMalformed, "roster entry is truncated")
		}
		if len(*s) < int(n)*minSeatBytes {
			return nil, reject(CodeMalformed, "roster entry of %d members is truncated", n)
		}
		for i := 0; i < int(n); i++ {
			st, err := readSeat(s)
			if err != nil {
				return nil, err
			}
			u.Seats = append(u.Seats, *st)
		}
		tsas, err := readTSAs(s)
		if err != nil {
			return nil, err
		}
		u.TSAs = tsas
		return u, nil
	},
}

// RosterUpdate is the payload of TxRoster: roster version Version, made by
// the proposal at entry Proposal, whole.
type RosterUpdate struct {
	Version  uint32
	Proposal uint64
	Digest   crypto.Hash // Roster.Digest of the version (a verifier recomputes it)
	Seats    []Seat      // sorted by name
	TSAs     []TSA       // sorted by name; nil when the version names none
}

// TxType implements Payload.
func (*RosterUpdate) TxType() TxType { return TxRoster }

func (u *RosterUpdate) encode(b *cryptobyte.Builder) {
	b.AddUint32(u.Version)
	b.AddUint64(u.Proposal)
	b.AddBytes(u.Digest[:])
	b.AddUint8(uint8(len(u.Seats)))
	for i := range u.Seats {
		addSeat(b, &u.Seats[i])
	}
	addTSAs(b, u.TSAs)
}

func (u *RosterUpdate) validate() error {
	if u.Version == 0 {
		return reject(CodeMalformed, "roster version 0 is the genesis roster; entries hold later ones")
	}
	if err := validateSeats(u.Seats); err != nil {
		return err
	}
	return ValidateTSAs(u.TSAs)
}

// writeCost is 0: roster entries are the ledger's, inside a vote's cost.
func (*RosterUpdate) writeCost() int { return 0 }

// check is never reached: the pipeline refuses OriginLedger types.
func (*RosterUpdate) check(*txContext) (*RejectError, error) {
	return reject(CodeLedgerOnly, "roster entries are written by the ledger"), nil
}

// stage does nothing: the vote that passed the proposal staged the version.
func (*RosterUpdate) stage(*txContext) error { return nil }

// Roster returns the version as a verifier holds it.
func (u *RosterUpdate) Roster(chainID string) *Roster {
	return (&rosterVersion{Seats: u.Seats, TSAs: u.TSAs}).roster(chainID)
}

// RosterDetails is the public form of a roster entry.
type RosterDetails struct {
	Version  uint32         `json:"version"`
	Proposal uint64         `json:"proposal"` // the proposal's entry
	Digest   crypto.Hash    `json:"digest"`   // the roster's digest (Roster.Digest)
	Members  []RosterMember `json:"members"`
	TSAs     []TSA          `json:"tsas,omitempty"` // the trusted time-stamping authorities
}

// Details implements Payload.
func (u *RosterUpdate) Details() Details {
	d := &RosterDetails{Version: u.Version, Proposal: u.Proposal, Digest: u.Digest}
	r := u.Roster("")
	d.Members, d.TSAs = r.Members, r.TSAs
	return d
}

// Fields implements Details.
func (d *RosterDetails) Fields() []Field {
	names := make([]string, len(d.Members))
	for i, m := range d.Members {
		names[i] = m.Name
	}
	fs := []Field{{Name: "version", Kind: FieldNumber, Value: uint64(d.Version)}, {Name: "proposal", Kind: FieldEntry, Value: d.Proposal},
		{Name: "digest", Kind: FieldHash, Value: d.Digest}, {Name: "members", Kind: FieldText, Value: strings.Join(names, ", ")}}
	if len(d.TSAs) > 0 {
		tsas := make([]string, len(d.TSAs))
		for i := range d.TSAs {
			tsas[i] = d.TSAs[i].Name + " (" + strings.Join(d.TSAs[i].Hashes, ",") + ")"
		}
		fs = append(fs, Field{Name: "tsas", Kind: FieldText, Value: strings.Join(tsas, ", ")})
	}
	return fs
}

// Summary implements Details.
func (d *RosterDetails) Summary() (string, []Field) {
	return "roster version %d, %d members", []Field{{Name: "version", Kind: FieldNumber, Value: uint64(d.Version)},
		{Name: "members", Kind: FieldNumber, Value: uint64(len(d.Members))}}
}

// appendLedgerTx appends the ledger's own transaction carrying p (unsigned,
// signed by nobody) as the next log entry of block b, and returns its index.
func (l *Ledger) appendLedgerTx(s *state, b Block, p Payload) (uint64, error) {
	body, err := EncodeBody(&Body{ChainID: s.params.ChainID, Time: b.Time, Payload: p})
	if err != nil {
		return 0, err
	}
	raw, err := EncodeTx(body, nil)
	if err != nil {
		return 0, err
	}
	idx, _, err := s.appendEntry((&Entry{Height: b.Height, Time: b.Time, TxBytes: raw}).Encode())
	if err != nil {
		return 0, err
	}
	id := crypto.SM3(body)
	s.set(keyBytes(prefixTxID, id[:]), u64(idx))
	return idx, nil
}
