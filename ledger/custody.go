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
// before it decrypts. The three transaction types live in tx_grant.go,
// tx_revoke.go and tx_access.go; this file holds what they share: the
// stored grant records, the custody indexes and the queries over them.

// Limits of the custody payloads.
const (
	MaxGrantKeys   = 256
	MaxPurposeLen  = 128
	MaxWrappedKey  = 255
	grantCostPer   = 2 // 'r' and 'A' per key
	custodyCostOne = 1 // 'g', or 'A'
	maxGrantScan   = 1000
)

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
		return nil, reject(CodeUnknownTarget, "entry %d is a %s transaction, not evidence", ref.Index, tx.Body.Type()), nil
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
	if !r.Kept() {
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
	Request   uint64 // the retrieval request it answers; 0: none
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
	g, ok := tx.Body.Payload.(*Grant)
	if !ok {
		return nil, fmt.Errorf("%w: grant record %d names a %s entry", ErrStoreCorrupt, index, tx.Body.Type())
	}
	info := &GrantInfo{Entry: index, Owner: gr.Owner, Grantee: gr.Grantee, Purpose: g.Purpose, Chain: g.Chain,
		Expiry: gr.Expiry, Revoked: gr.RevokedBy != 0, Keys: g.Keys, Request: g.Request}
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
