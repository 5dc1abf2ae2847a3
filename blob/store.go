package blob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/evidenced/evidenced/crypto"
)

// Directory and file names inside a store.
const (
	tmpDir        = "tmp"
	partialDir    = "partial"
	quarantineDir = "quarantine"
	dirMode       = 0o700
	fileMode      = 0o600
)

// Store is a directory of ciphertext blobs named by SM3(ciphertext). Safe for
// concurrent use.
type Store struct {
	dir string

	mu        sync.Mutex               // guards receiving and renames into place
	receiving map[crypto.Hash]struct{} // addresses with an open Incoming
}

// Open opens the store in dir, creating it (mode 0700) if needed. It removes
// leftover temporary files of sealed uploads from a crash, and partial
// transfers of blobs that are already complete; it keeps other partial
// incoming transfers, for resume.
func Open(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, tmpDir), filepath.Join(dir, partialDir), filepath.Join(dir, quarantineDir)} {
		if err := os.MkdirAll(d, dirMode); err != nil {
			return nil, fmt.Errorf("open blob store %s: %w", dir, err)
		}
	}
	s := &Store{dir: dir, receiving: make(map[crypto.Hash]struct{})}
	tmps, err := os.ReadDir(filepath.Join(dir, tmpDir))
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	for _, e := range tmps {
		if err := os.RemoveAll(filepath.Join(dir, tmpDir, e.Name())); err != nil {
			return nil, fmt.Errorf("open blob store %s: remove leftover temporary file: %w", dir, err)
		}
	}
	parts, err := os.ReadDir(filepath.Join(dir, partialDir))
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	for _, e := range parts {
		var addr crypto.Hash
		if addr.UnmarshalText([]byte(e.Name())) != nil {
			continue
		}
		if s.Has(addr) {
			// A crash after the rename into place but before the partial
			// directory was synced can bring the partial back.
			if err := os.Remove(filepath.Join(dir, partialDir, e.Name())); err != nil {
				return nil, fmt.Errorf("open blob store %s: remove stale partial: %w", dir, err)
			}
		}
	}
	return s, nil
}

// path returns the file name of the blob at addr.
func (s *Store) path(addr crypto.Hash) string {
	h := addr.String()
	return filepath.Join(s.dir, h[:2], h)
}

// SealResult describes a stored original.
type SealResult struct {
	Address    crypto.Hash // SM3 of the ciphertext
	CipherSize int64       // bytes of ciphertext stored
	PlainSize  int64       // bytes of plaintext read
	Commitment crypto.Hash // SM3(salt ‖ plaintext)
}

