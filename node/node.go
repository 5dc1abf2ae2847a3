// Package node wires an evidenced node: config, logging, the Badger app
// store, the ABCI app, an embedded CometBFT node (in this process; no
// separate cometbft binary) and the HTTP API, in one constructor, with a
// clean Stop.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/proxy"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"

	"github.com/evidenced/evidenced/abci"
	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/store"
)

// StoreDir is the Badger directory of the app state under HOME.
const StoreDir = "data/evidenced"

// BlobDir is the directory of the encrypted originals under HOME.
const BlobDir = "data/blobs"

// Node is a running (or ready to run) evidenced node.
type Node struct {
	home    string
	cfg     *config.Config
	cmtCfg  *cmtcfg.Config
	log     *slog.Logger
	genesis *cmttypes.GenesisDoc
	db      *store.DB
	blobs   *blob.Store // encrypted originals, HOME/data/blobs
	// The exchange of originals with the other members (nil when
	// originals.listen is empty), and its background work.
	memberKey      *crypto.PrivateKey
	p2p            *exchange.Host
	roster         *roster
	replicate      chan crypto.Hash
	pendingEntries entryQueue
	bg             sync.WaitGroup
	stopping       chan struct{}
	metrics        *metrics
	changed        broadcaster // closed at each commit, for GET /v1/events
	hooks          hooks       // running webhook loops
	hookMu         sync.Mutex  // serialises webhook subscription changes
	app            *abci.App
	cmt            *cmtnode.Node
	rpc            *rpclocal.Local
	waiters        *waiters
	// checking admits one API bundle check at a time: signature checks of
	// submissions beyond what the cores verify would starve consensus.
	checking chan struct{}
	http     *http.Server
	ln       net.Listener
	started  bool
}

// LoadCometConfig reads HOME/config/config.toml (CometBFT's standard file).
func LoadCometConfig(home string) (*cmtcfg.Config, error) {
	path := filepath.Join(home, "config", "config.toml")
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read CometBFT config %s: %w", path, err)
	}
	c := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(c); err != nil {
		return nil, fmt.Errorf("decode CometBFT config %s: %w", path, err)
	}
	c.SetRoot(home)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("CometBFT config %s: %w", path, err)
	}
	return c, nil
}

