package ledger

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// The grant transaction (TxGrant): the owner of records gives another
// member access to their originals, the data key and salt of each wrapped
// to the grantee's member key. Payload encoding:
//
//	Grant = u8-prefixed grantee ‖ u8-prefixed purpose ‖ i64 expiry (block
//	        time, Unix ns; 0: until revoked) ‖ u8-prefixed chain (empty: a
//	        grant of single records) ‖ u16 count ‖ count × (u64 entry ‖
//	        u16 position ‖ u8-prefixed wrapped data key) ‖ [u64 request
//	        entry, only when the grant answers a retrieval request]
//
// The request entry is present only when non-zero (entry 0 is genesis,
// never a request), so grants that answer none keep their encoding; a
// present zero is refused, so the encoding stays canonical.

var grantType = TxTypeInfo{
	Type: TxGrant, Name: "grant", Title: "Grant",
	Doc:    "the owner of records gives a member access to their originals: one record, or every record of an evidence chain",
	Origin: OriginMember, Roles: []Role{RoleBank},
	RoleRule: "owns no evidence, so it may not grant or revoke access; owners (banks) do",
	JSONKey:  "custody", NewDetails: func() Details { return &GrantDetails{} },
	Example: func() Payload {
		return &Grant{Grantee: "court", Purpose: "case-2026-1234", Chain: "LOAN-2026-000001", Expiry: 1798761600e9,
			Keys: []GrantKey{{Ref: RecordRef{Index: 6}, Wrapped: []byte("example wrapped data key")}}}
	},
	decode: decodeGrant,
}

// Grant is the payload of TxGrant: it gives Grantee access to originals of
// records the signer owns.
type Grant struct {
	Grantee string     // member name
	Purpose string     // why, e.g. a case number (案号): text (CheckText)
	Expiry  int64      // block time (Unix ns) from which the grant no longer holds; 0: until revoked
	Chain   string     // non-empty: the whole evidence chain (Keys then cover each of its records with an original)
	Keys    []GrantKey // strictly increasing records
	Request uint64     // the retrieval request it answers (its entry); 0: none
}

// GrantKey is one record's data key, wrapped to the grantee's member key.
type GrantKey struct {
	Ref     RecordRef
	Wrapped []byte // blob.WrapKey output: SM2-encrypted data key ‖ salt
}

