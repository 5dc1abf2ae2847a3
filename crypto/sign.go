package crypto

import (
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// MaxSignatureSize is the largest DER SM2 signature: SEQUENCE header (2) +
// two INTEGERs of up to 33 bytes with their headers (2 × 35).
const MaxSignatureSize = 72

// Sign signs msg with k: SM2 (GB/T 32918.2) over SM3(Z_A || msg), where Z_A
// is computed with the default user ID "1234567812345678". It returns the
// minimal DER encoding of (r, s).
//
// rand is normally crypto/rand.Reader; the library mixes it with the key and
// message (hedged signing), so a weak rand does not leak the key. If rand is
// nil the signature is deterministic (RFC 6979 with HMAC-SM3).
func (k *PrivateKey) Sign(rand io.Reader, msg []byte) ([]byte, error) {
	// The library computes e = SM3(Z_A || msg) with the default user ID and
	// signs it as a digest. (Passing msg with sm2.DefaultSM2SignerOpts does
	// the same but refuses an empty msg, which SM2 allows.)
	e, err := sm2.CalculateSM2Hash(&k.k.PublicKey, msg, nil)
	if err != nil {
		return nil, fmt.Errorf("SM2 sign: %w", err)
	}
	sig, err := k.k.Sign(rand, e, nil)
	if err != nil {
		return nil, fmt.Errorf("SM2 sign: %w", err)
	}
	return sig, nil
}

// Verify checks that sig is a valid signature of msg by p, made as Sign makes
// it. It returns nil if it is, an error wrapping ErrMalformedSignature if sig
// is not in the strict form ParseSignature accepts, and ErrInvalidSignature
// if the signature does not verify.
func (p *PublicKey) Verify(msg, sig []byte) error {
	if _, _, err := ParseSignature(sig); err != nil {
		return err
	}
	if !sm2.VerifyASN1WithSM2(p.k, nil, msg, sig) {
		return ErrInvalidSignature
	}
	return nil
}

// ParseSignature decodes a DER signature SEQUENCE{INTEGER r, INTEGER s}
// strictly: minimal length and integer encodings, 1 <= r, s < n, nothing
// after the SEQUENCE. Errors wrap ErrMalformedSignature.
func ParseSignature(sig []byte) (r, s *big.Int, err error) {
	if len(sig) > MaxSignatureSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, longer than the %d an SM2 signature can be", ErrMalformedSignature, len(sig), MaxSignatureSize)
	}
	var inner cryptobyte.String
	in := cryptobyte.String(sig)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) {
		return nil, nil, fmt.Errorf("%w: not a DER SEQUENCE with a minimal length", ErrMalformedSignature)
	}
	if !in.Empty() {
		return nil, nil, fmt.Errorf("%w: %d bytes after the SEQUENCE", ErrMalformedSignature, len(in))
	}
	r, s = new(big.Int), new(big.Int)
	if !inner.ReadASN1Integer(r) {
		return nil, nil, fmt.Errorf("%w: r is not a minimally encoded DER INTEGER", ErrMalformedSignature)
	}
	if !inner.ReadASN1Integer(s) {
		return nil, nil, fmt.Errorf("%w: s is not a minimally encoded DER INTEGER", ErrMalformedSignature)
	}
	if !inner.Empty() {
		return nil, nil, fmt.Errorf("%w: %d bytes after s inside the SEQUENCE", ErrMalformedSignature, len(inner))
	}
	n := sm2.P256().Params().N
	if r.Sign() <= 0 || r.Cmp(n) >= 0 {
		return nil, nil, fmt.Errorf("%w: r is not in [1, n-1]", ErrMalformedSignature)
	}
	if s.Sign() <= 0 || s.Cmp(n) >= 0 {
		return nil, nil, fmt.Errorf("%w: s is not in [1, n-1]", ErrMalformedSignature)
	}
	return r, s, nil
}
