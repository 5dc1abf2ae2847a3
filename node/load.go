package node

import (
	"errors"
	"fmt"
	"github.com/evidenced/evidenced/certificate"
	"log/slog"
	"os"
	"path/filepath"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/snapshots"
	"github.com/evidenced/evidenced/store"
	"github.com/evidenced/evidenced/tsa"
)

// StoreDir is the Badger directory of the app state under HOME.
const StoreDir = "data/evidenced"

// BlobDir is the directory of the encrypted originals under HOME.
const BlobDir = "data/blobs"

// SnapshotDir is the directory of the state sync snapshots under HOME.
const SnapshotDir = "data/snapshots"

// Home is a node home loaded from disk by LoadHome: everything a node
// reads from its home at start, and its opened stores. Wire builds a node
// from it without touching the disk. Close releases the stores; a wired
// node's Stop does it.
type Home struct {
	// Dir is the home directory; the webhooks keep their cursors and API
	// subscriptions under it (WebhookDir).
	Dir string
	// Config is config/evidenced.toml.
	Config *config.Config
	// Comet is CometBFT's config/config.toml, with CometBFT's metrics
	// turned on for the API's GET /metrics and off on a port of their own.
	Comet *cmtcfg.Config
	// Genesis is config/genesis.json, for the chain Config names, and
	// AppState its app_state (parameters and roster), checked.
	Genesis  *cmttypes.GenesisDoc
	AppState *ledger.GenesisState
	// MemberKey is the member's SM2 key (keys.member_key).
	MemberKey *crypto.PrivateKey
	// Staged is the public key of a staged member key rotation
	// (keys/member.next.pem, `evidenced keys rotate`) that the roster in
	// force did not name at start; nil when none is staged.
	Staged *crypto.PublicKey
	// ClientKey is the key the node signs evidence with for business
	// systems (keys.client_key); nil when none is configured.
	ClientKey *crypto.PrivateKey
	// Validator and NodeKey are CometBFT's validator (with its last-sign
	// state) and node key, derived from the member key or read from
	// files as keys.comet_keys says.
	Validator *privval.FilePV
	NodeKey   *p2p.NodeKey
	// Tokens are the API's bearer tokens, by their SM3 digests, with their
	// scopes (api.tokens_file); nil when none is configured.
	Tokens []api.Token
	// WebhookSecrets are the secrets of the [[webhooks]] in Config, by name.
	WebhookSecrets map[string][]byte
	// DB is the app state (HOME/data/evidenced), nil after Close.
	DB *store.DB
	// Snapshots are the snapshots of DB's state the node takes and serves,
	// and restores one from when it joins by state sync
	// (HOME/data/snapshots).
	Snapshots *snapshots.Manager
	// Blobs is the store of encrypted originals (HOME/data/blobs).
	Blobs *blob.Store
	// CertificateFont is the CJK TrueType font of the evidence certificates
	// the API issues (api.certificate_font, or the first of
	// certificate.FontPaths); nil when none is installed: the node issues
	// no certificates.
	CertificateFont []byte
	// DevTSA is the development TSA the node serves
	// (timestamp.dev_tsa_dir); nil when none is configured.
	DevTSA *tsa.Authority
}

