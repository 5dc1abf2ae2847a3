package ledger

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// The revoke transaction (TxRevoke): the maker of a grant withdraws it.
// Payload encoding:
//
//	Revoke = u64 entry of the grant

var revokeType = TxTypeInfo{
	Type: TxRevoke, Name: "revoke", Title: "Revocation",
	Doc:    "the maker of a grant withdraws it",
	Origin: OriginMember, Roles: []Role{RoleBank},
	RoleRule: "owns no evidence, so it may not grant or revoke access; owners (banks) do",
	JSONKey:  "custody", NewDetails: func() Details { return &Revoke{} },
	Example: func() Payload { return &Revoke{Grant: 8} },
	decode: func(s *cryptobyte.String) (Payload, error) {
		r := &Revoke{}
		if !s.ReadUint64(&r.Grant) {
			return nil, reject(CodeMalformed, "revoke is truncated")
		}
		return r, nil
	},
}

// Revoke is the payload of TxRevoke, and its public form.
type Revoke struct {
	Grant uint64 `json:"grant"` // entry index of the grant withdrawn
}

// TxType implements Payload.
func (*Revoke) TxType() TxType { return TxRevoke }

// Details implements Payload: the revoke is its own public form.
func (r *Revoke) Details() Details { return r }

// Fields implements Details.
func (r *Revoke) Fields() []Field { return []Field{{Name: "grant", Kind: FieldEntry, Value: r.Grant}} }

// Summary implements Details.
func (r *Revoke) Summary() (string, []Field) {
	return "revokes the grant of entry %d", r.Fields()
}

func (r *Revoke) encode(b *cryptobyte.Builder) { b.AddUint64(r.Grant) }

func (*Revoke) validate() error { return nil }

// writeCost: the grant record is rewritten.
func (*Revoke) writeCost() int { return custodyCostOne }

func (r *Revoke) check(c *txContext) (*RejectError, error) {
	gr, err := c.s.grant(r.Grant)
	if err != nil {
		return nil, err
	}
	switch {
	case gr == nil:
		return reject(CodeNoGrant, "entry %d is not a grant", r.Grant), nil
	case gr.Owner != c.Member:
		return reject(CodeChainOwner, "grant %d was made by %s, not %s: only its maker revokes it", r.Grant, gr.Owner, c.Member), nil
	case gr.RevokedBy != 0:
		return reject(CodeNoGrant, "grant %d was already revoked at entry %d", r.Grant, gr.RevokedBy-1), nil
	}
	return nil, nil
}

func (r *Revoke) stage(c *txContext) error {
	gr, err := c.s.grant(r.Grant)
	if err != nil {
		return err
	}
	if gr == nil {
		return fmt.Errorf("%w: grant %d vanished between check and stage", ErrStoreCorrupt, r.Grant)
	}
	gr.RevokedBy = c.Index + 1
	c.s.set(keyU64(prefixGrant, r.Grant), gr.encode())
	return nil
}
