package crypto

import (
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// HashSize is the size in bytes of an SM3 digest.
const HashSize = 32

// Hash is an SM3 digest. Its text form is 64 lowercase hex digits.
type Hash [HashSize]byte

// SM3 returns the SM3 digest of the concatenation of data.
func SM3(data ...[]byte) Hash {
	d := sm3.New()
	for _, b := range data {
		d.Write(b)
	}
	var h Hash
	d.Sum(h[:0])
	return h
}

// NewSM3 returns a streaming SM3 hash.Hash.
func NewSM3() hash.Hash { return sm3.New() }

// String returns h as 64 lowercase hex digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText returns h as 64 lowercase hex digits.
func (h Hash) MarshalText() ([]byte, error) {
	b := make([]byte, 2*HashSize)
	hex.Encode(b, h[:])
	return b, nil
}

// UnmarshalText sets h from exactly 64 lowercase hex digits.
func (h *Hash) UnmarshalText(text []byte) error {
	return decodeHex32((*[HashSize]byte)(h), text)
}

// decodeHex32 decodes exactly 64 lowercase hex digits into dst. It accepts
// only the canonical form so that a hash has one text encoding.
func decodeHex32(dst *[HashSize]byte, text []byte) error {
	if len(text) != 2*HashSize {
		return fmt.Errorf("%w: %d characters, want %d lowercase hex digits", ErrMalformedHash, len(text), 2*HashSize)
	}
	for i, c := range text {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%w: character %d (%q) is not a lowercase hex digit", ErrMalformedHash, i, c)
		}
	}
	var tmp [HashSize]byte
	if _, err := hex.Decode(tmp[:], text); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	*dst = tmp
	return nil
}
