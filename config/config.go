// Package config is the typed configuration of an evidenced node: the file
// HOME/config/evidenced.toml. CometBFT's own settings stay in its standard
// HOME/config/config.toml, which operators already know how to read.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/internal/egress"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/snapshots"
)

// FileName is the name of the evidenced config file under HOME/config.
const FileName = "evidenced.toml"

// Config is everything an evidenced node reads from evidenced.toml.
type Config struct {
	// Moniker is the node's human-readable name (also CometBFT's moniker).
	Moniker string `toml:"moniker"`
	// Member is this node's member name in the alliance roster.
	Member string `toml:"member"`
	// Role is the member's role (bank, notary, arbitration, court, regulator).
	Role string `toml:"role"`
	// ChainID, when set, is the chain this home belongs to: the node refuses
	// to start on a genesis or a store of another chain.
	ChainID string `toml:"chain_id"`

	API    API    `toml:"api"`
	Keys   Keys   `toml:"keys"`
	Log    Log    `toml:"log"`
	Ledger Ledger `toml:"ledger"`
	// Originals configures the encrypted originals this node keeps.
	Originals Originals `toml:"originals"`
	// StateSync configures the snapshots this node takes and serves to
	// nodes joining by CometBFT state sync ([statesync]). A joining node's
	// own state sync settings (rpc_servers, trust_height, trust_hash,
	// trust_period) are CometBFT's, in config.toml.
	StateSync StateSync `toml:"statesync"`
	// WebhookPolicy says which internal destinations webhooks may be
	// delivered to ([webhook_policy]).
	WebhookPolicy WebhookPolicy `toml:"webhook_policy"`
	// Webhooks are the business systems this node tells about committed
	// entries ([[webhooks]] tables).
	Webhooks []Webhook `toml:"webhooks"`
	// Timestamp configures the RFC 3161 time-stamp tokens this node
	// requests over trusted checkpoints when it is a designated stamper,
	// and the development TSA it may serve ([timestamp]).
	Timestamp Timestamp `toml:"timestamp"`
}

// Timestamp configures trusted time (可信时间戳): a designated stamper
// node asks the TSAs for RFC 3161 tokens over the latest trusted
// checkpoint and submits them in timestamp transactions (package stamper).
// The TSAs the ledger trusts are in the genesis (the roster's tsas), not
// here: these are only where to ask.
type Timestamp struct {
	// Stamp makes this node a stamper. Any member's node may be one; one
	// per alliance is enough, a second is a fallback (both ask for the same
	// checkpoints; the first token committed is kept, the other is refused
	// as already_stamped, which its stamper takes as done).
	Stamp bool `toml:"stamp"`
	// Interval is the least time between two tokens: the latest trusted
	// checkpoint is stamped at most this often, when records arrived since
	// the last stamped one.
	Interval Duration `toml:"interval"`
	// Timeout bounds each request to a TSA.
	Timeout Duration `toml:"timeout"`
	// TSAs are asked in order, the next when one fails ([[timestamp.tsa]]).
	TSAs []TimestampTSA `toml:"tsa"`
	// DevTSADir, when set, is the directory of a development TSA (made by
	// evidenced testnet or evidenced tsa) that this node serves over HTTP
	// on DevTSAListen, for development and tests only. Relative to HOME
	// unless absolute.
	DevTSADir string `toml:"dev_tsa_dir"`
	// DevTSAListen is the host:port the development TSA serves RFC 3161 on.
	DevTSAListen string `toml:"dev_tsa_listen"`
}

// TimestampTSA is one time-stamping authority a stamper asks.
type TimestampTSA struct {
	// Name names the TSA in logs and metrics: the name of its anchor in the
	// roster (1 to 64 letters, digits and . _ - :, not starting with
	// punctuation).
	Name string `toml:"name"`
	// URL is the TSA's RFC 3161 endpoint: an absolute http or https URL.
	URL string `toml:"url"`
	// Hash is the hash algorithm of the imprints asked for: sm3 or sha256
	// (one the roster allows for this TSA).
	Hash string `toml:"hash"`
}

