package crypto

import "errors"

var (
	// ErrMalformedSignature is returned when a signature is not a strict DER
	// SEQUENCE{INTEGER r, INTEGER s} with minimal encodings, 1 <= r, s < n, and
	// no trailing bytes.
	ErrMalformedSignature = errors.New("malformed SM2 signature")

	// ErrInvalidSignature is returned when a well-formed signature does not
	// verify for the message and public key.
	ErrInvalidSignature = errors.New("invalid SM2 signature")

	// ErrMalformedKey is returned when bytes or PEM that should hold an SM2 key
	// cannot be decoded: wrong length or encoding, point not on the curve,
	// scalar out of range, corrupt or unsupported container.
	ErrMalformedKey = errors.New("malformed SM2 key")

	// ErrNotSM2Key is returned when a well-formed key is of another algorithm
	// or curve (RSA, ECDSA P-256, Ed25519, ...). The error names the kind found.
	ErrNotSM2Key = errors.New("not an SM2 key")

	// ErrPassphraseRequired is returned when a private key is encrypted and no
	// passphrase was given.
	ErrPassphraseRequired = errors.New("the private key is encrypted: a passphrase is required")

	// ErrWrongPassphrase is returned when an encrypted private key does not
	// decrypt with the given passphrase.
	ErrWrongPassphrase = errors.New("wrong passphrase for the private key")

	// ErrMalformedCiphertext is returned when an SM2 ciphertext or an envelope
	// stream is not in the expected form (bad DER, point off the curve, bad
	// header, wrong wrapped-key length).
	ErrMalformedCiphertext = errors.New("malformed ciphertext")

	// ErrDecrypt is returned when a well-formed ciphertext fails to decrypt or
	// authenticate: wrong key, or the ciphertext was altered.
	ErrDecrypt = errors.New("decryption failed")

	// ErrTruncated is returned by Open when the stream ends before its final
	// chunk.
	ErrTruncated = errors.New("ciphertext stream is truncated")

	// ErrMalformedHash is returned when text that should hold an SM3 hash or a
	// key ID is not exactly 64 lowercase hex digits.
	ErrMalformedHash = errors.New("malformed hash")
)
