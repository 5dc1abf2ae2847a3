package originals

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Config holds a Service's settings: evidenced.toml's [originals] and the
// node's member and chain. Zero values of the optional fields take the
// defaults documented.
type Config struct {
	// ChainID is the chain whose access, grant and revoke transactions the
	// service signs.
	ChainID string
	// Member is this node's member: the owner of what it uploads, the
	// grantee of what it fetches.
	Member string
	// Replicas is how many members keep a copy of each member's originals
	// (originals.replicas); 0 replicates nothing.
	Replicas int
	// ScrubInterval is how often the store is rehashed and repaired, orphans
	// swept and this member's originals pushed to its replicas again
	// (originals.scrub_interval); 0 never.
	ScrubInterval time.Duration
	// MaxUploadBytes bounds the plaintext KeepOriginal takes
	// (originals.max_upload_bytes); it must be positive.
	MaxUploadBytes int64
	// OrphanAge is how long a ciphertext that no committed record names is
	// kept before the periodic sweep removes it: an upload's record commits
	// within seconds, or never. Default one hour.
	OrphanAge time.Duration
	// RetryWait is the first wait before a failed push is tried again; it
	// doubles up to 30 times itself. After a push gives up, the replica's
	// originals are all pushed again 60 times it later, doubling up to an
	// hour. Default one second.
	RetryWait time.Duration
	// Now is the clock of the transactions' client times and of the orphan
	// sweep (never of a consensus rule). Default time.Now.
	Now func() time.Time
	// AutoGrantRoles are the roles whose retrieval requests for this
	// member's records the service grants by itself as they commit
	// (originals.auto_grant_roles, e.g. court); none: every request waits
	// for a person's grant or refusal.
	AutoGrantRoles []ledger.Role
	// AutoGrantExpiry is how long an automatic grant holds
	// (originals.auto_grant_expiry); 0: until revoked.
	AutoGrantExpiry time.Duration
}

// Defaults of Config fields.
const (
	DefaultOrphanAge = time.Hour
	DefaultRetryWait = time.Second
)

// Bounds of the service's queues and retries.
const (
	// maxPending bounds the committed entries waiting to be read for
	// replication; beyond it every replica gets a full pass instead.
	maxPending = 4096
	// linkQueue bounds the originals queued for one replica; beyond it the
	// replica gets a full pass instead.
	linkQueue = 1024
	// pushAttempts is how often one push is tried before it gives up.
	pushAttempts = 12
	// maxPassPause bounds the wait before a replica's full pass is retried.
	maxPassPause = time.Hour
)

// Transport moves ciphertexts between member nodes: *exchange.Host (package
// blob/exchange, libp2p) in a node, or an in-memory one in tests
// (originalstest.Network). Errors wrap the exchange package's sentinels
// (exchange.ErrForbidden, ErrNotFound, ErrAddressMismatch, ErrNotMember, …);
// the methods are safe for concurrent use.
type Transport interface {
	// Connect makes peer p reachable at its addresses for Fetch and Push.
	Connect(ctx context.Context, p peer.AddrInfo) error
	// Fetch gets ciphertext addr from p into the local blob store, checked
	// against its SM3 address; it returns nil at once when the store holds
	// it.
	Fetch(ctx context.Context, p peer.ID, addr crypto.Hash) error
	// Push offers the local ciphertext addr to p, which keeps it if its
	// Policy.AcceptPush agrees; nil when p already holds it.
	Push(ctx context.Context, p peer.ID, addr crypto.Hash) error
}

// State gives the service the node's committed state.
type State interface {
	// Snapshot returns a view over a consistent snapshot of committed
	// state, the height it was committed at, and a release func that the
	// caller calls exactly once when err is nil (api.Backend.Snapshot's
	// contract). An error means the node cannot read its state now (it is
	// stopping, or its store failed).
	Snapshot() (view *ledger.View, height int64, release func(), err error)
}

// StateFunc adapts a function to State.
type StateFunc func() (*ledger.View, int64, func(), error)

// Snapshot implements State.
func (f StateFunc) Snapshot() (*ledger.View, int64, func(), error) { return f() }

// SubmitFunc submits a signed transaction and waits until the block
// holding it commits, returning its committed result (api.Backend.Submit
// with waitCommit). A rejection is a *ledger.RejectError or an
// *api.CommitRejectError; an error wrapping api.ErrOverloaded means the
// node cannot take it now.
type SubmitFunc func(ctx context.Context, tx []byte) (*api.Committed, error)

var (
	// ErrNoCopy is returned by FetchOriginal (wrapped, with each member's
	// answer) when no member node could serve the ciphertext.
	ErrNoCopy = errors.New("no member node served the original")
	// ErrNoExchange is returned by FetchOriginal and Scrub's repairs on a
	// node without a Transport.
	ErrNoExchange = errors.New("this node does not exchange originals: set originals.listen in evidenced.toml")
	// errStopped is the cause of the service's context after Close.
	errStopped = errors.New("the originals service is closed")
)

