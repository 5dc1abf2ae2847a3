// Package node wires an evidenced node. LoadHome reads a node home from
// disk (config, genesis, keys, API tokens) and opens its stores; Wire
// builds the node from that, without touching the disk: the ABCI app over
// the app store, an embedded CometBFT node (in this process; no separate
// cometbft binary), the originals service (package originals) with its
// libp2p exchange, the HTTP API, the block explorer, metrics and webhooks.
// Start runs it and Stop shuts it down cleanly.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/proxy"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/evidenced/evidenced/abci"
	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/internal/httplimit"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/originals"
	"github.com/evidenced/evidenced/stamper"
)

// Node is a running (or ready to run) evidenced node.
type Node struct {
	home      *Home      // what LoadHome read and opened; Stop closes it
	fontMu    sync.Mutex // guards home.CertificateFont after start (certificateFont)
	log       *slog.Logger
	app       *abci.App
	cmt       *cmtnode.Node
	rpc       *rpclocal.Local
	originals *originals.Service
	p2p       *exchange.Host // the exchange of originals; nil without originals.listen
	metrics   *metrics
	waiters   *waiters
	changed   broadcaster      // closed at each commit, for GET /v1/events
	hooks     hooks            // running webhook loops
	peers     *peerGuard       // disconnects the peers a roster change no longer admits
	stamper   *stamper.Stamper // RFC 3161 tokens over checkpoints; nil unless timestamp.stamp
	devTSA    *http.Server     // the development TSA; nil unless timestamp.dev_tsa_dir
	devTSALn  net.Listener
	// checking admits one API bundle check at a time: signature checks of
	// submissions beyond what the cores verify would starve consensus.
	checking chan struct{}
	http     *http.Server
	ln       net.Listener
	// conns is the HTTP server's listener, with its caps on connections
	// (set by Start; read by the metrics); streams caps the event streams
	// of the API and the explorer.
	conns    atomic.Pointer[httplimit.Listener]
	streams  *api.Streams
	started  bool
	bg       sync.WaitGroup // webhook loops
	stopping chan struct{}  // closed by Stop
}

// New loads the home in dir (LoadHome) and wires a node from it (Wire).
// Nothing runs until Start.
func New(dir string, logger *slog.Logger) (*Node, error) {
	h, err := LoadHome(dir, logger)
	if err != nil {
		return nil, err
	}
	n, err := Wire(h, logger)
	if err != nil {
		return nil, errors.Join(err, h.Close())
	}
	return n, nil
}

