package ledger

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/tsa"
)

// The timestamp transaction (TxTimestamp): a member submits an RFC 3161
// time-stamp token (tsa.Token) that a trusted TSA signed over the text of a
// trusted checkpoint, so that the checkpoint (and every entry its tree
// holds) is proven to have existed no later than the token's genTime. The
// stamper service of a designated member's node builds and submits it.
// Payload encoding:
//
//	Timestamp = u64 checkpoint height ‖ u8-prefixed TSA name ‖ u16-prefixed token DER
//
// The ledger accepts a token, deterministically and without a clock, only
// if: a trusted checkpoint of that height exists (unknown_checkpoint) and
// has no token yet (already_stamped: the first token per checkpoint is
// kept); the TSA is in the roster in force at the block (not_tsa); the token
// parses and verifies against that TSA alone, at its genTime (bad_token,
// token_expired), over the exact checkpoint text with a hash algorithm the
// TSA allows (token_imprint); it carries a nonce (bad_token); its (TSA,
// serial) was never accepted before (token_replayed); and its genTime is not
// earlier than the checkpoint's block time minus TimestampSkew
// (token_time). Any policy is accepted: the roster names TSAs, not
// policies.
//
// An accepted timestamp is state, not a log entry (TxTypeInfo.StateOnly):
// the token is kept beside the checkpoint it stamps, as the checkpoint's
// co-signatures are, and the app hash commits to it. So record indexes do
// not depend on when a TSA answered, and a token never grows the log into
// a new checkpoint that would want a token of its own.
//
// State:
//
//	'D' ‖ u64 checkpoint height → u64 block height accepted ‖ u64 checkpoint tree size ‖ u8-prefixed TSA name ‖ token DER
//	'I' ‖ SM3(u8-prefixed TSA name ‖ serial number bytes) → u64 checkpoint height (replays)
//	'd' ‖ u64 tree size ‖ u64 height → empty (query index: stamped checkpoints by size)

// TimestampSkew is how much earlier than the block time of the checkpoint
// it stamps a token's genTime may be: the clock skew allowed between the
// validators and the TSA. A token cannot be older than what it stamps.
const TimestampSkew = 10 * time.Minute

// timestampVerifyCost is the verification of a token (a CMS signature and
// a certificate chain) counted in MaxBlockWrites units, beyond its writes.
const timestampVerifyCost = 5

//go:embed testdata/example-token.der
var exampleToken []byte

var timestampType = TxTypeInfo{
	Type: TxTimestamp, Name: "timestamp", Title: "Timestamp",
	Doc:    "an RFC 3161 time-stamp token of a trusted TSA over a trusted checkpoint: the checkpoint existed no later than the token's time",
	Origin: OriginMember, Roles: allRoles, StateOnly: true,
	JSONKey: "timestamp", NewDetails: func() Details { return &TimestampDetails{} },
	Example: func() Payload {
		return &Timestamp{Height: 12, TSA: "tsa-example", Token: bytes.Clone(exampleToken)}
	},
	decode: decodeTimestamp,
}

// Timestamp is the payload of TxTimestamp.
type Timestamp struct {
	Height int64  // the stamped checkpoint's height
	TSA    string // the name of the TSA in the roster
	Token  []byte // the RFC 3161 TimeStampToken (DER)
}

// TimestampDetails is the public form of a timestamp: what the token
// states (it was verified when the ledger accepted it), not the token
// itself, which GET /v1/checkpoints/{height}/timestamp/token serves.
type TimestampDetails struct {
	Checkpoint uint64     `json:"checkpoint"` // the stamped checkpoint's height
	TSA        string     `json:"tsa"`
	GenTime    *time.Time `json:"gen_time,omitempty"` // absent when the token does not parse
	Serial     string     `json:"serial,omitempty"`
	Hash       string     `json:"hash,omitempty"` // the imprint's algorithm: sm3 or sha256
	TokenSize  uint64     `json:"token_size"`
}

// TxType implements Payload.
func (*Timestamp) TxType() TxType { return TxTimestamp }

// Details implements Payload.
func (t *Timestamp) Details() Details {
	d := &TimestampDetails{Checkpoint: uint64(t.Height), TSA: t.TSA, TokenSize: uint64(len(t.Token))}
	if tok, err := tsa.ParseToken(t.Token); err == nil {
		gt := tok.GenTime()
		h, _ := tok.Imprint()
		d.GenTime, d.Serial, d.Hash = &gt, FormatSerial(tok.Serial().Bytes()), string(h)
	}
	return d
}

