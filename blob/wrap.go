package blob

import (
	"errors"
	"fmt"
	"io"

	"github.com/evidenced/evidenced/crypto"
)

// WrappedPayloadSize is the size of the plaintext that WrapKey encrypts:
// the data key followed by the commitment salt.
const WrappedPayloadSize = crypto.DataKeySize + crypto.SaltSize

// ErrBadWrappedKey is returned by UnwrapKey when the wrapped payload
// decrypts but is not a data key followed by a salt (48 bytes), and by
// WrapKey when the salt is not crypto.SaltSize bytes. The record or grant
// carrying it was made by other software: the original cannot be opened
// with it.
var ErrBadWrappedKey = errors.New("wrapped data key is not a 16-byte SM4 key followed by a 32-byte salt")

// WrapKey encrypts key ‖ salt with SM2 (crypto.PublicKey.Encrypt) to to,
// the member key of the owner of an original or of a grantee. Whoever holds
// the private key can then decrypt the original and check it against its
// on-chain commitment SM3(salt ‖ original); nobody else learns the salt.
// salt must be crypto.SaltSize bytes. rand is normally crypto/rand.Reader.
// The result (about 155 bytes) fits ledger.MaxWrappedKey.
func WrapKey(to *crypto.PublicKey, rand io.Reader, key crypto.DataKey, salt []byte) ([]byte, error) {
	if len(salt) != crypto.SaltSize {
		return nil, fmt.Errorf("wrap data key: %w: the salt is %d bytes, want %d", ErrBadWrappedKey, len(salt), crypto.SaltSize)
	}
	var p [WrappedPayloadSize]byte
	copy(p[:], key[:])
	copy(p[crypto.DataKeySize:], salt)
	defer clear(p[:])
	w, err := to.Encrypt(rand, p[:])
	if err != nil {
		return nil, fmt.Errorf("wrap data key: %w", err)
	}
	return w, nil
}

// UnwrapKey decrypts a payload made by WrapKey with k and returns the data
// key and the salt (a new slice). It fails as crypto.PrivateKey.Decrypt does
// (crypto.ErrMalformedCiphertext for bytes that are not an SM2 ciphertext,
// crypto.ErrDecrypt when it is not for k or was altered), and with
// ErrBadWrappedKey when the plaintext is not WrappedPayloadSize bytes.
func UnwrapKey(k *crypto.PrivateKey, wrapped []byte) (crypto.DataKey, []byte, error) {
	p, err := k.Decrypt(wrapped)
	if err != nil {
		return crypto.DataKey{}, nil, fmt.Errorf("unwrap data key: %w", err)
	}
	defer clear(p)
	if len(p) != WrappedPayloadSize {
		return crypto.DataKey{}, nil, fmt.Errorf("unwrap data key: %w: the payload is %d bytes, want %d", ErrBadWrappedKey, len(p), WrappedPayloadSize)
	}
	key := crypto.DataKey(p[:crypto.DataKeySize])
	salt := append([]byte(nil), p[crypto.DataKeySize:]...)
	return key, salt, nil
}
