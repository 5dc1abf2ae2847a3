package crypto

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/emmansun/gmsm/sm4"
)

// DataKeySize is the size of an SM4 data key.
const DataKeySize = 16

// DataKey is an SM4 key that encrypts one envelope stream. Make a fresh one
// for every stream with NewDataKey.
type DataKey [DataKeySize]byte

// Envelope stream constants; the format is described in the package doc.
const (
	envelopeMagic           = "EVDSM4G1"
	envelopeHeaderSize      = len(envelopeMagic) + 4 + noncePrefixSize
	noncePrefixSize         = 7
	gcmTagSize              = 16
	defaultChunkSize        = 64 << 10
	minChunkSize            = 1 << 10
	maxChunkSize            = 16 << 20
	lastChunkFlag      byte = 1
)

// NewDataKey returns a fresh random data key read from rand (normally
// crypto/rand.Reader).
func NewDataKey(rand io.Reader) (DataKey, error) {
	var k DataKey
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return DataKey{}, fmt.Errorf("new data key: %w", err)
	}
	return k, nil
}

// WrapKey encrypts k to p with SM2 (see Encrypt), so that only the holder of
// p's private key can open streams sealed under k.
func (p *PublicKey) WrapKey(rand io.Reader, k DataKey) ([]byte, error) {
	w, err := p.Encrypt(rand, k[:])
	if err != nil {
		return nil, fmt.Errorf("wrap data key: %w", err)
	}
	return w, nil
}

// UnwrapKey decrypts a data key wrapped by WrapKey. It fails as Decrypt does,
// and with ErrMalformedCiphertext if the plaintext is not DataKeySize bytes.
func (k *PrivateKey) UnwrapKey(wrapped []byte) (DataKey, error) {
	b, err := k.Decrypt(wrapped)
	if err != nil {
		return DataKey{}, fmt.Errorf("unwrap data key: %w", err)
	}
	if len(b) != DataKeySize {
		return DataKey{}, fmt.Errorf("unwrap data key: %w: wrapped key is %d bytes, want %d", ErrMalformedCiphertext, len(b), DataKeySize)
	}
	return DataKey(b), nil
}

func newGCM(key DataKey) (cipher.AEAD, error) {
	block, err := sm4.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// chunkNonce returns prefix || uint32 BE(i) || last.
func chunkNonce(nonce []byte, prefix []byte, i uint32, last bool) {
	copy(nonce, prefix)
	binary.BigEndian.PutUint32(nonce[noncePrefixSize:], i)
	nonce[noncePrefixSize+4] = 0
	if last {
		nonce[noncePrefixSize+4] = lastChunkFlag
	}
}

// Seal encrypts src to dst in the envelope stream format (see the package
// doc) under key, with 64 KiB chunks, in constant memory. It reads the nonce
// prefix from rand (normally crypto/rand.Reader). It returns the number of
// bytes written to dst.
func Seal(dst io.Writer, src io.Reader, key DataKey, rand io.Reader) (n int64, err error) {
	return seal(dst, src, key, rand, defaultChunkSize)
}

func seal(dst io.Writer, src io.Reader, key DataKey, rand io.Reader, chunkSize int) (n int64, err error) {
	if chunkSize < minChunkSize || chunkSize > maxChunkSize {
		return 0, fmt.Errorf("seal: chunk size %d outside [%d, %d]", chunkSize, minChunkSize, maxChunkSize)
	}
	aead, err := newGCM(key)
	if err != nil {
		return 0, fmt.Errorf("seal: %w", err)
	}
	header := make([]byte, envelopeHeaderSize)
	copy(header, envelopeMagic)
	binary.BigEndian.PutUint32(header[len(envelopeMagic):], uint32(chunkSize))
	prefix := header[len(envelopeMagic)+4:]
	if _, err := io.ReadFull(rand, prefix); err != nil {
		return 0, fmt.Errorf("seal: read nonce prefix: %w", err)
	}
	m, err := dst.Write(header)
	n += int64(m)
	if err != nil {
		return n, fmt.Errorf("seal: write header: %w", err)
	}
	buf := make([]byte, chunkSize+gcmTagSize)
	nonce := make([]byte, aead.NonceSize())
	for i := uint64(0); ; i++ {
		if i > math.MaxUint32 {
			return n, fmt.Errorf("seal: stream longer than 2^32 chunks of %d bytes", chunkSize)
		}
		k, rerr := io.ReadFull(src, buf[:chunkSize])
		last := rerr != nil
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return n, fmt.Errorf("seal: read chunk %d: %w", i, rerr)
		}
		chunkNonce(nonce, prefix, uint32(i), last)
		ct := aead.Seal(buf[:0], nonce, buf[:k], header)
		m, err := dst.Write(ct)
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("seal: write chunk %d: %w", i, err)
		}
		if last {
			return n, nil
		}
	}
}

