package exchange_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
)

// memStore is an in-memory exchange.Store with knobs to make it fail.
// Set the knobs before the store is used.
type memStore struct {
	// failReadAfter > 0 makes the first blob reader opened fail after that
	// many bytes.
	failReadAfter int64
	// failWriteAfter > 0 makes incoming writes fail once the partial holds
	// that many bytes (a full disk), once.
	failWriteAfter int64
	// flip serves every blob with its first byte inverted.
	flip bool
	// blockAt >= 0 with blocked/release set makes a reader stop when it has
	// served blockAt bytes: it closes blocked and waits for release.
	blockAt  int64
	blocked  chan struct{}
	release  chan struct{}
	onceStop sync.Once

	mu        sync.Mutex
	blobs     map[crypto.Hash][]byte
	partial   map[crypto.Hash][]byte
	receiving map[crypto.Hash]bool
	opens     int
	seeks     []int64 // offsets served from, in order
	sawBlob   bool    // an incoming write saw its blob already visible
}

func newMemStore() *memStore {
	return &memStore{
		blockAt:   -1,
		blobs:     make(map[crypto.Hash][]byte),
		partial:   make(map[crypto.Hash][]byte),
		receiving: make(map[crypto.Hash]bool),
	}
}

var _ exchange.Store = (*memStore)(nil)

// put stores b and returns its address.
func (s *memStore) put(b []byte) crypto.Hash {
	addr := crypto.SM3(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[addr] = append([]byte(nil), b...)
	return addr
}

func (s *memStore) get(addr crypto.Hash) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[addr]
	return b, ok
}

func (s *memStore) partialLen(addr crypto.Hash) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.partial[addr]
	return len(b), ok
}

func (s *memStore) servedOffsets() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.seeks...)
}

func (s *memStore) Has(addr crypto.Hash) bool {
	_, ok := s.get(addr)
	return ok
}

func (s *memStore) Size(addr crypto.Hash) (int64, error) {
	b, ok := s.get(addr)
	if !ok {
		return 0, fmt.Errorf("size of %s: %w", addr, fs.ErrNotExist)
	}
	return int64(len(b)), nil
}

func (s *memStore) OpenBlob(addr crypto.Hash) (io.ReadSeekCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[addr]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", addr, fs.ErrNotExist)
	}
	s.opens++
	r := &memReader{s: s, b: b, failAfter: -1}
	if s.failReadAfter > 0 && s.opens == 1 {
		r.failAfter = s.failReadAfter
	}
	if s.flip {
		r.b = append([]byte(nil), b...)
		r.b[0] ^= 0xff
	}
	return r, nil
}

func (s *memStore) Receive(addr crypto.Hash, size int64) (exchange.Incoming, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.receiving[addr] {
		return nil, fmt.Errorf("receive %s: %w", addr, exchange.ErrBusy)
	}
	s.receiving[addr] = true
	return &memIncoming{s: s, addr: addr, size: size, b: s.partial[addr]}, nil
}

// memReader serves one blob.
type memReader struct {
	s         *memStore
	b         []byte
	pos       int64
	served    int64
	failAfter int64
}

func (r *memReader) Read(p []byte) (int, error) {
	s := r.s
	if s.blocked != nil && r.served >= s.blockAt {
		s.onceStop.Do(func() { close(s.blocked) })
		<-s.release
	}
	if r.pos >= int64(len(r.b)) {
		return 0, io.EOF
	}
	if s.blocked != nil && r.served < s.blockAt {
		p = p[:min(int64(len(p)), s.blockAt-r.served)]
	}
	if r.failAfter >= 0 {
		if r.served >= r.failAfter {
			return 0, errors.New("simulated disk read error")
		}
		p = p[:min(int64(len(p)), r.failAfter-r.served)]
	}
	n := copy(p, r.b[r.pos:])
	r.pos += int64(n)
	r.served += int64(n)
	return n, nil
}

func (r *memReader) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekStart || off < 0 || off > int64(len(r.b)) {
		return 0, fmt.Errorf("bad seek %d/%d", off, whence)
	}
	r.s.mu.Lock()
	r.s.seeks = append(r.s.seeks, off)
	r.s.mu.Unlock()
	r.pos = off
	return off, nil
}

func (r *memReader) Close() error { return nil }

// memIncoming is a transfer into a memStore.
type memIncoming struct {
	s    *memStore
	addr crypto.Hash
	size int64
	b    []byte
}

func (in *memIncoming) Offset() int64 { return int64(len(in.b)) }

func (in *memIncoming) Write(p []byte) (int, error) {
	s := in.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[in.addr]; ok {
		s.sawBlob = true
	}
	if int64(len(in.b)+len(p)) > in.size {
		return 0, fmt.Errorf("write past size %d", in.size)
	}
	if lim := s.failWriteAfter; lim > 0 && int64(len(in.b)+len(p)) > lim {
		n := int(lim) - len(in.b)
		in.b = append(in.b, p[:n]...)
		s.failWriteAfter = 0
		return n, errors.New("simulated disk full")
	}
	in.b = append(in.b, p...)
	return len(p), nil
}

func (in *memIncoming) Commit() error {
	s := in.s
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.receiving, in.addr)
	delete(s.partial, in.addr)
	if int64(len(in.b)) != in.size {
		s.partial[in.addr] = in.b
		return fmt.Errorf("commit: have %d of %d bytes", len(in.b), in.size)
	}
	if crypto.SM3(in.b) != in.addr {
		return fmt.Errorf("commit %s: %w", in.addr, exchange.ErrAddressMismatch)
	}
	s.blobs[in.addr] = in.b
	return nil
}

func (in *memIncoming) Close() error {
	s := in.s
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.receiving, in.addr)
	s.partial[in.addr] = in.b
	return nil
}

func (in *memIncoming) Discard() error {
	s := in.s
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.receiving, in.addr)
	delete(s.partial, in.addr)
	return nil
}