// New builds a node from the home directory. Nothing runs until Start.
// It refuses a home whose genesis, config and store disagree on the chain,
// or whose store has another schema version.
func New(home string, logger *slog.Logger) (_ *Node, err error) {
	cfg, err := config.Load(home)
	if err != nil {
		return nil, err
	}
	cmtCfg, err := LoadCometConfig(home)
	if err != nil {
		return nil, err
	}
	// CometBFT's metrics are served at the API's GET /metrics, not on a
	// port of their own.
	cmtCfg.Instrumentation.Prometheus, cmtCfg.Instrumentation.PrometheusListenAddr = true, ""
	gen, err := cmttypes.GenesisDocFromFile(cmtCfg.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("load genesis %s: %w", cmtCfg.GenesisFile(), err)
	}
	if cfg.ChainID != "" && cfg.ChainID != gen.ChainID {
		return nil, fmt.Errorf("this home was made for chain %q but %s is for chain %q: restore the right genesis.json or make a new home", cfg.ChainID, cmtCfg.GenesisFile(), gen.ChainID)
	}
	log := logger.With("member", cfg.Member)
	n := &Node{home: home, cfg: cfg, cmtCfg: cmtCfg, log: log, genesis: gen, waiters: newWaiters(cfg.API.MaxWaiters),
		checking: make(chan struct{}, 1), stopping: make(chan struct{})}
	defer func() {
		if err != nil {
			n.closeStore()
		}
	}()
	n.db, err = store.Open(filepath.Join(home, StoreDir), store.Options{
		Logger: logger, SyncWrites: cfg.Ledger.SyncWrites, ChainID: gen.ChainID,
	})
	if err != nil {
		return nil, fmt.Errorf("open app store: %w", err)
	}
	if n.blobs, err = blob.Open(filepath.Join(home, BlobDir)); err != nil {
		return nil, fmt.Errorf("open the originals store: %w", err)
	}
	n.metrics = newMetrics(n)
	n.app = abci.New(n.db, abci.Options{
		OnVerify:        func(d time.Duration) { n.metrics.verify.Observe(d.Seconds()) },
		Logger:          logger,
		VerifyCacheSize: cfg.Ledger.VerifyCacheSize,
		Workers:         cfg.Ledger.VerifyWorkers,
		OnCommit: func(b abci.CommittedBlock) {
			n.waiters.publish(b)
			n.noteCommitted(b)
			n.metrics.observe(b)
			n.changed.notify()
		},
	})
	memberKey, err := loadMemberKey(home, cfg)
	if err != nil {
		return nil, err
	}
	n.memberKey = memberKey
	n.app.SetMemberKey(cfg.Member, memberKey)
	pv, nodeKey, err := loadCometKeys(cfg, memberKey, cmtCfg.PrivValidatorKeyFile(), cmtCfg.PrivValidatorStateFile(), cmtCfg.NodeKeyFile())
	if err != nil {
		return nil, err
	}
	n.cmt, err = cmtnode.NewNode(cmtCfg, pv, nodeKey,
		proxy.NewConnSyncLocalClientCreator(n.app),
		func() (*cmttypes.GenesisDoc, error) { return gen, nil },
		cometDBProvider,
		cometMetrics(cmtCfg.Instrumentation, logger),
		NewCometLogger(logger),
	)
	if err != nil {
		return nil, fmt.Errorf("create CometBFT node: %w", err)
	}
	n.rpc = rpclocal.New(n.cmt)
	apiOpts := api.Options{
		Logger:       logger,
		MaxBodyBytes: cfg.API.MaxBodyBytes,
		DefaultWait:  time.Duration(cfg.API.CommitTimeout),
	}
	if cfg.API.TokensFile != "" {
		if apiOpts.TokenDigests, err = loadTokens(home, cfg, logger); err != nil {
			return nil, err
		}
	}
	if cfg.Keys.ClientKey != "" {
		if apiOpts.Signer, err = loadClientSigning(home, cfg); err != nil {
			return nil, err
		}
	}
	// GET /metrics (Prometheus: CometBFT's and the node's) and the block
	// explorer (/explorer/) beside the API; / leads to the explorer.
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.metrics.handler())
	mux.Handle("/explorer/", explorer.New(&backend{n: n}, explorer.Options{Logger: logger.With("component", "explorer")}))
	mux.Handle("GET /{$}", http.RedirectHandler("/explorer/", http.StatusFound))
	mux.Handle("/", api.New(&backend{n: n}, apiOpts))
	handler := http.Handler(mux)
	n.http = &http.Server{
		Addr:              cfg.API.Listen,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelWarn),
	}
	return n, nil
}

// Start starts CometBFT and the HTTP API.
func (n *Node) Start() error {
	ln, err := net.Listen("tcp", n.cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("listen for the HTTP API on %s: %w (is another node using the port?)", n.cfg.API.Listen, err)
	}
	n.ln = ln
	// Before consensus: commits queue replication from the first block.
	if err := n.startExchange(); err != nil {
		ln.Close()
		return err
	}
	if err := n.startWebhooks(); err != nil {
		ln.Close()
		return err
	}
	if err := n.cmt.Start(); err != nil {
		ln.Close()
		return fmt.Errorf("start CometBFT: %w", err)
	}
	n.started = true
	go func() {
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("HTTP API stopped", "err", err)
		}
	}()
	n.log.Info("node started", "chain_id", n.genesis.ChainID, "moniker", n.cfg.Moniker,
		"api", n.cfg.APIURL(), "rpc", n.cmtCfg.RPC.ListenAddress, "p2p", n.cmtCfg.P2P.ListenAddress)
	return nil
}

// Stop shuts the HTTP API down (waiting up to ctx for requests in flight),
// stops CometBFT and closes the store.
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
	errs = append(errs, n.closeStore())
	err := errors.Join(errs...)
	if err == nil {
		n.log.Info("node stopped")
	}
	return err
}

func (n *Node) closeStore() error {
	if n.db == nil {
		return nil
	}
	err := n.db.Close()
	n.db = nil
	if err != nil {
		return fmt.Errorf("close app store: %w", err)
	}
	return nil
}

