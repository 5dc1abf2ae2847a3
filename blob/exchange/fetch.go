package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/evidenced/evidenced/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Fetch gets blob addr from peer p into the store. If the store holds part
// of it from an interrupted transfer, Fetch asks only for the rest. The blob
// becomes visible only after its SM3 digest checks out; a mismatch returns
// ErrAddressMismatch and keeps nothing. If the store already holds addr,
// Fetch returns nil without a transfer. Errors wrap ErrNotMember, ErrForbidden,
// ErrNotFound, ErrBusy, ErrTooLarge, ErrProtocol or ErrPeerFailed when
// those apply, or ctx's error when ctx ends first.
func (h *Host) Fetch(ctx context.Context, p peer.ID, addr crypto.Hash) error {
	if _, ok := h.cfg.Members(p); !ok {
		return fmt.Errorf("fetch %s from %s: %w", short(addr), p, ErrNotMember)
	}
	if h.cfg.Store.Has(addr) {
		return nil
	}
	return h.transfer(ctx, p, FetchProtocol, addr, fmt.Sprintf("fetch %s from %s", short(addr), p), "fetched",
		func(s network.Stream) (int64, int64, error) { return h.fetch(s, p, addr) })
}

// fetch runs the requester side of the fetch protocol on s. It returns the
// offset it resumed from and the bytes it received.
func (h *Host) fetch(s network.Stream, p peer.ID, addr crypto.Hash) (off, n int64, err error) {
	c := h.stream(s)
	if err := c.write(addr[:]); err != nil {
		return 0, 0, fmt.Errorf("send request: %w", err)
	}
	hd, err := readHeader(c)
	if err != nil {
		return 0, 0, err
	}
	if err := hd.refusal(fmt.Errorf("%w by %s: fetch it from another replica", ErrNotFound, p)); err != nil {
		return 0, 0, err
	}
	size := hd.N
	if size > h.cfg.MaxSize {
		return 0, 0, fmt.Errorf("%w: peer offers %d bytes, limit is %d (Config.MaxSize)", ErrTooLarge, size, h.cfg.MaxSize)
	}
	in, err := h.cfg.Store.Receive(addr, size)
	if err != nil {
		return 0, 0, fmt.Errorf("store: start receiving %d bytes: %w", size, err)
	}
	released := false
	defer func() {
		if !released {
			in.Close() // keep the partial for a resume
		}
	}()
	off = in.Offset()
	if off < 0 || off > size {
		released = true
		in.Discard()
		return 0, 0, fmt.Errorf("store: partial of %d bytes does not fit a blob of %d bytes: discarded it", off, size)
	}
	if err := c.write(encodeU64(off)); err != nil {
		return off, 0, fmt.Errorf("send offset: %w", err)
	}
	if err := s.CloseWrite(); err != nil {
		return off, 0, fmt.Errorf("send offset: %w", err)
	}
	n, err = copyN(in, c, size-off, make([]byte, min(bufferSize, max(size-off, 1))))
	if err != nil {
		var se *sideError
		if errors.As(err, &se) && se.write {
			return off, n, fmt.Errorf("store: after %d of %d bytes: %w", off+n, size, se.err)
		}
		return off, n, fmt.Errorf("receive after %d of %d bytes (kept for resume): %w", off+n, size, err)
	}
	if err := c.expectEOF(); err != nil {
		return off, n, fmt.Errorf("after %d bytes: %w", size, err)
	}
	released = true
	if err := in.Commit(); err != nil {
		return off, n, fmt.Errorf("commit %d bytes: %w", size, err)
	}
	return off, n, nil
}

// serveFetch runs the server side of the fetch protocol for member.
func (h *Host) serveFetch(s network.Stream, member string) {
	p := s.Conn().RemotePeer()
	c := h.stream(s)
	var addr crypto.Hash
	if err := c.readFull(addr[:]); err != nil {
		h.log.Info("blob exchange: bad fetch request", "peer", p, "member", member, "err", err)
		s.Reset()
		return
	}
	log := h.log.With("peer", p, "member", member, "addr", addr.String())
	if err := h.cfg.Authorize(member, addr); err != nil {
		log.Info("blob exchange: fetch refused", "err", err)
		h.refuse(s, statusForbidden, fmt.Sprintf("member %q may not fetch %s: %v: ask the record's owner for a grant", member, short(addr), err))
		return
	}
	if !h.cfg.Store.Has(addr) {
		log.Info("blob exchange: fetch of a blob not held")
		h.refuse(s, statusNotFound, "")
		return
	}
	f, size, err := h.open(addr)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		h.refuse(s, statusNotFound, "")
		return
	case err != nil:
		log.Error("blob exchange: cannot serve a stored blob", "err", err)
		h.refuse(s, statusFailed, fmt.Sprintf("the peer cannot read %s: fetch it from another replica", short(addr)))
		return
	}
	defer f.Close()
	off, n, err := h.serveFetchData(c, f, size)
	if err != nil {
		log.Warn("blob exchange: fetch aborted", "offset", off, "sent", n, "size", size, "err", err)
		s.Reset()
		return
	}
	s.Close()
	log.Info("blob exchange: served fetch", "offset", off, "bytes", n, "size", size)
}

// open opens stored blob addr and returns its size.
func (h *Host) open(addr crypto.Hash) (io.ReadSeekCloser, int64, error) {
	size, err := h.cfg.Store.Size(addr)
	if err != nil {
		return nil, 0, err
	}
	f, err := h.cfg.Store.OpenBlob(addr)
	if err != nil {
		return nil, 0, err
	}
	return f, size, nil
}

// serveFetchData answers ok with size, reads the requester's offset and
// sends [offset, size) of f.
func (h *Host) serveFetchData(c *conn, f io.ReadSeeker, size int64) (off, n int64, err error) {
	if err := c.write(encodeHeader(okHeader(size))); err != nil {
		return 0, 0, fmt.Errorf("send header: %w", err)
	}
	var b [u64Size]byte
	if err := c.readFull(b[:]); err != nil {
		return 0, 0, fmt.Errorf("read offset: %w", err)
	}
	off, err = decodeU64(b[:])
	if err != nil {
		return 0, 0, err
	}
	if off > size {
		return off, 0, fmt.Errorf("%w: offset %d beyond size %d", ErrProtocol, off, size)
	}
	if err := c.expectEOF(); err != nil {
		return off, 0, fmt.Errorf("after the offset: %w", err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off, 0, fmt.Errorf("seek blob to %d: %w", off, err)
	}
	n, err = copyN(c, f, size-off, make([]byte, min(bufferSize, max(size-off, 1))))
	return off, n, err
}

// refuse answers s with a refusal header and closes it.
func (h *Host) refuse(s network.Stream, st status, msg string) {
	if err := h.stream(s).write(encodeHeader(errHeader(st, msg))); err != nil {
		s.Reset()
		return
	}
	s.Close()
}
