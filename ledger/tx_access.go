package ledger

import "golang.org/x/crypto/cryptobyte"

// The access transaction (TxAccess): a member logs, before it decrypts,
// its retrieval of one record's original, as the owner or through a live
// grant (the chain of custody). Payload encoding:
//
//	Access = u64 entry ‖ u16 position ‖ u8 via (0: the owner, 1: a grant) ‖
//	         [u64 entry of the grant]

var accessType = TxTypeInfo{
	Type: TxAccess, Name: "access", Title: "Access",
	Doc:    "a member logs its retrieval of an original, as its owner or through a live grant (chain of custody)",
	Origin: OriginMember, Roles: allRoles,
	JSONKey: "custody", NewDetails: func() Details { return &AccessDetails{} },
	Example: func() Payload { return &Access{Ref: RecordRef{Index: 6}, ViaGrant: true, Grant: 8} },
	decode:  decodeAccess,
}

// Access is the payload of TxAccess: one retrieval of a record's original.
type Access struct {
	Ref      RecordRef
	ViaGrant bool   // false: the owner retrieves its own original
	Grant    uint64 // entry index of the grant used, when ViaGrant
}

// AccessDetails is the public form of an access.
type AccessDetails struct {
	Records []RecordRef `json:"records"`         // the record retrieved
	Grant   *uint64     `json:"grant,omitempty"` // the grant used; absent when the owner retrieved it
}

// TxType implements Payload.
func (*Access) TxType() TxType { return TxAccess }

// Details implements Payload.
func (a *Access) Details() Details {
	d := &AccessDetails{Records: []RecordRef{a.Ref}}
	if a.ViaGrant {
		g := a.Grant
		d.Grant = &g
	}
	return d
}

// Fields implements Details.
func (d *AccessDetails) Fields() []Field {
	fs := []Field{{Name: "records", Kind: FieldRecords, Value: d.Records}}
	if d.Grant != nil {
		fs = append(fs, Field{Name: "grant", Kind: FieldEntry, Value: *d.Grant})
	}
	return fs
}

// Summary implements Details.
func (d *AccessDetails) Summary() (string, []Field) {
	return "retrieves the original of record %s", []Field{{Name: "records", Kind: FieldRecords, Value: d.Records}}
}

func (a *Access) encode(b *cryptobyte.Builder) {
	b.AddUint64(a.Ref.Index)
	b.AddUint16(a.Ref.Pos)
	if a.ViaGrant {
		b.AddUint8(1)
		b.AddUint64(a.Grant)
	} else {
		b.AddUint8(0)
	}
}

func decodeAccess(s *cryptobyte.String) (Payload, error) {
	a := &Access{}
	var via uint8
	if !s.ReadUint64(&a.Ref.Index) || !s.ReadUint16(&a.Ref.Pos) || !s.ReadUint8(&via) {
		return nil, reject(CodeMalformed, "access is truncated")
	}
	switch via {
	case 0:
	case 1:
		a.ViaGrant = true
		if !s.ReadUint64(&a.Grant) {
			return nil, reject(CodeMalformed, "access grant is truncated")
		}
	default:
		return nil, reject(CodeMalformed, "access via %d: 0 is the owner, 1 a grant", via)
	}
	return a, nil
}

func (a *Access) validate() error {
	if !a.ViaGrant && a.Grant != 0 {
		return reject(CodeMalformed, "an owner's access names no grant")
	}
	return nil
}

// writeCost: the custody index ('A').
func (*Access) writeCost() int { return custodyCostOne }

func (a *Access) check(c *txContext) (*RejectError, error) {
	s, member := c.s, c.Member
	_, owner, e, err := s.original(a.Ref)
	if e != nil || err != nil {
		return e, err
	}
	if !a.ViaGrant {
		if owner != member {
			return reject(CodeNoGrant, "record %d.%d belongs to %s: %s retrieves it only through a grant (name it)", a.Ref.Index, a.Ref.Pos, owner, member), nil
		}
		return nil, nil
	}
	gr, err := s.grant(a.Grant)
	if err != nil {
		return nil, err
	}
	if gr == nil || gr.Grantee != member {
		return reject(CodeNoGrant, "entry %d is not a grant to %s", a.Grant, member), nil
	}
	if !gr.live(c.Block.Time) {
		return reject(CodeNoGrant, "grant %d no longer holds (revoked or expired): ask %s for a new grant", a.Grant, gr.Owner), nil
	}
	covers, err := s.has(keyGrantOf(member, a.Ref, a.Grant))
	if err != nil {
		return nil, err
	}
	if !covers {
		return reject(CodeNoGrant, "grant %d does not cover record %d.%d", a.Grant, a.Ref.Index, a.Ref.Pos), nil
	}
	return nil, nil
}

func (a *Access) stage(c *txContext) error {
	c.s.set(keyCustody(a.Ref, c.Index), nil)
	return nil
}