// APIURL returns the base URL of the node's HTTP API.
func (n *Node) APIURL() string { return n.cfg.APIURL() }

// ChainID returns the chain id from genesis.
func (n *Node) ChainID() string { return n.genesis.ChainID }

// passphrase returns the key passphrase from keys.passphrase_file or
// EVIDENCED_PASSPHRASE (nil when neither is set).
func passphrase(home string, cfg *config.Config) ([]byte, error) {
	if f := config.Path(home, cfg.Keys.PassphraseFile); f != "" {
		p, err := keyfile.ReadPassphrase(f)
		if err != nil {
			return nil, fmt.Errorf("keys.passphrase_file: %w", err)
		}
		return p, nil
	}
	if p := os.Getenv("EVIDENCED_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	return nil, nil
}

// loadKey loads one of the node's SM2 key files.
func loadKey(home string, cfg *config.Config, what, file string) (*crypto.PrivateKey, error) {
	pass, err := passphrase(home, cfg)
	if err != nil {
		return nil, err
	}
	path := config.Path(home, file)
	k, err := keyfile.Load(path, pass)
	if err != nil {
		return nil, fmt.Errorf("load %s %s: %w (an encrypted key needs keys.passphrase_file in evidenced.toml or EVIDENCED_PASSPHRASE)", what, path, err)
	}
	return k, nil
}

// loadMemberKey loads the member's SM2 key.
func loadMemberKey(home string, cfg *config.Config) (*crypto.PrivateKey, error) {
	return loadKey(home, cfg, "member key", cfg.Keys.MemberKey)
}

// loadClientSigning loads the client key the node signs evidence with for
// business systems.
func loadClientSigning(home string, cfg *config.Config) (func(context.Context, *ledger.Body) ([]byte, error), error) {
	key, err := loadKey(home, cfg, "client key", cfg.Keys.ClientKey)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, b *ledger.Body) ([]byte, error) {
		return ledger.SignTx(key, rand.Reader, b)
	}, nil
}

// loadTokens reads api.tokens_file: one token per line, # comments; the
// file must be private to the node's user.
func loadTokens(home string, cfg *config.Config, logger *slog.Logger) ([]crypto.Hash, error) {
	path := config.Path(home, cfg.API.TokensFile)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("api.tokens_file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("api.tokens_file %s is readable by others (mode %v): chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api.tokens_file: %w", err)
	}
	digests, inClear, err := parseTokens(b)
	if err != nil {
		return nil, fmt.Errorf("api.tokens_file %s: %w", path, err)
	}
	if inClear > 0 {
		logger.Warn("api.tokens_file holds tokens in the clear; the node needs only their SM3 digests: replace each line with sm3: and the hex of `printf %s TOKEN | openssl dgst -sm3`",
			"file", path, "tokens", inClear)
	}
	return digests, nil
}

// TokenDigestPrefix begins a line of an API tokens file that holds a
// token's SM3 digest (hex) instead of the token.
const TokenDigestPrefix = "sm3:"

// parseTokens reads an API tokens file: one token per line, either its SM3
// digest as "sm3:" and 64 hex digits, or (older files) the token itself,
// at least 16 characters; empty lines and # comments are skipped. inClear
// counts the tokens given in the clear.
func parseTokens(b []byte) (digests []crypto.Hash, inClear int, err error) {
	for i, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if hexDigest, ok := strings.CutPrefix(t, TokenDigestPrefix); ok {
			var d crypto.Hash
			if err := d.UnmarshalText([]byte(strings.ToLower(hexDigest))); err != nil {
				return nil, 0, fmt.Errorf("line %d: %q is not sm3: and 64 hex digits", i+1, t)
			}
			digests = append(digests, d)
			continue
		}
		if len(t) < 16 {
			return nil, 0, fmt.Errorf("line %d: a token is shorter than 16 characters; use long random tokens", i+1)
		}
		digests = append(digests, crypto.SM3([]byte(t)))
		inClear++
	}
	if len(digests) == 0 {
		return nil, 0, errors.New("it holds no token")
	}
	return digests, inClear, nil
}
