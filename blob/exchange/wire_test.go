package exchange

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/evidenced/evidenced/crypto"
)

// hdr builds wire bytes of a status header by hand.
func hdr(st byte, n uint64, msg ...string) []byte {
	b := append([]byte{st}, binary.BigEndian.AppendUint64(nil, n)...)
	for _, m := range msg {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

func TestHeaderEncoding(t *testing.T) {
	tests := []struct {
		name string
		h    header
		want []byte
	}{
		{"ok", okHeader(1 << 40), hdr(0, 1<<40)},
		{"ok max", okHeader(math.MaxInt64), hdr(0, math.MaxInt64)},
		{"not found", errHeader(statusNotFound, "dropped"), hdr(1, 0)},
		{"forbidden", errHeader(statusForbidden, "no grant"), hdr(2, 0, "no grant")},
		{"busy", errHeader(statusBusy, ""), hdr(3, 0)},
		{"bad request empty", errHeader(statusBadRequest, ""), hdr(4, 0, "")},
		{"failed", errHeader(statusFailed, "disk"), hdr(6, 0, "disk")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encodeHeader(tt.h)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("encodeHeader = %x, want %x", got, tt.want)
			}
			r := bytes.NewReader(append(got, 0xAA)) // a following byte stays unread
			back, err := readHeader(r)
			if err != nil {
				t.Fatal(err)
			}
			if back != tt.h {
				t.Fatalf("readHeader = %+v, want %+v", back, tt.h)
			}
			if r.Len() != 1 {
				t.Fatalf("readHeader left %d bytes, want 1", r.Len())
			}
		})
	}
}

func TestReadHeaderRejects(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"empty", nil, io.EOF},
		{"short fixed part", hdr(0, 5)[:5], io.ErrUnexpectedEOF},
		{"unknown status", hdr(7, 0), ErrProtocol},
		{"mismatch is final only", hdr(5, 0), ErrProtocol},
		{"n too large", hdr(0, math.MaxInt64+1), ErrProtocol},
		{"n on refusal", hdr(1, 3), ErrProtocol},
		{"n on forbidden", hdr(2, 1, "x"), ErrProtocol},
		{"missing message", hdr(2, 0), io.EOF},
		{"short message", hdr(2, 0, "hello")[:12], io.ErrUnexpectedEOF},
		{"message too long", hdr(4, 0, strings.Repeat("m", maxMessage+1)), ErrProtocol},
		{"message not UTF-8", hdr(6, 0, "\xff\xfe"), ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := readHeader(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("readHeader(%x) = %+v, %v; want error %v", tt.in, h, err, tt.wantErr)
			}
		})
	}
}

func TestErrHeaderMessage(t *testing.T) {
	tests := []struct {
		name    string
		st      status
		msg     string
		wantLen int
	}{
		{"kept", statusForbidden, "member x may not", len("member x may not")},
		{"dropped for busy", statusBusy, "ignored", 0},
		{"cut at rune boundary", statusFailed, strings.Repeat("é", maxMessage), maxMessage},         // 2-byte runes
		{"cut inside a rune", statusFailed, "ab" + strings.Repeat("中", maxMessage), maxMessage - 2}, // 2 + 3k
		{"invalid UTF-8 replaced", statusBadRequest, "a\xffb", len("a\uFFFDb")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := errHeader(tt.st, tt.msg)
			if len(h.Msg) != tt.wantLen || !utf8.ValidString(h.Msg) {
				t.Fatalf("message of %d bytes (valid %v), want %d valid", len(h.Msg), utf8.ValidString(h.Msg), tt.wantLen)
			}
			if _, err := readHeader(bytes.NewReader(encodeHeader(h))); err != nil {
				t.Fatalf("encoded header does not decode: %v", err)
			}
		})
	}
}

