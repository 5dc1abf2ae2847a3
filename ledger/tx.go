package ledger

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// Wire format (all integers big-endian, fixed width; see docs/ARCHITECTURE.md):
//
//	Tx   = u8 format (=1) | u32-length-prefixed Body | u8-length-prefixed signature (DER)
//	Body = u8-prefixed domain "evidenced/tx/v1" | u8-prefixed chain id | u8 type |
//	       32-byte signer key id | i64 client time (Unix ns) | payload
//
// The signature is SM2 (default user id, SM3) over exactly the Body bytes.
// The transaction id is SM3(Body). Decoders accept only the canonical form:
// DecodeTx re-encodes what it decoded and rejects any difference.

// TxFormat is the only transaction format version this code understands.
const TxFormat = 1

// TxDomain opens every body, separating transaction signatures from every
// other SM2 signature a member key makes (checkpoints, API tokens).
const TxDomain = "evidenced/tx/v1"

// TxType says what a transaction does.
type TxType uint8

// Transaction types. Numbers are part of the wire format: never reuse one.
const (
	TxEvidence   TxType = 1 // one evidence record, signed by a bank key
	TxBatch      TxType = 2 // many evidence records under one signature
	TxAttest     TxType = 3 // an attestation by a notary, arbitration centre or court
	TxRegister   TxType = 4 // a member registration; valid only in the genesis roster
	TxCheckpoint TxType = 5 // validators' co-signatures on a checkpoint, put in a block by its proposer
	TxGrant      TxType = 6 // the owner of records gives a member access to their originals
	TxRevoke     TxType = 7 // the owner withdraws a grant
	TxAccess     TxType = 8 // a member logs its retrieval of an original (chain of custody)
)

// String returns the type's name as used in the CLI and API.
func (t TxType) String() string {
	switch t {
	case TxEvidence:
		return "evidence"
	case TxBatch:
		return "batch"
	case TxAttest:
		return "attest"
	case TxRegister:
		return "register"
	case TxCheckpoint:
		return "checkpoint"
	case TxGrant:
		return "grant"
	case TxRevoke:
		return "revoke"
	case TxAccess:
		return "access"
	case TxBundle:
		return "bundle"
	}
	return fmt.Sprintf("type_%d", uint8(t))
}

// Limits of the encoding itself. The chain's Params may be stricter.
const (
	MaxChainIDLen    = 64
	MaxKindLen       = 64
	MaxLabels        = 16
	MaxLabelKeyLen   = 32
	MaxLabelValueLen = 128
	MaxBatchRecords  = 10000
	MaxTargets       = 256
	MaxNoteLen       = 1024
	MaxMemberKeys    = 16
	MaxNameLen       = 64
	MaxPeerLen       = 128
	MaxPeerAddrs     = 8
	MaxPeerAddrLen   = 200
)

// Record is one piece of evidence: the salted SM3 commitment of an original
// plus non-personal metadata. The original itself never goes on chain.
type Record struct {
	Kind       string       // what the evidence is, e.g. "loan-contract"
	Chain      string       // evidence-chain id (保全号), e.g. "LOAN-2026-000001"
	Step       uint32       // 1 for the first step of a chain, then 2, 3, …
	Prev       crypto.Hash  // leaf hash of the entry holding step-1; zero for step 1
	Commitment crypto.Hash  // SM3(salt ‖ original)
	Size       uint64       // size of the original in bytes
	Cipher     *crypto.Hash // optional SM3 address of the encrypted original
	// With Cipher, optionally (the original is kept by the alliance): the
	// ciphertext size and the SM4 data key wrapped (SM2) to the owner's
	// member key. Both or neither.
	CipherSize uint64
	OwnerKey   []byte
	Labels     []Label // non-personal labels, keys strictly increasing
}

// Label is a non-personal key/value tag on a record (e.g. product=consumer-loan).
type Label struct {
	Key   string
	Value string
}

