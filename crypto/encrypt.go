package crypto

import (
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// sm3Size is the length of C3, an SM3 digest.
const sm3Size = HashSize

// Encrypt encrypts plaintext to p with SM2 public-key encryption
// (GB/T 32918.4) and returns the GM/T 0009 ASN.1 form
// SEQUENCE{x INTEGER, y INTEGER, C3 OCTET STRING, C2 OCTET STRING}.
// rand is normally crypto/rand.Reader. plaintext must not be empty.
func (p *PublicKey) Encrypt(rand io.Reader, plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 {
		return nil, errors.New("SM2 encrypt: plaintext is empty; SM2 cannot encrypt zero bytes")
	}
	ct, err := sm2.EncryptASN1(rand, p.k, plaintext)
	if err != nil {
		return nil, fmt.Errorf("SM2 encrypt: %w", err)
	}
	return ct, nil
}

// Decrypt decrypts an SM2 ciphertext in the GM/T 0009 ASN.1 form that
// Encrypt produces. It accepts only strict DER (minimal lengths and integers,
// no trailing bytes), a C1 point on the curve, a 32-byte C3 and a non-empty
// C2; other input fails with ErrMalformedCiphertext. A well-formed ciphertext
// that does not decrypt under k fails with ErrDecrypt.
func (k *PrivateKey) Decrypt(ciphertext []byte) ([]byte, error) {
	plain, err := parseSM2Ciphertext(ciphertext)
	if err != nil {
		return nil, err
	}
	pt, err := sm2.Decrypt(k.k, plain)
	if err != nil {
		return nil, fmt.Errorf("SM2 decrypt: %w", ErrDecrypt)
	}
	return pt, nil
}

// parseSM2Ciphertext strictly decodes the ASN.1 form and returns the raw
// C1 || C3 || C2 form the library decrypts.
func parseSM2Ciphertext(ct []byte) ([]byte, error) {
	var inner cryptobyte.String
	var c3, c2 cryptobyte.String
	x, y := new(big.Int), new(big.Int)
	in := cryptobyte.String(ct)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: SM2 ciphertext is not a DER SEQUENCE with a minimal length", ErrMalformedCiphertext)
	}
	if !in.Empty() {
		return nil, fmt.Errorf("%w: %d bytes after the SM2 ciphertext", ErrMalformedCiphertext, len(in))
	}
	if !inner.ReadASN1Integer(x) || !inner.ReadASN1Integer(y) {
		return nil, fmt.Errorf("%w: SM2 ciphertext C1 coordinates are not minimally encoded DER INTEGERs", ErrMalformedCiphertext)
	}
	if !inner.ReadASN1(&c3, asn1.OCTET_STRING) || !inner.ReadASN1(&c2, asn1.OCTET_STRING) {
		return nil, fmt.Errorf("%w: SM2 ciphertext C3 and C2 are not DER OCTET STRINGs", ErrMalformedCiphertext)
	}
	if !inner.Empty() {
		return nil, fmt.Errorf("%w: %d bytes after C2 inside the SM2 ciphertext", ErrMalformedCiphertext, len(inner))
	}
	if x.Sign() < 0 || y.Sign() < 0 || x.BitLen() > 8*scalarSize || y.BitLen() > 8*scalarSize {
		return nil, fmt.Errorf("%w: SM2 ciphertext C1 coordinate out of range", ErrMalformedCiphertext)
	}
	if len(c3) != sm3Size {
		return nil, fmt.Errorf("%w: SM2 ciphertext C3 is %d bytes, want %d", ErrMalformedCiphertext, len(c3), sm3Size)
	}
	if len(c2) == 0 {
		return nil, fmt.Errorf("%w: SM2 ciphertext C2 is empty", ErrMalformedCiphertext)
	}
	out := make([]byte, PublicKeySize+sm3Size+len(c2))
	out[0] = 4
	x.FillBytes(out[1 : 1+scalarSize])
	y.FillBytes(out[1+scalarSize : PublicKeySize])
	if _, err := sm2.NewPublicKey(out[:PublicKeySize]); err != nil {
		return nil, fmt.Errorf("%w: SM2 ciphertext C1 is not a point on sm2p256v1", ErrMalformedCiphertext)
	}
	copy(out[PublicKeySize:], c3)
	copy(out[PublicKeySize+sm3Size:], c2)
	return out, nil
}
