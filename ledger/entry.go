package ledger

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// EntryFormat is the version byte of a log entry.
const EntryFormat = 1

// Entry is one leaf of the evidence log: an accepted transaction and the
// block that accepted it. Its encoding is the Merkle leaf data:
//
//	Entry = u8 format (=1) | u64 block height | i64 block time (Unix ns) | u32-length-prefixed tx bytes
//
// Genesis registrations are entries at height 0 with the genesis time.
type Entry struct {
	Height  int64
	Time    int64
	TxBytes []byte
}

// Encode returns the canonical entry bytes (the Merkle leaf data).
func (e *Entry) Encode() []byte {
	var b cryptobyte.Builder
	b.AddUint8(EntryFormat)
	b.AddUint64(uint64(e.Height))
	b.AddUint64(uint64(e.Time))
	b.AddUint32LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(e.TxBytes) })
	out, err := b.Bytes()
	if err != nil {
		// Only a tx longer than 4 GiB can fail; the ledger never accepts one.
		panic("ledger: encode entry: " + err.Error())
	}
	return out
}

// DecodeEntry decodes entry bytes. It does not decode the transaction inside;
// call DecodeTx on TxBytes for that.
func DecodeEntry(b []byte) (*Entry, error) {
	s := cryptobyte.String(b)
	var format uint8
	var h, t uint64
	var tx cryptobyte.String
	if !s.ReadUint8(&format) || !s.ReadUint64(&h) || !s.ReadUint64(&t) || !readU32Prefixed(&s, &tx) {
		return nil, malformed("log entry is truncated")
	}
	if format != EntryFormat {
		return nil, malformed("log entry format %d is not supported", format)
	}
	if !s.Empty() {
		return nil, malformed("%d trailing bytes after the log entry", len(s))
	}
	if int64(h) < 0 {
		return nil, malformed("log entry height %d out of range", h)
	}
	return &Entry{Height: int64(h), Time: int64(t), TxBytes: []byte(tx)}, nil
}

// LeafHash returns the RFC 9162 leaf hash of entry bytes: SM3(0x00 ‖ entry).
// Evidence-chain links (Record.Prev) are leaf hashes.
func LeafHash(entry []byte) crypto.Hash {
	return crypto.SM3([]byte{0}, entry)
}