// RecordRef names one record: the entry holding it and its position in that
// entry (always 0 for a single-record transaction).
type RecordRef struct {
	Index uint64
	Pos   uint16
}

// Attestation is a statement by a witness member about committed records.
type Attestation struct {
	Statement string      // e.g. "notarised", "reviewed", "certificate-issued"
	Targets   []RecordRef // strictly increasing
	Document  crypto.Hash // optional commitment of a certificate or report; zero if none
	Note      string      // non-personal free text (UTF-8), e.g. a certificate number
}

// Role is what an alliance member is.
type Role uint8

// Member roles. Numbers are part of the wire format.
const (
	RoleBank        Role = 1
	RoleNotary      Role = 2
	RoleArbitration Role = 3
	RoleCourt       Role = 4
	RoleRegulator   Role = 5
)

var roleNames = [...]string{RoleBank: "bank", RoleNotary: "notary", RoleArbitration: "arbitration", RoleCourt: "court", RoleRegulator: "regulator"}

// String returns the role's name.
func (r Role) String() string {
	if r >= RoleBank && r <= RoleRegulator {
		return roleNames[r]
	}
	return fmt.Sprintf("role_%d", uint8(r))
}

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	for r := RoleBank; r <= RoleRegulator; r++ {
		if roleNames[r] == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q: want bank, notary, arbitration, court or regulator", s)
}

// Valid reports whether r is a defined role.
func (r Role) Valid() bool { return r >= RoleBank && r <= RoleRegulator }

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("invalid role %d", uint8(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Member is an alliance member as registered in genesis.
type Member struct {
	Name  string              // stable id, e.g. "bank-a"
	Role  Role                //
	Power uint64              // voting power; 0 for regulators and other non-validators
	Keys  []*crypto.PublicKey // SM2 keys that may sign for the member; the first is the member (co-signing) key
	// Peer is the member node's libp2p peer id (base58), which exchanges
	// encrypted originals with the other members; Addrs are its libp2p
	// multiaddrs. Both optional: a member without a peer keeps no originals.
	Peer  string
	Addrs []string
}

// Body is the signed part of a transaction. Exactly one payload field is set,
// matching Type.
type Body struct {
	ChainID string
	Type    TxType
	Signer  crypto.KeyID // zero only for genesis registrations
	Time    int64        // client time, Unix nanoseconds

	Record      *Record             // TxEvidence
	Records     []Record            // TxBatch
	Attestation *Attestation        // TxAttest
	Member      *Member             // TxRegister
	Checkpoint  *CosignedCheckpoint // TxCheckpoint
	Grant       *Grant              // TxGrant
	Revoke      *Revoke             // TxRevoke
	Access      *Access             // TxAccess
}

// CosignedCheckpoint carries members' SM2 signatures on the checkpoint of
// the state after block Height (see CheckpointText). Signatures are sorted
// by member name, one per member.
type CosignedCheckpoint struct {
	Height     uint64
	Signatures []MemberSignature
}

// MemberSignature is one member's SM2 signature (DER) with its member key.
type MemberSignature struct {
	Member    string
	Signature []byte
}

// Tx is a decoded transaction. BodyBytes are the exact signed bytes.
type Tx struct {
	Body      Body
	BodyBytes []byte
	Signature []byte
}

// ID returns the transaction id, SM3 of the body bytes.
func (tx *Tx) ID() crypto.Hash { return crypto.SM3(tx.BodyBytes) }

// ErrMalformed is wrapped by every decoding error: the input is not a
// canonical encoding. errors.As to *RejectError gives the code.
var ErrMalformed = errors.New("malformed encoding")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// EncodeBody returns the canonical bytes of b. It fails if any field is out
// of range, so only decodable bodies can be built.
func EncodeBody(b *Body) ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	var bb cryptobyte.Builder
	addString8(&bb, TxDomain)
	addString8(&bb, b.ChainID)
	bb.AddUint8(uint8(b.Type))
	bb.AddBytes(b.Signer[:])
	bb.AddUint64(uint64(b.Time))
	switch b.Type {
	case TxEvidence:
		addRecord(&bb, b.Record)
	case TxBatch:
		bb.AddUint16(uint16(len(b.Records)))
		for i := range b.Records {
			addRecord(&bb, &b.Records[i])
		}
	case TxAttest:
		a := b.Attestation
		addString8(&bb, a.Statement)
		bb.AddUint16(uint16(len(a.Targets)))
		for _, t := range a.Targets {
			bb.AddUint64(t.Index)
			bb.AddUint16(t.Pos)
		}
		bb.AddBytes(a.Document[:])
		bb.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes([]byte(a.Note)) })
	case TxRegister:
		m := b.Member
		addString8(&bb, m.Name)
		bb.AddUint8(uint8(m.Role))
		bb.AddUint64(m.Power)
		bb.AddUint8(uint8(len(m.Keys)))
		for _, k := range m.Keys {
			bb.AddBytes(k.Bytes())
		}
		addString8(&bb, m.Peer)
		bb.AddUint8(uint8(len(m.Addrs)))
		for _, a := range m.Addrs {
			addString8(&bb, a)
		}
	case TxCheckpoint:
		c := b.Checkpoint
		bb.AddUint64(c.Height)
		bb.AddUint8(uint8(len(c.Signatures)))
		for _, sg := range c.Signatures {
			addString8(&bb, sg.Member)
			bb.AddUint8LengthPrefixed(func(x *cryptobyte.Builder) { x.AddBytes(sg.Signature) })
		}
	case TxGrant:
		addGrant(&bb, b.Grant)
	case TxRevoke:
		bb.AddUint64(b.Revoke.Grant)
	case TxAccess:
		addAccess(&bb, b.Access)
	}
	return bb.Bytes()
}