// Webhook is one subscription: entries of the given types (and evidence
// chain) are POSTed to URL, in commit order, at least once, signed with
// HMAC-SM3 under the secret.
type Webhook struct {
	// Name identifies the subscription (and its delivery cursor): 1 to 64
	// lowercase letters, digits and . _ -, not starting with punctuation.
	Name string `toml:"name"`
	// URL receives the deliveries: an absolute http or https URL without
	// user name or password, to a destination WebhookPolicy allows.
	URL string `toml:"url"`
	// SecretFile holds the HMAC-SM3 key (first line), 0600.
	SecretFile string `toml:"secret_file"`
	// Types filters by event type: the entry types evidence, batch, attest,
	// grant, revoke, access and register, and checkpoint (a trusted
	// checkpoint co-signed by the validators; one per block, so only when
	// named). Empty: every entry type.
	Types []string `toml:"types"`
	// Chain filters by evidence chain; empty: all.
	Chain string `toml:"chain"`
	// Kind filters by evidence kind (loan-contract, …); empty: all.
	Kind string `toml:"kind"`
}

// WebhookPolicy decides where webhooks may be delivered. Deliveries go to
// public addresses; a destination on a loopback, link-local, private
// (RFC 1918, IPv6 unique local), shared (carrier-grade NAT), unspecified,
// multicast or reserved address is refused, when a subscription is made
// and again on every connection, unless Allow names it. Redirects are never
// followed and no proxy is used (package egress).
type WebhookPolicy struct {
	// Allow lists the destinations allowed beside public addresses: CIDR
	// prefixes ("10.2.0.0/16"), addresses ("127.0.0.1") and host names
	// ("hooks.bank.internal", matched exactly and trusted whatever they
	// resolve to).
	Allow []string `toml:"allow"`
}

// Policy returns the egress policy of Allow.
func (w WebhookPolicy) Policy() (*egress.Policy, error) {
	p, err := egress.Parse(w.Allow)
	if err != nil {
		return nil, fmt.Errorf("webhook_policy.allow: %w", err)
	}
	return p, nil
}

// WebhookAllowHint says how to allow a webhook destination the policy
// refuses; it ends the message of such a refusal.
const WebhookAllowHint = "webhooks go only to public addresses unless webhook_policy.allow in evidenced.toml names the address, its prefix or the host name"

// MaxWebhookNameLen bounds a webhook's name.
const MaxWebhookNameLen = ledger.MaxNameLen

// CheckWebhookName checks a webhook's name, which names its cursor file:
// like the ledger's member names and kinds (ledger.ValidIdent), 1 to
// MaxWebhookNameLen lowercase letters, digits and . _ -, not starting with
// punctuation.
func CheckWebhookName(name string) error {
	if !ledger.ValidIdent(name, MaxWebhookNameLen) {
		return fmt.Errorf("name %q: use 1 to %d lowercase letters, digits and . _ -, not starting with punctuation", name, MaxWebhookNameLen)
	}
	return nil
}

// CheckWebhookURL checks a webhook's URL with policy.CheckURL (its form, and
// its address when the host is an IP address); a refused address's error
// says how to allow it.
func CheckWebhookURL(policy *egress.Policy, raw string) (*url.URL, error) {
	u, err := policy.CheckURL(raw)
	if err != nil {
		return nil, RefusedWebhook(err)
	}
	return u, nil
}

// RefusedWebhook adds WebhookAllowHint to an error wrapping
// egress.ErrRefused, and returns other errors as they are.
func RefusedWebhook(err error) error {
	if errors.Is(err, egress.ErrRefused) {
		return fmt.Errorf("%w: %s", err, WebhookAllowHint)
	}
	return err
}