// GrantExpiry returns t as a grant's Expiry: block time in Unix
// nanoseconds. Block times are int64 nanoseconds, so only times after 1970
// and up to 2262-04-11T23:47:16.854775807Z can be held; any other time is
// refused, never wrapped around.
func GrantExpiry(t time.Time) (int64, error) {
	last := time.Unix(0, math.MaxInt64)
	if !t.After(time.Unix(0, 0)) || t.After(last) {
		return 0, reject(CodeMalformed, "grant expiry %s is outside what block times can hold (after 1970, until %s): give an earlier time, or none for a grant that holds until revoked",
			t.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// GrantDetails is the public form of a grant: metadata only (the wrapped
// keys stay in the entry bytes).
type GrantDetails struct {
	Grantee string      `json:"grantee"`
	Purpose string      `json:"purpose"`
	Chain   string      `json:"chain,omitempty"`   // a whole evidence chain granted
	Expires *time.Time  `json:"expires,omitempty"` // when it expires, if it does
	Records []RecordRef `json:"records"`           // the records granted
	Request uint64      `json:"request,omitempty"` // the retrieval request it answers
}

// TxType implements Payload.
func (*Grant) TxType() TxType { return TxGrant }

// Details implements Payload.
func (g *Grant) Details() Details {
	d := &GrantDetails{Grantee: g.Grantee, Purpose: g.Purpose, Chain: g.Chain, Records: make([]RecordRef, len(g.Keys)), Request: g.Request}
	if g.Expiry != 0 {
		t := time.Unix(0, g.Expiry).UTC()
		d.Expires = &t
	}
	for i, k := range g.Keys {
		d.Records[i] = k.Ref
	}
	return d
}

// Fields implements Details.
func (d *GrantDetails) Fields() []Field {
	fs := []Field{{Name: "grantee", Kind: FieldMember, Value: d.Grantee}, {Name: "purpose", Kind: FieldText, Value: d.Purpose}}
	if d.Chain != "" {
		fs = append(fs, Field{Name: "chain", Kind: FieldChain, Value: d.Chain})
	}
	if d.Expires != nil {
		fs = append(fs, Field{Name: "expires", Kind: FieldTime, Value: d.Expires.UTC()})
	}
	fs = append(fs, Field{Name: "records", Kind: FieldRecords, Value: d.Records})
	if d.Request != 0 {
		fs = append(fs, Field{Name: "request", Kind: FieldEntry, Value: d.Request})
	}
	return fs
}

// Summary implements Details.
func (d *GrantDetails) Summary() (string, []Field) {
	return "grants %s access to %d records", []Field{{Name: "grantee", Kind: FieldMember, Value: d.Grantee},
		{Name: "records", Kind: FieldNumber, Value: uint64(len(d.Records))}}
}

func (g *Grant) encode(b *cryptobyte.Builder) {
	addString8(b, g.Grantee)
	addString8(b, g.Purpose)
	b.AddUint64(uint64(g.Expiry))
	addString8(b, g.Chain)
	b.AddUint16(uint16(len(g.Keys)))
	for _, k := range g.Keys {
		b.AddUint64(k.Ref.Index)
		b.AddUint16(k.Ref.Pos)
		b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(k.Wrapped) })
	}
	if g.Request != 0 {
		b.AddUint64(g.Request)
	}
}

func decodeGrant(s *cryptobyte.String) (Payload, error) {
	g := &Grant{}
	var exp uint64
	var n uint16
	if !readString8(s, &g.Grantee) || !readString8(s, &g.Purpose) || !s.ReadUint64(&exp) || !readString8(s, &g.Chain) || !s.ReadUint16(&n) {
		return nil, reject(CodeMalformed, "grant is truncated")
	}
	g.Expiry = int64(exp)
	if int(n) > MaxGrantKeys {
		return nil, reject(CodeTooLarge, "grant carries %d keys, more than %d", n, MaxGrantKeys)
	}
	if len(*s) < 11*int(n) {
		return nil, reject(CodeMalformed, "grant keys are truncated")
	}
	g.Keys = make([]GrantKey, n)
	for i := range g.Keys {
		var w cryptobyte.String
		if !s.ReadUint64(&g.Keys[i].Ref.Index) || !s.ReadUint16(&g.Keys[i].Ref.Pos) || !s.ReadUint8LengthPrefixed(&w) {
			return nil, reject(CodeMalformed, "grant key %d is truncated", i)
		}
		g.Keys[i].Wrapped = []byte(w)
	}
	if !s.Empty() {
		if !s.ReadUint64(&g.Request) {
			return nil, reject(CodeMalformed, "grant is truncated in its request")
		}
		if g.Request == 0 {
			return nil, reject(CodeMalformed, "grant names request 0: a grant that answers no request leaves the field out")
		}
	}
	return g, nil
}

func (g *Grant) validate() error {
	if err := checkIdent("grantee", g.Grantee, MaxNameLen, identKind); err != nil {
		return err
	}
	if g.Purpose == "" || len(g.Purpose) > MaxPurposeLen {
		return reject(CodeMalformed, "grant purpose must be 1 to %d bytes (a case number, say), is %d", MaxPurposeLen, len(g.Purpose))
	}
	if e := checkText("grant purpose", g.Purpose, MaxPurposeLen); e != nil {
		return e
	}
	if g.Expiry < 0 {
		return reject(CodeMalformed, "grant expiry %d is negative: give a block time in Unix nanoseconds, or 0 for none", g.Expiry)
	}
	if g.Chain != "" {
		if err := checkIdent("evidence-chain id", g.Chain, MaxChainIDLen, identChain); err != nil {
			return err
		}
	}
	if len(g.Keys) == 0 || len(g.Keys) > MaxGrantKeys {
		return reject(CodeMalformed, "grant must carry 1 to %d keys, carries %d", MaxGrantKeys, len(g.Keys))
	}
	if g.Chain == "" && len(g.Keys) != 1 {
		return reject(CodeMalformed, "a grant of a single record carries one key, this one %d: name the chain to grant several records", len(g.Keys))
	}
	for i, k := range g.Keys {
		if len(k.Wrapped) == 0 || len(k.Wrapped) > MaxWrappedKey {
			return reject(CodeMalformed, "grant key %d: wrapped data key is %d bytes, want 1 to %d", i, len(k.Wrapped), MaxWrappedKey)
		}
		if i > 0 && !g.Keys[i-1].Ref.less(k.Ref) {
			return reject(CodeMalformed, "grant keys must name records in strictly increasing order (key %d)", i)
		}
	}
	return nil
}

// writeCost: the grant record ('g'), per key its grantee index ('r') and
// custody index ('A'), and the request it answers ('F').
func (g *Grant) writeCost() int {
	n := custodyCostOne + grantCostPer*len(g.Keys)
	if g.Request != 0 {
		n++
	}
	return n
}

func (g *Grant) check(c *txContext) (*RejectError, error) {
	s, member := c.s, c.Member
	if g.Request != 0 {
		if e, err := g.checkAnswers(c); e != nil || err != nil {
			return e, err
		}
	}
	if g.Grantee == member {
		return reject(CodeUnknownMember, "a grant to %s's own member gives nothing: name another member", member), nil
	}
	gm, err := s.member(g.Grantee)
	if err != nil {
		return nil, err
	}
	if gm == nil {
		return reject(CodeUnknownMember, "grantee %s is not a member of the alliance", g.Grantee), nil
	}
	if g.Expiry != 0 && g.Expiry <= c.Block.Time {
		return reject(CodeTimeWindow, "grant expiry %s is not after the block time", fmtTime(g.Expiry)), nil
	}
	for i, k := range g.Keys {
		r, owner, e, err := s.original(k.Ref)
		if err != nil {
			return nil, err
		}
		if e != nil {
			e.Msg = fmt.Sprintf("grant key %d: %s", i, e.Msg)
			return e, nil
		}
		if owner != member {
			return reject(CodeChainOwner, "grant key %d: evidence chain %s belongs to %s, not %s: only the owner grants access", i, r.Chain, owner, member), nil
		}
		if g.Chain != "" && r.Chain != g.Chain {
			return reject(CodeGrantScope, "grant key %d: record %d.%d is in chain %s, not %s", i, k.Ref.Index, k.Ref.Pos, r.Chain, g.Chain), nil
		}
	}
	if g.Chain != "" {
		return g.checkChainCovered(s)
	}
	return nil, nil
}

// checkAnswers checks that the grant answers the open request it names:
// made by the owner of what the request names, to the requester, of
// exactly that record or chain.
func (g *Grant) checkAnswers(c *txContext) (*RejectError, error) {
	rr, err := c.s.request(g.Request)
	if err != nil {
		return nil, err
	}
	if rr == nil {
		return reject(CodeUnknownRequest, "entry %d is not a retrieval request", g.Request), nil
	}
	if rr.Status != RequestOpen {
		return reject(CodeRequestAnswered, "request %d was already %s at entry %d", g.Request, rr.Status, rr.Answer), nil
	}
	if rr.Owner != c.Member {
		return reject(CodeRequestMismatch, "request %d asks %s, not %s: only the owner answers it", g.Request, rr.Owner, c.Member), nil
	}
	if g.Grantee != rr.Requester {
		return reject(CodeRequestMismatch, "request %d was filed by %s: a grant answering it goes to %s, not %s", g.Request, rr.Requester, rr.Requester, g.Grantee), nil
	}
	_, tx, err := c.s.entryTx(g.Request)
	if err != nil {
		return nil, err
	}
	req, ok := tx.Body.Payload.(*Request)
	if !ok {
		return nil, fmt.Errorf("%w: request record %d names a %s entry", ErrStoreCorrupt, g.Request, tx.Body.Type())
	}
	if req.Chain != "" && g.Chain != req.Chain {
		return reject(CodeRequestMismatch, "request %d asks for evidence chain %s: grant the whole chain", g.Request, req.Chain), nil
	}
	if req.Record != nil && (g.Chain != "" || g.Keys[0].Ref != *req.Record) {
		return reject(CodeRequestMismatch, "request %d asks for record %s alone: grant that record", g.Request, req.Record), nil
	}
	return nil, nil
}

// checkChainCovered checks that a chain grant carries a key for every
// record of the chain that has an original.
func (g *Grant) checkChainCovered(s *state) (*RejectError, error) {
	h, err := s.chainHead(g.Chain)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return reject(CodeGrantScope, "evidence chain %s does not exist", g.Chain), nil
	}
	have := make(map[RecordRef]bool, len(g.Keys))
	for _, k := range g.Keys {
		have[k.Ref] = true
	}
	for step := uint32(1); step <= h.Step; step++ {
		v, found, err := s.get(keyStep(g.Chain, step))
		if err != nil {
			return nil, err
		}
		ref, ok := decodeRef(v)
		if !found || !ok {
			return nil, fmt.Errorf("%w: chain %s step %d index missing", ErrStoreCorrupt, g.Chain, step)
		}
		r, _, err := s.record(ref)
		if err != nil {
			return nil, err
		}
		if r != nil && r.Kept() && !have[ref] {
			return reject(CodeGrantScope, "a grant of chain %s must carry a key for step %d (record %d.%d), which has an original", g.Chain, step, ref.Index, ref.Pos), nil
		}
	}
	return nil, nil
}

func (g *Grant) stage(c *txContext) error {
	s := c.s
	if g.Request != 0 {
		if err := s.answerRequest(g.Request, RequestGranted, c.Index); err != nil {
			return err
		}
	}
	s.set(keyU64(prefixGrant, c.Index), (&grantRecord{Owner: c.Member, Grantee: g.Grantee, Expiry: g.Expiry}).encode())
	for _, k := range g.Keys {
		s.set(keyGrantOf(g.Grantee, k.Ref, c.Index), nil)
		s.set(keyCustody(k.Ref, c.Index), nil)
	}
	return nil
}
