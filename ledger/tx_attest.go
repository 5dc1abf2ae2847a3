package ledger

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// The attest transaction (TxAttest): a witness member's signed statement
// about committed records. Payload encoding:
//
//	Attestation = u8-prefixed statement ‖ u16 count ‖ count × (u64 entry ‖
//	              u16 position) ‖ 32-byte document commitment ‖
//	              u16-prefixed UTF-8 note

var attestType = TxTypeInfo{
	Type: TxAttest, Name: "attest", Title: "Attestation",
	Doc:    "a notary, arbitration centre or court states something about committed records (notarised, reviewed, …)",
	Origin: OriginMember, Roles: []Role{RoleNotary, RoleArbitration, RoleCourt},
	RoleRule: "may not attest; only notary, arbitration and court members do",
	JSONKey:  "attestation", NewDetails: func() Details { return &Attestation{} },
	Example: func() Payload {
		return &Attestation{Statement: "notarised", Targets: []RecordRef{{Index: 6}, {Index: 7, Pos: 1}},
			Document: crypto.SM3([]byte("example notarial certificate")), Note: "(2026)沪东证字第1234号"}
	},
	decode: decodeAttestation,
}

// Attestation is the payload of TxAttest, and its public form.
type Attestation struct {
	Statement string      `json:"statement"`         // e.g. "notarised", "reviewed", "certificate-issued"
	Targets   []RecordRef `json:"targets"`           // strictly increasing
	Document  crypto.Hash `json:"document,omitzero"` // optional commitment of a certificate or report; zero if none
	Note      string      `json:"note"`              // non-personal free text (CheckText), e.g. a certificate number
}

// TxType implements Payload.
func (*Attestation) TxType() TxType { return TxAttest }

// Details implements Payload: the attestation is its own public form.
func (a *Attestation) Details() Details { return a }

// Fields implements Details.
func (a *Attestation) Fields() []Field {
	fs := []Field{{Name: "statement", Kind: FieldIdent, Value: a.Statement}, {Name: "targets", Kind: FieldRecords, Value: a.Targets}}
	if a.Document != (crypto.Hash{}) {
		fs = append(fs, Field{Name: "document", Kind: FieldHash, Value: a.Document})
	}
	if a.Note != "" {
		fs = append(fs, Field{Name: "note", Kind: FieldText, Value: a.Note, Private: true})
	}
	return fs
}

// Summary implements Details.
func (a *Attestation) Summary() (string, []Field) {
	return "%s, %d records", []Field{{Name: "statement", Kind: FieldIdent, Value: a.Statement},
		{Name: "targets", Kind: FieldNumber, Value: uint64(len(a.Targets))}}
}

func (a *Attestation) encode(b *cryptobyte.Builder) {
	addString8(b, a.Statement)
	b.AddUint16(uint16(len(a.Targets)))
	for _, t := range a.Targets {
		b.AddUint64(t.Index)
		b.AddUint16(t.Pos)
	}
	b.AddBytes(a.Document[:])
	b.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes([]byte(a.Note)) })
}

func decodeAttestation(s *cryptobyte.String) (Payload, error) {
	a := &Attestation{}
	var n uint16
	if !readString8(s, &a.Statement) || !s.ReadUint16(&n) {
		return nil, reject(CodeMalformed, "attestation is truncated")
	}
	if int(n) > MaxTargets {
		return nil, reject(CodeTooLarge, "attestation names %d records, more than %d", n, MaxTargets)
	}
	if len(*s) < 10*int(n) {
		return nil, reject(CodeMalformed, "attestation targets are truncated")
	}
	a.Targets = make([]RecordRef, n)
	for i := range a.Targets {
		if !s.ReadUint64(&a.Targets[i].Index) || !s.ReadUint16(&a.Targets[i].Pos) {
			return nil, reject(CodeMalformed, "attestation target %d is truncated", i)
		}
	}
	var note cryptobyte.String
	if !s.CopyBytes(a.Document[:]) || !s.ReadUint16LengthPrefixed(&note) {
		return nil, reject(CodeMalformed, "attestation is truncated")
	}
	a.Note = string(note)
	return a, nil
}

func (a *Attestation) validate() error {
	if err := checkIdent("statement", a.Statement, MaxKindLen, identKind); err != nil {
		return err
	}
	if len(a.Targets) == 0 {
		return reject(CodeMalformed, "attestation names no records")
	}
	if len(a.Targets) > MaxTargets {
		return reject(CodeTooLarge, "attestation names %d records, more than %d", len(a.Targets), MaxTargets)
	}
	for i := 1; i < len(a.Targets); i++ {
		if !a.Targets[i-1].less(a.Targets[i]) {
			return reject(CodeMalformed, "attestation targets must be strictly increasing (target %d)", i)
		}
	}
	if e := checkText("note", a.Note, MaxNoteLen); e != nil {
		return e
	}
	return nil
}

// writeCost: one index write ('a') per target.
func (a *Attestation) writeCost() int { return len(a.Targets) }

func (a *Attestation) check(c *txContext) (*RejectError, error) {
	for i, t := range a.Targets {
		_, e, err := c.s.record(t)
		if err != nil {
			return nil, err
		}
		if e != nil {
			e.Msg = fmt.Sprintf("target %d: %s", i, e.Msg)
			return e, nil
		}
	}
	return nil, nil
}

func (a *Attestation) stage(c *txContext) error {
	for _, t := range a.Targets {
		c.s.set(keyAttested(t, c.Index), nil)
	}
	return nil
}
