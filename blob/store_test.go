package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/testutil"
)

// marker is a distinctive plaintext string that must never appear on disk.
const marker = "PLAINTEXT-MARKER:张三/110101199003071234/"

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func newKey(t testing.TB) crypto.DataKey {
	t.Helper()
	k, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		t.Fatalf("NewDataKey: %v", err)
	}
	return k
}

func newSalt(t testing.TB) []byte {
	t.Helper()
	salt := make([]byte, crypto.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	return salt
}

// plaintext returns n bytes made of repeated markers.
func plaintext(n int) []byte {
	return bytes.Repeat([]byte(marker), n/len(marker)+1)[:n]
}

// cipherSize is the envelope size for n plaintext bytes (crypto package doc):
// 19-byte header, 64 KiB chunks plus a 16-byte tag each, and a final short
// chunk.
func cipherSize(n int64) int64 {
	return 19 + n + 16*(n/(64<<10)+1)
}

func seal(t testing.TB, s *Store, pt []byte, key crypto.DataKey, salt []byte) SealResult {
	t.Helper()
	res, err := s.Seal(context.Background(), bytes.NewReader(pt), key, salt, 0)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return res
}

// assertNoPlaintextOnDisk fails if any file under dir contains marker.
func assertNoPlaintextOnDisk(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s contains plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 0 {
		t.Errorf("%s holds %d entries, want none (first %s)", dir, len(es), es[0].Name())
	}
}

func TestSealDecrypt(t *testing.T) {
	s := newStore(t)
	sizes := []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 3 << 20}
	for _, size := range sizes {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			pt := plaintext(size)
			key, salt := newKey(t), newSalt(t)
			res := seal(t, s, pt, key, salt)

			onDisk, err := os.ReadFile(filepath.Join(s.dir, res.Address.String()[:2], res.Address.String()))
			if err != nil {
				t.Fatal(err)
			}
			if got := crypto.SM3(onDisk); got != res.Address {
				t.Errorf("Address = %s, SM3 of the stored file = %s", res.Address, got)
			}
			if want := cipherSize(int64(size)); res.CipherSize != want || int64(len(onDisk)) != want {
				t.Errorf("CipherSize = %d, file %d bytes, want %d", res.CipherSize, len(onDisk), want)
			}
			if res.PlainSize != int64(size) {
				t.Errorf("PlainSize = %d, want %d", res.PlainSize, size)
			}
			if want := crypto.SM3(salt, pt); res.Commitment != want {
				t.Errorf("Commitment = %s, want %s", res.Commitment, want)
			}
			if n, err := s.Size(res.Address); err != nil || n != res.CipherSize {
				t.Errorf("Size = %d, %v; want %d", n, err, res.CipherSize)
			}
			if !s.Has(res.Address) {
				t.Error("Has = false after Seal")
			}

			var out bytes.Buffer
			n, err := s.Decrypt(res.Address, key, &out)
			if err != nil || n != int64(size) || !bytes.Equal(out.Bytes(), pt) {
				t.Errorf("Decrypt = %d bytes, %v; plaintext equal: %v", n, err, bytes.Equal(out.Bytes(), pt))
			}
			out.Reset()
			if _, err := s.DecryptCommitted(res.Address, key, salt, res.Commitment, &out); err != nil || !bytes.Equal(out.Bytes(), pt) {
				t.Errorf("DecryptCommitted: %v", err)
			}
			wrongSalt := slices.Clone(salt)
			wrongSalt[0] ^= 1
			if _, err := s.DecryptCommitted(res.Address, key, wrongSalt, res.Commitment, io.Discard); !errors.Is(err, ErrCommitmentMismatch) {
				t.Errorf("DecryptCommitted with a wrong salt: %v, want ErrCommitmentMismatch", err)
			}
			if _, err := s.Decrypt(res.Address, newKey(t), io.Discard); !errors.Is(err, crypto.ErrDecrypt) || errors.Is(err, ErrCorrupt) {
				t.Errorf("Decrypt with a wrong key: %v, want crypto.ErrDecrypt and not ErrCorrupt", err)
			}
			assertNoPlaintextOnDisk(t, s.dir)
			assertEmptyDir(t, filepath.Join(s.dir, tmpDir))
		})
	}
	if count, _, err := s.Usage(); err != nil || count != len(sizes) {
		t.Errorf("Usage count = %d, %v; want %d", count, err, len(sizes))
	}
}