// Wire builds a node from a loaded home without touching the disk itself
// (CometBFT opens its own block and state databases under the home). The
// node owns h from then on. Nothing runs until Start, except the libp2p
// host of the exchange of originals, which listens on originals.listen
// from here on.
func Wire(h *Home, logger *slog.Logger) (_ *Node, err error) {
	cfg := h.Config
	log := logger.With("member", cfg.Member)
	n := &Node{home: h, log: log, waiters: newWaiters(cfg.API.MaxWaiters), checking: make(chan struct{}, 1), stopping: make(chan struct{})}
	defer func() {
		if err != nil && n.p2p != nil {
			n.p2p.Close()
		}
	}()
	if err := n.hooks.setPolicy(cfg.WebhookPolicy); err != nil {
		return nil, err
	}
	n.metrics = newMetrics(n)
	n.peers = newPeerGuard(log, func() (ad *abci.Admitted, err error) {
		err = n.withView(func(v *ledger.View, h int64) error {
			ad, err = abci.ReadAdmitted(v, h)
			return err
		})
		return ad, err
	})
	n.streams = api.NewStreams(cfg.API.MaxEventStreams, cfg.API.MaxAnonymousEventStreams, n.metrics.refuse)
	n.app = abci.New(h.DB, abci.Options{
		OnVerify:        func(d time.Duration) { n.metrics.verify.Observe(d.Seconds()) },
		Logger:          logger,
		VerifyCacheSize: cfg.Ledger.VerifyCacheSize,
		Workers:         cfg.Ledger.VerifyWorkers,
		Snapshots:       h.Snapshots,
		Genesis:         h.AppState,
		Bootstrap:       persistentPeerIDs(h.Comet.P2P.PersistentPeers, logger),
		OnCommit: func(b abci.CommittedBlock) {
			n.waiters.publish(b)
			n.originals.NoteCommitted(b.Txs)
			n.metrics.observe(b)
			n.changed.notify()
			n.peers.committed()
			if n.stamper != nil {
				n.stamper.Committed()
			}
		},
	})
	n.app.SetMemberKey(cfg.Member, h.MemberKey)
	n.wireStamper()
	n.wireDevTSA()
	// Before CometBFT: its handshake may replay blocks, and OnCommit hands
	// them to the originals service.
	if err := n.wireOriginals(); err != nil {
		return nil, err
	}
	n.cmt, err = cmtnode.NewNode(h.Comet, h.Validator, h.NodeKey,
		proxy.NewConnSyncLocalClientCreator(n.app),
		func() (*cmttypes.GenesisDoc, error) { return h.Genesis, nil },
		cometDBProvider,
		cometMetrics(h.Comet.Instrumentation, logger),
		NewCometLogger(logger),
	)
	if err != nil {
		return nil, fmt.Errorf("create CometBFT node: %w", err)
	}
	n.rpc = rpclocal.New(n.cmt)

	// GET /metrics (Prometheus: CometBFT's and the node's) and the block
	// explorer (/explorer/) beside the API; / leads to the explorer.
	apiOpts := api.Options{
		Logger:       logger,
		MaxBodyBytes: cfg.API.MaxBodyBytes,
		DefaultWait:  time.Duration(cfg.API.CommitTimeout),
		Tokens:       h.Tokens,
		Streams:      n.streams,
	}
	if key := h.ClientKey; key != nil {
		apiOpts.Signer = func(_ context.Context, b *ledger.Body) ([]byte, error) { return ledger.SignTx(key, rand.Reader, b) }
	}
	apiOpts.Issuer = &api.Issuer{Member: cfg.Member, Key: h.MemberKey, Font: n.certificateFont, ExplorerURL: cfg.API.ExplorerURL()}
	apiH := api.New(&backend{n: n}, apiOpts)
	explorerH := explorer.New(&backend{n: n}, explorer.Options{Logger: logger.With("component", "explorer"), Streams: n.streams})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.metrics.handler())
	mux.Handle("/explorer/", explorerH)
	mux.Handle("GET /{$}", http.RedirectHandler("/explorer/", http.StatusFound))
	mux.Handle("/", apiH)
	// The bounds of api.* in evidenced.toml (ARCHITECTURE.md, "Load
	// limits"): the listener's caps on connections are set up in Start.
	// ReadTimeout and WriteTimeout stay unset: both are absolute, and would
	// cut event streams, uploads and downloads of originals; the handler
	// sets paced deadlines instead.
	n.http = &http.Server{
		Addr: cfg.API.Listen,
		Handler: httplimit.Handler(canonicalPaths(mux, explorerH, apiH), httplimit.Timeouts{
			Body: time.Duration(cfg.API.BodyTimeout), MinBodyRate: cfg.API.MinBodyRate,
			Write: time.Duration(cfg.API.WriteTimeout), OnRefuse: n.metrics.refuse,
		}),
		ReadHeaderTimeout: time.Duration(cfg.API.ReadHeaderTimeout),
		IdleTimeout:       time.Duration(cfg.API.IdleTimeout),
		MaxHeaderBytes:    cfg.API.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelWarn),
	}
	return n, nil
}

// canonicalPaths serves mux, except that a request whose path mux would
// clean and redirect (//, /./, /../: a 307 to another resource) goes to
// the part of the server its path starts in, which answers 404 in its own
// shape: explorer for /explorer/..., the API's JSON error for the rest.
func canonicalPaths(mux, explorerH, apiH http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.EscapedPath(); {
		case api.CleanPath(p) == p:
			mux.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/explorer/"):
			explorerH.ServeHTTP(w, r)
		default:
			apiH.ServeHTTP(w, r)
		}
	})
}