// API configures the node's HTTP API and explorer.
type API struct {
	// Listen is the host:port of the HTTP API. Keep it on 127.0.0.1 unless
	// a TLS-terminating proxy with authentication sits in front.
	Listen string `toml:"listen"`
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// CommitTimeout bounds how long a submit waits for its block by default.
	CommitTimeout Duration `toml:"commit_timeout"`
	// MaxWaiters bounds concurrent submits waiting for commit; beyond it the
	// API answers 503 with Retry-After.
	MaxWaiters int `toml:"max_waiters"`
	// TokensFile lists the bearer tokens of the API (0600), one per line:
	// "sm3:" and the hex SM3 digest of the token (the node needs no more)
	// and the scopes it allows, "sm3:HEX scopes=submit,originals  # note"
	// (api.ParseTokens; scopes submit, originals, grant, webhooks, admin).
	// `evidenced tokens add` draws a token and appends its line;
	// `evidenced testnet` writes these and gives the tokens to the client
	// side. Older lines without scopes= keep full access (admin), and older
	// lines may hold the token itself; the node warns of both at start, and
	// `evidenced tokens migrate` rewrites them. Required for POST
	// /v1/evidence, uploads, grants and retrievals of originals, and
	// webhooks through the API. Read at start.
	TokensFile string `toml:"tokens_file"`

	// The bounds below keep what clients can hold of the node's HTTP server
	// (the API, the explorer and /metrics) within what the node can afford
	// beside consensus; docs/ARCHITECTURE.md, "Load limits".

	// ReadHeaderTimeout bounds reading a request's headers, counted from the
	// connection's opening or, on a kept-alive connection, from the
	// request's first byte.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	// BodyTimeout and MinBodyRate bound how slowly a request body may
	// arrive: every BodyTimeout it must bring at least MinBodyRate bytes per
	// second of it (and at least one byte), or the node stops reading and
	// closes the connection. A legitimate upload of an original streams for
	// as long as it keeps that pace; a body trickling a byte a minute is cut
	// after BodyTimeout.
	BodyTimeout Duration `toml:"body_timeout"`
	MinBodyRate int64    `toml:"min_body_rate"`
	// WriteTimeout bounds each write of a response: a client that does not
	// take what the node writes within it is cut off. Every write has it
	// anew, so event streams and downloads of originals may last for hours
	// while the client reads.
	WriteTimeout Duration `toml:"write_timeout"`
	// IdleTimeout closes a kept-alive connection that sends no new request
	// within it.
	IdleTimeout Duration `toml:"idle_timeout"`
	// MaxHeaderBytes bounds the size of a request's headers (431 beyond).
	MaxHeaderBytes int `toml:"max_header_bytes"`
	// MaxConnections bounds the HTTP server's open connections, and
	// MaxClientConnections those from one client address (an IPv4 address,
	// or an IPv6 /64). A connection beyond either is answered 503 with
	// Retry-After and closed at once. Behind a proxy every client has the
	// proxy's address: raise MaxClientConnections to MaxConnections there.
	// The process's open-file limit must leave room for them: about
	// MaxConnections + 1,000 (CometBFT and Badger use the rest).
	MaxConnections       int `toml:"max_connections"`
	MaxClientConnections int `toml:"max_client_connections"`
	// MaxEventStreams bounds the Server-Sent Events streams served at once
	// (GET /v1/events and the explorer's /explorer/live), and
	// MaxAnonymousEventStreams those of requests without a valid bearer
	// token (every explorer stream is one), so that unauthenticated clients
	// cannot take them all. Beyond either a stream is answered 503 with
	// Retry-After.
	MaxEventStreams          int `toml:"max_event_streams"`
	MaxAnonymousEventStreams int `toml:"max_anonymous_event_streams"`

	// PublicURL is the base URL (scheme and host, no path) at which people
	// reach this node's explorer, e.g. "https://evidence.bank-a.example":
	// an evidence certificate's QR code opens
	// PublicURL/explorer/verify?id=ID. Empty: http:// and Listen.
	PublicURL string `toml:"public_url"`
	// CertificateFont is the TrueType (.ttf) CJK font evidence certificates
	// are drawn with, relative to HOME unless absolute. Empty: the first
	// that exists of certificate.FontPaths (the Debian package
	// fonts-arphic-gbsn00lp). Without a font the node issues no
	// certificates (501) and says so at start.
	CertificateFont string `toml:"certificate_font"`
}

// ExplorerURL returns the base URL of the node's public explorer: PublicURL,
// or http:// and Listen.
func (a *API) ExplorerURL() string {
	if a.PublicURL != "" {
		return strings.TrimRight(a.PublicURL, "/")
	}
	return (&url.URL{Scheme: "http", Host: a.Listen}).String()
}

// checkPublicURL checks api.public_url: an absolute http or https URL with a
// host and nothing after it.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("the URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("want an absolute http or https URL, e.g. https://evidence.bank-a.example")
	case u.Host == "":
		return errors.New("the URL has no host")
	case u.User != nil:
		return errors.New("the URL holds a user name or password")
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return errors.New("want the scheme and host only: the explorer's paths are added to it")
	}
	return nil
}