// LoadHome reads a node home: evidenced.toml, CometBFT's config.toml and
// genesis, the keys, the API tokens and the webhook secrets, and opens the
// app store and the originals store. It refuses a home whose genesis,
// config and store disagree on the chain, or whose store has another
// schema version. Close the home when it is not wired into a node.
func LoadHome(dir string, logger *slog.Logger) (_ *Home, err error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	cmtCfg, err := LoadCometConfig(dir)
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
	h := &Home{Dir: dir, Config: cfg, Comet: cmtCfg, Genesis: gen}
	if h.MemberKey, err = loadKey(dir, cfg, "member key", cfg.Keys.MemberKey); err != nil {
		return nil, err
	}
	if cfg.Keys.ClientKey != "" {
		if h.ClientKey, err = loadKey(dir, cfg, "client key", cfg.Keys.ClientKey); err != nil {
			return nil, err
		}
	}
	if h.Validator, h.NodeKey, err = loadCometKeys(cfg, h.MemberKey, cmtCfg.PrivValidatorKeyFile(), cmtCfg.PrivValidatorStateFile(), cmtCfg.NodeKeyFile()); err != nil {
		return nil, err
	}
	if h.AppState, err = checkClosed(cmtCfg, gen, h.NodeKey); err != nil {
		return nil, err
	}
	if cfg.API.TokensFile != "" {
		if h.Tokens, err = loadTokens(dir, cfg, logger); err != nil {
			return nil, err
		}
	}
	if h.WebhookSecrets, err = loadWebhookSecrets(dir, cfg); err != nil {
		return nil, err
	}
	if h.CertificateFont, err = certificate.LoadFont(config.Path(dir, cfg.API.CertificateFont)); err != nil {
		if cfg.API.CertificateFont != "" || !errors.Is(err, certificate.ErrNoFont) {
			return nil, fmt.Errorf("api.certificate_font: %w", err)
		}
		logger.Warn("the node issues no evidence certificates until a CJK font is installed (it is picked up without a restart)", "err", err)
	}
	if d := cfg.Timestamp.DevTSADir; d != "" {
		if h.DevTSA, err = tsa.LoadAuthority(config.Path(dir, d)); err != nil {
			return nil, fmt.Errorf("timestamp.dev_tsa_dir: %w (evidenced tsa --dir DIR makes a development TSA; or remove dev_tsa_dir and dev_tsa_listen from [timestamp])", err)
		}
	}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	h.DB, err = store.Open(filepath.Join(dir, StoreDir), store.Options{
		Logger: logger, SyncWrites: cfg.Ledger.SyncWrites, ChainID: gen.ChainID,
	})
	if err != nil {
		return nil, fmt.Errorf("open app store: %w", err)
	}
	ss := cfg.StateSync
	h.Snapshots, err = snapshots.New(snapshots.Config{Dir: filepath.Join(dir, SnapshotDir), ChainID: gen.ChainID,
		Interval: uint64(ss.SnapshotInterval), Keep: ss.SnapshotKeep, ChunkSize: ss.SnapshotChunkSize}, logger, h.DB)
	if err != nil {
		return nil, fmt.Errorf("open the snapshots: %w", err)
	}
	if h.Blobs, err = blob.Open(filepath.Join(dir, BlobDir)); err != nil {
		return nil, fmt.Errorf("open the originals store: %w", err)
	}
	if err := h.applyRotation(logger); err != nil {
		return nil, fmt.Errorf("member key rotation: %w", err)
	}
	return h, nil
}

// checkClosed checks that the node runs in a closed alliance: CometBFT
// filters its peers through the app (which admits only the roster's
// nodes), and the genesis roster names every member's node. It returns
// the genesis app_state.
func checkClosed(cc *cmtcfg.Config, gen *cmttypes.GenesisDoc, nodeKey *p2p.NodeKey) (*ledger.GenesisState, error) {
	if !cc.FilterPeers {
		return nil, fmt.Errorf("%s has filter_peers = false: CometBFT would admit peers outside the alliance roster, and any node key could sync every entry; set filter_peers = true", filepath.Join(cc.RootDir, "config", "config.toml"))
	}
	gs, err := ledger.ParseGenesisState(gen.AppState)
	if errors.Is(err, ledger.ErrNoNodeID) {
		return nil, fmt.Errorf("%s was made before the roster named each member's CometBFT node id, which this node needs to refuse peers outside the alliance: %w. Make the alliance's genesis again with every member's node_id (`evidenced testnet` does; this node's id is %s) and start the alliance from it", cc.GenesisFile(), err, nodeKey.ID())
	}
	if err != nil {
		return nil, fmt.Errorf("genesis %s: %w", cc.GenesisFile(), err)
	}
	return gs, nil
}