// EncodeTx assembles a signed transaction from body bytes and a DER signature.
func EncodeTx(body, sig []byte) ([]byte, error) {
	if len(sig) > crypto.MaxSignatureSize {
		return nil, fmt.Errorf("signature is %d bytes, longer than an SM2 DER signature can be (%d)", len(sig), crypto.MaxSignatureSize)
	}
	var bb cryptobyte.Builder
	bb.AddUint8(TxFormat)
	bb.AddUint32LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(body) })
	bb.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(sig) })
	return bb.Bytes()
}

// SignTx encodes b, signs the body bytes with key and returns the transaction
// bytes. b.Signer is set to key's id.
func SignTx(key *crypto.PrivateKey, rand io.Reader, b *Body) ([]byte, error) {
	b.Signer = key.Public().ID()
	body, err := EncodeBody(b)
	if err != nil {
		return nil, err
	}
	sig, err := key.Sign(rand, body)
	if err != nil {
		return nil, fmt.Errorf("sign transaction body: %w", err)
	}
	return EncodeTx(body, sig)
}

// DecodeTx decodes transaction bytes. It checks only the encoding, not the
// signature or any state; errors wrap ErrMalformed (or describe an
// unsupported version) and are *RejectError values.
func DecodeTx(b []byte) (*Tx, error) {
	s := cryptobyte.String(b)
	var format uint8
	if !s.ReadUint8(&format) {
		return nil, reject(CodeMalformed, "empty transaction")
	}
	if format != TxFormat {
		return nil, reject(CodeUnsupported, "transaction format %d is not supported (this node speaks format %d)", format, TxFormat)
	}
	var body, sig cryptobyte.String
	if !readU32Prefixed(&s, &body) || !s.ReadUint8LengthPrefixed(&sig) {
		return nil, reject(CodeMalformed, "transaction is truncated")
	}
	if !s.Empty() {
		return nil, reject(CodeMalformed, "%d trailing bytes after the signature", len(s))
	}
	if len(sig) > crypto.MaxSignatureSize {
		return nil, reject(CodeMalformed, "signature is %d bytes, longer than an SM2 DER signature can be", len(sig))
	}
	dec, err := DecodeBody(body)
	if err != nil {
		var re *RejectError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, reject(CodeMalformed, "%v", err)
	}
	return &Tx{Body: *dec, BodyBytes: []byte(body), Signature: []byte(sig)}, nil
}