// Keys names the node's key files, relative to HOME unless absolute.
type Keys struct {
	// MemberKey is the member's SM2 key (PKCS#8 PEM, 0600); it co-signs checkpoints.
	MemberKey string `toml:"member_key"`
	// ClientKey is a bank client key the node signs evidence with on behalf
	// of authenticated business systems (POST /v1/evidence); empty: none.
	ClientKey string `toml:"client_key"`
	// PassphraseFile holds the passphrase of encrypted key files; empty
	// means the keys are not encrypted, or the passphrase comes from the
	// EVIDENCED_PASSPHRASE environment variable.
	PassphraseFile string `toml:"passphrase_file"`
	// CometKeys says where CometBFT's validator and node keys come from:
	// "derived" from the member key (no key file of CometBFT's on disk; the
	// default of new homes), or "files", CometBFT's priv_validator_key.json
	// and node_key.json (the default when empty, as in homes made before).
	CometKeys string `toml:"comet_keys"`
}

// The values of Keys.CometKeys.
const (
	CometKeysDerived = "derived"
	CometKeysFiles   = "files"
)

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
	// Format is text or json.
	Format string `toml:"format"`
}

// Ledger tunes the state machine (never its rules: those are in genesis).
type Ledger struct {
	// VerifyWorkers verifies a block's signatures in parallel; 0 = all cores.
	VerifyWorkers int `toml:"verify_workers"`
	// VerifyCacheSize bounds the cache of verified signatures.
	VerifyCacheSize int `toml:"verify_cache_size"`
	// SyncWrites fsyncs every block commit. Turning it off trades
	// durability of the last blocks for speed; CometBFT replays them.
	SyncWrites bool `toml:"sync_writes"`
}

// Originals configures the encrypted originals kept by this node (in
// HOME/data/blobs) and their exchange with the other members.
type Originals struct {
	// Listen is the libp2p listen multiaddr of the exchange with the other
	// members, e.g. "/ip4/0.0.0.0/tcp/26660"; empty: no exchange.
	Listen string `toml:"listen"`
	// Replicas is how many other members store a copy of each original this
	// member uploads (they cannot read it).
	Replicas int `toml:"replicas"`
	// MaxUploadBytes bounds one original.
	MaxUploadBytes int64 `toml:"max_upload_bytes"`
	// ScrubInterval is how often every stored original is rehashed; "0s"
	// disables the scrub.
	ScrubInterval Duration `toml:"scrub_interval"`
	// AutoGrantRoles are the roles (court, arbitration, …) whose retrieval
	// requests for this member's records the node grants by itself as they
	// commit, each logged like any grant; empty: a person answers every
	// request (evidenced grant --request N, evidenced refuse N).
	AutoGrantRoles []string `toml:"auto_grant_roles"`
	// AutoGrantExpiry is how long an automatic grant holds; "0s": until
	// revoked. Default 720h (30 days).
	AutoGrantExpiry Duration `toml:"auto_grant_expiry"`
}

