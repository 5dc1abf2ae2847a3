package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestPrivateKeyPEMRoundTrip(t *testing.T) {
	k := newTestKey(t)
	tests := []struct {
		name, pass, typ string
	}{
		{"plain", "", "PRIVATE KEY"},
		{"encrypted", "correct horse", "ENCRYPTED PRIVATE KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := k.MarshalPEM([]byte(tt.pass))
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(data)
			if block == nil || block.Type != tt.typ {
				t.Fatalf("PEM type = %v, want %q", block, tt.typ)
			}
			got, err := ParsePrivateKeyPEM(data, []byte(tt.pass))
			if err != nil {
				t.Fatalf("ParsePrivateKeyPEM: %v", err)
			}
			if !got.Public().Equal(k.Public()) || !bytes.Equal(got.scalarBytes(t), k.scalarBytes(t)) {
				t.Fatal("parsed key differs")
			}
			if tt.pass == "" {
				return
			}
			if _, err := ParsePrivateKeyPEM(data, nil); !errors.Is(err, ErrPassphraseRequired) {
				t.Errorf("no passphrase: %v, want ErrPassphraseRequired", err)
			}
			if _, err := ParsePrivateKeyPEM(data, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("wrong passphrase: %v, want ErrWrongPassphrase", err)
			}
		})
	}
}

func (k *PrivateKey) scalarBytes(t *testing.T) []byte {
	t.Helper()
	d, err := scalarOf(k.k)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParsePrivateKeyPEMErrors(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8PEM := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1, err := x509.MarshalECPrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := newTestKey(t).Public().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		want    error
		mention string
	}{
		{"P-256 PKCS#8", pkcs8PEM(p256), ErrNotSM2Key, "P-256"},
		{"P-256 SEC1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), ErrNotSM2Key, "P-256"},
		{"RSA PKCS#8", pkcs8PEM(rsaKey), ErrNotSM2Key, "RSA"},
		{"RSA PKCS#1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), ErrNotSM2Key, "RSA"},
		{"Ed25519", pkcs8PEM(edKey), ErrNotSM2Key, "Ed25519"},
		{"public key", pubPEM, ErrMalformedKey, "PUBLIC KEY"},
		{"no PEM", []byte("not a key"), ErrMalformedKey, "no PEM"},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), ErrMalformedKey, ""},
		{"legacy encryption", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: sec1}), ErrMalformedKey, "openssl pkcs8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM(tt.data, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err = %q, want it to mention %q", err, tt.mention)
			}
		})
	}
}

func TestSEC1AndParameters(t *testing.T) {
	// OpenSSL `ecparam -genkey` writes EC PARAMETERS before the key; `openssl
	// ec` on an SM2 key writes "SM2 PRIVATE KEY". Both are SEC 1.
	d := mustHex(t, vectorD)
	k, err := NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	// SEC 1 DER for the vector key, curve sm2p256v1 (from `openssl ec`).
	sec1 := mustHex(t, "30770201010420"+vectorD+"a00a06082a811ccf5501822da144034200"+vectorPub)
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: mustHex(t, "06082a811ccf5501822d")})
	for _, typ := range []string{"EC PRIVATE KEY", "SM2 PRIVATE KEY"} {
		data := append(bytes.Clone(params), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: sec1})...)
		got, err := ParsePrivateKeyPEM(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !got.Public().Equal(k.Public()) {
			t.Fatalf("%s: wrong key", typ)
		}
	}
}

func TestPublicKeyPEMRoundTrip(t *testing.T) {
	pub := newTestKey(t).Public()
	data, err := pub.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePublicKeyPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(pub) {
		t.Fatal("parsed public key differs")
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	if _, err := ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); !errors.Is(err, ErrNotSM2Key) {
		t.Errorf("P-256 public key: %v, want ErrNotSM2Key", err)
	}
	if _, err := ParsePublicKeyPEM([]byte("x")); !errors.Is(err, ErrMalformedKey) {
		t.Errorf("garbage: %v, want ErrMalformedKey", err)
	}
}
