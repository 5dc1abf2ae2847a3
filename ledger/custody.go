package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// Originals and their chain of custody (docs/ARCHITECTURE.md, "Originals").
//
// A record may name an encrypted original: its SM3 ciphertext address and
// size and its SM4 data key wrapped (SM2) to the owner's member key. The
// wrapped payload is the 16-byte data key followed by the 32-byte
// commitment salt (blob.WrapKey), so whoever may read the original can
// also check it against the commitment, and nobody else learns the salt.
// The owner gives another member access with a grant, which carries the
// same payload wrapped to the grantee, and may revoke it; every retrieval of an
// original is an access transaction by the member retrieving it, written
// before it decrypts. Payload encodings:
//
//	Grant  = u8-prefixed grantee ‖ u8-prefixed purpose ‖ i64 expiry (block
//	         time, Unix ns; 0: until revoked) ‖ u8-prefixed chain (empty: a
//	         grant of single records) ‖ u16 count ‖ count × (u64 entry ‖
//	         u16 position ‖ u8-prefixed wrapped data key)
//	Revoke = u64 entry of the grant
//	Access = u64 entry ‖ u16 position ‖ u8 via (0: the owner, 1: a grant) ‖
//	         [u64 entry of the grant]

// Limits of the custody payloads.
const (
	MaxGrantKeys   = 256
	MaxPurposeLen  = 128
	MaxWrappedKey  = 255
	grantCostPer   = 2 // 'r' and 'A' per key
	custodyCostOne = 1 // 'g', or 'A'
	maxGrantScan   = 1000
)

// Grant gives Grantee access to originals of records the signer owns.
type Grant struct {
	Grantee string     // member name
	Purpose string     // why, e.g. a case number: printable ASCII
	Expiry  int64      // block time (Unix ns) from which the grant no longer holds; 0: until revoked
	Chain   string     // non-empty: the whole evidence chain (Keys then cover each of its records with an original)
	Keys    []GrantKey // strictly increasing records
}

// GrantKey is one record's data key, wrapped to the grantee's member key.
type GrantKey struct {
	Ref     RecordRef
	Wrapped []byte // crypto.PublicKey.WrapKey output
}

// Revoke withdraws a grant.
type Revoke struct {
	Grant uint64 // entry index of the grant
}

// Access logs one retrieval of a record's original.
type Access struct {
	Ref      RecordRef
	ViaGrant bool   // false: the owner retrieves its own original
	Grant    uint64 // entry index of the grant used, when ViaGrant
}

func addGrant(b *cryptobyte.Builder, g *Grant) {
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
}

func readGrant(s *cryptobyte.String) (*Grant, error) {
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
	g.Keys = make([]GrantKey, n)
	for i := range g.Keys {
		var w cryptobyte.String
		if !s.ReadUint64(&g.Keys[i].Ref.Index) || !s.ReadUint16(&g.Keys[i].Ref.Pos) || !s.ReadUint8LengthPrefixed(&w) {
			return nil, reject(CodeMalformed, "grant key %d is truncated", i)
		}
		g.Keys[i].Wrapped = []byte(w)
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
	for i := 0; i < len(g.Purpose); i++ {
		if c := g.Purpose[i]; c < 0x20 || c > 0x7e {
			return reject(CodeMalformed, "grant purpose must be printable ASCII (byte %d is 0x%02x)", i, c)
		}
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
		if i > 0 {
			p, q := g.Keys[i-1].Ref, k.Ref
			if q.Index < p.Index || (q.Index == p.Index && q.Pos <= p.Pos) {
				return reject(CodeMalformed, "grant keys must name records in strictly increasing order (key %d)", i)
			}
		}
	}
	return nil
}

func addAccess(b *cryptobyte.Builder, a *Access) {
	b.AddUint64(a.Ref.Index)
	b.AddUint16(a.Ref.Pos)
	if a.ViaGrant {
		b.AddUint8(1)
		b.AddUint64(a.Grant)
	} else {
		b.AddUint8(0)
	}
}

func readAccess(s *cryptobyte.String) (*Access, error) {
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

// grantRecord is the stored form of a grant ('g' ‖ entry): u8-prefixed
// owner ‖ u8-prefixed grantee ‖ i64 expiry ‖ u64 revoking entry + 1 (0:
// not revoked).
type grantRecord struct {
	Owner, Grantee string
	Expiry         int64
	RevokedBy      uint64 // entry index + 1 of the revoke; 0 while not revoked
}

func (g *grantRecord) encode() []byte {
	var b cryptobyte.Builder
	addString8(&b, g.Owner)
	addString8(&b, g.Grantee)
	b.AddUint64(uint64(g.Expiry))
	b.AddUint64(g.RevokedBy)
	return b.BytesOrPanic()
}

func decodeGrantRecord(v []byte) (*grantRecord, error) {
	s := cryptobyte.String(v)
	g := &grantRecord{}
	var exp uint64
	if !readString8(&s, &g.Owner) || !readString8(&s, &g.Grantee) || !s.ReadUint64(&exp) || !s.ReadUint64(&g.RevokedBy) || !s.Empty() {
		return nil, fmt.Errorf("%w: grant record does not decode", ErrStoreCorrupt)
	}
	g.Expiry = int64(exp)
	return g, nil
}

// live reports whether the grant holds at block time t.
func (g *grantRecord) live(t int64) bool {
	return g.RevokedBy == 0 && (g.Expiry == 0 || t < g.Expiry)
}

// keyGrantsOf is the prefix of grantee's grants of ref.
func keyGrantsOf(grantee string, ref RecordRef) []byte {
	k := binary.BigEndian.AppendUint64(keyString8(prefixGrantOf, grantee), ref.Index)
	return binary.BigEndian.AppendUint16(k, ref.Pos)
}

func keyGrantOf(grantee string, ref RecordRef, grant uint64) []byte {
	return binary.BigEndian.AppendUint64(keyGrantsOf(grantee, ref), grant)
}

func keyCustody(ref RecordRef, entry uint64) []byte {
	return binary.BigEndian.AppendUint64(keyRef(prefixCustody, ref), entry)
}

// record returns the record ref names, or a rejection if there is none.
func (s *state) record(ref RecordRef) (*Record, *RejectError, error) {
	if ref.Index >= s.meta.Size {
		return nil, reject(CodeUnknownTarget, "entry %d does not exist (log size %d)", ref.Index, s.meta.Size), nil
	}
	v, found, err := s.get(keyU64(prefixEntry, ref.Index))
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, fmt.Errorf("%w: entry %d missing below log size %d", ErrStoreCorrupt, ref.Index, s.meta.Size)
	}
	e, err := DecodeEntry(v)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry %d: %v", ErrStoreCorrupt, ref.Index, err)
	}
	tx, err := DecodeTx(e.TxBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry %d tx: %v", ErrStoreCorrupt, ref.Index, err)
	}
	recs := tx.Body.EvidenceRecords()
	if recs == nil {
		return nil, reject(CodeUnknownTarget, "entry %d is a %s transaction, not evidence", ref.Index, tx.Body.Type), nil
	}
	if int(ref.Pos) >= len(recs) {
		return nil, reject(CodeUnknownTarget, "entry %d holds %d records, there is no record %d", ref.Index, len(recs), ref.Pos), nil
	}
	return &recs[ref.Pos], nil, nil
}

