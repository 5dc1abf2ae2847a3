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

// Push offers blob addr from the store to peer p, which stores it as a
// replica if its Config.AcceptPush allows; p cannot read it. If p holds
// part of it, Push sends only the rest; if p holds all of it, nothing is
// sent. Errors wrap ErrNotMember, ErrNotFound (not held here),
// ErrForbidden (p declined), ErrBusy, ErrAddressMismatch (p found that the
// bytes do not hash to addr: check the local copy), ErrProtocol or
// ErrPeerFailed when those apply, or ctx's error when ctx ends first.
func (h *Host) Push(ctx context.Context, p peer.ID, addr crypto.Hash) error {
	if _, ok := h.cfg.Members(p); !ok {
		return fmt.Errorf("push %s to %s: %w", short(addr), p, ErrNotMember)
	}
	f, size, err := h.open(addr)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("push %s to %s: %w here: %v", short(addr), p, ErrNotFound, err)
	}
	if err != nil {
		return fmt.Errorf("push %s to %s: open local blob: %w", short(addr), p, err)
	}
	defer f.Close()
	return h.transfer(ctx, p, PushProtocol, addr, fmt.Sprintf("push %s to %s", short(addr), p), "pushed",
		func(s network.Stream) (int64, int64, error) { return h.push(s, f, addr, size) })
}

// push runs the sender side of the push protocol on s.
func (h *Host) push(s network.Stream, f io.ReadSeeker, addr crypto.Hash, size int64) (off, n int64, err error) {
	c := h.stream(s)
	if err := c.write(encodePushRequest(addr, size)); err != nil {
		return 0, 0, fmt.Errorf("send request: %w", err)
	}
	hd, err := readHeader(c)
	if err != nil {
		return 0, 0, err
	}
	if err := hd.refusal(fmt.Errorf("%w: not-found answer to a push", ErrProtocol)); err != nil {
		return 0, 0, err
	}
	off = hd.N
	if off > size {
		return off, 0, fmt.Errorf("%w: peer holds %d bytes of a %d-byte blob", ErrProtocol, off, size)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off, 0, fmt.Errorf("seek local blob to %d: %w", off, err)
	}
	n, err = copyN(c, f, size-off, make([]byte, min(bufferSize, max(size-off, 1))))
	if err != nil {
		var se *sideError
		if errors.As(err, &se) && !se.write {
			return off, n, fmt.Errorf("read local blob after %d of %d bytes: %w", off+n, size, se.err)
		}
		return off, n, fmt.Errorf("send after %d of %d bytes: %w", off+n, size, err)
	}
	if err := s.CloseWrite(); err != nil {
		return off, n, fmt.Errorf("finish sending: %w", err)
	}
	var b [1]byte
	if err := c.readFull(b[:]); err != nil {
		return off, n, fmt.Errorf("read final status: %w", err)
	}
	st, err := decodeFinal(b[0])
	if err != nil {
		return off, n, err
	}
	switch st {
	case statusOK:
		return off, n, nil
	case statusMismatch:
		return off, n, fmt.Errorf("%w: the replica's copy does not hash to the address: verify the local blob", ErrAddressMismatch)
	case statusBadRequest:
		return off, n, fmt.Errorf("%w: the replica did not get exactly %d bytes", ErrProtocol, size)
	default:
		return off, n, fmt.Errorf("%w: the replica could not store it", ErrPeerFailed)
	}
}

// servePush runs the replica side of the push protocol for member.
func (h *Host) servePush(s network.Stream, member string) {
	p := s.Conn().RemotePeer()
	c := h.stream(s)
	var req [pushRequestSize]byte
	if err := c.readFull(req[:]); err != nil {
		h.log.Info("blob exchange: bad push request", "peer", p, "member", member, "err", err)
		s.Reset()
		return
	}
	addr, size, err := decodePushRequest(req[:])
	if err != nil {
		h.refuse(s, statusBadRequest, err.Error())
		return
	}
	log := h.log.With("peer", p, "member", member, "addr", addr.String(), "size", size)
	if size > h.cfg.MaxSize {
		log.Info("blob exchange: push too large", "max_size", h.cfg.MaxSize)
		h.refuse(s, statusBadRequest, fmt.Sprintf("blob of %d bytes exceeds this node's limit of %d", size, h.cfg.MaxSize))
		return
	}
	if err := h.cfg.AcceptPush(member, addr, size); err != nil {
		log.Info("blob exchange: push refused", "err", err)
		h.refuse(s, statusForbidden, fmt.Sprintf("member %q may not store %s here: %v", member, short(addr), err))
		return
	}
	final, err := h.receivePush(c, addr, size)
	if err != nil {
		log.Warn("blob exchange: push failed", "final", final, "err", err)
	} else {
		log.Info("blob exchange: stored pushed blob")
	}
	if final == noFinal { // receivePush has closed or reset s
		return
	}
	if err := c.write([]byte{byte(final)}); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// receivePush answers a push that was accepted and stores the data. It
// returns the final status to send, or noFinal after it has itself answered
// with a refusal or reset the stream.
func (h *Host) receivePush(c *conn, addr crypto.Hash, size int64) (final status, err error) {
	if h.cfg.Store.Has(addr) {
		if have, err := h.cfg.Store.Size(addr); err == nil && have != size {
			h.refuse(c.s, statusBadRequest, fmt.Sprintf("this node holds %s with %d bytes, not %d", short(addr), have, size))
			return noFinal, fmt.Errorf("%w: size %d, held %d", ErrProtocol, size, have)
		}
		if err := c.write(encodeHeader(okHeader(size))); err != nil {
			c.s.Reset()
			return noFinal, err
		}
		if err := c.expectEOF(); err != nil {
			return statusBadRequest, err
		}
		return statusOK, nil
	}
	in, err := h.cfg.Store.Receive(addr, size)
	if err != nil {
		st := statusFailed
		if errors.Is(err, ErrBusy) {
			st = statusBusy
		}
		h.refuse(c.s, st, fmt.Sprintf("this node cannot store %s now", short(addr)))
		return noFinal, fmt.Errorf("store: start receiving: %w", err)
	}
	released := false
	defer func() {
		if !released {
			in.Close() // keep the partial for a resume
		}
	}()
	off := in.Offset()
	if off < 0 || off > size {
		released = true
		in.Discard()
		h.refuse(c.s, statusFailed, "the replica's partial copy is inconsistent")
		return noFinal, fmt.Errorf("store: partial of %d bytes does not fit a blob of %d bytes", off, size)
	}
	if err := c.write(encodeHeader(okHeader(off))); err != nil {
		c.s.Reset()
		return noFinal, err
	}
	n, err := copyN(in, c, size-off, make([]byte, min(bufferSize, max(size-off, 1))))
	if err != nil {
		var se *sideError
		if errors.As(err, &se) && se.write {
			return statusFailed, fmt.Errorf("store after %d of %d bytes: %w", off+n, size, se.err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return statusBadRequest, fmt.Errorf("%w: sender stopped after %d of %d bytes", ErrProtocol, off+n, size)
		}
		c.s.Reset()
		return noFinal, fmt.Errorf("receive after %d of %d bytes: %w", off+n, size, err)
	}
	if err := c.expectEOF(); err != nil {
		return statusBadRequest, err
	}
	released = true
	if err := in.Commit(); err != nil {
		if errors.Is(err, ErrAddressMismatch) {
			return statusMismatch, err
		}
		return statusFailed, err
	}
	return statusOK, nil
}
