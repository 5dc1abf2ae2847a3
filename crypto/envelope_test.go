package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func newTestDataKey(t testing.TB) DataKey {
	t.Helper()
	k, err := NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sealed returns the envelope of pt with the given chunk size.
func sealed(t testing.TB, key DataKey, pt []byte, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := seal(&buf, bytes.NewReader(pt), key, rand.Reader, chunk)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("seal returned n = %d, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func TestEnvelopeRoundTrip(t *testing.T) {
	const c = defaultChunkSize
	key := newTestDataKey(t)
	for _, size := range []int{0, 1, c - 1, c, c + 1, 3*c + 7, 20 << 20} {
		pt := randBytes(t, size)
		var ct bytes.Buffer
		n, err := Seal(&ct, bytes.NewReader(pt), key, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		chunks := size/c + 1
		if want := int64(envelopeHeaderSize + size + chunks*gcmTagSize); n != want || int64(ct.Len()) != want {
			t.Errorf("size %d: Seal n = %d, wrote %d, want %d", size, n, ct.Len(), want)
		}
		var out bytes.Buffer
		m, err := Open(&out, &ct, key)
		if err != nil {
			t.Fatalf("size %d: Open: %v", size, err)
		}
		if m != int64(size) || !bytes.Equal(out.Bytes(), pt) {
			t.Fatalf("size %d: Open wrote %d bytes (n = %d), not the plaintext", size, out.Len(), m)
		}
	}
}

func TestEnvelopeFormat(t *testing.T) {
	key := newTestDataKey(t)
	ct := sealed(t, key, []byte("x"), minChunkSize)
	if string(ct[:8]) != "EVDSM4G1" {
		t.Errorf("magic = %q", ct[:8])
	}
	if got := binary.BigEndian.Uint32(ct[8:12]); got != minChunkSize {
		t.Errorf("chunk size = %d", got)
	}
	// Decrypt the single chunk by hand: nonce = prefix || 0 || 0x01, AAD = header.
	aead, err := newGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	nonce := append(append(bytes.Clone(ct[12:19]), 0, 0, 0, 0), 1)
	pt, err := aead.Open(nil, nonce, ct[19:], ct[:19])
	if err != nil || string(pt) != "x" {
		t.Errorf("hand-decrypted final chunk = %q, %v", pt, err)
	}
}

// recordWriter records what Open writes.
type recordWriter struct{ bytes.Buffer }

func TestEnvelopeTamper(t *testing.T) {
	const c = minChunkSize
	key := newTestDataKey(t)
	pt := randBytes(t, 3*c+100) // chunks: 3 full + final of 100
	ct := sealed(t, key, pt, c)
	full := c + gcmTagSize
	h := envelopeHeaderSize
	chunk := func(i int) []byte { return ct[h+i*full : min(h+(i+1)*full, len(ct))] }
	flip := func(i int) []byte {
		b := bytes.Clone(ct)
		b[i] ^= 0x01
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	header := ct[:h]
	// A second stream under the same key, for splicing.
	other := sealed(t, key, pt, c)

	tests := []struct {
		name string
		ct   []byte
		want error
		// plaintext bytes Open may write: those of chunks before the damage.
		okChunks int
	}{
		{"magic", flip(0), ErrMalformedCiphertext, 0},
		{"version", flip(7), ErrMalformedCiphertext, 0},
		{"chunk size", flip(10), ErrDecrypt, 0}, // 1024^2: still in range, wrong AAD/length
		{"chunk size out of range", func() []byte { b := bytes.Clone(ct); binary.BigEndian.PutUint32(b[8:], 512); return b }(), ErrMalformedCiphertext, 0},
		{"nonce prefix", flip(14), ErrDecrypt, 0},
		{"first chunk body", flip(h + 5), ErrDecrypt, 0},
		{"second chunk tag", flip(h + 2*full - 1), ErrDecrypt, 1},
		{"final chunk", flip(len(ct) - 1), ErrDecrypt, 3},
		{"truncated at chunk boundary", ct[:h+2*full], ErrTruncated, 2},
		{"final chunk dropped", ct[:h+3*full], ErrTruncated, 3},
		{"header only", ct[:h], ErrTruncated, 0},
		{"short header", ct[:h-1], ErrTruncated, 0},
		{"empty", nil, ErrTruncated, 0},
		{"cut inside final chunk", ct[:len(ct)-1], ErrDecrypt, 3},
		{"cut inside a full chunk", ct[:h+full+100], ErrDecrypt, 1},
		{"cut shorter than a tag", ct[:h+full+10], ErrTruncated, 1},
		{"appended byte", cat(ct, []byte{0}), ErrDecrypt, 3},
		{"appended chunk", cat(ct, chunk(0)), ErrDecrypt, 3},
		{"chunks 0 and 1 swapped", cat(header, chunk(1), chunk(0), chunk(2), chunk(3)), ErrDecrypt, 0},
		{"chunk 1 repeated", cat(header, chunk(0), chunk(1), chunk(1), chunk(3)), ErrDecrypt, 2},
		{"chunk from another stream", cat(header, chunk(0), other[h+full:h+2*full], chunk(2), chunk(3)), ErrDecrypt, 1},
		{"full chunk as final", cat(header, chunk(0)), ErrTruncated, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out recordWriter
			n, err := Open(&out, bytes.NewReader(tt.ct), key)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			want := pt[:tt.okChunks*c]
			if n != int64(len(want)) || !bytes.Equal(out.Bytes(), want) {
				t.Errorf("Open wrote %d bytes (n = %d), want only the %d bytes of the chunks before the damage", out.Len(), n, len(want))
			}
		})
	}
	if _, err := Open(io.Discard, bytes.NewReader(ct), newTestDataKey(t)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open(wrong key) = %v, want ErrDecrypt", err)
	}
}

func TestWrapKey(t *testing.T) {
	k := newTestKey(t)
	dk := newTestDataKey(t)
	w, err := k.Public().WrapKey(rand.Reader, dk)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.UnwrapKey(w)
	if err != nil || got != dk {
		t.Fatalf("UnwrapKey = %x, %v, want %x", got, err, dk)
	}
	if _, err := newTestKey(t).UnwrapKey(w); !errors.Is(err, ErrDecrypt) {
		t.Errorf("UnwrapKey(other key) = %v, want ErrDecrypt", err)
	}
	for _, n := range []int{15, 17, 32} {
		ct, err := k.Public().Encrypt(rand.Reader, make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.UnwrapKey(ct); !errors.Is(err, ErrMalformedCiphertext) {
			t.Errorf("UnwrapKey(%d-byte plaintext) = %v, want ErrMalformedCiphertext", n, err)
		}
	}
	if _, err := k.UnwrapKey(w[:len(w)-1]); !errors.Is(err, ErrMalformedCiphertext) {
		t.Errorf("UnwrapKey(truncated) = %v, want ErrMalformedCiphertext", err)
	}
}

// errReader fails after n bytes.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("disk on fire")
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestSealReadError(t *testing.T) {
	_, err := Seal(io.Discard, &errReader{n: 100000}, newTestDataKey(t), rand.Reader)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk on fire")) {
		t.Errorf("Seal with failing reader = %v", err)
	}
}
