package snapshots

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Format is the snapshot format this package takes and restores (the ABCI
// Snapshot.Format).
const Format uint32 = 1

// Bounds of a snapshot.
const (
	// MaxChunks bounds the chunks of a snapshot: CometBFT's default
	// max_snapshot_chunks, and metadata well within its 4 MB snapshot
	// message.
	MaxChunks = 100_000
	// MaxChunkBytes bounds one chunk: CometBFT's chunk messages hold at
	// most 16e6 bytes with their framing.
	MaxChunkBytes = 15 << 20
	// DefaultChunkSize is the chunk size of snapshots when none is
	// configured.
	DefaultChunkSize = 8 << 20
	// MinChunkSize and MaxChunkSize bound the configured chunk size.
	MinChunkSize = 4 << 10
	MaxChunkSize = 12 << 20
)

// Encoding versions and sizes.
const (
	metadataVersion = 1
	chunkVersion    = 1
	// metadataFixed is the size of the metadata without chain id and
	// chunk hashes: version, chain id length, height, app hash, time,
	// schema, pairs, chunk count.
	metadataFixed = 1 + 1 + 8 + crypto.HashSize + 8 + 4 + 8 + 4
	// MaxMetadataBytes bounds encoded metadata.
	MaxMetadataBytes = metadataFixed + 255 + MaxChunks*crypto.HashSize
	// pairOverhead is the encoding of a pair without its key and value.
	pairOverhead = 2 + 4
	maxKeyLen    = 1<<16 - 1
)

// ErrMalformed is wrapped by the errors of DecodeMetadata and DecodeChunk.
var ErrMalformed = errors.New("snapshots: malformed")

// Metadata describes a snapshot: what restoring it needs besides the
// chunks, and the hash of each chunk. Its encoding is the ABCI
// Snapshot.Metadata.
type Metadata struct {
	ChainID string
	// Height is the committed height the snapshot holds the state of.
	Height uint64
	// AppHash and Time are the app hash and the block time (Unix
	// nanoseconds) committed with that height.
	AppHash crypto.Hash
	Time    int64
	// Schema is the store's schema version (store.SchemaVersion) of the
	// state.
	Schema uint32
	// Pairs is how many key/value pairs the chunks hold.
	Pairs uint64
	// Chunks are the SM3 digests of the chunks, in order.
	Chunks []crypto.Hash
}

// Hash returns the snapshot's hash (the ABCI Snapshot.Hash): SM3 of the
// chunk hashes concatenated in order.
func (m *Metadata) Hash() crypto.Hash {
	d := crypto.NewSM3()
	for _, h := range m.Chunks {
		d.Write(h[:])
	}
	var out crypto.Hash
	d.Sum(out[:0])
	return out
}

// Encode returns the canonical encoding of m. It panics on metadata that
// DecodeMetadata would refuse (a bug of the caller: the Manager makes it).
func (m *Metadata) Encode() []byte {
	if err := m.check(); err != nil {
		panic(fmt.Sprintf("snapshots: encode metadata: %v", err))
	}
	b := make([]byte, 0, metadataFixed+len(m.ChainID)+len(m.Chunks)*crypto.HashSize)
	b = append(b, metadataVersion, byte(len(m.ChainID)))
	b = append(b, m.ChainID...)
	b = binary.BigEndian.AppendUint64(b, m.Height)
	b = append(b, m.AppHash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Time))
	b = binary.BigEndian.AppendUint32(b, m.Schema)
	b = binary.BigEndian.AppendUint64(b, m.Pairs)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Chunks)))
	for _, h := range m.Chunks {
		b = append(b, h[:]...)
	}
	return b
}

// check holds the rules on decoded metadata beyond its layout.
func (m *Metadata) check() error {
	switch {
	case !ledger.ValidChainID(m.ChainID):
		return fmt.Errorf("chain id %q is not a valid chain id", m.ChainID)
	case m.Height == 0:
		return errors.New("height 0: snapshots are of heights after genesis")
	case len(m.Chunks) == 0 || len(m.Chunks) > MaxChunks:
		return fmt.Errorf("%d chunks: want 1 to %d", len(m.Chunks), MaxChunks)
	case m.Pairs < uint64(len(m.Chunks)):
		return fmt.Errorf("%d pairs in %d chunks: every chunk holds at least one", m.Pairs, len(m.Chunks))
	}
	return nil
}

// DecodeMetadata decodes snapshot metadata (bytes from another node). It
// checks each length before it allocates, and rejects another version,
// trailing bytes and metadata that breaks the rules of Metadata (a valid
// chain id, a positive height, 1 to MaxChunks chunks, at least one pair
// per chunk). Errors wrap ErrMalformed.
func DecodeMetadata(b []byte) (*Metadata, error) {
	m, err := decodeMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot metadata: %v", ErrMalformed, err)
	}
	return m, nil
}