// AutoGrant returns AutoGrantRoles as roles (Validate checks they parse).
func (o Originals) AutoGrant() []ledger.Role {
	var out []ledger.Role
	for _, s := range o.AutoGrantRoles {
		if r, err := ledger.ParseRole(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// StateSync configures the snapshots of committed state this node takes
// and serves, from which nodes joining the alliance restore their state
// instead of replaying every block (docs/ARCHITECTURE.md, "Snapshots and
// state sync"). A snapshot is written in the background after the commit
// of its height, to HOME/data/snapshots/HEIGHT/, and takes about the
// size of the state on disk per snapshot kept.
type StateSync struct {
	// SnapshotInterval takes a snapshot after every this many heights;
	// 0 takes none (the node still restores one when it joins by state
	// sync).
	SnapshotInterval int64 `toml:"snapshot_interval"`
	// SnapshotKeep is how many of the latest snapshots are kept (at least
	// 1 when snapshots are taken).
	SnapshotKeep int `toml:"snapshot_keep"`
	// SnapshotChunkSize is the size, in bytes, snapshots are cut into
	// chunks at (4096 to 12582912). Members that keep the same size write
	// identical snapshots of a height, so a joining node fetches chunks
	// from several of them: keep the default.
	SnapshotChunkSize int `toml:"snapshot_chunk_size"`
}

// Duration is a time.Duration written as a string ("30s") in TOML.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w (write e.g. \"30s\")", b, err)
	}
	*d = Duration(v)
	return nil
}

// Default returns the configuration a new home starts with.
func Default() Config {
	return Config{
		Role: "bank",
		API: API{
			Listen:        "127.0.0.1:8080",
			MaxBodyBytes:  1<<20 + 1024,
			CommitTimeout: Duration(30 * time.Second),
			MaxWaiters:    10000,

			ReadHeaderTimeout:        Duration(10 * time.Second),
			BodyTimeout:              Duration(30 * time.Second),
			MinBodyRate:              1024,
			WriteTimeout:             Duration(30 * time.Second),
			IdleTimeout:              Duration(2 * time.Minute),
			MaxHeaderBytes:           64 << 10,
			MaxConnections:           2048,
			MaxClientConnections:     256,
			MaxEventStreams:          256,
			MaxAnonymousEventStreams: 64,
		},
		Keys:      Keys{MemberKey: "keys/member.pem"},
		Log:       Log{Level: "info", Format: "text"},
		Ledger:    Ledger{VerifyCacheSize: 1 << 18, SyncWrites: true},
		Originals: Originals{Replicas: 2, MaxUploadBytes: 4 << 30, ScrubInterval: Duration(24 * time.Hour), AutoGrantExpiry: Duration(720 * time.Hour)},
		StateSync: StateSync{SnapshotInterval: 1000, SnapshotKeep: 2, SnapshotChunkSize: snapshots.DefaultChunkSize},
		Timestamp: Timestamp{Interval: Duration(5 * time.Second), Timeout: Duration(10 * time.Second)},
	}
}

// Validate checks every field and the constraints between them.
func (c *Config) Validate() error {
	var errs []error
	if c.Moniker == "" {
		errs = append(errs, errors.New("moniker is empty"))
	}
	if c.Member == "" {
		errs = append(errs, errors.New("member is empty: set the roster name of this node's member"))
	}
	switch c.Role {
	case "bank", "notary", "arbitration", "court", "regulator":
	default:
		errs = append(errs, fmt.Errorf("role %q: want bank, notary, arbitration, court or regulator", c.Role))
	}
	if _, _, err := net.SplitHostPort(c.API.Listen); err != nil {
		errs = append(errs, fmt.Errorf("api.listen %q: want host:port: %w", c.API.Listen, err))
	}
	if c.API.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("api.max_body_bytes %d: want at least 1024", c.API.MaxBodyBytes))
	}
	if c.API.CommitTimeout <= 0 {
		errs = append(errs, errors.New("api.commit_timeout must be positive"))
	}
	if c.API.MaxWaiters <= 0 {
		errs = append(errs, errors.New("api.max_waiters must be positive"))
	}
	errs = append(errs, c.API.validateBounds()...)
	if c.API.PublicURL != "" {
		if err := checkPublicURL(c.API.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("api.public_url %q: %w", c.API.PublicURL, err))
		}
	}
	if k := c.Keys.CometKeys; k != "" && k != CometKeysDerived && k != CometKeysFiles {
		errs = append(errs, fmt.Errorf("keys.comet_keys %q: want %q or %q", k, CometKeysDerived, CometKeysFiles))
	}
	if c.Keys.MemberKey == "" {
		errs = append(errs, errors.New("keys.member_key is empty"))
	}
	if c.Keys.ClientKey != "" && c.API.TokensFile == "" {
		errs = append(errs, errors.New("keys.client_key needs api.tokens_file: the node signs for business systems only when they present one of its tokens"))
	}
	if _, err := ParseLevel(c.Log.Level); err != nil {
		errs = append(errs, err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format %q: want text or json", c.Log.Format))
	}
	if c.Ledger.VerifyWorkers < 0 || c.Ledger.VerifyCacheSize < 0 {
		errs = append(errs, errors.New("ledger.verify_workers and ledger.verify_cache_size must not be negative"))
	}
	policy, err := c.WebhookPolicy.Policy()
	if err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for i, w := range c.Webhooks {
		if err := CheckWebhookName(w.Name); err != nil {
			errs = append(errs, fmt.Errorf("webhooks[%d].%w", i, err))
			continue
		}
		if seen[w.Name] {
			errs = append(errs, fmt.Errorf("webhooks[%d].name %q is used twice", i, w.Name))
			continue
		}
		seen[w.Name] = true
		if policy != nil {
			if _, err := CheckWebhookURL(policy, w.URL); err != nil {
				errs = append(errs, fmt.Errorf("webhook %s: url: %w", w.Name, err))
			}
		}
		if w.SecretFile == "" {
			errs = append(errs, fmt.Errorf("webhook %s: secret_file is required (deliveries are signed with it)", w.Name))
		}
	}
	if c.Originals.Replicas < 0 || c.Originals.MaxUploadBytes <= 0 || c.Originals.ScrubInterval < 0 {
		errs = append(errs, errors.New("originals.replicas and originals.scrub_interval must not be negative, originals.max_upload_bytes must be positive"))
	}
	for _, r := range c.Originals.AutoGrantRoles {
		role, err := ledger.ParseRole(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("originals.auto_grant_roles: %w", err))
		} else if role != ledger.RoleCourt && role != ledger.RoleArbitration {
			errs = append(errs, fmt.Errorf("originals.auto_grant_roles: %s members file no retrieval requests; only court and arbitration do", role))
		}
	}
	if c.Originals.AutoGrantExpiry < 0 {
		errs = append(errs, errors.New("originals.auto_grant_expiry must not be negative (0s: until revoked)"))
	}
	if s := c.StateSync; s.SnapshotChunkSize < snapshots.MinChunkSize || s.SnapshotChunkSize > snapshots.MaxChunkSize {
		errs = append(errs, fmt.Errorf("statesync.snapshot_chunk_size %d: want %d to %d bytes (default %d)", s.SnapshotChunkSize, snapshots.MinChunkSize, snapshots.MaxChunkSize, snapshots.DefaultChunkSize))
	}
	if c.StateSync.SnapshotInterval < 0 {
		errs = append(errs, fmt.Errorf("statesync.snapshot_interval %d: want a number of heights, or 0 to take no snapshot", c.StateSync.SnapshotInterval))
	}
	if s := c.StateSync; s.SnapshotKeep < 1 && s.SnapshotInterval > 0 {
		errs = append(errs, fmt.Errorf("statesync.snapshot_keep %d: keep at least 1 snapshot, or set statesync.snapshot_interval = 0 to take none", s.SnapshotKeep))
	}
	errs = append(errs, c.Timestamp.validate()...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	return nil
}

