// Package keyfile saves and loads SM2 key files: private keys as PKCS#8 PEM
// (encrypted with a passphrase when one is given, see
// crypto.PrivateKey.MarshalPEM), public keys as SubjectPublicKeyInfo PEM.
// Files are written atomically (temp file, fsync, rename or link, fsync of
// the directory); private key files are created with mode 0600 and refused
// on load when group or others can read them.
package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
)

// maxFileSize bounds how much of a key file is read; PEM key files are a few
// hundred bytes.
const maxFileSize = 64 << 10

var (
	// ErrExists is returned by Save when the file already exists. Save never
	// overwrites a private key: move the old file away first.
	ErrExists = atomicfile.ErrExists

	// ErrInsecurePermissions is returned by Load when the private key file can
	// be read by group or others. Fix it with chmod 600.
	ErrInsecurePermissions = errors.New("private key file is readable by group or others")
)

// Save writes k to a new file at path with mode 0600, encrypted under
// passphrase if it is not empty. It fails with an error wrapping ErrExists if
// path exists.
func Save(path string, k *crypto.PrivateKey, passphrase []byte) error {
	data, err := k.MarshalPEM(passphrase)
	if err != nil {
		return fmt.Errorf("save private key %s: %w", path, err)
	}
	if err := atomicfile.WriteNew(path, data, 0o600); err != nil {
		if errors.Is(err, ErrExists) {
			return fmt.Errorf("save private key: %w; move the existing file away or choose another path", err)
		}
		return fmt.Errorf("save private key: %w", err)
	}
	return nil
}

// Load reads a private key from path (any form crypto.ParsePrivateKeyPEM
// accepts). It fails with ErrInsecurePermissions if the file mode allows
// group or others any access, and with crypto's ErrPassphraseRequired,
// ErrWrongPassphrase, ErrNotSM2Key or ErrMalformedKey as ParsePrivateKeyPEM
// does.
func Load(path string, passphrase []byte) (*crypto.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("load private key %s: not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load private key %s: %w (mode %v): run chmod 600 %s", path, ErrInsecurePermissions, fi.Mode().Perm(), path)
	}
	data, err := readAll(f, path)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	k, err := crypto.ParsePrivateKeyPEM(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("load private key %s: %w", path, err)
	}
	return k, nil
}

// SavePublic writes p to path with mode 0644, atomically replacing any
// existing file.
func SavePublic(path string, p *crypto.PublicKey) error {
	data, err := p.MarshalPEM()
	if err != nil {
		return fmt.Errorf("save public key %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("save public key: %w", err)
	}
	return nil
}

// LoadPublic reads a "PUBLIC KEY" PEM file from path.
func LoadPublic(path string) (*crypto.PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	defer f.Close()
	data, err := readAll(f, path)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	p, err := crypto.ParsePublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("load public key %s: %w", path, err)
	}
	return p, nil
}

func readAll(f *os.File, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes, not a key file", path, maxFileSize)
	}
	return data, nil
}

// maxPassphraseFile bounds a passphrase file.
const maxPassphraseFile = 4096

// ReadPassphrase reads a key passphrase from the file at path: its content
// up to the first line break. An empty passphrase, or a file larger than
// 4 KiB, is an error.
func ReadPassphrase(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read passphrase file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
	if err != nil {
		return nil, fmt.Errorf("read passphrase file %s: %w", path, err)
	}
	if len(b) > maxPassphraseFile {
		return nil, fmt.Errorf("passphrase file %s is larger than %d bytes: is it the right file?", path, maxPassphraseFile)
	}
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty: put the passphrase on its first line", path)
	}
	return b, nil
}
