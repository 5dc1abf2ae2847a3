package ledger

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// The request transaction (TxRequest): a court or an arbitration centre
// asks the owner of a record, or of a whole evidence chain, for its
// originals (调取, docs/ARCHITECTURE.md, "Retrieval requests"). Its entry
// index is the request's id; the owner answers it with a grant naming it
// (Grant.Request) or a refusal (TxRefuse). Payload encoding:
//
//	Request = u8-prefixed chain (empty: one record) ‖ [chain empty: u64
//	          entry ‖ u16 position] ‖ u8-prefixed purpose

var requestType = TxTypeInfo{
	Type: TxRequest, Name: "request", Title: "Retrieval request",
	Doc:    "a court or arbitration centre asks the owner of a record or evidence chain for its originals, for a case",
	Origin: OriginMember, Roles: []Role{RoleCourt, RoleArbitration},
	RoleRule: "may not request originals; courts and arbitration centres do",
	JSONKey:  "request", NewDetails: func() Details { return &Request{} },
	Example: func() Payload {
		return &Request{Chain: "LOAN-2026-000001", Purpose: "(2026)沪0115民初1234号"}
	},
	decode: decodeRequest,
}

// Request is the payload of TxRequest, and its public form. It names
// either one record (Record) or one evidence chain (Chain).
type Request struct {
	Record  *RecordRef `json:"record,omitempty"` // the record requested, when not a chain
	Chain   string     `json:"chain,omitempty"`  // the evidence chain requested whole
	Purpose string     `json:"purpose"`          // why: the case number (案号), text (CheckText)
}

// TxType implements Payload.
func (*Request) TxType() TxType { return TxRequest }

// Details implements Payload: the request is its own public form.
func (r *Request) Details() Details { return r }

// Fields implements Details.
func (r *Request) Fields() []Field {
	var fs []Field
	if r.Chain != "" {
		fs = append(fs, Field{Name: "chain", Kind: FieldChain, Value: r.Chain})
	}
	if r.Record != nil {
		fs = append(fs, Field{Name: "record", Kind: FieldRecords, Value: []RecordRef{*r.Record}})
	}
	return append(fs, Field{Name: "purpose", Kind: FieldText, Value: r.Purpose})
}

// Summary implements Details.
func (r *Request) Summary() (string, []Field) {
	if r.Chain != "" {
		return "requests the originals of %s", []Field{{Name: "chain", Kind: FieldChain, Value: r.Chain}}
	}
	var ref RecordRef
	if r.Record != nil {
		ref = *r.Record
	}
	return "requests the originals of %s", []Field{{Name: "record", Kind: FieldRecords, Value: []RecordRef{ref}}}
}

func (r *Request) encode(b *cryptobyte.Builder) {
	addString8(b, r.Chain)
	if r.Chain == "" {
		var ref RecordRef
		if r.Record != nil {
			ref = *r.Record
		}
		b.AddUint64(ref.Index)
		b.AddUint16(ref.Pos)
	}
	addString8(b, r.Purpose)
}

func decodeRequest(s *cryptobyte.String) (Payload, error) {
	r := &Request{}
	if !readString8(s, &r.Chain) {
		return nil, reject(CodeMalformed, "request is truncated")
	}
	if r.Chain == "" {
		r.Record = &RecordRef{}
		if !s.ReadUint64(&r.Record.Index) || !s.ReadUint16(&r.Record.Pos) {
			return nil, reject(CodeMalformed, "request is truncated in its record")
		}
	}
	if !readString8(s, &r.Purpose) {
		return nil, reject(CodeMalformed, "request is truncated in its purpose")
	}
	return r, nil
}

func (r *Request) validate() error {
	if (r.Chain == "") == (r.Record == nil) {
		return reject(CodeMalformed, "a request names either one record or one evidence chain")
	}
	if r.Chain != "" {
		if err := checkIdent("evidence-chain id", r.Chain, MaxChainIDLen, identChain); err != nil {
			return err
		}
	}
	if r.Purpose == "" {
		return reject(CodeMalformed, "a request needs its purpose: the case number")
	}
	if e := checkText("request purpose", r.Purpose, MaxPurposeLen); e != nil {
		return e
	}
	return nil
}

// writeCost: the request record ('F') and its two query indexes ('q', 'o').
func (*Request) writeCost() int { return 3 }

// target returns the owner of what r names, or a rejection when it does
// not exist (a record needs an original).
func (r *Request) target(s *state) (string, *RejectError, error) {
	if r.Chain != "" {
		h, err := s.chainHead(r.Chain)
		if err != nil || h == nil {
			if err == nil {
				return "", reject(CodeUnknownTarget, "evidence chain %s does not exist", r.Chain), nil
			}
			return "", nil, err
		}
		return h.Owner, nil, nil
	}
	_, owner, e, err := s.original(*r.Record)
	return owner, e, err
}

func (r *Request) check(c *txContext) (*RejectError, error) {
	owner, e, err := r.target(c.s)
	if e != nil || err != nil {
		return e, err
	}
	if owner == c.Member {
		return reject(CodeOwnRequest, "%s owns %s: a member needs no request for its own originals", c.Member, r.what()), nil
	}
	return nil, nil
}

// what names the request's target for messages.
func (r *Request) what() string {
	if r.Chain != "" {
		return "evidence chain " + r.Chain
	}
	return "record " + r.Record.String()
}

func (r *Request) stage(c *txContext) error {
	owner, e, err := r.target(c.s)
	if err != nil {
		return err
	}
	if e != nil {
		return fmt.Errorf("%w: the target of request %d vanished between check and stage: %s", ErrStoreCorrupt, c.Index, e.Msg)
	}
	c.s.set(keyU64(prefixRequest, c.Index), (&requestRecord{Requester: c.Member, Owner: owner}).encode())
	c.s.set(keyMemberIndex(prefixRequestBy, c.Member, c.Index), nil)
	c.s.set(keyMemberIndex(prefixRequestTo, owner, c.Index), nil)
	return nil
}