// Open decrypts an envelope stream from src under key and writes the
// plaintext to dst, one chunk at a time, in constant memory. No byte of a
// chunk is written before that chunk authenticates. It returns the number of
// plaintext bytes written.
//
// Errors: ErrMalformedCiphertext for a bad header, ErrTruncated when the
// stream ends before its final chunk, ErrDecrypt when a chunk does not
// authenticate (wrong key; modified, reordered, or extended stream).
func Open(dst io.Writer, src io.Reader, key DataKey) (n int64, err error) {
	header := make([]byte, envelopeHeaderSize)
	if k, err := io.ReadFull(src, header); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, fmt.Errorf("open: %w: header is %d bytes, want %d", ErrTruncated, k, envelopeHeaderSize)
		}
		return 0, fmt.Errorf("open: read header: %w", err)
	}
	if string(header[:len(envelopeMagic)]) != envelopeMagic {
		return 0, fmt.Errorf("open: %w: stream does not start with %q (not an evidenced envelope, or an unknown version)", ErrMalformedCiphertext, envelopeMagic)
	}
	chunkSize := binary.BigEndian.Uint32(header[len(envelopeMagic):])
	if chunkSize < minChunkSize || chunkSize > maxChunkSize {
		return 0, fmt.Errorf("open: %w: chunk size %d outside [%d, %d]", ErrMalformedCiphertext, chunkSize, minChunkSize, maxChunkSize)
	}
	prefix := header[len(envelopeMagic)+4:]
	aead, err := newGCM(key)
	if err != nil {
		return 0, fmt.Errorf("open: %w", err)
	}
	buf := make([]byte, int(chunkSize)+gcmTagSize)
	nonce := make([]byte, aead.NonceSize())
	for i := uint64(0); ; i++ {
		if i > math.MaxUint32 {
			return n, fmt.Errorf("open: %w: stream longer than 2^32 chunks", ErrMalformedCiphertext)
		}
		k, rerr := io.ReadFull(src, buf)
		switch {
		case rerr == io.EOF && i == 0:
			return n, fmt.Errorf("open: %w: stream ends after the header", ErrTruncated)
		case rerr == io.EOF:
			return n, fmt.Errorf("open: %w: stream ends after chunk %d without a final chunk", ErrTruncated, i-1)
		case rerr == io.ErrUnexpectedEOF && k < gcmTagSize:
			return n, fmt.Errorf("open: %w: chunk %d is %d bytes, shorter than a tag", ErrTruncated, i, k)
		case rerr != nil && rerr != io.ErrUnexpectedEOF:
			return n, fmt.Errorf("open: read chunk %d: %w", i, rerr)
		}
		// A full-size chunk is never the final one; a short one always is.
		last := rerr != nil
		chunkNonce(nonce, prefix, uint32(i), last)
		pt, err := aead.Open(buf[:0], nonce, buf[:k], header)
		if err != nil {
			return n, fmt.Errorf("open: chunk %d: %w (wrong key, or the stream was modified, reordered, cut, or extended)", i, ErrDecrypt)
		}
		m, err := dst.Write(pt)
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("open: write chunk %d: %w", i, err)
		}
		if last {
			return n, nil
		}
	}
}
