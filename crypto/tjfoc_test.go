package crypto

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"

	tjsm2 "github.com/tjfoc/gmsm/sm2"
)

// tjfoc/gmsm is an independent SM2 implementation, used here only as a test
// oracle (it panics on malformed ciphertexts and its SM4-GCM tags are wrong).

func tjfocKey(t *testing.T, k *PrivateKey) *tjsm2.PrivateKey {
	t.Helper()
	b := k.Public().Bytes()
	return &tjsm2.PrivateKey{
		PublicKey: tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: new(big.Int).SetBytes(b[1:33]), Y: new(big.Int).SetBytes(b[33:])},
		D:         new(big.Int).SetBytes(k.scalarBytes(t)),
	}
}

func TestTjfocInterop(t *testing.T) {
	for i := range 20 {
		k := newTestKey(t)
		tk := tjfocKey(t, k)
		msg := bytes.Repeat([]byte{byte(i)}, i*7)

		// tjfoc signs (default uid) → we verify.
		sig, err := tk.Sign(rand.Reader, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Public().Verify(msg, sig); err != nil {
			t.Fatalf("Verify(tjfoc signature %x) = %v", sig, err)
		}
		// We sign → tjfoc verifies.
		sig, err = k.Sign(rand.Reader, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !tk.PublicKey.Verify(msg, sig) {
			t.Fatalf("tjfoc rejected our signature %x", sig)
		}
		// tjfoc encrypts (C1C3C2 ASN.1) → we decrypt.
		pt := append([]byte("data key "), byte(i))
		ct, err := tjsm2.EncryptAsn1(&tk.PublicKey, pt, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.Decrypt(ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Decrypt(tjfoc ciphertext %x) = %q, %v", ct, got, err)
		}
		// We encrypt → tjfoc decrypts.
		ct, err = k.Public().Encrypt(rand.Reader, pt)
		if err != nil {
			t.Fatal(err)
		}
		got, err = tjsm2.DecryptAsn1(tk, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("tjfoc DecryptAsn1(our ciphertext) = %q, %v", got, err)
		}
	}
}