// Service keeps this member's originals, replicates them, serves custody
// (grants, revokes, fetches) and keeps the store healthy. Its methods are
// safe for concurrent use.
type Service struct {
	conf   Config
	log    *slog.Logger
	blobs  *blob.Store
	trans  Transport // nil: this node exchanges no originals
	roster *Roster
	state  State
	submit SubmitFunc
	key    *crypto.PrivateKey

	pending pending       // committed entries to read for replication
	asked   chan uint64   // committed retrieval requests for the auto-granter (bounded)
	wake    chan struct{} // wakes the replicator (capacity 1)
	links   []*link       // one per replica of this member

	ctx    context.Context // cancelled by Close
	cancel context.CancelCauseFunc
	bg     sync.WaitGroup
	mu     sync.Mutex // guards started
	// started is set by Start; Close waits for what it started.
	started bool
}

// New builds the originals service of member conf.Member. Nothing runs
// until Start. trans may be nil: the node then keeps uploads and builds
// grants, but neither fetches nor replicates originals. The roster is
// required with a transport.
func New(conf Config, log *slog.Logger, blobs *blob.Store, trans Transport, roster *Roster, state State, submit SubmitFunc, key *crypto.PrivateKey) (*Service, error) {
	switch {
	case conf.ChainID == "" || conf.Member == "":
		return nil, errors.New("originals: Config.ChainID and Config.Member are required")
	case conf.MaxUploadBytes <= 0:
		return nil, fmt.Errorf("originals: Config.MaxUploadBytes is %d: set originals.max_upload_bytes to a positive size", conf.MaxUploadBytes)
	case conf.Replicas < 0 || conf.ScrubInterval < 0 || conf.OrphanAge < 0 || conf.RetryWait < 0:
		return nil, errors.New("originals: Config.Replicas, ScrubInterval, OrphanAge and RetryWait must not be negative")
	case blobs == nil || state == nil || submit == nil || key == nil:
		return nil, errors.New("originals: the blob store, the state, the submitter and the member key are required")
	case trans != nil && roster == nil:
		return nil, errors.New("originals: a transport needs the roster")
	}
	if conf.OrphanAge == 0 {
		conf.OrphanAge = DefaultOrphanAge
	}
	if conf.RetryWait == 0 {
		conf.RetryWait = DefaultRetryWait
	}
	if conf.Now == nil {
		conf.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{conf: conf, log: log.With("component", "originals"), blobs: blobs, trans: trans, roster: roster,
		state: state, submit: submit, key: key, wake: make(chan struct{}, 1), asked: make(chan uint64, maxAsked)}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	if trans != nil {
		for _, m := range roster.Replicas(conf.Member, conf.Replicas) {
			if info, ok := roster.Peer(m); ok {
				s.links = append(s.links, newLink(s, m, info))
			}
		}
	}
	return s, nil
}

// Start runs the service's background work when it has a transport: the
// replicator, one pusher per replica (each first pushes all of this
// member's originals again: the catch-up), and the scrubber.
func (s *Service) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.started:
		return errors.New("originals: the service is already started")
	case s.ctx.Err() != nil:
		return errStopped
	}
	s.started = true
	if len(s.conf.AutoGrantRoles) > 0 {
		s.bg.Go(s.autoGranter)
	}
	if s.trans == nil {
		return nil
	}
	s.bg.Go(s.replicator)
	for _, l := range s.links {
		l.requestPass()
		s.bg.Go(l.run)
	}
	if s.conf.ScrubInterval > 0 {
		s.bg.Go(s.scrubber)
	}
	if len(s.links) > 0 {
		s.log.Info("replicating this member's originals", "replicas", s.roster.Replicas(s.conf.Member, s.conf.Replicas))
	}
	return nil
}

// Close stops the background work and waits for it; its transfers in
// flight are cancelled. Calls (FetchOriginal, Grant, …) run on their
// callers' contexts and are not waited for.
func (s *Service) Close() error {
	s.cancel(errStopped)
	s.bg.Wait()
	return nil
}

// NoteCommitted queues this member's newly committed originals (in the
// block results) for replication. It only queues, so it may run on the
// consensus goroutine (abci.Options.OnCommit).
func (s *Service) NoteCommitted(results []ledger.TxResult) {
	s.noteRequests(results)
	if len(s.links) == 0 {
		return
	}
	ledger.EachTx(results, func(r *ledger.TxResult) {
		if r.Code == ledger.CodeOK && r.Signer == s.conf.Member && (r.Type == ledger.TxEvidence || r.Type == ledger.TxBatch) {
			s.pending.add(r.Index)
		}
	})
	select {
	case s.wake <- struct{}{}:
	default: // already awake
	}
}

// committed returns a view of committed state, the time of its last block
// and its release.
func committed(st State) (*ledger.View, int64, func(), error) {
	v, h, release, err := st.Snapshot()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read committed state: %w", err)
	}
	b, err := v.Block(h)
	if err != nil {
		release()
		return nil, 0, nil, fmt.Errorf("read the time of committed block %d: %w", h, err)
	}
	return v, b.Time, release, nil
}

// withView calls fn with a view of committed state and its block time.
func (s *Service) withView(fn func(v *ledger.View, blockTime int64) error) error {
	v, t, release, err := committed(s.state)
	if err != nil {
		return err
	}
	defer release()
	return fn(v, t)
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
