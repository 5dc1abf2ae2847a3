package crypto

import (
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/hkdf"
)

// maxDerivedSize is the most output HKDF can give with a 32-byte hash
// (RFC 5869 §2.3: L <= 255*HashLen).
const maxDerivedSize = 255 * HashSize

// DeriveSecret returns n bytes derived from k's private scalar with HKDF
// (RFC 5869) over SM3: IKM = the 32-byte big-endian scalar, no salt, info =
// label. The same key and label always give the same bytes; different labels
// give independent secrets, so one SM2 key can seed other keys (a libp2p
// identity, say) without storing a second secret. Use a label that names the
// purpose and a version, such as "evidenced/libp2p/ed25519/v1". n must be in
// [1, 8160]. The caller owns the returned slice and should treat it as secret.
func (k *PrivateKey) DeriveSecret(label string, n int) ([]byte, error) {
	if n < 1 || n > maxDerivedSize {
		return nil, fmt.Errorf("derive secret %q: length %d is out of range: ask for 1 to %d bytes", label, n, maxDerivedSize)
	}
	if label == "" {
		return nil, fmt.Errorf("derive secret: empty label: name the purpose of the secret so that uses stay separate")
	}
	d, err := scalarOf(k.k)
	if err != nil {
		return nil, fmt.Errorf("derive secret %q: %w", label, err)
	}
	defer clear(d)
	out := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sm3.New, d, nil, []byte(label)), out); err != nil {
		return nil, fmt.Errorf("derive secret %q: %w", label, err)
	}
	return out, nil
}
