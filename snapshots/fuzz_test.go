package snapshots

import (
	"bytes"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// FuzzDecodeMetadata: whatever decodes re-encodes to the same bytes.
func FuzzDecodeMetadata(f *testing.F) {
	m := &Metadata{ChainID: "evidenced-fuzz", Height: 1000, AppHash: crypto.SM3([]byte("app")), Time: 1_793_491_200_000_000_000,
		Schema: 2, Pairs: 3, Chunks: []crypto.Hash{crypto.SM3([]byte("c0")), crypto.SM3([]byte("c1"))}}
	f.Add(m.Encode())
	f.Add(m.Encode()[:metadataFixed])
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMetadata(b)
		if err != nil {
			return
		}
		if again := m.Encode(); !bytes.Equal(again, b) {
			t.Fatalf("decoded metadata re-encodes to other bytes:\n%x\n%x", b, again)
		}
	})
}

// FuzzDecodeChunk: whatever decodes re-encodes to the same bytes, and
// decoding calls fn with exactly the pairs it counts.
func FuzzDecodeChunk(f *testing.F) {
	good, err := EncodeChunk([]ledger.KV{{Key: []byte("E\x00\x01"), Value: []byte("entry")}, {Key: []byte("P"), Value: nil}, {Key: []byte("Z"), Value: []byte{1, 2}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, []byte(nil))
	f.Add(good, []byte("E"))
	f.Add([]byte{1, 0, 1, 0}, []byte(nil))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte(nil))
	f.Fuzz(func(t *testing.T, b, after []byte) {
		var kvs []ledger.KV
		n, last, err := DecodeChunk(b, after, func(k, v []byte) error {
			kvs = append(kvs, ledger.KV{Key: k, Value: v})
			return nil
		})
		if err != nil {
			if len(kvs) > 0 {
				t.Fatalf("a chunk that does not decode gave %d pairs to fn", len(kvs))
			}
			return
		}
		if n != len(kvs) || !bytes.Equal(last, kvs[len(kvs)-1].Key) {
			t.Fatalf("DecodeChunk counted %d pairs ending at %x, fn saw %d", n, last, len(kvs))
		}
		again, err := EncodeChunk(kvs)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("a decoded chunk re-encodes to other bytes (%v):\n%x\n%x", err, b, again)
		}
	})
}