func decodeMetadata(b []byte) (*Metadata, error) {
	if len(b) > MaxMetadataBytes {
		return nil, fmt.Errorf("%d bytes, more than the %d of the largest", len(b), MaxMetadataBytes)
	}
	if len(b) < metadataFixed {
		return nil, fmt.Errorf("%d bytes, fewer than the %d of the smallest", len(b), metadataFixed)
	}
	if b[0] != metadataVersion {
		return nil, fmt.Errorf("version %d, this node reads %d", b[0], metadataVersion)
	}
	n := int(b[1])
	if len(b) < metadataFixed+n {
		return nil, fmt.Errorf("a chain id of %d bytes does not fit in %d bytes", n, len(b))
	}
	m := &Metadata{ChainID: string(b[2 : 2+n])}
	b = b[2+n:]
	m.Height = binary.BigEndian.Uint64(b)
	copy(m.AppHash[:], b[8:])
	b = b[8+crypto.HashSize:]
	m.Time = int64(binary.BigEndian.Uint64(b))
	m.Schema = binary.BigEndian.Uint32(b[8:])
	m.Pairs = binary.BigEndian.Uint64(b[12:])
	count := binary.BigEndian.Uint32(b[20:])
	b = b[24:]
	if count == 0 || count > MaxChunks {
		return nil, fmt.Errorf("%d chunks: want 1 to %d", count, MaxChunks)
	}
	if uint64(len(b)) != uint64(count)*crypto.HashSize {
		return nil, fmt.Errorf("%d bytes of chunk hashes for %d chunks, want %d", len(b), count, uint64(count)*crypto.HashSize)
	}
	m.Chunks = make([]crypto.Hash, count)
	for i := range m.Chunks {
		copy(m.Chunks[i][:], b[i*crypto.HashSize:])
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// pairSize is the encoded size of a pair.
func pairSize(key, value []byte) int { return pairOverhead + len(key) + len(value) }

// appendPair appends the encoding of one pair (the caller has checked
// the key's length).
func appendPair(b, key, value []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(key)))
	b = append(b, key...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// EncodeChunk returns the chunk holding pairs, which must be in strictly
// ascending key order with keys of 1 to 65535 bytes not starting with
// 0x00 (ErrMalformed otherwise). The Manager writes chunks as a stream;
// this is the same encoding, for tests and tools.
func EncodeChunk(pairs []ledger.KV) ([]byte, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%w: a chunk holds at least one pair", ErrMalformed)
	}
	b := []byte{chunkVersion}
	var last []byte
	for i, kv := range pairs {
		if err := checkPairKey(kv.Key, last); err != nil {
			return nil, fmt.Errorf("%w: pair %d: %v", ErrMalformed, i, err)
		}
		last = kv.Key
		b = appendPair(b, kv.Key, kv.Value)
	}
	return b, nil
}

// checkPairKey checks a key and that it follows last (nil: the first).
func checkPairKey(key, last []byte) error {
	switch {
	case len(key) == 0 || len(key) > maxKeyLen:
		return fmt.Errorf("a key of %d bytes: want 1 to %d", len(key), maxKeyLen)
	case key[0] == 0x00:
		return fmt.Errorf("key %x is in the store's reserved range", key)
	case last != nil && bytes.Compare(key, last) <= 0:
		return fmt.Errorf("key %x does not follow key %x", key, last)
	}
	return nil
}

// DecodeChunk decodes a chunk (bytes from another node). It checks the
// whole chunk first: the version, every length against the bytes left,
// keys outside the store's reserved range and strictly ascending, the
// first after the key after (the last key of the chunk before; nil for the
// first chunk), at least one pair, at most MaxChunkBytes, no trailing
// bytes. Then it calls fn with each pair in order, key and value being
// slices of b, and stops at fn's first error. It returns the number of
// pairs and the last key, and allocates nothing for the pairs. Errors of
// the check wrap ErrMalformed; fn is then never called.
func DecodeChunk(b, after []byte, fn func(key, value []byte) error) (pairs int, last []byte, err error) {
	if pairs, last, err = walkChunk(b, after, nil); err != nil {
		return 0, nil, fmt.Errorf("%w: snapshot chunk: %v", ErrMalformed, err)
	}
	if fn != nil {
		if _, _, err := walkChunk(b, after, fn); err != nil {
			return 0, nil, err
		}
	}
	return pairs, last, nil
}

// walkChunk checks chunk b, calling fn (when not nil) with each pair.
func walkChunk(b, after []byte, fn func(key, value []byte) error) (pairs int, last []byte, err error) {
	if len(b) > MaxChunkBytes {
		return 0, nil, fmt.Errorf("%d bytes, more than %d", len(b), MaxChunkBytes)
	}
	if len(b) == 0 || b[0] != chunkVersion {
		return 0, nil, errors.New("not a version 1 chunk")
	}
	last = after
	for rest := b[1:]; len(rest) > 0; pairs++ {
		if len(rest) < 2 {
			return 0, nil, fmt.Errorf("pair %d: %d bytes left, too few for a key length", pairs, len(rest))
		}
		kl := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if len(rest) < kl+4 {
			return 0, nil, fmt.Errorf("pair %d: a key of %d bytes and a value length do not fit in %d bytes", pairs, kl, len(rest))
		}
		key := rest[:kl:kl]
		if err := checkPairKey(key, last); err != nil {
			return 0, nil, fmt.Errorf("pair %d: %v", pairs, err)
		}
		vl := binary.BigEndian.Uint32(rest[kl:])
		rest = rest[kl+4:]
		if uint64(len(rest)) < uint64(vl) {
			return 0, nil, fmt.Errorf("pair %d: a value of %d bytes does not fit in %d bytes", pairs, vl, len(rest))
		}
		value := rest[:vl:vl]
		rest = rest[vl:]
		if fn != nil {
			if err := fn(key, value); err != nil {
				return 0, nil, err
			}
		}
		last = key
	}
	if pairs == 0 {
		return 0, nil, errors.New("no pair: a chunk holds at least one")
	}
	return pairs, last, nil
}
