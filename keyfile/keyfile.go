// Package keyfile saves and loads SM2 key files: private keys as PKCS#8 PEM
// (encrypted with a passphrase when one is given, see
// crypto.PrivateKey.MarshalPEM), public keys as SubjectPublicKeyInfo PEM.
// Files are written atomically (temp file, fsync, rename or link, fsync of
// the directory); private key files are created with mode 0600. Every file
// holding a secret (private keys, passphrases, and through ReadSecret the
// node's API tokens and webhook secrets) is refused on load when group or
// others can read it, or when it is not a regular file.
package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"

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

	// ErrInsecurePermissions is returned by Load, ReadPassphrase and
	// ReadSecret when the file can be read by group or others. Fix it with
	// chmod 600.
	ErrInsecurePermissions = errors.New("the file holds a secret but is readable by group or others")

	// ErrNotRegular is returned by Load, ReadPassphrase and ReadSecret when
	// the path names something other than a regular file (a FIFO, a device,
	// a directory): reading one could block the node's start forever.
	ErrNotRegular = errors.New("not a regular file")
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
	data, err := ReadSecret(path, maxFileSize)
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

// ReadPassphrase reads a key passphrase (or another one-line secret, such
// as a webhook's) from the file at path: its content up to the first line
// break. The file must pass ReadSecret's checks; an empty passphrase, or a
// file larger than 4 KiB, is an error.
func ReadPassphrase(path string) ([]byte, error) {
	b, err := ReadSecret(path, maxPassphraseFile)
	if err != nil {
		return nil, fmt.Errorf("read passphrase file: %w", err)
	}
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty: put the passphrase on its first line", path)
	}
	return b, nil
}

// ReadSecret reads a file that holds a secret: a private key, a passphrase,
// the node's API tokens, a webhook secret. It fails at once, without
// blocking, with ErrNotRegular when path (after symbolic links) is not a
// regular file, such as a FIFO, which would block the read until something
// writes to it; with ErrInsecurePermissions when group or others may access
// the file (except on Windows); and when the file is larger than max bytes.
// The type and mode are checked before opening and again on the opened file,
// which is opened non-blocking, so a FIFO swapped in between cannot block
// it either.
func ReadSecret(path string, max int) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkSecretFile(path, fi); err != nil {
		return nil, err
	}
	f, err := openSecretFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: is it the right file?", path, max)
	}
	return data, nil
}

// openSecretFile opens path without blocking (O_NONBLOCK: opening a FIFO
// would wait for a writer) and checks what it opened.
func openSecretFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkSecretFile(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkSecretFile checks the type and mode of a file holding a secret.
func checkSecretFile(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (it is %s): give the path of a file", path, ErrNotRegular, fileKind(fi.Mode()))
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: %w (mode %v): run chmod 600 %s", path, ErrInsecurePermissions, fi.Mode().Perm(), path)
	}
	return nil
}

// fileKind names the type of a file that is not regular.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "of another type"
}
