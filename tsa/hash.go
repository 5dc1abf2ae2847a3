package tsa

import (
	"crypto/sha256"
	"encoding/asn1"
	"fmt"

	"github.com/evidenced/evidenced/crypto"
)

// HashAlg names a hash algorithm a token's message imprint may use.
type HashAlg string

// The hash algorithms a message imprint may use.
const (
	SM3    HashAlg = "sm3"    // GB/T 32905, OID 1.2.156.10197.1.401
	SHA256 HashAlg = "sha256" // FIPS 180-4, OID 2.16.840.1.101.3.4.2.1
)

var (
	oidSM3    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

// Sum returns the hash of msg, or nil for an unknown algorithm.
func (h HashAlg) Sum(msg []byte) []byte {
	switch h {
	case SM3:
		d := crypto.SM3(msg)
		return d[:]
	case SHA256:
		d := sha256.Sum256(msg)
		return d[:]
	}
	return nil
}

// size is the length of the algorithm's digest.
func (h HashAlg) size() int {
	switch h {
	case SM3, SHA256:
		return 32
	}
	return 0
}

func (h HashAlg) oid() asn1.ObjectIdentifier {
	switch h {
	case SM3:
		return oidSM3
	case SHA256:
		return oidSHA256
	}
	return nil
}

// hashByOID returns the algorithm an OID names, or "" when it is not one of ours.
func hashByOID(oid asn1.ObjectIdentifier) HashAlg {
	switch {
	case oid.Equal(oidSM3):
		return SM3
	case oid.Equal(oidSHA256):
		return SHA256
	}
	return ""
}

// ParseHashAlg parses "sm3" or "sha256".
func ParseHashAlg(s string) (HashAlg, error) {
	switch h := HashAlg(s); h {
	case SM3, SHA256:
		return h, nil
	}
	return "", fmt.Errorf("%w: hash algorithm %q (want sm3 or sha256)", ErrHashAlg, s)
}