func TestFileModes(t *testing.T) {
	s := newStore(t)
	res := seal(t, s, plaintext(100), newKey(t), newSalt(t))
	tests := []struct {
		path string
		want fs.FileMode
	}{
		{s.dir, fs.ModeDir | 0o700},
		{filepath.Join(s.dir, tmpDir), fs.ModeDir | 0o700},
		{filepath.Join(s.dir, partialDir), fs.ModeDir | 0o700},
		{filepath.Join(s.dir, quarantineDir), fs.ModeDir | 0o700},
		{filepath.Dir(s.path(res.Address)), fs.ModeDir | 0o700},
		{s.path(res.Address), 0o600},
	}
	for _, tt := range tests {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != tt.want {
			t.Errorf("%s: mode %v, want %v", tt.path, fi.Mode(), tt.want)
		}
	}
}

func TestSealLimit(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		max     int64
		wantErr error
	}{
		{"no bound", 3 << 20, 0, nil},
		{"exactly the bound", 1000, 1000, nil},
		{"one over", 1001, 1000, ErrTooLarge},
		{"far over", 3 << 20, 64 << 10, ErrTooLarge},
		{"empty with bound", 0, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			res, err := s.Seal(context.Background(), bytes.NewReader(plaintext(tt.size)), newKey(t), newSalt(t), tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Seal = %v, want %v", err, tt.wantErr)
			}
			count, _, uerr := s.Usage()
			if uerr != nil {
				t.Fatal(uerr)
			}
			if tt.wantErr != nil {
				if count != 0 {
					t.Errorf("%d blobs kept after a failed Seal", count)
				}
			} else if count != 1 || res.PlainSize != int64(tt.size) {
				t.Errorf("count %d, PlainSize %d; want 1, %d", count, res.PlainSize, tt.size)
			}
			assertEmptyDir(t, filepath.Join(s.dir, tmpDir))
		})
	}
}

// cancelReader cancels its context after its first read.
type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

func TestSealCanceled(t *testing.T) {
	tests := []struct {
		name string
		src  func(context.CancelFunc) io.Reader
	}{
		{"before start", func(cancel context.CancelFunc) io.Reader {
			cancel()
			return bytes.NewReader(plaintext(1 << 20))
		}},
		{"mid stream", func(cancel context.CancelFunc) io.Reader {
			return cancelReader{bytes.NewReader(plaintext(1 << 20)), cancel}
		}},
		{"after the last read", func(cancel context.CancelFunc) io.Reader {
			return cancelReader{bytes.NewReader(plaintext(100)), cancel}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := s.Seal(ctx, tt.src(cancel), newKey(t), newSalt(t), 0)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Seal = %v, want context.Canceled", err)
			}
			if count, _, _ := s.Usage(); count != 0 {
				t.Errorf("%d blobs kept after a canceled Seal", count)
			}
			assertEmptyDir(t, filepath.Join(s.dir, tmpDir))
		})
	}
}

