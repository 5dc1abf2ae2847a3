package ledger

import (
	"encoding/hex"
	"fmt"
)

// Details is the public form of a transaction's payload: what the API puts
// in an entry's JSON (under its type's TxTypeInfo.JSONKey; the value
// marshals with encoding/json), and what the explorer and the CLI show of
// it, field by field, without knowing the type. It never holds a secret
// (no wrapped key, no salt).
type Details interface {
	// Fields lists the details in display order. An optional value that
	// is absent (no expiry, no document) is left out.
	Fields() []Field
	// Summary describes the transaction in one line for lists: a format
	// in English with one fmt verb per argument, and the arguments. The
	// explorer translates the format by the type's name ("row.<name>").
	Summary() (format string, args []Field)
}

// Field is one named value of a payload's details.
type Field struct {
	// Name is snake_case: the JSON key, and the key of the label the
	// explorer and the CLI show ("grantee").
	Name  string
	Kind  FieldKind
	Value any // of the Go type its Kind names
	// Private marks free text a member wrote (an attestation's note): the
	// public explorer does not show it; the API and the CLI do.
	Private bool
}

// FieldKind says what a Field's value is, and so how to show it and what
// it links to.
type FieldKind uint8

// Field kinds, with the Go type of Field.Value.
const (
	FieldText    FieldKind = iota // string: free text
	FieldIdent                    // string: an identifier (a statement, a kind), shown as code
	FieldNumber                   // uint64
	FieldTime                     // time.Time, UTC
	FieldHash                     // crypto.Hash
	FieldMember                   // string: a member's name
	FieldRole                     // Role
	FieldChain                    // string: an evidence-chain id
	FieldRecords                  // []RecordRef
	FieldEntry                    // uint64: a log entry index
	FieldKeys                     // []HexBytes: SM2 public keys (65-byte points)
)

// Text returns the value as plain text: what the CLI prints. Record refs
// are INDEX.POS, hashes and keys lowercase hex, times RFC 3339.
func (f Field) Text() string {
	switch v := f.Value.(type) {
	case []RecordRef:
		s := ""
		for i, r := range v {
			if i > 0 {
				s += ", "
			}
			s += r.String()
		}
		return s
	case []HexBytes:
		s := ""
		for i, k := range v {
			if i > 0 {
				s += ", "
			}
			s += hex.EncodeToString(k)
		}
		return s
	case interface{ Format(string) string }: // time.Time
		return v.Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	return fmt.Sprint(f.Value)
}

// HexBytes is a byte string whose JSON (text) form is lowercase hex: public
// keys in the API, salts in sidecar files.
type HexBytes []byte

// MarshalText returns b as lowercase hex.
func (b HexBytes) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(b)))
	hex.Encode(out, b)
	return out, nil
}

// UnmarshalText sets b from hex digits (either case).
func (b *HexBytes) UnmarshalText(text []byte) error {
	out := make([]byte, hex.DecodedLen(len(text)))
	if _, err := hex.Decode(out, text); err != nil {
		return fmt.Errorf("decode hex bytes: %w", err)
	}
	*b = out
	return nil
}

// String returns b as lowercase hex.
func (b HexBytes) String() string { return hex.EncodeToString(b) }