// FormatSerial formats a token's serial number (big-endian bytes) as
// OpenSSL prints it: 0x and upper-case hex digits.
func FormatSerial(b []byte) string {
	if len(b) == 0 {
		return "0x00"
	}
	return fmt.Sprintf("0x%X", b)
}

// Fields implements Details.
func (d *TimestampDetails) Fields() []Field {
	fs := []Field{{Name: "checkpoint", Kind: FieldNumber, Value: d.Checkpoint}, {Name: "tsa", Kind: FieldIdent, Value: d.TSA}}
	if d.GenTime != nil {
		fs = append(fs, Field{Name: "gen_time", Kind: FieldTime, Value: d.GenTime.UTC()},
			Field{Name: "serial", Kind: FieldIdent, Value: d.Serial}, Field{Name: "hash", Kind: FieldIdent, Value: d.Hash})
	}
	return append(fs, Field{Name: "token_size", Kind: FieldNumber, Value: d.TokenSize})
}

// Summary implements Details.
func (d *TimestampDetails) Summary() (string, []Field) {
	return "stamps the checkpoint of height %d by TSA %s", []Field{{Name: "checkpoint", Kind: FieldNumber, Value: d.Checkpoint},
		{Name: "tsa", Kind: FieldIdent, Value: d.TSA}}
}

func (t *Timestamp) encode(b *cryptobyte.Builder) {
	b.AddUint64(uint64(t.Height))
	addString8(b, t.TSA)
	b.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(t.Token) })
}

func decodeTimestamp(s *cryptobyte.String) (Payload, error) {
	t := &Timestamp{}
	var h uint64
	var n uint16
	if !s.ReadUint64(&h) || !readString8(s, &t.TSA) || !s.ReadUint16(&n) {
		return nil, reject(CodeMalformed, "timestamp is truncated")
	}
	if h > math.MaxInt64 {
		return nil, reject(CodeMalformed, "timestamp height %d is beyond any block height", h)
	}
	t.Height = int64(h)
	if int(n) > tsa.MaxTokenBytes {
		return nil, reject(CodeTooLarge, "timestamp token is %d bytes, more than %d", n, tsa.MaxTokenBytes)
	}
	var tok []byte
	if !s.ReadBytes(&tok, int(n)) {
		return nil, reject(CodeMalformed, "timestamp token is truncated")
	}
	t.Token = bytes.Clone(tok)
	return t, nil
}

func (t *Timestamp) validate() error {
	if t.Height < 0 {
		return reject(CodeMalformed, "timestamp height %d is negative", t.Height)
	}
	if err := checkIdent("TSA name", t.TSA, MaxTSANameLen, identChain); err != nil {
		return err
	}
	if len(t.Token) == 0 || len(t.Token) > tsa.MaxTokenBytes {
		return reject(CodeMalformed, "timestamp token is %d bytes, want 1 to %d of DER", len(t.Token), tsa.MaxTokenBytes)
	}
	return nil
}

// writeCost: the stamp ('D'), the replay key ('I') and the by-size index
// ('d'), and the token's verification.
func (*Timestamp) writeCost() int { return 3 + timestampVerifyCost }

// stampCheck is what check found, for stage.
type stampCheck struct {
	size   uint64      // the checkpoint's tree size
	replay crypto.Hash // the replay key's hash
}