// validate checks [timestamp].
func (t *Timestamp) validate() []error {
	var errs []error
	if t.Interval <= 0 {
		errs = append(errs, fmt.Errorf("timestamp.interval %s: want a positive duration such as \"5s\"", time.Duration(t.Interval)))
	}
	if t.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timestamp.timeout %s: want a positive duration such as \"10s\"", time.Duration(t.Timeout)))
	}
	if t.Stamp && len(t.TSAs) == 0 {
		errs = append(errs, errors.New("timestamp.stamp = true needs at least one [[timestamp.tsa]] with name, url and hash: the TSAs this node asks for tokens"))
	}
	seen := map[string]bool{}
	for i, a := range t.TSAs {
		if !validTSAName(a.Name) {
			errs = append(errs, fmt.Errorf("timestamp.tsa[%d].name %q: use 1 to 64 letters, digits and . _ - :, not starting with punctuation (the name of the TSA's anchor in the roster)", i, a.Name))
		} else if seen[a.Name] {
			errs = append(errs, fmt.Errorf("timestamp.tsa[%d].name %q is used twice", i, a.Name))
		}
		seen[a.Name] = true
		if err := checkTSAURL(a.URL); err != nil {
			errs = append(errs, fmt.Errorf("timestamp.tsa %s: url %q: %w", a.Name, a.URL, err))
		}
		if a.Hash != "sm3" && a.Hash != "sha256" {
			errs = append(errs, fmt.Errorf("timestamp.tsa %s: hash %q: want sm3 or sha256 (one the roster allows for this TSA)", a.Name, a.Hash))
		}
	}
	switch {
	case t.DevTSADir != "" && t.DevTSAListen == "":
		errs = append(errs, errors.New("timestamp.dev_tsa_dir needs timestamp.dev_tsa_listen: the host:port to serve the development TSA on"))
	case t.DevTSADir == "" && t.DevTSAListen != "":
		errs = append(errs, errors.New("timestamp.dev_tsa_listen needs timestamp.dev_tsa_dir: the directory of the development TSA (evidenced tsa --dir makes one)"))
	case t.DevTSAListen != "":
		if _, _, err := net.SplitHostPort(t.DevTSAListen); err != nil {
			errs = append(errs, fmt.Errorf("timestamp.dev_tsa_listen %q: want host:port: %w", t.DevTSAListen, err))
		}
	}
	return errs
}

