package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/libp2p/go-libp2p"
	libp2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/multiformats/go-multiaddr"
)

// Defaults for the zero values of Config fields.
const (
	DefaultMaxStreams  = 8
	DefaultIdleTimeout = 30 * time.Second
	DefaultMaxSize     = 16 << 30 // 16 GiB
)

// bufferSize is the size of the copy buffer of one transfer.
const bufferSize = 256 << 10

// Store is what the exchange needs from the local content-addressed blob
// store (package blob, through a small adapter that maps its errors to the
// ones named here). Its methods must be safe for concurrent use.
type Store interface {
	// Has reports whether the complete blob addr is stored and visible.
	Has(addr crypto.Hash) bool
	// Size returns the size of the stored blob addr.
	Size(addr crypto.Hash) (int64, error)
	// OpenBlob opens the stored blob addr for reading; the caller closes it.
	// Size and OpenBlob return an error wrapping fs.ErrNotExist when the
	// blob is not held (it may have been removed since Has).
	OpenBlob(addr crypto.Hash) (io.ReadSeekCloser, error)
	// Receive starts, or resumes, storing the blob addr of size bytes
	// arriving from a peer. Only one transfer per address runs at a time:
	// while one is open, Receive returns an error wrapping ErrBusy.
	Receive(addr crypto.Hash, size int64) (Incoming, error)
}

// Incoming is a blob being received: bytes are appended with Write. It is
// not visible in the store until Commit succeeds. The exchange calls
// exactly one of Commit, Close or Discard, once.
type Incoming interface {
	// Offset returns how many bytes are already held from an earlier,
	// interrupted transfer; the transfer resumes there.
	Offset() int64
	// Write appends p; it fails rather than grow past the size.
	io.Writer
	// Commit checks that all size bytes are held and that their SM3 equals
	// the address, and makes the blob visible. On a digest mismatch it
	// deletes the partial and returns an error wrapping ErrAddressMismatch.
	Commit() error
	// Close stops without committing and keeps the partial for a resume.
	Close() error
	// Discard stops and deletes the partial.
	Discard() error
}

// Config configures a Host. Identity, Members, Authorize and Store are
// required; zero values of the other fields take the defaults documented.
type Config struct {
	// Identity is the libp2p key of this node: Identity(member key).
	Identity libp2pcrypto.PrivKey
	// ListenAddrs are TCP multiaddrs to listen on, such as
	// /ip4/0.0.0.0/tcp/26660. Empty: dial out only.
	ListenAddrs []string
	// Members looks a peer up in the committed roster and returns the
	// member it belongs to. The host refuses connections with peers for
	// which ok is false, in both directions.
	Members func(p peer.ID) (member string, ok bool)
	// Authorize decides, on committed chain state, whether member may fetch
	// blob addr (it owns the record or holds a grant). A non-nil error
	// refuses; its text is sent to the requester, so it must not leak
	// anything the member may not know.
	Authorize func(member string, addr crypto.Hash) error
	// AcceptPush decides whether this node stores blob addr of size bytes
	// pushed by member as a replica. A non-nil error refuses, and its text
	// is sent to the sender. Nil refuses every push.
	AcceptPush func(member string, addr crypto.Hash, size int64) error
	// Store holds the blobs this node serves and receives into.
	Store Store
	// MaxStreams bounds the transfers served at once (fetch and push
	// together); requests beyond it are answered busy. Default 8.
	MaxStreams int
	// IdleTimeout bounds every single read or write on a stream, so a
	// stalled peer is dropped. Default 30s.
	IdleTimeout time.Duration
	// MaxSize bounds the size of a blob fetched or accepted. Default 16 GiB.
	MaxSize int64
	// Logger receives transfer and refusal logs. Default: discard.
	Logger *slog.Logger
}

// Host is an alliance member's libp2p endpoint for blob exchange. It serves
// fetches and pushes from roster peers and makes them. Close it when done.
type Host struct {
	cfg  Config
	host host.Host
	log  *slog.Logger
	sem  chan struct{}

	mu       sync.Mutex
	closed   bool
	handlers sync.WaitGroup
}