// original returns the record ref names and its owner, or a rejection if
// there is no such record or it has no encrypted original.
func (s *state) original(ref RecordRef) (*Record, string, *RejectError, error) {
	r, e, err := s.record(ref)
	if e != nil || err != nil {
		return nil, "", e, err
	}
	if r.Cipher == nil || len(r.OwnerKey) == 0 {
		return nil, "", reject(CodeNoOriginal, "record %d.%d (chain %s step %d) has no encrypted original on the alliance", ref.Index, ref.Pos, r.Chain, r.Step), nil
	}
	h, err := s.chainHead(r.Chain)
	if err != nil {
		return nil, "", nil, err
	}
	if h == nil {
		return nil, "", nil, fmt.Errorf("%w: record %d.%d names chain %s, which has no head", ErrStoreCorrupt, ref.Index, ref.Pos, r.Chain)
	}
	return r, h.Owner, nil, nil
}

func (s *state) grant(index uint64) (*grantRecord, error) {
	v, found, err := s.get(keyU64(prefixGrant, index))
	if err != nil || !found {
		return nil, err
	}
	return decodeGrantRecord(v)
}

// checkCustody validates a grant, revoke or access payload against state.
func (l *Ledger) checkCustody(s *state, b Block, body *Body, member string) (*RejectError, error) {
	switch body.Type {
	case TxGrant:
		g := body.Grant
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
		if g.Expiry != 0 && g.Expiry <= b.Time {
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
			return l.checkChainCovered(s, g)
		}
		return nil, nil
	case TxRevoke:
		gr, err := s.grant(body.Revoke.Grant)
		if err != nil {
			return nil, err
		}
		switch {
		case gr == nil:
			return reject(CodeNoGrant, "entry %d is not a grant", body.Revoke.Grant), nil
		case gr.Owner != member:
			return reject(CodeChainOwner, "grant %d was made by %s, not %s: only its maker revokes it", body.Revoke.Grant, gr.Owner, member), nil
		case gr.RevokedBy != 0:
			return reject(CodeNoGrant, "grant %d was already revoked at entry %d", body.Revoke.Grant, gr.RevokedBy-1), nil
		}
		return nil, nil
	case TxAccess:
		a := body.Access
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
		if !gr.live(b.Time) {
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
	return nil, nil
}

// checkChainCovered checks that a chain grant carries a key for every
// record of the chain that has an original.
func (l *Ledger) checkChainCovered(s *state, g *Grant) (*RejectError, error) {
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
		if r != nil && r.Cipher != nil && len(r.OwnerKey) > 0 && !have[ref] {
			return reject(CodeGrantScope, "a grant of chain %s must carry a key for step %d (record %d.%d), which has an original", g.Chain, step, ref.Index, ref.Pos), nil
		}
	}
	return nil, nil
}

// stageCustody records an accepted grant, revoke or access at entry idx.
func (s *state) stageCustody(body *Body, member string, idx uint64) error {
	switch body.Type {
	case TxGrant:
		g := body.Grant
		s.set(keyU64(prefixGrant, idx), (&grantRecord{Owner: member, Grantee: g.Grantee, Expiry: g.Expiry}).encode())
		for _, k := range g.Keys {
			s.set(keyGrantOf(g.Grantee, k.Ref, idx), nil)
			s.set(keyCustody(k.Ref, idx), nil)
		}
	case TxRevoke:
		gr, err := s.grant(body.Revoke.Grant)
		if err != nil {
			return err
		}
		if gr == nil {
			return fmt.Errorf("%w: grant %d vanished between check and stage", ErrStoreCorrupt, body.Revoke.Grant)
		}
		gr.RevokedBy = idx + 1
		s.set(keyU64(prefixGrant, body.Revoke.Grant), gr.encode())
	case TxAccess:
		s.set(keyCustody(body.Access.Ref, idx), nil)
	}
	return nil
}

// ErrNotGranted is returned by View.Authorize when the member may not have
// the original: it is not the owner and holds no live grant for it.
var ErrNotGranted = errors.New("no live grant covers this record for this member")

// GrantInfo is a grant as committed, with its state.
type GrantInfo struct {
	Entry     uint64 // the grant's log entry
	Owner     string
	Grantee   string
	Purpose   string
	Chain     string // the evidence chain granted whole; empty for a single record
	Expiry    int64  // block time (Unix ns) from which it no longer holds; 0: until revoked
	Revoked   bool
	RevokedAt uint64 // the revoke's log entry, when Revoked
	Keys      []GrantKey
}

// Live reports whether the grant holds at block time t.
func (g *GrantInfo) Live(t int64) bool { return !g.Revoked && (g.Expiry == 0 || t < g.Expiry) }

// Grant returns the grant made at log entry index.
func (v *View) Grant(index uint64) (*GrantInfo, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	gr, err := v.s.grant(index)
	if err != nil {
		return nil, err
	}
	if gr == nil {
		return nil, fmt.Errorf("grant %d: %w", index, ErrNotFound)
	}
	_, tx, err := v.Entry(index)
	if err != nil {
		return nil, err
	}
	if tx.Body.Grant == nil {
		return nil, fmt.Errorf("%w: grant record %d names a %s entry", ErrStoreCorrupt, index, tx.Body.Type)
	}
	g := tx.Body.Grant
	info := &GrantInfo{Entry: index, Owner: gr.Owner, Grantee: gr.Grantee, Purpose: g.Purpose, Chain: g.Chain,
		Expiry: gr.Expiry, Revoked: gr.RevokedBy != 0, Keys: g.Keys}
	if info.Revoked {
		info.RevokedAt = gr.RevokedBy - 1
	}
	return info, nil
}

// Custody returns up to limit log entries, oldest first, that touched the
// original of ref: the grants covering it and every access to it.
func (v *View) Custody(ref RecordRef, limit int) ([]uint64, error) {
	return v.entriesUnder(keyRef(prefixCustody, ref), nil, limit, fmt.Sprintf("custody of %d.%d", ref.Index, ref.Pos))
}

// Authorize says whether member may have the original of ref at block time
// t: as its owner (viaGrant false), or through the live grant it returns.
// It returns an error wrapping ErrNotGranted otherwise, and one wrapping
// ErrNotFound when ref names no record with an original. The serving node
// asks this of its committed state before it sends a ciphertext.
func (v *View) Authorize(member string, ref RecordRef, t int64) (grant uint64, viaGrant bool, err error) {
	if _, err := v.Params(); err != nil {
		return 0, false, err
	}
	r, owner, e, err := v.s.original(ref)
	if err != nil {
		return 0, false, err
	}
	if e != nil {
		return 0, false, fmt.Errorf("record %d.%d: %s: %w", ref.Index, ref.Pos, e.Msg, ErrNotFound)
	}
	if owner == member {
		return 0, false, nil
	}
	grants, err := v.entriesUnder(keyGrantsOf(member, ref), nil, maxGrantScan, "grants of "+member)
	if err != nil {
		return 0, false, err
	}
	for i := len(grants) - 1; i >= 0; i-- { // newest grant first
		idx := grants[i]
		gr, err := v.s.grant(idx)
		if err != nil {
			return 0, false, err
		}
		if gr != nil && gr.live(t) {
			return idx, true, nil
		}
	}
	return 0, false, fmt.Errorf("%s may not have the original of record %d.%d (chain %s step %d, owner %s): %w; ask %s for a grant",
		member, ref.Index, ref.Pos, r.Chain, r.Step, owner, ErrNotGranted, owner)
}

// ByCipher returns up to limit records, oldest first, whose kept original
// has the ciphertext address addr (normally one: a fresh data key per
// original makes every ciphertext different).
func (v *View) ByCipher(addr crypto.Hash, limit int) ([]RecordRef, error) {
	return v.refsUnder(keyBytes(prefixCipher, addr[:]), limit, "cipher "+addr.String())
}