// sealedBytes seals pt in a scratch store and returns its address and
// ciphertext, as a peer would serve them.
func sealedBytes(t testing.TB, pt []byte, key crypto.DataKey) (crypto.Hash, []byte) {
	t.Helper()
	src := newStore(t)
	res := seal(t, src, pt, key, newSalt(t))
	f, err := src.OpenBlob(res.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ct, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return res.Address, ct
}

func write(t *testing.T, in *Incoming, p []byte) {
	t.Helper()
	if n, err := in.Write(p); err != nil || n != len(p) {
		t.Fatalf("Write = %d, %v; want %d", n, err, len(p))
	}
}

func TestReceiveResume(t *testing.T) {
	key := newKey(t)
	pt := plaintext(3 << 20)
	addr, ct := sealedBytes(t, pt, key)
	half := len(ct) / 2

	s := newStore(t)
	in, err := s.Receive(addr, int64(len(ct)))
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != 0 {
		t.Fatalf("fresh Offset = %d, want 0", in.Offset())
	}
	write(t, in, ct[:half])
	if _, err := s.Receive(addr, int64(len(ct))); !errors.Is(err, ErrBusy) {
		t.Errorf("second Receive = %v, want ErrBusy", err)
	}
	if err := in.Commit(); err == nil {
		t.Fatal("Commit of a half transfer succeeded")
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Has(addr) {
		t.Fatal("Has = true for a half transfer")
	}

	// Reopen the store, as after a restart, and resume.
	s, err = Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	in, err = s.Receive(addr, int64(len(ct)))
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != int64(half) {
		t.Fatalf("resumed Offset = %d, want %d", in.Offset(), half)
	}
	write(t, in, ct[half:])
	if err := in.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if !s.Has(addr) {
		t.Fatal("Has = false after Commit")
	}
	if err := s.Verify(addr); err != nil {
		t.Errorf("Verify: %v", err)
	}
	var out bytes.Buffer
	if _, err := s.Decrypt(addr, key, &out); err != nil || !bytes.Equal(out.Bytes(), pt) {
		t.Errorf("Decrypt after Receive: %v", err)
	}
	if _, err := s.Receive(addr, int64(len(ct))); !errors.Is(err, ErrExists) {
		t.Errorf("Receive of a stored blob = %v, want ErrExists", err)
	}
	assertEmptyDir(t, filepath.Join(s.dir, partialDir))
	// The Incoming is ended: further calls are no-ops, writes fail.
	if err := in.Close(); err != nil {
		t.Errorf("Close after Commit: %v", err)
	}
	if _, err := in.Write([]byte{1}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Commit = %v, want os.ErrClosed", err)
	}
}

func TestReceiveRejects(t *testing.T) {
	addr, ct := sealedBytes(t, plaintext(200<<10), newKey(t))
	flipped := slices.Clone(ct)
	flipped[len(flipped)/2] ^= 0x80
	tests := []struct {
		name string
		addr crypto.Hash
		data []byte
	}{
		{"flipped byte", addr, flipped},
		{"other address", crypto.SM3([]byte("another blob")), ct},
		{"empty for a non-empty address", addr, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			in, err := s.Receive(tt.addr, int64(len(tt.data)))
			if err != nil {
				t.Fatal(err)
			}
			write(t, in, tt.data)
			if err := in.Commit(); !errors.Is(err, ErrAddressMismatch) {
				t.Fatalf("Commit = %v, want ErrAddressMismatch", err)
			}
			if s.Has(tt.addr) {
				t.Error("Has = true after a mismatch")
			}
			if count, _, _ := s.Usage(); count != 0 {
				t.Errorf("%d blobs listed after a mismatch", count)
			}
			assertEmptyDir(t, filepath.Join(s.dir, partialDir))
			// The address is free again, from scratch.
			in, err = s.Receive(tt.addr, int64(len(tt.data)))
			if err != nil || in.Offset() != 0 {
				t.Fatalf("Receive after a mismatch: %v, Offset %d", err, in.Offset())
			}
			if err := in.Discard(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReceiveOversize(t *testing.T) {
	addr, ct := sealedBytes(t, plaintext(1000), newKey(t))
	s := newStore(t)
	in, err := s.Receive(addr, int64(len(ct)))
	if err != nil {
		t.Fatal(err)
	}
	write(t, in, ct[:10])
	if n, err := in.Write(make([]byte, len(ct))); !errors.Is(err, ErrTooLarge) || n != 0 {
		t.Errorf("over-size Write = %d, %v; want 0, ErrTooLarge", n, err)
	}
	if in.Offset() != 10 {
		t.Errorf("Offset after a refused write = %d, want 10", in.Offset())
	}
	// The transfer can still complete.
	write(t, in, ct[10:])
	if _, err := in.Write([]byte{0}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Write past the end = %v, want ErrTooLarge", err)
	}
	if err := in.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if !s.Has(addr) {
		t.Error("Has = false after Commit")
	}
}

func TestReceiveDiscardAndResize(t *testing.T) {
	addr, ct := sealedBytes(t, plaintext(5000), newKey(t))
	s := newStore(t)
	in, err := s.Receive(addr, int64(len(ct)))
	if err != nil {
		t.Fatal(err)
	}
	write(t, in, ct[:100])
	if err := in.Discard(); err != nil {
		t.Fatal(err)
	}
	assertEmptyDir(t, filepath.Join(s.dir, partialDir))

	// A partial larger than the announced size is dropped, not resumed.
	in, err = s.Receive(addr, int64(len(ct)))
	if err != nil {
		t.Fatal(err)
	}
	write(t, in, ct[:200])
	in.Close()
	in, err = s.Receive(addr, 50)
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != 0 {
		t.Errorf("Offset with a partial over the size = %d, want 0", in.Offset())
	}
	in.Close()
}

func TestOpenCleansUp(t *testing.T) {
	key := newKey(t)
	s := newStore(t)
	res := seal(t, s, plaintext(1000), key, newSalt(t))

	// Leftovers of a crash: a half-written Seal temp file, a partial
	// transfer to keep, and a stale partial of a blob that is complete.
	leftover := filepath.Join(s.dir, tmpDir, "seal-123456")
	if err := os.WriteFile(leftover, []byte("half a ciphertext"), 0o600); err != nil {
		t.Fatal(err)
	}
	other, otherCT := sealedBytes(t, plaintext(3000), key)
	if err := os.WriteFile(s.partialPath(other), otherCT[:1000], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.partialPath(res.Address), []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}

	s, err := Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("leftover temp file still there: %v", err)
	}
	if _, err := os.Stat(s.partialPath(res.Address)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale partial of a complete blob still there: %v", err)
	}
	var listed []crypto.Hash
	if err := s.List(func(a crypto.Hash, _ int64) error { listed = append(listed, a); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, []crypto.Hash{res.Address}) {
		t.Errorf("List = %v, want only %s", listed, res.Address)
	}
	in, err := s.Receive(other, int64(len(otherCT)))
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != 1000 {
		t.Errorf("kept partial: Offset = %d, want 1000", in.Offset())
	}
	write(t, in, otherCT[1000:])
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestListRemoveUsage(t *testing.T) {
	s := newStore(t)
	key := newKey(t)
	var want []crypto.Hash
	var total int64
	for i := range 20 {
		res := seal(t, s, plaintext(i*100), key, newSalt(t))
		want = append(want, res.Address)
		total += res.CipherSize
	}
	// Not blobs: must not be listed.
	os.WriteFile(filepath.Join(s.dir, "README"), []byte("x"), 0o600)
	os.Mkdir(filepath.Join(s.dir, "zz"), 0o700)
	os.WriteFile(filepath.Join(s.dir, want[0].String()[:2], "junk"), []byte("x"), 0o600)

	slices.SortFunc(want, func(a, b crypto.Hash) int { return bytes.Compare(a[:], b[:]) })
	var got []crypto.Hash
	var sizes int64
	if err := s.List(func(a crypto.Hash, n int64) error { got = append(got, a); sizes += n; return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || sizes != total {
		t.Errorf("List = %v (%d bytes), want %v (%d bytes)", got, sizes, want, total)
	}
	count, bytes, err := s.Usage()
	if err != nil || count != 20 || bytes != total {
		t.Errorf("Usage = %d, %d, %v; want 20, %d", count, bytes, err, total)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.List(func(crypto.Hash, int64) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("List with a failing fn = %v after %d calls, want stop after 1", err, calls)
	}

	if err := s.Remove(want[3]); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(want[3]); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove = %v, want ErrNotFound", err)
	}
	if s.Has(want[3]) {
		t.Error("Has = true after Remove")
	}
	for name, err := range map[string]error{
		"Size":     func() error { _, err := s.Size(want[3]); return err }(),
		"OpenBlob": func() error { _, err := s.OpenBlob(want[3]); return err }(),
		"Decrypt":  func() error { _, err := s.Decrypt(want[3], key, io.Discard); return err }(),
		"Verify":   s.Verify(want[3]),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a removed blob = %v, want ErrNotFound", name, err)
		}
	}
}

func TestVerifyScrub(t *testing.T) {
	s := newStore(t)
	key := newKey(t)
	pts := [][]byte{plaintext(10), plaintext(200 << 10), plaintext(5000)}
	var addrs []crypto.Hash
	for _, pt := range pts {
		addrs = append(addrs, seal(t, s, pt, key, newSalt(t)).Address)
	}
	bad := addrs[1]
	good, err := os.ReadFile(s.path(bad))
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(good)
	flipped[len(flipped)/3] ^= 0x01
	if err := os.WriteFile(s.path(bad), flipped, 0o600); err != nil {
		t.Fatal(err)
	}

	for i, a := range addrs {
		err := s.Verify(a)
		if a == bad {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Verify(corrupt) = %v, want ErrCorrupt", err)
			} else if !bytes.Contains([]byte(err.Error()), []byte(a.String())) {
				t.Errorf("Verify error %q does not name the address", err)
			}
		} else if err != nil {
			t.Errorf("Verify(blob %d) = %v", i, err)
		}
	}
	var out bytes.Buffer
	if _, err := s.Decrypt(bad, key, &out); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Decrypt(corrupt) = %v, want ErrCorrupt", err)
	}

	var reported []crypto.Hash
	checked, corrupt, err := s.Scrub(context.Background(), func(a crypto.Hash, err error) {
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("bad(%s, %v): want ErrCorrupt", a, err)
		}
		reported = append(reported, a)
	})
	if err != nil || checked != 3 || corrupt != 1 {
		t.Fatalf("Scrub = %d, %d, %v; want 3, 1, nil", checked, corrupt, err)
	}
	if !slices.Equal(reported, []crypto.Hash{bad}) {
		t.Errorf("bad called for %v, want %s", reported, bad)
	}
	if s.Has(bad) {
		t.Error("Has(corrupt) = true after Scrub")
	}
	q, err := os.ReadDir(filepath.Join(s.dir, quarantineDir))
	if err != nil || len(q) != 1 {
		t.Fatalf("quarantine holds %d files (%v), want 1", len(q), err)
	}
	if kept, _ := os.ReadFile(filepath.Join(s.dir, quarantineDir, q[0].Name())); !bytes.Equal(kept, flipped) {
		t.Error("quarantined file is not the corrupt blob")
	}
	if checked, corrupt, err := s.Scrub(context.Background(), nil); err != nil || checked != 2 || corrupt != 0 {
		t.Errorf("second Scrub = %d, %d, %v; want 2, 0, nil", checked, corrupt, err)
	}

	// A good copy from a peer replaces it.
	in, err := s.Receive(bad, int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	write(t, in, good)
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(bad); err != nil {
		t.Errorf("Verify after re-fetch: %v", err)
	}
	out.Reset()
	if _, err := s.Decrypt(bad, key, &out); err != nil || !bytes.Equal(out.Bytes(), pts[1]) {
		t.Errorf("Decrypt after re-fetch: %v", err)
	}
}

func TestScrubCanceled(t *testing.T) {
	s := newStore(t)
	seal(t, s, plaintext(10), newKey(t), newSalt(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if checked, _, err := s.Scrub(ctx, nil); !errors.Is(err, context.Canceled) || checked != 0 {
		t.Errorf("Scrub(canceled) = %d, %v; want 0, context.Canceled", checked, err)
	}
}

func TestDecryptTrailingBytes(t *testing.T) {
	// A blob that hashes to its address but carries bytes after the final
	// chunk is not a valid envelope, but it is not corrupt either: the
	// trailer extends the final chunk, which then fails to authenticate.
	key := newKey(t)
	_, ct := sealedBytes(t, plaintext(100), key)
	ct = append(ct, "trailer"...)
	addr := crypto.SM3(ct)
	s := newStore(t)
	in, err := s.Receive(addr, int64(len(ct)))
	if err != nil {
		t.Fatal(err)
	}
	write(t, in, ct)
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decrypt(addr, key, io.Discard); !errors.Is(err, crypto.ErrDecrypt) || errors.Is(err, ErrCorrupt) {
		t.Errorf("Decrypt = %v, want crypto.ErrDecrypt and not ErrCorrupt", err)
	}
}

func TestConcurrent(t *testing.T) {
	s := newStore(t)
	key := newKey(t)
	addr, ct := sealedBytes(t, plaintext(100<<10), key)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 4 {
		salt := newSalt(t)
		wg.Go(func() {
			res, err := s.Seal(context.Background(), bytes.NewReader(plaintext(i*10000)), key, salt, 0)
			if err == nil {
				err = s.Verify(res.Address)
			}
			errs <- err
		})
		wg.Go(func() {
			// Several receivers race for one address: one at a time holds
			// it; the others see ErrBusy, or ErrExists once it is stored.
			in, err := s.Receive(addr, int64(len(ct)))
			if errors.Is(err, ErrBusy) || errors.Is(err, ErrExists) {
				return
			}
			if err != nil {
				errs <- err
				return
			}
			if _, err := in.Write(ct[in.Offset():]); err != nil {
				errs <- err
				return
			}
			errs <- in.Commit()
		})
		wg.Go(func() {
			_, _, err := s.Scrub(context.Background(), nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if !s.Has(addr) {
		t.Error("no receiver stored the blob")
	}
	if count, _, err := s.Usage(); err != nil || count != 5 {
		t.Errorf("Usage = %d, %v; want 5", count, err)
	}
}

// TestSealMemory seals 64 MiB from a generator and checks that the heap does
// not grow with the input.
func TestSealMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("seals 64 MiB")
	}
	s := newStore(t)
	key, salt := newKey(t), newSalt(t)
	const size = 64 << 20
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := s.Seal(context.Background(), testutil.NewGenReader(size), key, salt, 0)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Seal of %d MiB: %d KiB allocated in total, heap in use %d KiB", size>>20, alloc>>10, after.HeapInuse>>10)
	if alloc > 4<<20 {
		t.Errorf("Seal of %d MiB allocated %d KiB in total, want < 4 MiB", size>>20, alloc>>10)
	}
	if after.HeapInuse > 32<<20 {
		t.Errorf("heap in use %d KiB after Seal, want < 32 MiB", after.HeapInuse>>10)
	}
	if res.PlainSize != size || res.CipherSize != cipherSize(size) {
		t.Errorf("sizes %d, %d", res.PlainSize, res.CipherSize)
	}

	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := s.Decrypt(res.Address, key, io.Discard)
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("Decrypt = %d, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Decrypt of %d MiB allocated %d KiB in total, want < 4 MiB", size>>20, alloc>>10)
	}
}

func BenchmarkSeal(b *testing.B) {
	s := newStore(b)
	key, salt := newKey(b), newSalt(b)
	const size = 64 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Seal(context.Background(), testutil.NewGenReader(size), key, salt, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Remove(res.Address)
		b.StartTimer()
	}
}

func BenchmarkDecrypt(b *testing.B) {
	s := newStore(b)
	key, salt := newKey(b), newSalt(b)
	const size = 64 << 20
	res, err := s.Seal(context.Background(), testutil.NewGenReader(size), key, salt, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Decrypt(res.Address, key, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzReceive feeds arbitrary bytes to Receive, in two parts with a resume
// between them, for their own address or a different one: they must be
// stored, byte for byte, exactly when they hash to the address.
func FuzzReceive(f *testing.F) {
	f.Add([]byte(""), false, uint16(0))
	f.Add([]byte("abc"), false, uint16(1))
	f.Add([]byte("abc"), true, uint16(2))
	f.Add(bytes.Repeat([]byte{0xff}, 5000), true, uint16(4000))
	f.Fuzz(func(t *testing.T, data []byte, wrong bool, split uint16) {
		s := newStore(t)
		addr := crypto.SM3(data)
		if wrong {
			addr[int(split)%crypto.HashSize] ^= 1 << (split % 8)
		}
		cut := int(split) % (len(data) + 1)
		in, err := s.Receive(addr, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		write(t, in, data[:cut])
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
		in, err = s.Receive(addr, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if in.Offset() != int64(cut) {
			t.Fatalf("Offset = %d, want %d", in.Offset(), cut)
		}
		write(t, in, data[cut:])
		err = in.Commit()
		if wrong {
			if !errors.Is(err, ErrAddressMismatch) || s.Has(addr) {
				t.Fatalf("bytes stored under an address they do not hash to: Commit = %v, Has = %v", err, s.Has(addr))
			}
			return
		}
		if err != nil {
			t.Fatalf("Commit = %v", err)
		}
		f, err := s.OpenBlob(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got, err := io.ReadAll(f)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("stored bytes differ from the received ones (%v)", err)
		}
		if err := s.Verify(addr); err != nil {
			t.Fatal(err)
		}
	})
}