func (t *Timestamp) check(c *txContext) (*RejectError, error) {
	s := c.s
	height := uint64(t.Height)
	trusted, err := s.has(keyU64(prefixCheckpoint, height))
	if err != nil {
		return nil, err
	}
	if !trusted {
		return reject(CodeUnknownCheckpoint, "there is no trusted checkpoint of height %d", t.Height), nil
	}
	stamped, err := s.has(keyU64(prefixTimestamp, height))
	if err != nil {
		return nil, err
	}
	if stamped || s.checkedStamps[height] {
		return reject(CodeAlreadyStamped, "the checkpoint of height %d already has a token: the first one is kept", t.Height), nil
	}
	v, found, err := s.get(keyTSA(t.TSA))
	if err != nil {
		return nil, err
	}
	if !found {
		return reject(CodeNotTSA, "TSA %s is not in the roster in force", t.TSA), nil
	}
	rs := cryptobyte.String(v)
	trust, err := readTSA(&rs)
	if err != nil || !rs.Empty() {
		return nil, fmt.Errorf("%w: TSA record %s", ErrStoreCorrupt, t.TSA)
	}
	tok, err := tsa.ParseToken(t.Token)
	if err != nil {
		return reject(CodeBadToken, "%v", err), nil
	}
	replay := replayHash(t.TSA, tok.Serial().Bytes())
	seen, err := s.has(keyBytes(prefixStampSerial, replay[:]))
	if err != nil {
		return nil, err
	}
	if seen || s.checkedSerials[replay] {
		return reject(CodeTokenReplayed, "the token of TSA %s with serial %s was already accepted", t.TSA, FormatSerial(tok.Serial().Bytes())), nil
	}
	text, size, err := s.checkpointAt(t.Height)
	if err != nil {
		return nil, err
	}
	_, cpTime, _, err := s.blockAt(t.Height)
	if err != nil {
		return nil, err
	}
	st, err := c.l.stamps.verify(tok, trust.Anchor(), text)
	switch {
	case errors.Is(err, tsa.ErrImprint) || errors.Is(err, tsa.ErrHashAlg):
		return reject(CodeTokenImprint, "the token is not over the checkpoint of height %d with a hash TSA %s may use (%v): %v", t.Height, t.TSA, trust.Hashes, err), nil
	case errors.Is(err, tsa.ErrExpired):
		return reject(CodeTokenExpired, "%v", err), nil
	case err != nil:
		return reject(CodeBadToken, "the token does not verify against TSA %s: %v", t.TSA, err), nil
	}
	if st.Nonce == nil {
		return reject(CodeBadToken, "the token carries no nonce: request tokens with a nonce"), nil
	}
	if earliest := time.Unix(0, cpTime).Add(-TimestampSkew); st.GenTime.Before(earliest) {
		return reject(CodeTokenTime, "the token's genTime %s is earlier than the checkpoint's block time %s by more than %s", st.GenTime.Format(time.RFC3339), fmtTime(cpTime), TimestampSkew), nil
	}
	if !c.Staging && s.checkedStamps != nil {
		s.checkedStamps[height] = true
		s.checkedSerials[replay] = true
	}
	c.stamp = &stampCheck{size: size, replay: replay}
	return nil, nil
}

func (t *Timestamp) stage(c *txContext) error {
	s, sc := c.s, c.stamp
	if sc == nil {
		return errors.New("timestamp staged without its check")
	}
	v := binary.BigEndian.AppendUint64(u64(uint64(c.Block.Height)), sc.size)
	v = append(append(v, byte(len(t.TSA))), t.TSA...)
	s.set(keyU64(prefixTimestamp, uint64(t.Height)), append(v, t.Token...))
	s.set(keyBytes(prefixStampSerial, sc.replay[:]), u64(uint64(t.Height)))
	s.set(binary.BigEndian.AppendUint64(keyU64(prefixStampBySize, sc.size), uint64(t.Height)), nil)
	return nil
}

// replayHash is SM3(u8-prefixed TSA name ‖ serial number bytes).
func replayHash(name string, serial []byte) crypto.Hash {
	return crypto.SM3([]byte{byte(len(name))}, []byte(name), serial)
}

// Anchor is the tsa.Anchor of a trusted TSA: what a token is verified
// against (by the ledger, the stamper and a receipt's time step).
func (t *TSA) Anchor() tsa.Anchor {
	a := tsa.Anchor{Name: t.Name, Cert: t.Cert}
	for _, h := range t.Hashes {
		a.Hashes = append(a.Hashes, tsa.HashAlg(h))
	}
	return a
}

// stampCache remembers the tokens that verified, keyed by the exact token,
// anchor and message, so that FinalizeBlock does not verify again a token
// CheckTx verified (tsa.Token.Verify is deterministic: the same inputs give
// the same answer). Failures are not kept. It is bounded: when full, the
// oldest half is dropped.
type stampCache struct {
	mu    sync.Mutex
	m     map[crypto.Hash]*tsa.Stamp
	order []crypto.Hash
}

const stampCacheSize = 1024

func (c *stampCache) verify(tok *tsa.Token, a tsa.Anchor, msg []byte) (*tsa.Stamp, error) {
	var hs []byte
	for _, h := range a.Hashes {
		hs = append(hs, byte(len(h)))
		hs = append(hs, h...)
	}
	k := crypto.SM3(u64(uint64(len(tok.Raw()))), tok.Raw(), []byte{byte(len(a.Name))}, []byte(a.Name),
		u64(uint64(len(a.Cert))), a.Cert, hs, []byte{0}, msg)
	c.mu.Lock()
	st, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := tok.Verify([]tsa.Anchor{a}, msg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[crypto.Hash]*tsa.Stamp{}
	}
	if _, ok := c.m[k]; !ok {
		if len(c.order) >= stampCacheSize {
			for _, old := range c.order[:stampCacheSize/2] {
				delete(c.m, old)
			}
			c.order = slices.Delete(c.order, 0, stampCacheSize/2)
		}
		c.m[k] = st
		c.order = append(c.order, k)
	}
	return st, nil
}

