package crypto

import (
	"bytes"
	"crypto/hmac"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// hkdfSM3 is RFC 5869 HKDF written out from the RFC with HMAC-SM3, as an
// independent computation to check DeriveSecret against.
func hkdfSM3(t *testing.T, ikm []byte, info string, n int) []byte {
	t.Helper()
	ext := hmac.New(sm3.New, make([]byte, HashSize)) // salt not provided: HashLen zeros
	ext.Write(ikm)
	prk := ext.Sum(nil)
	var okm, prev []byte
	for i := byte(1); len(okm) < n; i++ {
		m := hmac.New(sm3.New, prk)
		m.Write(prev)
		m.Write([]byte(info))
		m.Write([]byte{i})
		prev = m.Sum(nil)
		okm = append(okm, prev...)
	}
	return okm[:n]
}

func TestDeriveSecret(t *testing.T) {
	k, err := NewPrivateKey(mustHex(t, vectorD))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		label string
		n     int
	}{
		{"evidenced/libp2p/ed25519/v1", 32},
		{"evidenced/libp2p/ed25519/v1", 1},
		{"evidenced/test/v1", 33},
		{"evidenced/test/v1", 100},
		{"x", maxDerivedSize},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			got, err := k.DeriveSecret(tt.label, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n {
				t.Fatalf("len = %d, want %d", len(got), tt.n)
			}
			if want := hkdfSM3(t, mustHex(t, vectorD), tt.label, tt.n); !bytes.Equal(got, want) {
				t.Fatalf("DeriveSecret = %x, want HKDF-SM3 %x", got, want)
			}
			again, err := k.DeriveSecret(tt.label, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again) {
				t.Fatal("DeriveSecret is not deterministic")
			}
		})
	}
}

func TestDeriveSecretSeparation(t *testing.T) {
	k1, k2 := newTestKey(t), newTestKey(t)
	a, err := k1.DeriveSecret("evidenced/a/v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	b, err := k1.DeriveSecret("evidenced/b/v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k2.DeriveSecret("evidenced/a/v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("different labels gave the same secret")
	}
	if bytes.Equal(a, c) {
		t.Error("different keys gave the same secret")
	}
	// A shorter output is a prefix of a longer one (HKDF-Expand), so length
	// is not a separator: callers must vary the label.
	short, err := k1.DeriveSecret("evidenced/a/v1", 16)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(short, a[:16]) {
		t.Errorf("16-byte secret %x is not a prefix of the 32-byte one %x", short, a)
	}
}

func TestDeriveSecretErrors(t *testing.T) {
	k := newTestKey(t)
	tests := []struct {
		name  string
		label string
		n     int
	}{
		{"zero length", "l", 0},
		{"negative length", "l", -1},
		{"too long", "l", maxDerivedSize + 1},
		{"empty label", "", 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := k.DeriveSecret(tt.label, tt.n); err == nil {
				t.Fatalf("DeriveSecret(%q, %d) = %x, want an error", tt.label, tt.n, b)
			}
		})
	}
}