// wireOriginals builds the originals service and, with originals.listen,
// the libp2p host of the exchange it fetches and pushes through.
func (n *Node) wireOriginals() error {
	h, cfg := n.home, n.home.Config
	b := &backend{n: n}
	conf := originals.Config{ChainID: h.Genesis.ChainID, Member: cfg.Member, Replicas: cfg.Originals.Replicas,
		ScrubInterval: time.Duration(cfg.Originals.ScrubInterval), MaxUploadBytes: cfg.Originals.MaxUploadBytes,
		AutoGrantRoles: cfg.Originals.AutoGrant(), AutoGrantExpiry: time.Duration(cfg.Originals.AutoGrantExpiry)}
	var roster *originals.Roster
	var trans originals.Transport
	if cfg.Originals.Listen != "" {
		var err error
		if roster, err = originals.NewRoster(h.AppState); err != nil {
			return err
		}
		// The roster in force, once anything is committed; the genesis
		// roster before (a node joining by state sync). The peer guard
		// keeps it current (peers.go).
		committed := false
		if ad, err := n.peers.read(); err == nil {
			if err := roster.Set(ad.Seats()); err != nil {
				return fmt.Errorf("the committed roster's libp2p peers: %w", err)
			}
			committed = true
		} else if !errors.Is(err, ledger.ErrNotInitialized) {
			return fmt.Errorf("read the committed roster for the exchange of originals: %w", err)
		}
		id, err := exchange.Identity(h.MemberKey)
		if err != nil {
			return err
		}
		pid, err := peer.IDFromPrivateKey(id)
		if err != nil {
			return err
		}
		if m, _ := roster.Member(pid); m != cfg.Member && committed {
			// Like a member key the roster does not hold for vote
			// extensions: the node still takes part in consensus, without
			// originals.
			n.log.Error("the exchange of originals is off: this node's libp2p peer id (derived from its member key) is not its member's peer in the roster in force; the member key or the genesis is not this member's (after a key rotation, restart once the new roster is in force)",
				"peer", pid.String(), "member", cfg.Member)
		} else {
			if m != cfg.Member {
				// Nothing committed yet: a node joining a running alliance,
				// which its roster in force may name.
				n.log.Info("the genesis roster does not name this node's libp2p peer as its member's: the other members admit it to the exchange of originals once the roster in their state does",
					"peer", pid.String(), "member", cfg.Member)
			}
			policy := originals.NewPolicy(conf, roster, b)
			n.p2p, err = exchange.New(exchange.Config{
				Identity:    id,
				ListenAddrs: []string{cfg.Originals.Listen},
				Members:     roster.Member,
				Authorize:   policy.Authorize,
				AcceptPush:  policy.AcceptPush,
				Store:       originals.ExchangeStore(h.Blobs),
				MaxSize:     cfg.Originals.MaxUploadBytes + 1<<20,
				Logger:      n.log.With("component", "exchange"),
			})
			if err != nil {
				return fmt.Errorf("start the exchange of originals on %s: %w", cfg.Originals.Listen, err)
			}
			trans = n.p2p
			n.peers.roster, n.peers.prune = roster, n.p2p.Prune
		}
	}
	submit := func(ctx context.Context, tx []byte) (*api.Committed, error) { return b.Submit(ctx, tx, true) }
	var err error
	n.originals, err = originals.New(conf, n.log, h.Blobs, trans, roster, b, submit, h.MemberKey)
	return err
}

// Start starts the originals service, the webhooks, the development TSA
// (timestamp.dev_tsa_dir), CometBFT, the stamper (timestamp.stamp) and the
// HTTP API.
func (n *Node) Start() error {
	cfg := n.home.Config
	inner, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("listen for the HTTP API on %s: %w (is another node using the port?)", cfg.API.Listen, err)
	}
	ln := httplimit.NewListener(inner, httplimit.ListenerConfig{
		MaxConns: cfg.API.MaxConnections, MaxClientConns: cfg.API.MaxClientConnections,
		RetryAfter: api.DefaultRetryAfter, OnRefuse: n.metrics.refuse,
	})
	n.ln = ln
	n.conns.Store(ln)
	// Before consensus: commits queue replication from the first block.
	if err := n.originals.Start(); err != nil {
		ln.Close()
		return err
	}
	if err := n.startWebhooks(); err != nil {
		ln.Close()
		return err
	}
	if n.devTSALn, err = n.startDevTSA(); err != nil {
		// Not fatal: a development TSA only stamps; the chain runs without.
		n.log.Warn("no development TSA: "+err.Error()+"; the records commit, without time-stamp tokens from it", "err", err)
	}
	n.checkAdmitted()
	if err := n.cmt.Start(); err != nil {
		ln.Close()
		if ss := n.home.Comet.StateSync; ss.Enable && strings.Contains(err.Error(), "state sync") {
			return fmt.Errorf("start CometBFT: %w (state sync needs the members' CometBFT RPC servers in [statesync] rpc_servers of config.toml (%s) to answer; make them reachable, or set enable = false under [statesync] there to replay every block from genesis instead)",
				err, strings.Join(ss.RPCServers, ", "))
		}
		return fmt.Errorf("start CometBFT: %w", err)
	}
	n.started = true
	if n.stamper != nil {
		if err := n.stamper.Start(); err != nil {
			n.log.Warn("no time-stamp tokens: "+err.Error(), "err", err)
		}
	}
	n.peers.comet = switchPeers{n.cmt.Switch()}
	n.bg.Go(func() { n.peers.run(n.stopping) })
	n.peers.committed() // a first pass, in case nothing commits for a while
	staged := n.home.Staged
	n.bg.Go(func() { n.watchRotation(staged) })
	go func() {
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("HTTP API stopped", "err", err)
		}
	}()
	n.log.Info("node started", "chain_id", n.home.Genesis.ChainID, "moniker", cfg.Moniker,
		"api", cfg.APIURL(), "rpc", n.home.Comet.RPC.ListenAddress, "p2p", n.home.Comet.P2P.ListenAddress)
	return nil
}

