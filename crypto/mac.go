package crypto

import (
	"crypto/hmac"

	"github.com/emmansun/gmsm/sm3"
)

// MAC returns HMAC-SM3 (RFC 2104 with SM3) of the concatenated parts under
// key. Webhook deliveries are signed with it.
func MAC(key []byte, parts ...[]byte) Hash {
	m := hmac.New(sm3.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	var h Hash
	copy(h[:], m.Sum(nil))
	return h
}

// MACEqual reports in constant time whether mac is HMAC-SM3 of parts
// under key.
func MACEqual(mac []byte, key []byte, parts ...[]byte) bool {
	want := MAC(key, parts...)
	return hmac.Equal(mac, want[:])
}