// DecodeBody decodes canonical body bytes.
func DecodeBody(b []byte) (*Body, error) {
	s := cryptobyte.String(b)
	var domain, chain string
	if !readString8(&s, &domain) {
		return nil, reject(CodeMalformed, "body is truncated in the domain")
	}
	if domain != TxDomain {
		if len(domain) > 13 && domain[:13] == "evidenced/tx/" {
			return nil, reject(CodeUnsupported, "body version %q is not supported (this node speaks %q)", domain, TxDomain)
		}
		return nil, reject(CodeMalformed, "body does not start with the %q domain", TxDomain)
	}
	out := &Body{}
	var typ uint8
	var t uint64
	if !readString8(&s, &chain) || !s.ReadUint8(&typ) || !s.CopyBytes(out.Signer[:]) || !s.ReadUint64(&t) {
		return nil, reject(CodeMalformed, "body header is truncated")
	}
	out.ChainID = chain
	out.Type = TxType(typ)
	out.Time = int64(t)
	switch out.Type {
	case TxEvidence:
		r, err := readRecord(&s)
		if err != nil {
			return nil, err
		}
		out.Record = r
	case TxBatch:
		var n uint16
		if !s.ReadUint16(&n) {
			return nil, reject(CodeMalformed, "batch count is truncated")
		}
		if n == 0 {
			return nil, reject(CodeMalformed, "batch holds no records")
		}
		if int(n) > MaxBatchRecords {
			return nil, reject(CodeBatchTooLarge, "batch holds %d records, more than the %d the format allows", n, MaxBatchRecords)
		}
		out.Records = make([]Record, n)
		for i := range out.Records {
			r, err := readRecord(&s)
			if err != nil {
				return nil, fmt.Errorf("record %d: %w", i, err)
			}
			out.Records[i] = *r
		}
	case TxAttest:
		a := &Attestation{}
		var n uint16
		if !readString8(&s, &a.Statement) || !s.ReadUint16(&n) {
			return nil, reject(CodeMalformed, "attestation is truncated")
		}
		if int(n) > MaxTargets {
			return nil, reject(CodeTooLarge, "attestation names %d records, more than %d", n, MaxTargets)
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
		out.Attestation = a
	case TxRegister:
		m := &Member{}
		var role, nk uint8
		if !readString8(&s, &m.Name) || !s.ReadUint8(&role) || !s.ReadUint64(&m.Power) || !s.ReadUint8(&nk) {
			return nil, reject(CodeMalformed, "member registration is truncated")
		}
		m.Role = Role(role)
		if int(nk) > MaxMemberKeys {
			return nil, reject(CodeMalformed, "member has %d keys, more than %d", nk, MaxMemberKeys)
		}
		for i := 0; i < int(nk); i++ {
			var kb []byte
			if !s.ReadBytes(&kb, crypto.PublicKeySize) {
				return nil, reject(CodeMalformed, "member key %d is truncated", i)
			}
			k, err := crypto.ParsePublicKey(kb)
			if err != nil {
				return nil, reject(CodeMalformed, "member key %d: %v", i, err)
			}
			m.Keys = append(m.Keys, k)
		}
		var na uint8
		if !readString8(&s, &m.Peer) || !s.ReadUint8(&na) {
			return nil, reject(CodeMalformed, "member registration is truncated in its peer")
		}
		if int(na) > MaxPeerAddrs {
			return nil, reject(CodeMalformed, "member has %d peer addresses, more than %d", na, MaxPeerAddrs)
		}
		for i := 0; i < int(na); i++ {
			var a string
			if !readString8(&s, &a) {
				return nil, reject(CodeMalformed, "member peer address %d is truncated", i)
			}
			m.Addrs = append(m.Addrs, a)
		}
		out.Member = m
	case TxCheckpoint:
		c := &CosignedCheckpoint{}
		var n uint8
		if !s.ReadUint64(&c.Height) || !s.ReadUint8(&n) {
			return nil, reject(CodeMalformed, "checkpoint is truncated")
		}
		for i := 0; i < int(n); i++ {
			var ms MemberSignature
			var sig cryptobyte.String
			if !readString8(&s, &ms.Member) || !s.ReadUint8LengthPrefixed(&sig) {
				return nil, reject(CodeMalformed, "checkpoint signature %d is truncated", i)
			}
			ms.Signature = []byte(sig)
			c.Signatures = append(c.Signatures, ms)
		}
		out.Checkpoint = c
	case TxGrant:
		g, err := readGrant(&s)
		if err != nil {
			return nil, err
		}
		out.Grant = g
	case TxRevoke:
		r := &Revoke{}
		if !s.ReadUint64(&r.Grant) {
			return nil, reject(CodeMalformed, "revoke is truncated")
		}
		out.Revoke = r
	case TxAccess:
		a, err := readAccess(&s)
		if err != nil {
			return nil, err
		}
		out.Access = a
	default:
		return nil, reject(CodeUnsupported, "transaction type %d is not supported", typ)
	}
	if !s.Empty() {
		return nil, reject(CodeMalformed, "%d trailing bytes after the %s payload", len(s), out.Type)
	}
	if err := out.validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// EvidenceRecords returns the records of an evidence body (its one record)
// or a batch body, in position order; nil for other transaction types.
func (b *Body) EvidenceRecords() []Record {
	switch b.Type {
	case TxEvidence:
		if b.Record != nil {
			return []Record{*b.Record}
		}
	case TxBatch:
		return b.Records
	}
	return nil
}

func (b *Body) validate() error {
	if err := checkIdent("chain id", b.ChainID, MaxChainIDLen, identChain); err != nil {
		return err
	}
	set := 0
	if b.Record != nil {
		set++
	}
	if b.Records != nil {
		set++
	}
	if b.Attestation != nil {
		set++
	}
	if b.Member != nil {
		set++
	}
	if b.Checkpoint != nil {
		set++
	}
	if b.Grant != nil {
		set++
	}
	if b.Revoke != nil {
		set++
	}
	if b.Access != nil {
		set++
	}
	if set != 1 {
		return reject(CodeMalformed, "body must carry exactly one payload, has %d", set)
	}
	switch b.Type {
	case TxEvidence:
		if b.Record == nil {
			return reject(CodeMalformed, "evidence transaction without a record")
		}
		return b.Record.validate()
	case TxBatch:
		if len(b.Records) == 0 {
			return reject(CodeMalformed, "batch holds no records")
		}
		if len(b.Records) > MaxBatchRecords {
			return reject(CodeBatchTooLarge, "batch holds %d records, more than the %d the format allows", len(b.Records), MaxBatchRecords)
		}
		for i := range b.Records {
			if err := b.Records[i].validate(); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
		}
		return nil
	case TxAttest:
		a := b.Attestation
		if a == nil {
			return reject(CodeMalformed, "attest transaction without an attestation")
		}
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
			p, q := a.Targets[i-1], a.Targets[i]
			if q.Index < p.Index || (q.Index == p.Index && q.Pos <= p.Pos) {
				return reject(CodeMalformed, "attestation targets must be strictly increasing (target %d)", i)
			}
		}
		if len(a.Note) > MaxNoteLen {
			return reject(CodeTooLarge, "note is %d bytes, more than %d", len(a.Note), MaxNoteLen)
		}
		if !utf8.ValidString(a.Note) {
			return reject(CodeMalformed, "note is not valid UTF-8")
		}
		for _, r := range a.Note {
			if r < 0x20 || r == 0x7f {
				return reject(CodeMalformed, "note contains a control character")
			}
		}
		return nil
	case TxRegister:
		m := b.Member
		if m == nil {
			return reject(CodeMalformed, "register transaction without a member")
		}
		return m.validate()
	case TxCheckpoint:
		c := b.Checkpoint
		if c == nil {
			return reject(CodeMalformed, "checkpoint transaction without a checkpoint")
		}
		if len(c.Signatures) == 0 || len(c.Signatures) > 255 {
			return reject(CodeMalformed, "checkpoint carries %d signatures, want 1 to 255", len(c.Signatures))
		}
		for i, sg := range c.Signatures {
			if err := checkIdent("member name", sg.Member, MaxNameLen, identKind); err != nil {
				return err
			}
			if i > 0 && c.Signatures[i-1].Member >= sg.Member {
				return reject(CodeMalformed, "checkpoint signatures must be sorted by member, one each (%s after %s)", sg.Member, c.Signatures[i-1].Member)
			}
			if len(sg.Signature) == 0 || len(sg.Signature) > crypto.MaxSignatureSize {
				return reject(CodeMalformed, "checkpoint signature of %s is %d bytes", sg.Member, len(sg.Signature))
			}
		}
		return nil
	case TxGrant:
		if b.Grant == nil {
			return reject(CodeMalformed, "grant transaction without a grant")
		}
		return b.Grant.validate()
	case TxRevoke:
		if b.Revoke == nil {
			return reject(CodeMalformed, "revoke transaction without a revoke")
		}
		return nil
	case TxAccess:
		if b.Access == nil {
			return reject(CodeMalformed, "access transaction without an access")
		}
		if !b.Access.ViaGrant && b.Access.Grant != 0 {
			return reject(CodeMalformed, "an owner's access names no grant")
		}
		return nil
	}
	return reject(CodeUnsupported, "transaction type %d is not supported", uint8(b.Type))
}

func (m *Member) validate() error {
	if err := checkIdent("member name", m.Name, MaxNameLen, identKind); err != nil {
		return err
	}
	if !m.Role.Valid() {
		return reject(CodeMalformed, "member %s: invalid role %d", m.Name, uint8(m.Role))
	}
	if m.Role == RoleRegulator && m.Power != 0 {
		return reject(CodeMalformed, "member %s: a regulator has no voting power (got %d)", m.Name, m.Power)
	}
	if len(m.Keys) == 0 || len(m.Keys) > MaxMemberKeys {
		return reject(CodeMalformed, "member %s: needs 1 to %d keys, has %d", m.Name, MaxMemberKeys, len(m.Keys))
	}
	seen := make(map[crypto.KeyID]bool, len(m.Keys))
	for i, k := range m.Keys {
		if k == nil {
			return reject(CodeMalformed, "member %s: key %d is missing", m.Name, i)
		}
		id := k.ID()
		if seen[id] {
			return reject(CodeMalformed, "member %s: key %s is listed twice", m.Name, id.Short())
		}
		seen[id] = true
	}
	if m.Peer != "" {
		if err := checkIdent("peer id", m.Peer, MaxPeerLen, identChain); err != nil {
			return reject(CodeMalformed, "member %s: %v", m.Name, err)
		}
	}
	if len(m.Addrs) > 0 && m.Peer == "" {
		return reject(CodeMalformed, "member %s: peer addresses without a peer id", m.Name)
	}
	if len(m.Addrs) > MaxPeerAddrs {
		return reject(CodeMalformed, "member %s: %d peer addresses, more than %d", m.Name, len(m.Addrs), MaxPeerAddrs)
	}
	for i, a := range m.Addrs {
		if a == "" || len(a) > MaxPeerAddrLen || a[0] != '/' {
			return reject(CodeMalformed, "member %s: peer address %d %q is not a multiaddr like /ip4/10.0.0.1/tcp/26660", m.Name, i, a)
		}
		for j := 0; j < len(a); j++ {
			if c := a[j]; c <= 0x20 || c > 0x7e {
				return reject(CodeMalformed, "member %s: peer address %d must be printable ASCII without spaces", m.Name, i)
			}
		}
	}
	return nil
}

func (r *Record) validate() error {
	if err := checkIdent("kind", r.Kind, MaxKindLen, identKind); err != nil {
		return err
	}
	if err := checkIdent("evidence-chain id", r.Chain, MaxChainIDLen, identChain); err != nil {
		return err
	}
	if r.Step == 0 {
		return reject(CodeMalformed, "chain %s: step numbers start at 1", r.Chain)
	}
	if r.Step == 1 && r.Prev != (crypto.Hash{}) {
		return reject(CodeMalformed, "chain %s: step 1 must not name a previous entry", r.Chain)
	}
	if r.Step > 1 && r.Prev == (crypto.Hash{}) {
		return reject(CodeMalformed, "chain %s step %d: prev must name the previous step's entry", r.Chain, r.Step)
	}
	if r.Commitment == (crypto.Hash{}) {
		return reject(CodeMalformed, "chain %s step %d: commitment is zero", r.Chain, r.Step)
	}
	if len(r.OwnerKey) > 0 || r.CipherSize > 0 {
		if r.Cipher == nil || len(r.OwnerKey) == 0 || r.CipherSize == 0 {
			return reject(CodeMalformed, "chain %s step %d: a kept original needs its cipher address, ciphertext size and wrapped data key", r.Chain, r.Step)
		}
		if len(r.OwnerKey) > MaxWrappedKey {
			return reject(CodeMalformed, "chain %s step %d: wrapped data key is %d bytes, more than %d", r.Chain, r.Step, len(r.OwnerKey), MaxWrappedKey)
		}
	}
	if len(r.Labels) > MaxLabels {
		return reject(CodeTooLarge, "record has %d labels, more than %d", len(r.Labels), MaxLabels)
	}
	for i, l := range r.Labels {
		if err := checkIdent("label key", l.Key, MaxLabelKeyLen, identKind); err != nil {
			return err
		}
		if i > 0 && r.Labels[i-1].Key >= l.Key {
			return reject(CodeMalformed, "label keys must be strictly increasing (%q after %q)", l.Key, r.Labels[i-1].Key)
		}
		if len(l.Value) > MaxLabelValueLen {
			return reject(CodeTooLarge, "label %s value is %d bytes, more than %d", l.Key, len(l.Value), MaxLabelValueLen)
		}
		for j := 0; j < len(l.Value); j++ {
			if c := l.Value[j]; c < 0x20 || c > 0x7e {
				return reject(CodeMalformed, "label %s value must be printable ASCII (byte %d is 0x%02x)", l.Key, j, c)
			}
		}
	}
	return nil
}

func addRecord(b *cryptobyte.Builder, r *Record) {
	addString8(b, r.Kind)
	addString8(b, r.Chain)
	b.AddUint32(r.Step)
	b.AddBytes(r.Prev[:])
	b.AddBytes(r.Commitment[:])
	b.AddUint64(r.Size)
	switch {
	case r.Cipher != nil && len(r.OwnerKey) > 0:
		b.AddUint8(recordCipher | recordKept)
		b.AddBytes(r.Cipher[:])
		b.AddUint64(r.CipherSize)
		b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(r.OwnerKey) })
	case r.Cipher != nil:
		b.AddUint8(recordCipher)
		b.AddBytes(r.Cipher[:])
	default:
		b.AddUint8(0)
	}
	b.AddUint8(uint8(len(r.Labels)))
	for _, l := range r.Labels {
		addString8(b, l.Key)
		addString8(b, l.Value)
	}
}