// New starts a host listening on cfg.ListenAddrs with the fetch and push
// protocols registered.
func New(cfg Config) (*Host, error) {
	switch {
	case cfg.Identity == nil:
		return nil, errors.New("exchange: Config.Identity is nil: derive it with Identity(member key)")
	case cfg.Members == nil:
		return nil, errors.New("exchange: Config.Members is nil: pass the roster lookup")
	case cfg.Authorize == nil:
		return nil, errors.New("exchange: Config.Authorize is nil: pass the grant check")
	case cfg.Store == nil:
		return nil, errors.New("exchange: Config.Store is nil")
	case cfg.MaxStreams < 0:
		return nil, fmt.Errorf("exchange: Config.MaxStreams is %d: use 0 for the default or a positive number", cfg.MaxStreams)
	case cfg.IdleTimeout < 0:
		return nil, fmt.Errorf("exchange: Config.IdleTimeout is %v: use 0 for the default or a positive duration", cfg.IdleTimeout)
	case cfg.MaxSize < 0:
		return nil, fmt.Errorf("exchange: Config.MaxSize is %d: use 0 for the default or a positive size", cfg.MaxSize)
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.AcceptPush == nil {
		cfg.AcceptPush = func(string, crypto.Hash, int64) error {
			return errors.New("this node does not accept replicas")
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, log: log, sem: make(chan struct{}, cfg.MaxStreams)}
	listen := libp2p.NoListenAddrs
	if len(cfg.ListenAddrs) > 0 {
		listen = libp2p.ListenAddrStrings(cfg.ListenAddrs...)
	}
	lh, err := libp2p.New(
		libp2p.Identity(cfg.Identity),
		listen,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.ConnectionGater(&gater{members: cfg.Members, log: log}),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(false),
		// Members dial configured addresses: no AutoNAT probing.
		libp2p.ForceReachabilityPublic(),
	)
	if err != nil {
		return nil, fmt.Errorf("exchange: start libp2p host on %v: %w", cfg.ListenAddrs, err)
	}
	h.host = lh
	lh.SetStreamHandler(FetchProtocol, h.handle(h.serveFetch))
	lh.SetStreamHandler(PushProtocol, h.handle(h.servePush))
	return h, nil
}

// ID returns the peer ID of the host.
func (h *Host) ID() peer.ID { return h.host.ID() }

// Addrs returns the host's listen addresses with its peer ID appended
// (/ip4/…/tcp/…/p2p/<id>), ready to put in another host's configuration.
func (h *Host) Addrs() []multiaddr.Multiaddr {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.host.ID(), Addrs: h.host.Addrs()})
	if err != nil { // only for an empty peer ID, which a started host never has
		panic(fmt.Sprintf("exchange: p2p addresses of %s: %v", h.host.ID(), err))
	}
	return addrs
}

// Connect connects to p at the given addresses, which are remembered for
// later Fetch and Push calls. It fails with ErrNotMember if p is not on the
// roster.
func (h *Host) Connect(ctx context.Context, p peer.AddrInfo) error {
	if _, ok := h.cfg.Members(p.ID); !ok {
		return fmt.Errorf("connect to %s: %w", p.ID, ErrNotMember)
	}
	if err := h.host.Connect(ctx, p); err != nil {
		return fmt.Errorf("connect to %s: %w", p.ID, err)
	}
	return nil
}

// Prune closes the connections with every peer that Config.Members no
// longer admits (the roster changed), and returns those peers in the
// order of their ids. Their later dials, and this host's to them, are
// refused by the connection gater; transfers in flight with them fail.
func (h *Host) Prune() []peer.ID {
	var out []peer.ID
	peers := h.host.Network().Peers()
	slices.Sort(peers)
	for _, p := range peers {
		if _, ok := h.cfg.Members(p); ok {
			continue
		}
		if err := h.host.Network().ClosePeer(p); err != nil {
			h.log.Warn("blob exchange: close the connections with a peer the roster no longer admits", "peer", p, "err", err)
		}
		out = append(out, p)
	}
	return out
}

// Close stops the host: it closes every connection and waits for the
// transfers it is serving to end.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	err := h.host.Close()
	h.handlers.Wait()
	if err != nil {
		return fmt.Errorf("exchange: close host: %w", err)
	}
	return nil
}

// handle wraps a stream server: it tracks the stream for Close and bounds
// concurrent transfers with the semaphore, answering busy beyond it.
func (h *Host) handle(serve func(s network.Stream, member string)) network.StreamHandler {
	return func(s network.Stream) {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			s.Reset()
			return
		}
		h.handlers.Add(1)
		h.mu.Unlock()
		defer h.handlers.Done()

		p := s.Conn().RemotePeer()
		member, ok := h.cfg.Members(p)
		if !ok { // the roster changed since the connection was gated
			h.log.Warn("blob exchange: refused stream from non-member", "peer", p, "protocol", s.Protocol())
			s.Reset()
			return
		}
		select {
		case h.sem <- struct{}{}:
			defer func() { <-h.sem }()
		default:
			h.log.Info("blob exchange: busy", "peer", p, "member", member, "protocol", s.Protocol(), "max_streams", h.cfg.MaxStreams)
			c := h.stream(s)
			if err := c.write(encodeHeader(errHeader(statusBusy, ""))); err != nil {
				s.Reset()
				return
			}
			s.Close()
			return
		}
		serve(s, member)
	}
}

// short returns the first 8 bytes of addr in hex, for messages.
func short(addr crypto.Hash) string { return crypto.KeyID(addr).Short() }