// TimestampInfo is the token kept for a trusted checkpoint, as the API,
// the explorer and receipts show it.
type TimestampInfo struct {
	Height     int64     // the stamped checkpoint's height
	Accepted   int64     // the height of the block that accepted the token
	TSA        string    // the TSA's name in the roster
	Token      []byte    // the RFC 3161 TimeStampToken (DER)
	GenTime    time.Time // what the token states, UTC
	Serial     string    // the token's serial number (FormatSerial)
	Hash       string    // the imprint's hash algorithm: sm3 or sha256
	Checkpoint *SignedCheckpoint
}

// Timestamp returns the token kept for the trusted checkpoint of height;
// ErrNotFound when it has none (yet).
func (v *View) Timestamp(height int64) (*TimestampInfo, error) {
	if height < 0 {
		return nil, fmt.Errorf("timestamp of height %d: %w", height, ErrNotFound)
	}
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	raw, found, err := v.r.Get(keyU64(prefixTimestamp, uint64(height)))
	if err != nil {
		return nil, fmt.Errorf("read the timestamp of height %d: %w", height, err)
	}
	if !found {
		return nil, fmt.Errorf("no token stamps the checkpoint of height %d: %w", height, ErrNotFound)
	}
	rs := cryptobyte.String(raw)
	var accepted, size uint64
	var name, token []byte
	if !rs.ReadUint64(&accepted) || !rs.ReadUint64(&size) || !rs.ReadUint8LengthPrefixed((*cryptobyte.String)(&name)) ||
		!rs.ReadBytes(&token, len(rs)) || accepted > math.MaxInt64 || len(token) == 0 {
		return nil, fmt.Errorf("%w: timestamp record %d does not parse", ErrStoreCorrupt, height)
	}
	tok, err := tsa.ParseToken(token)
	if err != nil {
		return nil, fmt.Errorf("%w: the token of the checkpoint of height %d: %v", ErrStoreCorrupt, height, err)
	}
	cp, err := v.SignedCheckpoint(uint64(height))
	if err != nil {
		return nil, err
	}
	if cp.Checkpoint.Size != size {
		return nil, fmt.Errorf("%w: timestamp record %d names tree size %d, its checkpoint %d", ErrStoreCorrupt, height, size, cp.Checkpoint.Size)
	}
	h, _ := tok.Imprint()
	return &TimestampInfo{Height: height, Accepted: int64(accepted), TSA: string(name), Token: bytes.Clone(token), GenTime: tok.GenTime(),
		Serial: FormatSerial(tok.Serial().Bytes()), Hash: string(h), Checkpoint: cp}, nil
}

// TimestampCovering returns the token of the earliest stamped checkpoint
// whose tree includes entry index (tree size > index); ErrNotFound when
// none does yet. Receipts use it, so the token a receipt carries never
// changes once there is one.
func (v *View) TimestampCovering(index uint64) (*TimestampInfo, error) {
	var kvs []KV
	if index < math.MaxUint64 {
		var err error
		if kvs, err = v.r.Scan(key1(prefixStampBySize), keyU64(prefixStampBySize, index+1), 1); err != nil {
			return nil, fmt.Errorf("scan stamped checkpoints: %w", err)
		}
	}
	if len(kvs) == 0 {
		return nil, fmt.Errorf("no stamped checkpoint covers entry %d yet: %w", index, ErrNotFound)
	}
	if len(kvs[0].Key) != 17 {
		return nil, fmt.Errorf("%w: stamped checkpoint index key", ErrStoreCorrupt)
	}
	return v.Timestamp(int64(binary.BigEndian.Uint64(kvs[0].Key[9:])))
}

// Timestamps returns up to limit tokens of stamped checkpoints of height
// from or later, by height.
func (v *View) Timestamps(from int64, limit int) ([]*TimestampInfo, error) {
	if from < 0 {
		from = 0
	}
	kvs, err := v.r.Scan(key1(prefixTimestamp), keyU64(prefixTimestamp, uint64(from)), limit)
	if err != nil {
		return nil, fmt.Errorf("scan timestamps: %w", err)
	}
	out := make([]*TimestampInfo, 0, len(kvs))
	for _, kv := range kvs {
		if len(kv.Key) != 9 {
			return nil, fmt.Errorf("%w: timestamp key", ErrStoreCorrupt)
		}
		ti, err := v.Timestamp(int64(binary.BigEndian.Uint64(kv.Key[1:])))
		if err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, nil
}