// Record flags.
const (
	recordCipher = 0x01 // a cipher address follows
	recordKept   = 0x02 // with it, the ciphertext size and the owner's wrapped data key
)

func readRecord(s *cryptobyte.String) (*Record, error) {
	r := &Record{}
	var flags, nl uint8
	if !readString8(s, &r.Kind) || !readString8(s, &r.Chain) || !s.ReadUint32(&r.Step) ||
		!s.CopyBytes(r.Prev[:]) || !s.CopyBytes(r.Commitment[:]) || !s.ReadUint64(&r.Size) || !s.ReadUint8(&flags) {
		return nil, reject(CodeMalformed, "record is truncated")
	}
	switch flags {
	case 0:
	case recordCipher, recordCipher | recordKept:
		var c crypto.Hash
		if !s.CopyBytes(c[:]) {
			return nil, reject(CodeMalformed, "record cipher address is truncated")
		}
		r.Cipher = &c
		if flags&recordKept != 0 {
			var k cryptobyte.String
			if !s.ReadUint64(&r.CipherSize) || !s.ReadUint8LengthPrefixed(&k) {
				return nil, reject(CodeMalformed, "record original is truncated")
			}
			r.OwnerKey = []byte(k)
		}
	default:
		return nil, reject(CodeMalformed, "record flags 0x%02x: only 0x01 (cipher address) and 0x03 (kept original) are defined", flags)
	}
	if !s.ReadUint8(&nl) {
		return nil, reject(CodeMalformed, "record labels are truncated")
	}
	if int(nl) > MaxLabels {
		return nil, reject(CodeTooLarge, "record has %d labels, more than %d", nl, MaxLabels)
	}
	if nl > 0 {
		r.Labels = make([]Label, nl)
	}
	for i := range r.Labels {
		if !readString8(s, &r.Labels[i].Key) || !readString8(s, &r.Labels[i].Value) {
			return nil, reject(CodeMalformed, "record label %d is truncated", i)
		}
	}
	return r, nil
}