// Close stops the snapshot being written, if any, and closes the app
// store. Calling it again does nothing.
func (h *Home) Close() error {
	if h.Snapshots != nil {
		h.Snapshots.Close()
		h.Snapshots = nil
	}
	if h.DB == nil {
		return nil
	}
	err := h.DB.Close()
	h.DB = nil
	if err != nil {
		return fmt.Errorf("close app store: %w", err)
	}
	return nil
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

// passphrase returns the key passphrase from keys.passphrase_file (a
// private regular file, like the keys: keyfile.ReadPassphrase) or
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
	switch {
	case errors.Is(err, crypto.ErrPassphraseRequired) || errors.Is(err, crypto.ErrWrongPassphrase):
		return nil, fmt.Errorf("load %s %s: %w (an encrypted key needs keys.passphrase_file in evidenced.toml or EVIDENCED_PASSPHRASE)", what, path, err)
	case err != nil:
		return nil, fmt.Errorf("load %s %s: %w", what, path, err)
	}
	return k, nil
}

// loadWebhookSecrets reads the secret of each [[webhooks]] subscription
// (keyfile.ReadPassphrase: a private regular file, like the keys) and
// checks its filter.
func loadWebhookSecrets(home string, cfg *config.Config) (map[string][]byte, error) {
	secrets := make(map[string][]byte, len(cfg.Webhooks))
	for _, w := range cfg.Webhooks {
		secret, err := keyfile.ReadPassphrase(config.Path(home, w.SecretFile))
		if err != nil {
			return nil, fmt.Errorf("webhook %s: secret_file: %w", w.Name, err)
		}
		if len(secret) < 16 {
			return nil, fmt.Errorf("webhook %s: the secret in %s is shorter than 16 bytes; use a long random one", w.Name, w.SecretFile)
		}
		if _, err := api.NewEventFilter(w.Types, w.Chain, w.Kind); err != nil {
			return nil, fmt.Errorf("webhook %s in evidenced.toml: %w", w.Name, err)
		}
		secrets[w.Name] = secret
	}
	return secrets, nil
}

// maxTokensFile bounds an API tokens file (about 5,000 digest lines).
const maxTokensFile = 1 << 20

// loadTokens reads api.tokens_file (api.ParseTokens); the file must be
// private to the node's user and a regular file (keyfile.ReadSecret, like
// the key, passphrase and webhook secret files). It warns of each line in
// an older form.
func loadTokens(home string, cfg *config.Config, logger *slog.Logger) ([]api.Token, error) {
	path := config.Path(home, cfg.API.TokensFile)
	b, err := keyfile.ReadSecret(path, maxTokensFile)
	if err != nil {
		return nil, fmt.Errorf("api.tokens_file: %w", err)
	}
	lines, err := api.ParseTokens(b)
	if err != nil {
		return nil, fmt.Errorf("api.tokens_file %s: %w", path, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("api.tokens_file %s holds no token: add one with `evidenced tokens add --home %s --scopes submit`, or unset api.tokens_file", path, home)
	}
	tokens := make([]api.Token, len(lines))
	for i, l := range lines {
		tokens[i] = l.Token
		if !l.InClear && !l.Unscoped {
			continue
		}
		var msg string
		switch {
		case l.InClear && l.Unscoped:
			msg = "api.tokens_file holds a token in the clear and without scopes, so it keeps full access (admin)"
		case l.InClear:
			msg = "api.tokens_file holds a token in the clear; the node needs only its SM3 digest"
		default:
			msg = "api.tokens_file gives a token without scopes, so it keeps full access (admin)"
		}
		logger.Warn(msg+": replace the line with the one in write (narrowing its scopes to what its holder needs), or run `evidenced tokens migrate --home "+home+"` to rewrite every such line",
			"file", path, "line", l.Line, "token", l.ID(), "write", api.FormatTokenLine(l.Token, l.Comment))
	}
	return tokens, nil
}
