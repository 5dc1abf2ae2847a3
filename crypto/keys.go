package crypto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
)

// PublicKeySize is the size of the canonical public key encoding: the
// uncompressed point 0x04 || X || Y on sm2p256v1.
const PublicKeySize = 65

// compressedKeySize is the size of a compressed point 0x02/0x03 || X.
const compressedKeySize = 33

// scalarSize is the size of a private scalar and of a coordinate.
const scalarSize = 32

// PrivateKey is an SM2 private key on sm2p256v1. Make one with GenerateKey,
// NewPrivateKey or ParsePrivateKeyPEM; the zero value is not usable.
// A PrivateKey is safe for concurrent use.
type PrivateKey struct {
	k   *sm2.PrivateKey
	pub *PublicKey
}

// PublicKey is an SM2 public key on sm2p256v1. Make one with
// PrivateKey.Public, ParsePublicKey, ParsePublicKeyAny or ParsePublicKeyPEM;
// the zero value is not usable. A PublicKey is immutable and safe for
// concurrent use.
type PublicKey struct {
	k  *ecdsa.PublicKey
	b  [PublicKeySize]byte
	id KeyID
}

// KeyID identifies a public key: the SM3 digest of its 65-byte uncompressed
// encoding. Its text form is 64 lowercase hex digits.
type KeyID [HashSize]byte

// GenerateKey returns a new random SM2 private key, reading randomness from
// rand (normally crypto/rand.Reader).
func GenerateKey(rand io.Reader) (*PrivateKey, error) {
	k, err := sm2.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate SM2 key: %w", err)
	}
	return newPrivateKey(k)
}

// NewPrivateKey returns the private key with scalar d, a 32-byte big-endian
// integer with 1 <= d < n-1 (GB/T 32918.1 §6.1; n is the curve order).
func NewPrivateKey(d []byte) (*PrivateKey, error) {
	if len(d) != scalarSize {
		return nil, fmt.Errorf("%w: private scalar is %d bytes, want %d", ErrMalformedKey, len(d), scalarSize)
	}
	k, err := sm2.NewPrivateKey(d)
	if err != nil {
		return nil, fmt.Errorf("%w: private scalar must be in [1, n-2]: %v", ErrMalformedKey, err)
	}
	return newPrivateKey(k)
}

func newPrivateKey(k *sm2.PrivateKey) (*PrivateKey, error) {
	d, err := scalarOf(k)
	if err != nil {
		return nil, err
	}
	// Defence in depth: the library checks the range too.
	nMinus1 := new(big.Int).Sub(sm2.P256().Params().N, big.NewInt(1))
	if v := new(big.Int).SetBytes(d); v.Sign() <= 0 || v.Cmp(nMinus1) >= 0 {
		return nil, fmt.Errorf("%w: private scalar must be in [1, n-2]", ErrMalformedKey)
	}
	pub, err := newPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	return &PrivateKey{k: k, pub: pub}, nil
}

// scalarOf returns the 32-byte big-endian private scalar of k.
func scalarOf(k *sm2.PrivateKey) ([]byte, error) {
	e, err := k.ECDH()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	d := e.Bytes()
	if len(d) != scalarSize {
		return nil, fmt.Errorf("%w: private scalar is %d bytes, want %d", ErrMalformedKey, len(d), scalarSize)
	}
	return d, nil
}

// Public returns the public key of k.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// newPublicKey builds a PublicKey from a library key, validating it again.
func newPublicKey(p *ecdsa.PublicKey) (*PublicKey, error) {
	if p.Curve != sm2.P256() {
		return nil, fmt.Errorf("%w: key is on %s, not sm2p256v1", ErrNotSM2Key, p.Curve.Params().Name)
	}
	e, err := sm2.PublicKeyToECDH(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return ParsePublicKey(e.Bytes())
}

// ParsePublicKey decodes the canonical on-chain form of a public key: exactly
// 65 bytes 0x04 || X || Y, with X, Y < p and the point on sm2p256v1. It
// rejects every other form, including compressed points.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d (0x04 || X || Y)", ErrMalformedKey, len(b), PublicKeySize)
	}
	if b[0] != 4 {
		return nil, fmt.Errorf("%w: public key starts with 0x%02x, want 0x04 (uncompressed point)", ErrMalformedKey, b[0])
	}
	k, err := sm2.NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	p := &PublicKey{k: k}
	copy(p.b[:], b)
	p.id = KeyID(SM3(b))
	return p, nil
}

// ParsePublicKeyAny decodes a public key in the canonical 65-byte form or the
// 33-byte compressed form 0x02/0x03 || X. Use it for keys typed by people or
// made by other tools; store and sign only the canonical form (Bytes).
func ParsePublicKeyAny(b []byte) (*PublicKey, error) {
	if len(b) == compressedKeySize && (b[0] == 2 || b[0] == 3) {
		// The library decompresses (sm2ec.SM2P256Point.SetBytes) and checks
		// the point; only the re-encoding happens here.
		x, y := elliptic.UnmarshalCompressed(sm2.P256(), b)
		if x == nil {
			return nil, fmt.Errorf("%w: compressed public key is not a point on sm2p256v1", ErrMalformedKey)
		}
		var u [PublicKeySize]byte
		u[0] = 4
		x.FillBytes(u[1 : 1+scalarSize])
		y.FillBytes(u[1+scalarSize:])
		return ParsePublicKey(u[:])
	}
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d (uncompressed) or %d (compressed)", ErrMalformedKey, len(b), PublicKeySize, compressedKeySize)
	}
	return ParsePublicKey(b)
}

// Bytes returns the canonical 65-byte encoding 0x04 || X || Y. The caller
// owns the returned slice.
func (p *PublicKey) Bytes() []byte {
	b := p.b
	return b[:]
}

// Equal reports whether p and q are the same key.
func (p *PublicKey) Equal(q *PublicKey) bool {
	if p == nil || q == nil {
		return p == q
	}
	return subtle.ConstantTimeCompare(p.b[:], q.b[:]) == 1
}

// ID returns SM3(p.Bytes()).
func (p *PublicKey) ID() KeyID { return p.id }

// String returns id as 64 lowercase hex digits.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 bytes of id as 16 lowercase hex digits, for
// display. It is not unique enough to identify a key.
func (id KeyID) Short() string { return hex.EncodeToString(id[:8]) }

// MarshalText returns id as 64 lowercase hex digits.
func (id KeyID) MarshalText() ([]byte, error) { return Hash(id).MarshalText() }

// UnmarshalText sets id from exactly 64 lowercase hex digits.
func (id *KeyID) UnmarshalText(text []byte) error {
	return decodeHex32((*[HashSize]byte)(id), text)
}

// ParseKeyID parses a key ID from exactly 64 lowercase hex digits.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	if err := id.UnmarshalText([]byte(s)); err != nil {
		return KeyID{}, fmt.Errorf("parse key ID: %w", err)
	}
	return id, nil
}
