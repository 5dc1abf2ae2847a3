package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// conn is a stream whose every Read and Write gets a fresh deadline of idle,
// so a transfer may take long but a stalled peer is dropped.
type conn struct {
	s    network.Stream
	idle time.Duration
}

func (h *Host) stream(s network.Stream) *conn { return &conn{s: s, idle: h.cfg.IdleTimeout} }

// Read reads from the stream with a deadline.
func (c *conn) Read(p []byte) (int, error) {
	if err := c.s.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.s.Read(p)
}

// Write writes to the stream with a deadline.
func (c *conn) Write(p []byte) (int, error) {
	if err := c.s.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.s.Write(p)
}

// write writes all of b.
func (c *conn) write(b []byte) error {
	_, err := c.Write(b)
	return err
}

// readFull reads exactly len(b) bytes.
func (c *conn) readFull(b []byte) error {
	_, err := io.ReadFull(c, b)
	return err
}

// expectEOF reads once more and fails unless the peer has closed its write
// side: the frames are fixed, so any further byte breaks the protocol.
func (c *conn) expectEOF() error {
	var b [1]byte
	n, err := io.ReadFull(c, b[:])
	switch {
	case n > 0:
		return fmt.Errorf("%w: peer sent more bytes than the protocol allows", ErrProtocol)
	case errors.Is(err, io.EOF):
		return nil
	default:
		return err
	}
}

// copyN copies exactly n bytes from src to dst through buf, never holding
// more than len(buf) bytes. It returns the bytes written to dst and
// io.ErrUnexpectedEOF if src ends early. Errors say which side failed.
func copyN(dst io.Writer, src io.Reader, n int64, buf []byte) (int64, error) {
	var done int64
	for done < n {
		chunk := buf
		if rest := n - done; rest < int64(len(chunk)) {
			chunk = chunk[:rest]
		}
		r, rerr := src.Read(chunk)
		if r > 0 {
			w, werr := dst.Write(chunk[:r])
			done += int64(w)
			if werr != nil {
				return done, &sideError{write: true, err: werr}
			}
			if w != r {
				return done, &sideError{write: true, err: io.ErrShortWrite}
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) && done < n {
				rerr = io.ErrUnexpectedEOF
			}
			if done == n && errors.Is(rerr, io.EOF) {
				return done, nil
			}
			return done, &sideError{err: rerr}
		}
	}
	return done, nil
}

// sideError records whether a copy failed reading or writing.
type sideError struct {
	write bool
	err   error
}

func (e *sideError) Error() string {
	if e.write {
		return "write: " + e.err.Error()
	}
	return "read: " + e.err.Error()
}

func (e *sideError) Unwrap() error { return e.err }

// transfer opens a stream of protocol to p and runs one side of a transfer
// of addr on it: the stream is reset when run fails or ctx ends, closed
// when run succeeds, and the success logged as done. what names the
// transfer in errors ("fetch ADDR from PEER").
func (h *Host) transfer(ctx context.Context, p peer.ID, proto protocol.ID, addr crypto.Hash, what, done string,
	run func(network.Stream) (off, n int64, err error)) error {
	s, err := h.host.NewStream(ctx, p, proto)
	if err != nil {
		return fmt.Errorf("%s: open stream: %w", what, err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	off, n, err := run(s)
	if err != nil {
		s.Reset()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	s.Close()
	h.log.Info("blob exchange: "+done, "peer", p, "addr", addr.String(), "offset", off, "bytes", n)
	return nil
}