// validTSAName reports whether name is a TSA name as the roster writes
// them: 1 to 64 letters, digits and . _ - :, not starting with punctuation.
func validTSAName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-' || c == ':'):
		default:
			return false
		}
	}
	return true
}

// checkTSAURL checks that raw is an absolute http or https URL with a host
// and no user name or password.
func checkTSAURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("the URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("want an absolute http or https URL of the TSA's RFC 3161 endpoint")
	case u.Host == "":
		return errors.New("the URL has no host")
	case u.User != nil:
		return errors.New("the URL holds a user name or password: a TSA's credentials do not belong in evidenced.toml")
	}
	return nil
}

// validateBounds checks the bounds of the HTTP server.
func (a *API) validateBounds() []error {
	var errs []error
	for _, d := range []struct {
		name string
		v    Duration
	}{{"read_header_timeout", a.ReadHeaderTimeout}, {"body_timeout", a.BodyTimeout}, {"write_timeout", a.WriteTimeout}, {"idle_timeout", a.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("api.%s %s: want a positive duration such as \"30s\"", d.name, time.Duration(d.v)))
		}
	}
	if a.MinBodyRate < 0 {
		errs = append(errs, fmt.Errorf("api.min_body_rate %d: want 0 or more bytes per second", a.MinBodyRate))
	}
	if a.MaxHeaderBytes < 4096 {
		errs = append(errs, fmt.Errorf("api.max_header_bytes %d: want at least 4096", a.MaxHeaderBytes))
	}
	if a.MaxConnections < 1 {
		errs = append(errs, fmt.Errorf("api.max_connections %d: want at least 1", a.MaxConnections))
	}
	if a.MaxClientConnections < 1 || a.MaxClientConnections > a.MaxConnections {
		errs = append(errs, fmt.Errorf("api.max_client_connections %d: want 1 to api.max_connections (%d)", a.MaxClientConnections, a.MaxConnections))
	}
	if a.MaxEventStreams < 1 || a.MaxEventStreams > a.MaxConnections {
		errs = append(errs, fmt.Errorf("api.max_event_streams %d: want 1 to api.max_connections (%d): each stream holds a connection", a.MaxEventStreams, a.MaxConnections))
	}
	if a.MaxAnonymousEventStreams < 0 || a.MaxAnonymousEventStreams > a.MaxEventStreams {
		errs = append(errs, fmt.Errorf("api.max_anonymous_event_streams %d: want 0 to api.max_event_streams (%d)", a.MaxAnonymousEventStreams, a.MaxEventStreams))
	}
	return errs
}

// ParseLevel parses a log level name.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log.level %q: want debug, info, warn or error", s)
}

// APIURL returns the base URL of the node's HTTP API.
func (c *Config) APIURL() string {
	return (&url.URL{Scheme: "http", Host: c.API.Listen}).String()
}

// Path resolves a path from the config against home.
func Path(home, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(home, p)
}

// File returns the path of evidenced.toml in home.
func File(home string) string { return filepath.Join(home, "config", FileName) }

// Load reads and validates HOME/config/evidenced.toml, starting from
// Default so that a file naming only some settings gets defaults for the
// rest. Unknown keys are an error: a typo must not be silently ignored.
func Load(home string) (*Config, error) {
	path := File(home)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no config at %s: is %s an evidenced home? create one with `evidenced init --home %s`", path, home, home)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates evidenced.toml contents.
func Parse(b []byte) (*Config, error) {
	c := Default()
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&c)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown settings: %s", strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Save writes c to HOME/config/evidenced.toml atomically (0644: it holds
// no secret).
func (c *Config) Save(home string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("# evidenced node configuration. CometBFT's settings are in config.toml beside this file.\n")
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(File(home)), 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	return atomicfile.WriteFile(File(home), buf.Bytes(), 0o644)
}
