package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// Checkpoints. After every block each validator signs, in ExtendVote, the
// checkpoint of the state after the previous block; the next proposer puts
// the collected signatures on chain in a TxCheckpoint transaction, which
// the ledger accepts only if the signatures are valid and come from members
// holding more than 2/3 of the voting power (a trusted checkpoint), and the
// checkpoint covers entries the last trusted checkpoint did not.
//
// Checkpoint transactions are consensus metadata, not evidence: they are
// stored in state (covered by the app hash) and are not log entries.

// CheckpointText returns the checkpoint body in the C2SP tlog-checkpoint
// format, the exact bytes members sign:
//
//	evidenced/<chain id>
//	<tree size, decimal>
//	<SM3 root, standard base64>
//	height <block height, decimal>
//	time <block time, RFC 3339 UTC with nanoseconds as needed>
//
// Every line ends with a newline.
func CheckpointText(chainID string, size uint64, root crypto.Hash, height int64, t int64) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "evidenced/%s\n%d\n%s\nheight %d\ntime %s\n", chainID, size, base64.StdEncoding.EncodeToString(root[:]),
		height, time.Unix(0, t).UTC().Format(time.RFC3339Nano))
	return b.Bytes()
}

// Checkpoint is a parsed checkpoint body.
type Checkpoint struct {
	ChainID string
	Size    uint64
	Root    crypto.Hash
	Height  int64
	Time    time.Time
}

// ErrBadCheckpoint is wrapped by ParseCheckpoint errors.
var ErrBadCheckpoint = errors.New("malformed checkpoint")

// ParseCheckpoint parses checkpoint text and checks that it is in the one
// canonical form CheckpointText produces.
func ParseCheckpoint(text []byte) (*Checkpoint, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadCheckpoint, fmt.Sprintf(format, args...))
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		return nil, bad("it must end with a newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) != 5 {
		return nil, bad("%d lines, want 5 (origin, size, root, height, time)", len(lines))
	}
	c := &Checkpoint{}
	var ok bool
	if c.ChainID, ok = strings.CutPrefix(lines[0], "evidenced/"); !ok || c.ChainID == "" {
		return nil, bad("origin line %q does not start with evidenced/", lines[0])
	}
	var err error
	if c.Size, err = strconv.ParseUint(lines[1], 10, 64); err != nil {
		return nil, bad("tree size %q: %v", lines[1], err)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != crypto.HashSize {
		return nil, bad("root %q is not a base64 SM3 hash", lines[2])
	}
	copy(c.Root[:], root)
	hs, ok := strings.CutPrefix(lines[3], "height ")
	if !ok {
		return nil, bad("line 4 %q is not a height line", lines[3])
	}
	if c.Height, err = strconv.ParseInt(hs, 10, 64); err != nil || c.Height < 0 {
		return nil, bad("height %q", hs)
	}
	ts, ok := strings.CutPrefix(lines[4], "time ")
	if !ok {
		return nil, bad("line 5 %q is not a time line", lines[4])
	}
	if c.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return nil, bad("time %q: %v", ts, err)
	}
	if !bytes.Equal(CheckpointText(c.ChainID, c.Size, c.Root, c.Height, c.Time.UnixNano()), text) {
		return nil, bad("not in canonical form")
	}
	return c, nil
}

// VoteExtension is what a validator attaches to its precommit: its member's
// signature on the checkpoint of the state after block Height.
//
//	u8 version (=1) ‖ u64 height ‖ u8-prefixed member name ‖ u8-prefixed DER signature
type VoteExtension struct {
	Height    uint64
	Member    string
	Signature []byte
}

// Encode returns the canonical bytes of the extension.
func (v *VoteExtension) Encode() []byte {
	var b cryptobyte.Builder
	b.AddUint8(1)
	b.AddUint64(v.Height)
	addString8(&b, v.Member)
	b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(v.Signature) })
	return b.BytesOrPanic()
}

// DecodeVoteExtension decodes extension bytes.
func DecodeVoteExtension(b []byte) (*VoteExtension, error) {
	s := cryptobyte.String(b)
	var ver uint8
	v := &VoteExtension{}
	var sig cryptobyte.String
	if !s.ReadUint8(&ver) || ver != 1 || !s.ReadUint64(&v.Height) || !readString8(&s, &v.Member) || !s.ReadUint8LengthPrefixed(&sig) || !s.Empty() {
		return nil, malformed("vote extension does not decode")
	}
	if err := checkIdent("member name", v.Member, MaxNameLen, identKind); err != nil {
		return nil, malformed("vote extension member: %v", err)
	}
	if len(sig) == 0 || len(sig) > crypto.MaxSignatureSize {
		return nil, malformed("vote extension signature is %d bytes", len(sig))
	}
	v.Signature = []byte(sig)
	return v, nil
}

