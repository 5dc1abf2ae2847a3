package originalstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
)

// Network connects the in-memory transports of one test. It is safe for
// concurrent use.
type Network struct {
	mu    sync.Mutex
	hosts map[peer.ID]*Transport
}

// NewNetwork returns an empty network.
func NewNetwork() *Network { return &Network{hosts: map[peer.ID]*Transport{}} }

// New starts the transport of cfg.Identity's peer on the network, as
// exchange.New starts a libp2p host: it serves the other transports'
// fetches and pushes with cfg.Authorize, cfg.AcceptPush (nil refuses every
// push) and cfg.Store, refuses peers cfg.Members does not know, and bounds
// blobs by cfg.MaxSize (0: no bound). ListenAddrs, MaxStreams, IdleTimeout
// and Logger are not used. A new transport of a peer replaces the one
// before (a restarted node).
func (n *Network) New(cfg exchange.Config) (*Transport, error) {
	switch {
	case cfg.Identity == nil || cfg.Members == nil || cfg.Authorize == nil || cfg.Store == nil:
		return nil, errors.New("originalstest: Config.Identity, Members, Authorize and Store are required")
	case cfg.MaxSize < 0:
		return nil, fmt.Errorf("originalstest: Config.MaxSize is %d", cfg.MaxSize)
	}
	id, err := peer.IDFromPrivateKey(cfg.Identity)
	if err != nil {
		return nil, fmt.Errorf("originalstest: peer id of the identity: %w", err)
	}
	t := &Transport{net: n, id: id, cfg: cfg}
	n.mu.Lock()
	n.hosts[id] = t
	n.mu.Unlock()
	return t, nil
}

// up returns the running transport of p.
func (n *Network) up(p peer.ID) (*Transport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.hosts[p]
	if !ok {
		return nil, fmt.Errorf("%s is unreachable: no transport of that peer is up on the in-memory network", p)
	}
	return t, nil
}

// Transport is one member node's end of a Network. It implements
// originals.Transport; its methods are safe for concurrent use.
type Transport struct {
	net *Network
	id  peer.ID
	cfg exchange.Config
}

// ID returns the transport's peer id.
func (t *Transport) ID() peer.ID { return t.id }

// Close takes the transport off the network: its peers' requests fail as
// they would with a node that is down, and so do its own.
func (t *Transport) Close() error {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	if t.net.hosts[t.id] == t {
		delete(t.net.hosts, t.id)
	}
	return nil
}

// running fails when t was closed or replaced.
func (t *Transport) running() error {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	if t.net.hosts[t.id] != t {
		return errors.New("the in-memory transport is closed")
	}
	return nil
}

// peerOf checks that this node may talk to p and that p is up, and returns
// p's transport with the member this node is in p's roster.
func (t *Transport) peerOf(ctx context.Context, p peer.ID, what string) (*Transport, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	if _, ok := t.cfg.Members(p); !ok {
		return nil, "", fmt.Errorf("%s: %w", what, exchange.ErrNotMember)
	}
	if err := t.running(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	srv, err := t.net.up(p)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	me, ok := srv.cfg.Members(t.id)
	if !ok {
		return nil, "", fmt.Errorf("%s: %s does not know this peer: %w", what, p, exchange.ErrNotMember)
	}
	return srv, me, nil
}

// Connect implements originals.Transport: it fails when p is not on the
// roster or not up.
func (t *Transport) Connect(ctx context.Context, p peer.AddrInfo) error {
	_, _, err := t.peerOf(ctx, p.ID, "connect to "+p.ID.String())
	return err
}

// Fetch implements originals.Transport as exchange.Host.Fetch does.
func (t *Transport) Fetch(ctx context.Context, p peer.ID, addr crypto.Hash) error {
	what := fmt.Sprintf("fetch %s from %s", short(addr), p)
	if _, ok := t.cfg.Members(p); !ok {
		return fmt.Errorf("%s: %w", what, exchange.ErrNotMember)
	}
	if t.cfg.Store.Has(addr) {
		return nil
	}
	srv, me, err := t.peerOf(ctx, p, what)
	if err != nil {
		return err
	}
	if err := srv.cfg.Authorize(me, addr); err != nil {
		return fmt.Errorf("%s: %w: member %q may not fetch it: %v", what, exchange.ErrForbidden, me, err)
	}
	if !srv.cfg.Store.Has(addr) {
		return fmt.Errorf("%s: %w by %s", what, exchange.ErrNotFound, p)
	}
	return copyBlob(ctx, srv.cfg.Store, t.cfg.Store, addr, t.cfg.MaxSize, what)
}

// Push implements originals.Transport as exchange.Host.Push does.
func (t *Transport) Push(ctx context.Context, p peer.ID, addr crypto.Hash) error {
	what := fmt.Sprintf("push %s to %s", short(addr), p)
	if _, ok := t.cfg.Members(p); !ok {
		return fmt.Errorf("%s: %w", what, exchange.ErrNotMember)
	}
	size, err := t.cfg.Store.Size(addr)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w here: %v", what, exchange.ErrNotFound, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	srv, me, err := t.peerOf(ctx, p, what)
	if err != nil {
		return err
	}
	if srv.cfg.AcceptPush == nil {
		return fmt.Errorf("%s: %w: this node does not accept replicas", what, exchange.ErrForbidden)
	}
	if err := srv.cfg.AcceptPush(me, addr, size); err != nil {
		return fmt.Errorf("%s: %w: %v", what, exchange.ErrForbidden, err)
	}
	if srv.cfg.Store.Has(addr) {
		return nil
	}
	return copyBlob(ctx, t.cfg.Store, srv.cfg.Store, addr, srv.cfg.MaxSize, what)
}

// copyBlob copies blob addr from one store into another, resuming a
// partial; the receiving store checks the SM3 address at Commit.
func copyBlob(ctx context.Context, from, to exchange.Store, addr crypto.Hash, maxSize int64, what string) error {
	size, err := from.Size(addr)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w: %v", what, exchange.ErrNotFound, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %v", what, exchange.ErrPeerFailed, err)
	}
	if maxSize > 0 && size > maxSize {
		return fmt.Errorf("%s: %w: %d bytes, limit %d", what, exchange.ErrTooLarge, size, maxSize)
	}
	src, err := from.OpenBlob(addr)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", what, exchange.ErrPeerFailed, err)
	}
	defer src.Close()
	in, err := to.Receive(addr, size)
	if err != nil {
		return fmt.Errorf("%s: store: %w", what, err)
	}
	off := in.Offset()
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		in.Close()
		return fmt.Errorf("%s: %w: seek to %d: %v", what, exchange.ErrPeerFailed, off, err)
	}
	if _, err := io.CopyN(in, ctxReader{ctx, src}, size-off); err != nil {
		in.Close() // keep the partial for a resume
		return fmt.Errorf("%s: after %d bytes: %w", what, off, err)
	}
	if err := in.Commit(); err != nil {
		return fmt.Errorf("%s: commit %d bytes: %w", what, size, err)
	}
	return nil
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

// Read reads from c.r unless ctx ended.
func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// short returns the first 8 bytes of addr in hex, for messages.
func short(addr crypto.Hash) string { return crypto.KeyID(addr).Short() }
