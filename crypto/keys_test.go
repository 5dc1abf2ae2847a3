package crypto

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Annex A/C key of gm.json.
const (
	vectorD   = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
	vectorPub = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020" +
		"ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestKey(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var curveN = sm2.P256().Params().N

func TestNewPrivateKeyRange(t *testing.T) {
	n := curveN
	sub := func(d int64) []byte {
		return new(big.Int).Sub(n, big.NewInt(d)).FillBytes(make([]byte, 32))
	}
	tests := []struct {
		name string
		d    []byte
		ok   bool
	}{
		{"one", big.NewInt(1).FillBytes(make([]byte, 32)), true},
		{"n-2", sub(2), true},
		{"vector", mustHex(t, vectorD), true},
		{"zero", make([]byte, 32), false},
		{"n-1", sub(1), false},
		{"n", sub(0), false},
		{"n+1", new(big.Int).Add(n, big.NewInt(1)).FillBytes(make([]byte, 32)), false},
		{"31 bytes", make([]byte, 31), false},
		{"33 bytes", append([]byte{0}, mustHex(t, vectorD)...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewPrivateKey(tt.d)
			if tt.ok {
				if err != nil {
					t.Fatalf("NewPrivateKey = %v, want success", err)
				}
				if got := k.Public().Bytes(); len(got) != PublicKeySize || got[0] != 4 {
					t.Errorf("public key %x is not uncompressed", got)
				}
				return
			}
			if !errors.Is(err, ErrMalformedKey) {
				t.Errorf("NewPrivateKey = %v, want ErrMalformedKey", err)
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	good := mustHex(t, vectorPub)
	p := sm2.P256().Params().P
	offCurve := bytes.Clone(good)
	offCurve[64] ^= 1
	// x = p is congruent to 0: a coordinate that is not reduced mod p.
	nonCanonical := bytes.Clone(good)
	p.FillBytes(nonCanonical[1:33])
	allOnesY := bytes.Clone(good)
	copy(allOnesY[33:], bytes.Repeat([]byte{0xff}, 32))
	compressed := elliptic.MarshalCompressed(sm2.P256(), new(big.Int).SetBytes(good[1:33]), new(big.Int).SetBytes(good[33:]))
	tests := []struct {
		name   string
		in     []byte
		strict bool // ParsePublicKey accepts
		any    bool // ParsePublicKeyAny accepts
	}{
		{"uncompressed", good, true, true},
		{"compressed", compressed, false, true},
		{"compressed wrong parity", append([]byte{compressed[0] ^ 1}, compressed[1:]...), false, true}, // the other root: a different valid key
		{"off curve", offCurve, false, false},
		{"x = p", nonCanonical, false, false},
		{"y = 2^256-1", allOnesY, false, false},
		{"infinity", []byte{0}, false, false},
		{"all zero", make([]byte, 65), false, false},
		{"04 and zeros", append([]byte{4}, make([]byte, 64)...), false, false},
		{"hybrid prefix", append([]byte{6}, good[1:]...), false, false},
		{"64 bytes", good[1:], false, false},
		{"66 bytes", append(bytes.Clone(good), 0), false, false},
		{"empty", nil, false, false},
		{"compressed x >= p", append([]byte{2}, p.FillBytes(make([]byte, 32))...), false, false},
		{"compressed x not on curve", append([]byte{2}, xNotOnCurve(t).FillBytes(make([]byte, 32))...), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePublicKey(tt.in)
			if tt.strict != (err == nil) {
				t.Errorf("ParsePublicKey err = %v, want success %v", err, tt.strict)
			}
			if err != nil && !errors.Is(err, ErrMalformedKey) {
				t.Errorf("ParsePublicKey err = %v, want ErrMalformedKey", err)
			}
			if err == nil && !bytes.Equal(k.Bytes(), tt.in) {
				t.Errorf("Bytes() = %x, want %x", k.Bytes(), tt.in)
			}
			_, err = ParsePublicKeyAny(tt.in)
			if tt.any != (err == nil) {
				t.Errorf("ParsePublicKeyAny err = %v, want success %v", err, tt.any)
			}
		})
	}
}

// xNotOnCurve returns the smallest x >= 0 for which x^3 - 3x + b has no
// square root mod p, so no point has that x. Test-only arithmetic.
func xNotOnCurve(t *testing.T) *big.Int {
	t.Helper()
	params := sm2.P256().Params()
	for i := int64(0); i < 100; i++ {
		x := big.NewInt(i)
		rhs := new(big.Int).Exp(x, big.NewInt(3), params.P)
		rhs.Sub(rhs, new(big.Int).Mul(big.NewInt(3), x))
		rhs.Add(rhs, params.B)
		rhs.Mod(rhs, params.P)
		if new(big.Int).ModSqrt(rhs, params.P) == nil {
			return x
		}
	}
	t.Fatal("no x without a point in [0, 100)")
	return nil
}

func TestCompressedKeySameID(t *testing.T) {
	for range 20 {
		pub := newTestKey(t).Public()
		b := pub.Bytes()
		c := elliptic.MarshalCompressed(sm2.P256(), new(big.Int).SetBytes(b[1:33]), new(big.Int).SetBytes(b[33:]))
		got, err := ParsePublicKeyAny(c)
		if err != nil {
			t.Fatalf("ParsePublicKeyAny(%x): %v", c, err)
		}
		if got.ID() != pub.ID() || !got.Equal(pub) || !bytes.Equal(got.Bytes(), b) {
			t.Fatalf("compressed %x decoded to %x, want %x", c, got.Bytes(), b)
		}
	}
}

func TestKeyID(t *testing.T) {
	pub, err := ParsePublicKey(mustHex(t, vectorPub))
	if err != nil {
		t.Fatal(err)
	}
	want := SM3(mustHex(t, vectorPub))
	id := pub.ID()
	if id != KeyID(want) {
		t.Fatalf("ID = %s, want SM3(bytes) %s", id, want)
	}
	if got := id.String(); got != want.String() || len(got) != 64 || strings.ToLower(got) != got {
		t.Errorf("String() = %q", got)
	}
	if got := id.Short(); got != want.String()[:16] {
		t.Errorf("Short() = %q, want %q", got, want.String()[:16])
	}
	txt, err := id.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseKeyID(string(txt))
	if err != nil || back != id {
		t.Errorf("ParseKeyID(%s) = %s, %v", txt, back, err)
	}
	for _, bad := range []string{"", id.String()[:63], id.String() + "0", strings.ToUpper(id.String()), "g" + id.String()[1:]} {
		if _, err := ParseKeyID(bad); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("ParseKeyID(%q) = %v, want ErrMalformedHash", bad, err)
		}
	}
	var h Hash
	if err := h.UnmarshalText(txt); err != nil || h != want {
		t.Errorf("Hash.UnmarshalText = %s, %v", h, err)
	}
}

func TestPublicKeyEqual(t *testing.T) {
	a, b := newTestKey(t).Public(), newTestKey(t).Public()
	a2, err := ParsePublicKey(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(a2) || a.Equal(b) || a.Equal(nil) {
		t.Error("Equal is wrong")
	}
	// Bytes returns a copy.
	bb := a.Bytes()
	bb[1] ^= 0xff
	if !bytes.Equal(a.Bytes(), a2.Bytes()) {
		t.Error("modifying Bytes() changed the key")
	}
}

func TestSignVerify(t *testing.T) {
	k := newTestKey(t)
	for _, msg := range [][]byte{nil, {}, []byte("a"), bytes.Repeat([]byte("evidence"), 10000)} {
		sig, err := k.Sign(rand.Reader, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) > MaxSignatureSize {
			t.Errorf("signature is %d bytes > MaxSignatureSize", len(sig))
		}
		if err := k.Public().Verify(msg, sig); err != nil {
			t.Errorf("Verify(len %d) = %v", len(msg), err)
		}
		if err := k.Public().Verify(append(bytes.Clone(msg), 0), sig); err != ErrInvalidSignature {
			t.Errorf("Verify(other msg) = %v, want ErrInvalidSignature", err)
		}
		if err := newTestKey(t).Public().Verify(msg, sig); err != ErrInvalidSignature {
			t.Errorf("Verify(other key) = %v, want ErrInvalidSignature", err)
		}
	}
	// nil rand: deterministic.
	s1, err1 := k.Sign(nil, []byte("m"))
	s2, err2 := k.Sign(nil, []byte("m"))
	if err1 != nil || err2 != nil || !bytes.Equal(s1, s2) {
		t.Errorf("Sign(nil rand) not deterministic: %x %x %v %v", s1, s2, err1, err2)
	}
	if err := k.Public().Verify([]byte("m"), s1); err != nil {
		t.Errorf("Verify(deterministic) = %v", err)
	}
}

// encodeSig encodes r, s minimally, as the canonical form.
func encodeSig(t testing.TB, r, s *big.Int) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawSig builds SEQUENCE{INTEGER r, INTEGER s} from raw content bytes, so
// tests can write non-minimal encodings.
func rawSig(r, s []byte) []byte {
	ri := append([]byte{0x02, byte(len(r))}, r...)
	si := append([]byte{0x02, byte(len(s))}, s...)
	body := append(ri, si...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func TestSignatureStrictness(t *testing.T) {
	k := newTestKey(t)
	msg := []byte("strict DER")
	// Find a signature whose r and s have their top bit clear, so that a
	// leading zero byte is a non-minimal encoding.
	var sig []byte
	var r, s *big.Int
	for {
		var err error
		sig, err = k.Sign(rand.Reader, msg)
		if err != nil {
			t.Fatal(err)
		}
		r, s, err = ParseSignature(sig)
		if err != nil {
			t.Fatal(err)
		}
		if rb, sb := r.Bytes(), s.Bytes(); rb[0] < 0x80 && sb[0] < 0x80 {
			break
		}
	}
	if !bytes.Equal(encodeSig(t, r, s), sig) {
		t.Fatalf("library signature %x is not the minimal encoding", sig)
	}
	if err := k.Public().Verify(msg, sig); err != nil {
		t.Fatalf("Verify(valid) = %v", err)
	}
	rb, sb := r.Bytes(), s.Bytes()
	n := curveN
	longForm := append([]byte{0x30, 0x81, sig[1]}, sig[2:]...)
	tests := []struct {
		name string
		sig  []byte
	}{
		{"extra leading zero in r", rawSig(append([]byte{0}, rb...), sb)},
		{"extra leading zero in s", rawSig(rb, append([]byte{0}, sb...))},
		{"long-form SEQUENCE length", longForm},
		{"long-form INTEGER length", append([]byte{0x30, sig[1] + 1, 0x02, 0x81}, sig[3:]...)},
		{"trailing byte", append(bytes.Clone(sig), 0)},
		{"trailing byte inside SEQUENCE", func() []byte {
			b := append([]byte{0x30, sig[1] + 1}, sig[2:]...)
			return append(b, 0)
		}()},
		{"r = 0", encodeSig(t, big.NewInt(0), s)},
		{"s = 0", encodeSig(t, r, big.NewInt(0))},
		{"r = n", encodeSig(t, n, s)},
		{"s = n", encodeSig(t, r, n)},
		{"r = n + r", encodeSig(t, new(big.Int).Add(n, r), s)},
		{"s = n + s", encodeSig(t, r, new(big.Int).Add(n, s))},
		{"negative r", encodeSig(t, new(big.Int).Neg(r), s)},
		{"negative s", encodeSig(t, r, new(big.Int).Neg(s))},
		{"r top bit set without pad (negative)", rawSig(append([]byte{0x80}, rb[1:]...), sb)},
		{"indefinite length", append(append([]byte{0x30, 0x80}, sig[2:]...), 0, 0)},
		{"wrong outer tag", append([]byte{0x31}, sig[1:]...)},
		{"wrong integer tag", append([]byte{0x30, sig[1], 0x03}, sig[3:]...)},
		{"empty", nil},
		{"empty SEQUENCE", []byte{0x30, 0}},
		{"only r", rawSig(rb, nil)[:2+2+len(rb)]},
		{"73 bytes", make([]byte, 73)},
		{"raw r||s", append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ParseSignature(tt.sig); !errors.Is(err, ErrMalformedSignature) {
				t.Errorf("ParseSignature(%x) = %v, want ErrMalformedSignature", tt.sig, err)
			}
			if err := k.Public().Verify(msg, tt.sig); !errors.Is(err, ErrMalformedSignature) {
				t.Errorf("Verify(%x) = %v, want ErrMalformedSignature", tt.sig, err)
			}
		})
	}
}

// TestSignatureNegatedSRejected answers whether SM2 signatures have ECDSA's
// (r, n-s) malleability: they do not. Verification computes t = r + s and
// checks r == e + x([s]G + [t]P); with s' = n - s both s and t change, so
// (r, n-s) is not a valid signature (and neither are (n-r, s) or (n-r, n-s)).
func TestSignatureNegatedSRejected(t *testing.T) {
	k := newTestKey(t)
	for i := range 50 {
		msg := []byte{byte(i)}
		sig, err := k.Sign(rand.Reader, msg)
		if err != nil {
			t.Fatal(err)
		}
		r, s, err := ParseSignature(sig)
		if err != nil {
			t.Fatal(err)
		}
		negS := new(big.Int).Sub(curveN, s)
		negR := new(big.Int).Sub(curveN, r)
		for name, alt := range map[string][]byte{
			"(r, n-s)":   encodeSig(t, r, negS),
			"(n-r, s)":   encodeSig(t, negR, s),
			"(n-r, n-s)": encodeSig(t, negR, negS),
		} {
			if err := k.Public().Verify(msg, alt); err != ErrInvalidSignature {
				t.Fatalf("Verify%s = %v, want ErrInvalidSignature", name, err)
			}
		}
	}
}

func TestEncryptDecrypt(t *testing.T) {
	k := newTestKey(t)
	for _, n := range []int{1, 16, 32, 33, 1000, 100000} {
		pt := make([]byte, n)
		rand.Read(pt)
		ct, err := k.Public().Encrypt(rand.Reader, pt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.Decrypt(ct)
		if err != nil {
			t.Fatalf("Decrypt(len %d): %v", n, err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Decrypt(len %d) returned other bytes", n)
		}
		if _, err := newTestKey(t).Decrypt(ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Decrypt(other key) = %v, want ErrDecrypt", err)
		}
	}
	if _, err := k.Public().Encrypt(rand.Reader, nil); err == nil {
		t.Error("Encrypt(empty) succeeded")
	}
}

// sm2CT builds the ASN.1 ciphertext from raw parts, for malformed variants.
func sm2CT(x, y []byte, c3, c2 []byte, extraInside []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(x) })
		b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(y) })
		b.AddASN1OctetString(c3)
		b.AddASN1OctetString(c2)
		b.AddBytes(extraInside)
	})
	return b.BytesOrPanic()
}

func TestDecryptStrictness(t *testing.T) {
	k, err := NewPrivateKey(mustHex(t, vectorD))
	if err != nil {
		t.Fatal(err)
	}
	// Annex C ciphertext: x has no pad byte (top bit clear), y has one.
	valid := mustHex(t, "307c022004ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73022100e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0042059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766041321886ca989ca9c7d58087307ca93092d651efa")
	if pt, err := k.Decrypt(valid); err != nil || string(pt) != "encryption standard" {
		t.Fatalf("Decrypt(valid) = %q, %v", pt, err)
	}
	x := mustHex(t, "04ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73")
	y := mustHex(t, "00e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0")
	c3 := mustHex(t, "59983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766")
	c2 := mustHex(t, "21886ca989ca9c7d58087307ca93092d651efa")
	if got := sm2CT(x, y, c3, c2, nil); !bytes.Equal(got, valid) {
		t.Fatalf("sm2CT does not rebuild the vector: %x", got)
	}
	offY := bytes.Clone(y)
	offY[32] ^= 1
	tests := []struct {
		name string
		ct   []byte
		want error
	}{
		{"leading zero in x", sm2CT(append([]byte{0}, x...), y, c3, c2, nil), ErrMalformedCiphertext},
		{"y without pad (negative)", sm2CT(x, y[1:], c3, c2, nil), ErrMalformedCiphertext},
		{"long-form length", append([]byte{0x30, 0x81, 0x7c}, valid[2:]...), ErrMalformedCiphertext},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrMalformedCiphertext},
		{"trailing byte inside", sm2CT(x, y, c3, c2, []byte{0}), ErrMalformedCiphertext},
		{"C1 off curve", sm2CT(x, offY, c3, c2, nil), ErrMalformedCiphertext},
		{"C1 zero", sm2CT([]byte{0}, []byte{0}, c3, c2, nil), ErrMalformedCiphertext},
		{"C3 short", sm2CT(x, y, c3[:31], c2, nil), ErrMalformedCiphertext},
		{"C3 long", sm2CT(x, y, append(bytes.Clone(c3), 0), c2, nil), ErrMalformedCiphertext},
		{"C2 empty", sm2CT(x, y, c3, nil, nil), ErrMalformedCiphertext},
		{"C2 C3 swapped", sm2CT(x, y, c2, c3, nil), ErrMalformedCiphertext},
		{"raw C1C3C2", mustHex(t, "0404ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd876621886ca989ca9c7d58087307ca93092d651efa"), ErrMalformedCiphertext},
		{"empty", nil, ErrMalformedCiphertext},
		{"C2 modified", sm2CT(x, y, c3, append([]byte{c2[0] ^ 1}, c2[1:]...), nil), ErrDecrypt},
		{"C3 modified", sm2CT(x, y, append([]byte{c3[0] ^ 1}, c3[1:]...), c2, nil), ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.Decrypt(tt.ct); !errors.Is(err, tt.want) {
				t.Errorf("Decrypt = %v, want %v", err, tt.want)
			}
		})
	}
}