// blockRecord is the stored log head after a block: 'B' ‖ height → size ‖ time.
func blockRecord(size uint64, t int64) []byte {
	b := u64(size)
	return binary.BigEndian.AppendUint64(b, uint64(t))
}

func (s *state) blockAt(height int64) (size uint64, t int64, ok bool, err error) {
	if height < 0 {
		return 0, 0, false, nil
	}
	v, found, err := s.get(keyU64(prefixBlock, uint64(height)))
	if err != nil || !found {
		return 0, 0, false, err
	}
	if len(v) != 16 {
		return 0, 0, false, fmt.Errorf("%w: block record %d", ErrStoreCorrupt, height)
	}
	return binary.BigEndian.Uint64(v), int64(binary.BigEndian.Uint64(v[8:])), true, nil
}

// checkpointAt returns the checkpoint text of the state after block height.
func (s *state) checkpointAt(height int64) ([]byte, uint64, error) {
	size, t, ok, err := s.blockAt(height)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, fmt.Errorf("no block %d: %w", height, ErrNotFound)
	}
	root, err := hasher.TreeHash(int64(size), s)
	if err != nil {
		return nil, 0, fmt.Errorf("root at size %d: %w", size, err)
	}
	return CheckpointText(s.params.ChainID, size, crypto.Hash(root), height, t), size, nil
}

// latestCheckpoint is 'Z' → height u64 ‖ size u64 of the last trusted checkpoint.
func (s *state) latestCheckpoint() (height, size uint64, ok bool, err error) {
	v, found, err := s.get(key1(prefixLatestCheckpoint))
	if err != nil || !found {
		return 0, 0, false, err
	}
	if len(v) != 16 {
		return 0, 0, false, fmt.Errorf("%w: latest checkpoint record", ErrStoreCorrupt)
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), true, nil
}