func TestPushRequest(t *testing.T) {
	addr := crypto.SM3([]byte("blob"))
	b := encodePushRequest(addr, 1234)
	if want := append(addr[:], 0, 0, 0, 0, 0, 0, 0x04, 0xd2); !bytes.Equal(b, want) {
		t.Fatalf("encodePushRequest = %x, want %x", b, want)
	}
	gotAddr, gotSize, err := decodePushRequest(b)
	if err != nil || gotAddr != addr || gotSize != 1234 {
		t.Fatalf("decodePushRequest = %s, %d, %v", gotAddr, gotSize, err)
	}
	bad := [][]byte{
		b[:39],
		append(b, 0),
		append(addr[:], 0x80, 0, 0, 0, 0, 0, 0, 0), // size 2^63
	}
	for _, in := range bad {
		if _, _, err := decodePushRequest(in); !errors.Is(err, ErrProtocol) {
			t.Errorf("decodePushRequest(%x) error %v, want ErrProtocol", in, err)
		}
	}
}

func TestDecodeFinal(t *testing.T) {
	for b := 0; b < 256; b++ {
		st, err := decodeFinal(byte(b))
		switch status(b) {
		case statusOK, statusBadRequest, statusMismatch, statusFailed:
			if err != nil || st != status(b) {
				t.Errorf("decodeFinal(%d) = %v, %v", b, st, err)
			}
		default:
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("decodeFinal(%d) error %v, want ErrProtocol", b, err)
			}
		}
	}
}

func TestCopyN(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789"), 100)
	tests := []struct {
		name    string
		src     []byte
		n       int64
		buf     int
		wantN   int64
		wantErr error
	}{
		{"exact", src, 1000, 7, 1000, nil},
		{"prefix", src, 999, 64, 999, nil},
		{"zero", src, 0, 1, 0, nil},
		{"short source", src[:10], 11, 4, 10, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst bytes.Buffer
			n, err := copyN(&dst, bytes.NewReader(tt.src), tt.n, make([]byte, tt.buf))
			if n != tt.wantN || !errors.Is(err, tt.wantErr) {
				t.Fatalf("copyN = %d, %v; want %d, %v", n, err, tt.wantN, tt.wantErr)
			}
			if !bytes.Equal(dst.Bytes(), tt.src[:n]) {
				t.Fatal("copied bytes differ")
			}
		})
	}
}

// FuzzReadHeader checks that every header readHeader accepts re-encodes to
// exactly the bytes it consumed (one encoding per header), and that every
// canonical header round-trips.
func FuzzReadHeader(f *testing.F) {
	f.Add(hdr(0, 42))
	f.Add(hdr(2, 0, "member x may not fetch"))
	f.Add(hdr(4, 0, ""))
	f.Add(hdr(6, 0, "é"))
	f.Add(hdr(5, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		h, err := readHeader(r)
		if err != nil {
			return
		}
		consumed := len(in) - r.Len()
		if enc := encodeHeader(h); !bytes.Equal(enc, in[:consumed]) {
			t.Fatalf("header %+v from %x re-encodes to %x", h, in[:consumed], enc)
		}
		// The structured round trip: a header built by errHeader from the
		// decoded fields is the same header.
		if h.Status != statusOK && errHeader(h.Status, h.Msg) != h {
			t.Fatalf("errHeader(%v, %q) differs from %+v", h.Status, h.Msg, h)
		}
	})
}

// FuzzDecodePushRequest checks that an accepted push request re-encodes to
// the same bytes.
func FuzzDecodePushRequest(f *testing.F) {
	f.Add(encodePushRequest(crypto.SM3([]byte("x")), 7))
	f.Add(make([]byte, pushRequestSize))
	f.Add(bytes.Repeat([]byte{0xff}, pushRequestSize))
	f.Fuzz(func(t *testing.T, in []byte) {
		addr, size, err := decodePushRequest(in)
		if err != nil {
			return
		}
		if size < 0 {
			t.Fatalf("negative size %d", size)
		}
		if enc := encodePushRequest(addr, size); !bytes.Equal(enc, in) {
			t.Fatalf("push request %x re-encodes to %x", in, enc)
		}
	})
}

// FuzzDecodeU64 checks that an accepted offset re-encodes to the same bytes.
func FuzzDecodeU64(f *testing.F) {
	f.Add(encodeU64(0))
	f.Add(encodeU64(math.MaxInt64))
	f.Add(bytes.Repeat([]byte{0xff}, 8))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := decodeU64(in)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("negative value %d", v)
		}
		if enc := encodeU64(v); !bytes.Equal(enc, in) {
			t.Fatalf("%x re-encodes to %x", in, enc)
		}
	})
}