// Seal streams plaintext from r, encrypts it with crypto.Seal under key into
// a temporary file in the store (0600), computing on the way the commitment
// SM3(salt ‖ plaintext) and the SM3 of the ciphertext, fsyncs it, and renames
// it to its address. Only ciphertext is written to disk. If maxSize > 0, a
// plaintext longer than maxSize bytes fails with ErrTooLarge. On any error,
// including cancellation of ctx, nothing is kept.
//
// Sealing the same plaintext twice gives two different blobs: each seal draws
// a fresh random nonce prefix.
func (s *Store) Seal(ctx context.Context, r io.Reader, key crypto.DataKey, salt []byte, maxSize int64) (res SealResult, err error) {
	if err := ctx.Err(); err != nil {
		return SealResult{}, fmt.Errorf("seal: %w", err)
	}
	f, err := os.CreateTemp(filepath.Join(s.dir, tmpDir), "seal-*")
	if err != nil {
		return SealResult{}, fmt.Errorf("seal: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	commit := crypto.NewCommitter(salt)
	src := &plainReader{ctx: ctx, r: r, max: maxSize, h: commit}
	addr := crypto.NewSM3()
	n, err := crypto.Seal(io.MultiWriter(f, addr), src, key, rand.Reader)
	if err != nil {
		return SealResult{}, fmt.Errorf("seal: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return SealResult{}, fmt.Errorf("seal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return SealResult{}, fmt.Errorf("seal: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return SealResult{}, fmt.Errorf("seal: close: %w", err)
	}
	res = SealResult{
		Address:    sum(addr),
		CipherSize: n,
		PlainSize:  src.n,
		Commitment: sum(commit),
	}
	if err := s.moveIntoPlace(f.Name(), res.Address); err != nil {
		return SealResult{}, fmt.Errorf("seal %s: %w", res.Address, err)
	}
	return res, nil
}

// moveIntoPlace renames the complete, synced file from to the path of addr
// and syncs the directories involved.
func (s *Store) moveIntoPlace(from string, addr crypto.Hash) error {
	to := s.path(addr)
	fan := filepath.Dir(to)
	created := false
	if err := os.Mkdir(fan, dirMode); err == nil {
		created = true
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	s.mu.Lock()
	err := os.Rename(from, to)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := syncDir(fan); err != nil {
		return err
	}
	if created {
		return syncDir(s.dir)
	}
	return nil
}

// plainReader reads the plaintext for Seal: it honours ctx, bounds the size,
// counts the bytes and feeds the commitment hash.
type plainReader struct {
	ctx context.Context
	r   io.Reader
	max int64 // > 0: the bound
	n   int64
	h   hash.Hash
}

func (p *plainReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	if p.max > 0 && int64(len(b)) > p.max-p.n+1 {
		b = b[:p.max-p.n+1]
	}
	k, err := p.r.Read(b)
	p.n += int64(k)
	if p.max > 0 && p.n > p.max {
		return 0, fmt.Errorf("%w: the plaintext is longer than %d bytes", ErrTooLarge, p.max)
	}
	p.h.Write(b[:k])
	return k, err
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

func sum(h hash.Hash) crypto.Hash {
	var out crypto.Hash
	h.Sum(out[:0])
	return out
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Has reports whether a complete blob is stored at addr.
func (s *Store) Has(addr crypto.Hash) bool {
	fi, err := os.Stat(s.path(addr))
	return err == nil && fi.Mode().IsRegular()
}

// Size returns the ciphertext size of the blob at addr, or ErrNotFound.
func (s *Store) Size(addr crypto.Hash) (int64, error) {
	fi, err := os.Stat(s.path(addr))
	if err != nil {
		return 0, notFound("size", addr, err)
	}
	return fi.Size(), nil
}

func notFound(op string, addr crypto.Hash, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %s: %w", op, addr, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, addr, err)
}

// OpenBlob opens the stored ciphertext at addr for reading, to serve it to a
// peer. The caller closes the file. It fails with ErrNotFound when no
// complete blob is stored at addr. The bytes are not checked here: the
// receiving side checks them against addr.
func (s *Store) OpenBlob(addr crypto.Hash) (*os.File, error) {
	f, err := os.Open(s.path(addr))
	if err != nil {
		return nil, notFound("open blob", addr, err)
	}
	return f, nil
}

// Decrypt streams the plaintext of the blob at addr to w, decrypting it with
// crypto.Open under key, and checks on the way that the ciphertext hashes to
// addr. It returns the number of plaintext bytes written to w.
//
// Errors: ErrNotFound; ErrCorrupt (wrapped with the address) when the stored
// bytes do not hash to addr; crypto.ErrDecrypt when the blob is intact but
// does not decrypt under key (the wrong key); crypto.ErrTruncated or
// crypto.ErrMalformedCiphertext when the blob is intact but was not a
// complete envelope stream; or the error of w.
//
// w may have received a prefix of the plaintext before an error: callers
// that need all-or-nothing write to a temporary file and keep it (rename it
// into place) only when Decrypt returns nil.
func (s *Store) Decrypt(addr crypto.Hash, key crypto.DataKey, w io.Writer) (int64, error) {
	return s.decrypt("decrypt", addr, key, w, nil, crypto.Hash{})
}

// DecryptCommitted is Decrypt that also checks that SM3(salt ‖ plaintext)
// equals want, the commitment recorded on chain. A plaintext that decrypts
// but does not match fails with ErrCommitmentMismatch, after it has been
// written to w: the same all-or-nothing advice as for Decrypt applies.
func (s *Store) DecryptCommitted(addr crypto.Hash, key crypto.DataKey, salt []byte, want crypto.Hash, w io.Writer) (int64, error) {
	if salt == nil {
		salt = []byte{}
	}
	return s.decrypt("decrypt", addr, key, w, salt, want)
}

func (s *Store) decrypt(op string, addr crypto.Hash, key crypto.DataKey, w io.Writer, salt []byte, want crypto.Hash) (int64, error) {
	f, err := s.OpenBlob(addr)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := crypto.NewSM3()
	var commit hash.Hash
	dst := w
	if salt != nil {
		commit = crypto.NewCommitter(salt)
		dst = io.MultiWriter(w, commit)
	}
	n, oerr := crypto.Open(dst, io.TeeReader(f, h), key)
	if oerr != nil && !errors.Is(oerr, crypto.ErrDecrypt) && !errors.Is(oerr, crypto.ErrTruncated) && !errors.Is(oerr, crypto.ErrMalformedCiphertext) {
		// An I/O error, or w failed: nothing to say about the blob.
		return n, fmt.Errorf("%s %s: %w", op, addr, oerr)
	}
	// Hash the rest of the file (after a chunk that failed, or bytes after
	// the final chunk) to tell corruption from a wrong key.
	rest, err := io.Copy(h, f)
	if err != nil {
		return n, fmt.Errorf("%s %s: read: %w", op, addr, err)
	}
	if got := sum(h); got != addr {
		return n, fmt.Errorf("%s %s: %w: the stored bytes hash to %s", op, addr, ErrCorrupt, got)
	}
	if oerr != nil {
		return n, fmt.Errorf("%s %s: %w", op, addr, oerr)
	}
	if rest > 0 {
		return n, fmt.Errorf("%s %s: %w: %d bytes after the final chunk", op, addr, crypto.ErrMalformedCiphertext, rest)
	}
	if commit != nil {
		if got := sum(commit); got != want {
			return n, fmt.Errorf("%s %s: %w: SM3(salt ‖ plaintext) is %s, want %s", op, addr, ErrCommitmentMismatch, got, want)
		}
	}
	return n, nil
}

// Remove deletes the blob at addr, or fails with ErrNotFound.
func (s *Store) Remove(addr crypto.Hash) error {
	if err := os.Remove(s.path(addr)); err != nil {
		return notFound("remove", addr, err)
	}
	return nil
}

// List calls fn for every complete blob, with its address and ciphertext
// size, in increasing order of address. It stops at, and returns, the first
// error from fn. Blobs added or removed during the walk may or may not be
// seen.
func (s *Store) List(fn func(addr crypto.Hash, size int64) error) error {
	fans, err := os.ReadDir(s.dir) // sorted by name
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, fan := range fans {
		if !fan.IsDir() || !isHex2(fan.Name()) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.dir, fan.Name()))
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		for _, e := range files {
			var addr crypto.Hash
			if !e.Type().IsRegular() || addr.UnmarshalText([]byte(e.Name())) != nil || e.Name()[:2] != fan.Name() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return fmt.Errorf("list blobs: %w", err)
			}
			if err := fn(addr, fi.Size()); err != nil {
				return err
			}
		}
	}
	return nil
}

func isHex2(name string) bool {
	if len(name) != 2 {
		return false
	}
	for _, c := range []byte(name) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Usage returns the number of complete blobs and their total size in bytes.
func (s *Store) Usage() (count int, bytes int64, err error) {
	err = s.List(func(_ crypto.Hash, size int64) error {
		count++
		bytes += size
		return nil
	})
	return count, bytes, err
}

// Verify rehashes the blob at addr. It returns nil when the blob's bytes
// hash to addr, an error wrapping ErrNotFound or ErrCorrupt (with the
// address) otherwise, or an I/O error.
func (s *Store) Verify(addr crypto.Hash) error {
	_, err := s.verify(context.Background(), addr)
	return err
}

// verify rehashes the blob at addr; on ErrCorrupt it also returns the
// FileInfo of the file that was hashed.
func (s *Store) verify(ctx context.Context, addr crypto.Hash) (fs.FileInfo, error) {
	f, err := s.OpenBlob(addr)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", addr, err)
	}
	h := crypto.NewSM3()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return nil, fmt.Errorf("verify %s: %w", addr, err)
	}
	if got := sum(h); got != addr {
		return fi, fmt.Errorf("verify %s: %w: the stored bytes hash to %s", addr, ErrCorrupt, got)
	}
	return nil, nil
}

// Scrub rehashes every complete blob. For each corrupt one it calls bad (if
// not nil) with the address and an error wrapping ErrCorrupt, and moves the
// blob to the quarantine directory, so that Has reports false and Receive can
// store a good copy fetched from another member. It returns how many blobs it
// checked and how many were corrupt. It stops when ctx is done, returning
// ctx's error with the counts so far.
func (s *Store) Scrub(ctx context.Context, bad func(addr crypto.Hash, err error)) (checked, corrupt int, err error) {
	err = s.List(func(addr crypto.Hash, _ int64) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, verr := s.verify(ctx, addr)
		switch {
		case errors.Is(verr, ErrNotFound):
			return nil // removed meanwhile
		case errors.Is(verr, ErrCorrupt):
		case verr != nil:
			return verr
		default:
			checked++
			return nil
		}
		checked++
		corrupt++
		if bad != nil {
			bad(addr, verr)
		}
		if err := s.quarantine(addr, fi); err != nil {
			return fmt.Errorf("scrub: quarantine %s: %w", addr, err)
		}
		return nil
	})
	if err != nil {
		return checked, corrupt, fmt.Errorf("scrub: %w", err)
	}
	return checked, corrupt, nil
}

// quarantine moves the blob at addr aside, if it is still the file fi that
// was found corrupt (not a good copy received meanwhile).
func (s *Store) quarantine(addr crypto.Hash, fi fs.FileInfo) error {
	q, err := os.CreateTemp(filepath.Join(s.dir, quarantineDir), addr.String()+".*")
	if err != nil {
		return err
	}
	q.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := os.Stat(s.path(addr))
	if err != nil || !os.SameFile(fi, cur) {
		return os.Remove(q.Name())
	}
	if err := os.Rename(s.path(addr), q.Name()); err != nil {
		os.Remove(q.Name())
		return err
	}
	return syncDir(filepath.Dir(s.path(addr)))
}