// totalPower returns the roster's total voting power.
func (s *state) totalPower() (uint64, error) {
	v, found, err := s.get(key1(prefixTotalPower))
	if err != nil {
		return 0, err
	}
	if !found || len(v) != 8 {
		return 0, fmt.Errorf("%w: total voting power missing", ErrStoreCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// Trusted reports whether signers holding power out of total make a
// trusted checkpoint: strictly more than 2/3 of the voting power. It
// compares 3·power with 2·total in 128 bits, so it holds for any uint64
// powers (a genesis roster may give a total up to 2^64-1).
func Trusted(power, total uint64) bool {
	if total == 0 {
		return false
	}
	ph, pl := bits.Mul64(power, 3)
	th, tl := bits.Mul64(total, 2)
	return ph > th || ph == th && pl > tl
}

var checkpointType = TxTypeInfo{
	Type: TxCheckpoint, Name: "checkpoint", Title: "Checkpoint",
	Doc:    "validators' co-signatures on the checkpoint of an earlier block, put in a block by its proposer (state, not a log entry)",
	Origin: OriginProposer,
	Example: func() Payload {
		return &CosignedCheckpoint{Height: 4, Signatures: []MemberSignature{{Member: "court", Signature: []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}}}}
	},
	decode: decodeCosignedCheckpoint,
}

// CosignedCheckpoint is the payload of TxCheckpoint: members' SM2
// signatures on the checkpoint of the state after block Height (see
// CheckpointText), sorted by member name, one per member. Encoding:
//
//	u64 height ‖ u8 count ‖ count × (u8-prefixed member ‖ u8-prefixed DER signature)
type CosignedCheckpoint struct {
	Height     uint64
	Signatures []MemberSignature
}

// MemberSignature is one member's SM2 signature (DER) with its member key.
type MemberSignature struct {
	Member    string
	Signature []byte
}

// TxType implements Payload.
func (*CosignedCheckpoint) TxType() TxType { return TxCheckpoint }

// Details implements Payload: checkpoints are not log entries, and the
// API shows them as checkpoint files, not entries.
func (*CosignedCheckpoint) Details() Details { return nil }

func (c *CosignedCheckpoint) encode(b *cryptobyte.Builder) {
	b.AddUint64(c.Height)
	b.AddUint8(uint8(len(c.Signatures)))
	for _, sg := range c.Signatures {
		addString8(b, sg.Member)
		b.AddUint8LengthPrefixed(func(x *cryptobyte.Builder) { x.AddBytes(sg.Signature) })
	}
}

func decodeCosignedCheckpoint(s *cryptobyte.String) (Payload, error) {
	c := &CosignedCheckpoint{}
	var n uint8
	if !s.ReadUint64(&c.Height) || !s.ReadUint8(&n) {
		return nil, reject(CodeMalformed, "checkpoint is truncated")
	}
	for i := 0; i < int(n); i++ {
		var ms MemberSignature
		var sig cryptobyte.String
		if !readString8(s, &ms.Member) || !s.ReadUint8LengthPrefixed(&sig) {
			return nil, reject(CodeMalformed, "checkpoint signature %d is truncated", i)
		}
		ms.Signature = []byte(sig)
		c.Signatures = append(c.Signatures, ms)
	}
	return c, nil
}

func (c *CosignedCheckpoint) validate() error {
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
}

// writeCost is 0: a checkpoint is not a log entry and does not count
// against MaxBlockWrites (a block holds at most one).
func (*CosignedCheckpoint) writeCost() int { return 0 }

// check validates a checkpoint transaction in block c.Block: the one of
// the block, for the state after block Height = the block's height - 2,
// covering entries the last trusted checkpoint did not, co-signed by
// members holding more than 2/3 of the voting power.
func (c *CosignedCheckpoint) check(x *txContext) (*RejectError, error) {
	s, b := x.s, x.Block
	if s.checkpointSeen {
		return reject(CodeCheckpoint, "a block holds at most one checkpoint transaction"), nil
	}
	if int64(c.Height) != b.Height-2 {
		return reject(CodeCheckpoint, "block %d may carry the checkpoint of height %d, not %d", b.Height, b.Height-2, c.Height), nil
	}
	text, size, err := s.checkpointAt(int64(c.Height))
	if errors.Is(err, ErrNotFound) {
		return reject(CodeCheckpoint, "no block %d to checkpoint", c.Height), nil
	}
	if err != nil {
		return nil, err
	}
	if _, last, ok, err := s.latestCheckpoint(); err != nil {
		return nil, err
	} else if ok && size <= last {
		return reject(CodeCheckpoint, "checkpoint of tree size %d does not extend the last trusted one (size %d)", size, last), nil
	}
	// The validators of block Height+1 signed it in their votes: the
	// roster version in force at that height.
	signers, err := s.versionAt(int64(c.Height) + 1)
	if err != nil {
		return nil, err
	}
	total := signers.totalPower()
	var power uint64
	for _, sg := range c.Signatures {
		m := signers.seat(sg.Member)
		if m == nil || m.Power == 0 {
			return reject(CodeCheckpoint, "signer %s is not a voting member of roster version %d, which signs this checkpoint", sg.Member, signers.Version), nil
		}
		if err := x.l.verify(m.Keys[0], text, sg.Signature); err != nil {
			return reject(CodeCheckpoint, "signature of %s does not verify: %v", sg.Member, err), nil
		}
		power += m.Power
	}
	if !Trusted(power, total) {
		return reject(CodeCheckpoint, "signers hold %d of %d voting power, not more than 2/3", power, total), nil
	}
	x.checkpointSize = size
	return nil, nil
}

// stage records the trusted checkpoint: its signatures, the latest trusted
// checkpoint, and the by-size index receipts look it up by. When its tree
// holds the roster entry of the next pending roster version, its signers
// (the version in force) have attested that version, which takes effect:
// the ledger's members and keys are its from this block on, and the
// consensus engine's validators from two blocks on.
func (c *CosignedCheckpoint) stage(x *txContext) error {
	s, size := x.s, x.checkpointSize
	s.checkpointSeen = true
	s.set(keyU64(prefixCheckpoint, c.Height), encodeSignatures(c.Signatures))
	s.set(key1(prefixLatestCheckpoint), binary.BigEndian.AppendUint64(u64(c.Height), size))
	s.set(binary.BigEndian.AppendUint64(keyU64(prefixCheckpointBySize, size), c.Height), nil)
	cur, err := s.versionNumber(prefixCurrentVersion)
	if err != nil {
		return err
	}
	latest, err := s.versionNumber(prefixLatestVersion)
	if err != nil || latest == cur {
		return err
	}
	next, err := s.version(cur + 1)
	if err != nil {
		return err
	}
	signers, err := s.versionAt(int64(c.Height) + 1)
	if err != nil {
		return err
	}
	// One version at a time, each attested by the one before it.
	if next.Entry >= size || signers.Version != cur {
		return nil
	}
	prev, err := s.version(cur)
	if err != nil {
		return err
	}
	updates, err := s.takeEffect(prev, next, x.Block.Height+2, c.Height)
	if err != nil {
		return err
	}
	s.validatorUpdates = append(s.validatorUpdates, updates...)
	return nil
}

func encodeSignatures(sigs []MemberSignature) []byte {
	var b cryptobyte.Builder
	b.AddUint8(uint8(len(sigs)))
	for _, sg := range sigs {
		addString8(&b, sg.Member)
		b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(sg.Signature) })
	}
	return b.BytesOrPanic()
}