// checkAdmitted logs an error when the committed roster does not name
// this node's CometBFT node id as its member's node: the other members'
// nodes refuse it as a peer (abci/filter.go), so it can neither sync nor
// vote. It still runs: a later roster may name it.
func (n *Node) checkAdmitted() {
	cfg, raw := n.home.Config, string(n.home.NodeKey.ID())
	id, err := ledger.ParseNodeID(raw)
	var m *ledger.MemberInfo
	if err == nil {
		err = n.withView(func(v *ledger.View, _ int64) (err error) {
			m, err = v.MemberByNode(id)
			return err
		})
	}
	if errors.Is(err, ledger.ErrNotInitialized) {
		// Nothing committed: a node joining by state sync. The members
		// admit it by their committed roster, which is at least the
		// genesis roster unless a governance change removed it.
		for _, gm := range n.home.AppState.Members {
			if gid, perr := ledger.ParseNodeID(gm.NodeID); perr == nil && gid == id {
				m, err = &ledger.MemberInfo{Name: gm.Name}, nil
				break
			}
		}
		if err != nil {
			n.log.Info("this node's CometBFT node id is not in the genesis roster: the members admit it only once the roster in their state names it (a governance change); until then it cannot sync",
				"node_id", raw)
			return
		}
	}
	switch {
	case err == nil && m.Name == cfg.Member:
	case err == nil:
		n.log.Error("the roster names this node's CometBFT node id as the node of another member: the other members admit it as that member's node; check keys.member_key and the genesis", "node_id", raw, "roster_member", m.Name)
	default:
		n.log.Error("this node's CometBFT node id is not its member's node in the roster: the other members' nodes will refuse it as a peer, so it can neither sync nor vote; put this id in the member's app_state members[].node_id, or check keys.member_key and keys.comet_keys",
			"node_id", raw, "err", err)
	}
}

// Stop shuts the HTTP API down (waiting up to ctx for requests in flight),
// stops the stamper, the development TSA, the originals service, the exchange, the webhooks and CometBFT, and
// closes the store.
func (n *Node) Stop(ctx context.Context) error {
	var errs []error
	if n.ln != nil {
		if err := n.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop HTTP API: %w", err))
		}
	}
	select {
	case <-n.stopping:
	default:
		close(n.stopping)
	}
	if n.stamper != nil {
		n.stamper.Close()
	}
	if n.devTSALn != nil {
		if err := n.devTSA.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop the development TSA: %w", err))
		}
		n.devTSALn = nil
	}
	if err := n.originals.Close(); err != nil {
		errs = append(errs, fmt.Errorf("stop the originals service: %w", err))
	}
	if n.p2p != nil {
		if err := n.p2p.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop the exchange of originals: %w", err))
		}
	}
	n.bg.Wait()
	if n.started {
		if err := n.cmt.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop CometBFT: %w", err))
		}
		n.cmt.Wait()
		n.started = false
	}
	errs = append(errs, n.home.Close())
	err := errors.Join(errs...)
	if err == nil {
		n.log.Info("node stopped")
	}
	return err
}

// APIURL returns the base URL of the node's HTTP API.
func (n *Node) APIURL() string { return n.home.Config.APIURL() }

// ChainID returns the chain id from genesis.
func (n *Node) ChainID() string { return n.home.Genesis.ChainID }

// Originals returns the node's originals service: uploads, grants,
// fetches, replication and the scrub.
func (n *Node) Originals() *originals.Service { return n.originals }

// errStopping is returned by withView once the node's store is closed.
var errStopping = errors.New("the node is stopping")

// withView calls fn with a view of committed state and its height.
func (n *Node) withView(fn func(v *ledger.View, height int64) error) error {
	db := n.home.DB
	if db == nil {
		return errStopping
	}
	return db.Read(func(r ledger.Reader, height int64) error { return fn(ledger.NewView(r), height) })
}

// untilStop returns a context cancelled when the node stops (or cancel is
// called).
func (n *Node) untilStop() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-n.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