func addString8(b *cryptobyte.Builder, s string) {
	b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes([]byte(s)) })
}

func readString8(s *cryptobyte.String, out *string) bool {
	var v cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&v) {
		return false
	}
	*out = string(v)
	return true
}

// ValidIdent reports whether s is an identifier as the ledger accepts
// kinds, statements, label keys and member names: 1 to max bytes of
// lowercase letters, digits and . _ -, not starting with punctuation.
func ValidIdent(s string, max int) bool { return isIdent(s, max, identKind) }

// ValidChainID reports whether s is an evidence-chain (or alliance chain)
// id as the ledger accepts one: 1 to MaxChainIDLen bytes of letters, digits
// and . _ - :, not starting with punctuation.
func ValidChainID(s string) bool { return isIdent(s, MaxChainIDLen, identChain) }

type identClass int

const (
	identKind  identClass = iota // [a-z0-9] first, then [a-z0-9._-]
	identChain                   // [A-Za-z0-9] first, then [A-Za-z0-9._:-]
)

func checkIdent(what, s string, max int, class identClass) error {
	switch {
	case s == "":
		return reject(CodeMalformed, "%s is empty", what)
	case len(s) > max:
		return reject(CodeTooLarge, "%s is %d bytes, more than %d", what, len(s), max)
	case isIdent(s, max, class):
		return nil
	case class == identKind:
		return reject(CodeMalformed, "%s %q: use lowercase letters, digits and . _ - (not starting with punctuation)", what, s)
	}
	return reject(CodeMalformed, "%s %q: use letters, digits and . _ - : (not starting with punctuation)", what, s)
}

// isIdent is the one definition of the identifier classes.
func isIdent(s string, max int, class identClass) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if class == identChain {
			alnum = alnum || c >= 'A' && c <= 'Z'
		}
		if alnum {
			continue
		}
		if i > 0 && (c == '.' || c == '_' || c == '-' || (class == identChain && c == ':')) {
			continue
		}
		return false
	}
	return true
}

// readU32Prefixed reads a u32-length-prefixed field (cryptobyte has no
// reader for 32-bit prefixes).
func readU32Prefixed(s *cryptobyte.String, out *cryptobyte.String) bool {
	var n uint32
	var v []byte
	if !s.ReadUint32(&n) || !s.ReadBytes(&v, int(n)) {
		return false
	}
	*out = v
	return true
}