func decodeSignatures(v []byte) ([]MemberSignature, error) {
	s := cryptobyte.String(v)
	var n uint8
	if !s.ReadUint8(&n) {
		return nil, fmt.Errorf("%w: checkpoint signatures", ErrStoreCorrupt)
	}
	out := make([]MemberSignature, n)
	for i := range out {
		var sig cryptobyte.String
		if !readString8(&s, &out[i].Member) || !s.ReadUint8LengthPrefixed(&sig) {
			return nil, fmt.Errorf("%w: checkpoint signatures", ErrStoreCorrupt)
		}
		out[i].Signature = []byte(sig)
	}
	if !s.Empty() {
		return nil, fmt.Errorf("%w: checkpoint signatures have %d trailing bytes", ErrStoreCorrupt, len(s))
	}
	return out, nil
}

// SignedCheckpoint is a trusted checkpoint with its co-signatures.
type SignedCheckpoint struct {
	Text       []byte
	Checkpoint Checkpoint
	Signatures []MemberSignature
}

// CheckpointText returns the checkpoint text of the state after block
// height (signed or not).
func (v *View) CheckpointText(height int64) ([]byte, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	text, _, err := v.s.checkpointAt(height)
	return text, err
}

// SignedCheckpoint returns the trusted checkpoint of height, with signatures.
func (v *View) SignedCheckpoint(height uint64) (*SignedCheckpoint, error) {
	raw, found, err := v.r.Get(keyU64(prefixCheckpoint, height))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("trusted checkpoint of height %d: %w", height, ErrNotFound)
	}
	sigs, err := decodeSignatures(raw)
	if err != nil {
		return nil, err
	}
	text, err := v.CheckpointText(int64(height))
	if err != nil {
		return nil, err
	}
	cp, err := ParseCheckpoint(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStoreCorrupt, err)
	}
	return &SignedCheckpoint{Text: text, Checkpoint: *cp, Signatures: sigs}, nil
}

// LatestCheckpoint returns the most recent trusted checkpoint.
func (v *View) LatestCheckpoint() (*SignedCheckpoint, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	h, _, ok, err := v.s.latestCheckpoint()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no trusted checkpoint yet: %w", ErrNotFound)
	}
	return v.SignedCheckpoint(h)
}

// CheckpointCovering returns the earliest trusted checkpoint whose tree
// includes entry index (tree size > index). Receipts use it, so a receipt
// once available never changes.
func (v *View) CheckpointCovering(index uint64) (*SignedCheckpoint, error) {
	var kvs []KV
	if index < math.MaxUint64 { // no tree size exceeds 2^64-1; index+1 would wrap to 0
		var err error
		if kvs, err = v.r.Scan(key1(prefixCheckpointBySize), keyU64(prefixCheckpointBySize, index+1), 1); err != nil {
			return nil, err
		}
	}
	if len(kvs) == 0 {
		return nil, fmt.Errorf("no trusted checkpoint covers entry %d yet: %w", index, ErrNotFound)
	}
	k := kvs[0].Key
	if len(k) != 17 {
		return nil, fmt.Errorf("%w: checkpoint size index key", ErrStoreCorrupt)
	}
	return v.SignedCheckpoint(binary.BigEndian.Uint64(k[9:]))
}

// CheckpointFrom returns the earliest trusted checkpoint of height h or
// later; ErrNotFound when there is none yet. Receipts use it to find a
// checkpoint signed by a given roster version or a later one.
func (v *View) CheckpointFrom(h uint64) (*SignedCheckpoint, error) {
	kvs, err := v.r.Scan(key1(prefixCheckpoint), keyU64(prefixCheckpoint, h), 1)
	if err != nil {
		return nil, err
	}
	if len(kvs) == 0 {
		return nil, fmt.Errorf("no trusted checkpoint of height %d or later yet: %w", h, ErrNotFound)
	}
	if len(kvs[0].Key) != 9 {
		return nil, fmt.Errorf("%w: checkpoint key", ErrStoreCorrupt)
	}
	return v.SignedCheckpoint(binary.BigEndian.Uint64(kvs[0].Key[1:]))
}

// TotalPower returns the roster's total voting power.
func (v *View) TotalPower() (uint64, error) {
	if _, err := v.Params(); err != nil {
		return 0, err
	}
	return v.s.totalPower()
}
