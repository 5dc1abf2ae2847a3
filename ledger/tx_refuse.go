package ledger

import (
	"golang.org/x/crypto/cryptobyte"
)

// The refuse transaction (TxRefuse): the owner of what a retrieval request
// names declines it, with a reason. Payload encoding:
//
//	Refusal = u64 request entry ‖ u16-prefixed reason

var refuseType = TxTypeInfo{
	Type: TxRefuse, Name: "refuse", Title: "Refusal",
	Doc:    "the owner of the records a retrieval request names declines it, with a reason",
	Origin: OriginMember, Roles: []Role{RoleBank},
	RoleRule: "owns no evidence, so it has no request to refuse; owners (banks) answer requests",
	JSONKey:  "refusal", NewDetails: func() Details { return &Refusal{} },
	Example: func() Payload {
		return &Refusal{Request: 9, Reason: "该记录已依法移交，请向上海分行调取"}
	},
	decode: func(s *cryptobyte.String) (Payload, error) {
		r := &Refusal{}
		var reason cryptobyte.String
		if !s.ReadUint64(&r.Request) || !s.ReadUint16LengthPrefixed(&reason) {
			return nil, reject(CodeMalformed, "refusal is truncated")
		}
		r.Reason = string(reason)
		return r, nil
	},
}

// Refusal is the payload of TxRefuse, and its public form.
type Refusal struct {
	Request uint64 `json:"request"` // the request's entry index
	Reason  string `json:"reason"`  // why: text (CheckText), required
}

// TxType implements Payload.
func (*Refusal) TxType() TxType { return TxRefuse }

// Details implements Payload: the refusal is its own public form.
func (r *Refusal) Details() Details { return r }

// Fields implements Details.
func (r *Refusal) Fields() []Field {
	return []Field{{Name: "request", Kind: FieldEntry, Value: r.Request}, {Name: "reason", Kind: FieldText, Value: r.Reason}}
}

// Summary implements Details.
func (r *Refusal) Summary() (string, []Field) {
	return "refuses the request of entry %d", r.Fields()[:1]
}

func (r *Refusal) encode(b *cryptobyte.Builder) {
	b.AddUint64(r.Request)
	b.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes([]byte(r.Reason)) })
}

func (r *Refusal) validate() error {
	if r.Reason == "" {
		return reject(CodeMalformed, "a refusal needs its reason")
	}
	if e := checkText("refusal reason", r.Reason, MaxNoteLen); e != nil {
		return e
	}
	return nil
}

// writeCost: the request record ('F') is rewritten.
func (*Refusal) writeCost() int { return 1 }

func (r *Refusal) check(c *txContext) (*RejectError, error) {
	rr, err := c.s.request(r.Request)
	if err != nil {
		return nil, err
	}
	switch {
	case rr == nil:
		return reject(CodeUnknownRequest, "entry %d is not a retrieval request", r.Request), nil
	case rr.Owner != c.Member:
		return reject(CodeNotRequestOwner, "request %d is for %s's records, not %s's: only their owner answers it", r.Request, rr.Owner, c.Member), nil
	case rr.Status != RequestOpen:
		return reject(CodeRequestAnswered, "request %d was already %s at entry %d", r.Request, rr.Status, rr.Answer), nil
	}
	return nil, nil
}

func (r *Refusal) stage(c *txContext) error {
	return c.s.answerRequest(r.Request, RequestRefused, c.Index)
}
