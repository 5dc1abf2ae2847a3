package blob

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/evidenced/evidenced/crypto"
)

// Incoming is a ciphertext being received from a peer, written to a partial
// file that becomes a blob only when Commit finds that its bytes hash to the
// address asked for. Get one from Store.Receive; end it with exactly one of
// Commit, Close or Discard (further calls of any of them return nil). An
// Incoming is not safe for concurrent use.
type Incoming struct {
	s    *Store
	addr crypto.Hash
	size int64
	f    *os.File  // the partial file, positioned at its end; nil when ended
	h    hash.Hash // SM3 of the partial file's bytes so far
	off  int64
}

// Receive starts storing the ciphertext of address addr and size bytes,
// received from a peer. If an earlier transfer of addr was interrupted (by
// Close, or a crash), it resumes: Offset reports how many bytes are already
// held, and the caller asks the peer for the rest. The held bytes are
// rehashed, streaming, to continue the SM3.
//
// Errors: ErrExists when the blob is already stored complete; ErrBusy when
// another Incoming for addr is open.
func (s *Store) Receive(addr crypto.Hash, size int64) (*Incoming, error) {
	if size < 0 {
		return nil, fmt.Errorf("receive %s: negative size %d", addr, size)
	}
	s.mu.Lock()
	if _, busy := s.receiving[addr]; busy {
		s.mu.Unlock()
		return nil, fmt.Errorf("receive %s: %w", addr, ErrBusy)
	}
	if s.Has(addr) {
		s.mu.Unlock()
		return nil, fmt.Errorf("receive %s: %w", addr, ErrExists)
	}
	s.receiving[addr] = struct{}{}
	s.mu.Unlock()

	in, err := s.openPartial(addr, size)
	if err != nil {
		s.release(addr)
		return nil, fmt.Errorf("receive %s: %w", addr, err)
	}
	return in, nil
}

func (s *Store) release(addr crypto.Hash) {
	s.mu.Lock()
	delete(s.receiving, addr)
	s.mu.Unlock()
}

func (s *Store) partialPath(addr crypto.Hash) string {
	return filepath.Join(s.dir, partialDir, addr.String())
}

// openPartial opens (or creates) the partial file of addr and rehashes what
// it holds.
func (s *Store) openPartial(addr crypto.Hash, size int64) (*Incoming, error) {
	f, err := os.OpenFile(s.partialPath(addr), os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, err
	}
	in := &Incoming{s: s, addr: addr, size: size, f: f, h: crypto.NewSM3()}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size() > size {
		// Left by a transfer that announced another size: not this blob.
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, err
		}
	}
	n, err := io.Copy(in.h, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rehash partial: %w", err)
	}
	in.off = n
	return in, nil
}

// Offset returns the number of bytes held: those kept from an earlier
// interrupted transfer plus those written since. A resumed transfer asks the
// peer for the bytes from Offset on.
func (in *Incoming) Offset() int64 { return in.off }

// Write appends p to the partial file. A write that would take the partial
// past the size given to Receive writes nothing and fails with ErrTooLarge.
func (in *Incoming) Write(p []byte) (int, error) {
	if in.f == nil {
		return 0, fmt.Errorf("receive %s: write: %w", in.addr, os.ErrClosed)
	}
	if int64(len(p)) > in.size-in.off {
		return 0, fmt.Errorf("receive %s: %w: %d more bytes would make %d, the blob is %d bytes", in.addr, ErrTooLarge, len(p), in.off+int64(len(p)), in.size)
	}
	n, err := in.f.Write(p)
	in.h.Write(p[:n])
	in.off += int64(n)
	if err != nil {
		return n, fmt.Errorf("receive %s: write: %w", in.addr, err)
	}
	return n, nil
}

// Commit ends the transfer: it requires Offset() == the size given to
// Receive, fsyncs the partial file, checks that SM3 of all its bytes (the
// held prefix, rehashed by Receive, and everything written since) equals the
// address, and renames it into place, after which Has reports true. If the
// bytes do not hash to the address, the partial is deleted and Commit fails
// with ErrAddressMismatch. If the transfer is incomplete, Commit fails and
// the Incoming stays open: write the rest, or Close to resume later.
func (in *Incoming) Commit() error {
	if in.f == nil {
		return nil
	}
	if in.off != in.size {
		return fmt.Errorf("receive %s: commit: incomplete, %d of %d bytes held: write the rest first", in.addr, in.off, in.size)
	}
	defer in.s.release(in.addr)
	f := in.f
	in.f = nil
	if got := sum(in.h); got != in.addr {
		f.Close()
		if err := os.Remove(f.Name()); err != nil {
			return fmt.Errorf("receive %s: %w (the bytes hash to %s); remove partial: %v", in.addr, ErrAddressMismatch, got, err)
		}
		return fmt.Errorf("receive %s: %w: the bytes hash to %s", in.addr, ErrAddressMismatch, got)
	}
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("receive %s: commit: %w", in.addr, err)
	}
	if err := in.s.moveIntoPlace(f.Name(), in.addr); err != nil {
		return fmt.Errorf("receive %s: commit: %w", in.addr, err)
	}
	return nil
}

// Close stops the transfer without committing. The partial file is kept, so
// that a later Receive of the same address resumes from its end.
func (in *Incoming) Close() error {
	if in.f == nil {
		return nil
	}
	defer in.s.release(in.addr)
	err := in.f.Close()
	in.f = nil
	if err != nil {
		return fmt.Errorf("receive %s: close: %w", in.addr, err)
	}
	return nil
}

// Discard stops the transfer and deletes the partial file.
func (in *Incoming) Discard() error {
	if in.f == nil {
		return nil
	}
	defer in.s.release(in.addr)
	f := in.f
	in.f = nil
	err := f.Close()
	if rerr := os.Remove(f.Name()); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("receive %s: discard: %w", in.addr, err)
	}
	return nil
}
