package ledger

import (
	"errors"
	"fmt"
	"io"
	"strconv"

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

// RecordRef names one record: the entry holding it and its position in that
// entry (always 0 for a single-record transaction).
type RecordRef struct {
	Index uint64 `json:"index"`
	Pos   uint16 `json:"pos"`
}

// String returns the record id the API and the explorer use: INDEX, or
// INDEX.POS when the position is not 0.
func (r RecordRef) String() string {
	if r.Pos == 0 {
		return strconv.FormatUint(r.Index, 10)
	}
	return strconv.FormatUint(r.Index, 10) + "." + strconv.FormatUint(uint64(r.Pos), 10)
}

// less orders record refs by entry, then position.
func (r RecordRef) less(q RecordRef) bool {
	return r.Index < q.Index || (r.Index == q.Index && r.Pos < q.Pos)
}

// Body is the signed part of a transaction: the header every transaction
// has and the payload of its type.
type Body struct {
	ChainID string
	Signer  crypto.KeyID // zero only for genesis registrations
	Time    int64        // client time, Unix nanoseconds
	Payload Payload
}

// Type returns the transaction type, that of the payload (0 without one).
func (b *Body) Type() TxType {
	if b.Payload == nil {
		return 0
	}
	return b.Payload.TxType()
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
	bb.AddUint8(uint8(b.Type()))
	bb.AddBytes(b.Signer[:])
	bb.AddUint64(uint64(b.Time))
	b.Payload.encode(&bb)
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
	out.Time = int64(t)
	info := TxType(typ).Info()
	if info == nil {
		return nil, reject(CodeUnsupported, "transaction type %d is not supported", typ)
	}
	p, err := info.decode(&s)
	if err != nil {
		return nil, err
	}
	out.Payload = p
	if !s.Empty() {
		return nil, reject(CodeMalformed, "%d trailing bytes after the %s payload", len(s), info.Name)
	}
	if err := out.validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// recordHolder is a payload that carries evidence records.
type recordHolder interface {
	records() []Record
}

// EvidenceRecords returns the evidence records the body carries, in
// position order (an evidence body's one record, a batch's records); nil
// for payloads that carry none.
func (b *Body) EvidenceRecords() []Record {
	if h, ok := b.Payload.(recordHolder); ok {
		return h.records()
	}
	return nil
}

func (b *Body) validate() error {
	if err := checkIdent("chain id", b.ChainID, MaxChainIDLen, identChain); err != nil {
		return err
	}
	if b.Payload == nil {
		return reject(CodeMalformed, "body carries no payload")
	}
	if b.Payload.TxType().Info() == nil {
		return reject(CodeUnsupported, "transaction type %d is not supported", uint8(b.Payload.TxType()))
	}
	return b.Payload.validate()
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
