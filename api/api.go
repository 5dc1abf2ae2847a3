package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Backend is what the node provides to the API. The api package never touches
// CometBFT or Badger; everything reaches it through these three methods, which
// must be safe for concurrent use.
type Backend interface {
	// Snapshot returns a consistent read-only view of committed state, the
	// height it was committed at, and a release func. When err is nil the
	// caller always calls release, exactly once, when it is done with view.
	// ErrOverloaded or ledger.ErrNotInitialized mean the node cannot answer
	// yet (503); any other error is an infrastructure failure (500).
	Snapshot() (view *ledger.View, height int64, release func(), err error)

	// Submit passes tx to CometBFT's mempool (CheckTx) and, when waitCommit
	// is set, waits until the block holding it is committed or ctx ends.
	//
	// A CheckTx rejection is returned as a *ledger.RejectError; a FinalizeBlock
	// rejection as a *CommitRejectError carrying the block height.
	// ErrOverloaded means the mempool is full or the node is not ready; an
	// error wrapping context.DeadlineExceeded means ctx ended before the
	// commit (the transaction may still commit). On success, Committed holds
	// the block height and time and the transaction's result; with waitCommit
	// false only Result is meaningful (Height is zero).
	Submit(ctx context.Context, tx []byte, waitCommit bool) (*Committed, error)

	// SubmitBundle passes txs (each one single signed transaction) to the
	// mempool carried in bundles and, when waitCommit is set, waits for
	// their commits until ctx ends. It returns one outcome per tx, in
	// order: Err is a *ledger.RejectError, a *CommitRejectError,
	// ErrOverloaded or ctx's error (still pending); with a nil Err,
	// Committed is set (Height zero when not waiting). The error return is
	// for the request as a whole (ErrOverloaded, not initialised).
	SubmitBundle(ctx context.Context, txs [][]byte, waitCommit bool) ([]BundleOutcome, error)

	// Status reports the node's view of the chain.
	Status(ctx context.Context) (*client.Status, error)

	// KeepOriginal stores an original for the member that holds the client
	// key signer, and has commit submit the record that names it. It
	// streams r into the node's store of encrypted originals under a fresh
	// data key and salt (the plaintext never reaches the disk), wraps
	// key ‖ salt (blob.WrapKey) to that member's member key, and calls
	// commit with the kept original. When commit fails, the ciphertext is
	// removed, unless the error wraps context.DeadlineExceeded or
	// context.Canceled (the record may still commit, and must find its
	// original); commit's error is returned as is. size is the length the
	// client announced, -1 if unknown.
	//
	// Before reading r, it fails with a *ledger.RejectError (CodeUnknownKey)
	// when no member holds signer, and with an error wrapping
	// ErrOriginalTooLarge when size exceeds the node's limit; an original
	// found longer than the limit while reading fails with it too, and
	// nothing is kept.
	KeepOriginal(ctx context.Context, r io.Reader, size int64, signer crypto.KeyID, commit func(*Original) error) (*Original, error)
}

// Committed is the outcome of a successful Backend.Submit.
type Committed struct {
	Height int64           // block height; zero when Submit did not wait for the commit
	Time   time.Time       // block time; zero when Submit did not wait for the commit
	Result ledger.TxResult // the transaction's result (Code is ledger.CodeOK)
}

// BundleOutcome is the outcome of one transaction of Backend.SubmitBundle.
type BundleOutcome struct {
	Committed *Committed
	Err       error
}

// CommitRejectError is a rejection of a transaction by FinalizeBlock: it
// passed CheckTx but the block at Height rejected it (for example because
// another transaction of the same block extended the same evidence chain).
type CommitRejectError struct {
	Height int64
	Err    *ledger.RejectError
}

// Error returns the rejection with its height.
func (e *CommitRejectError) Error() string {
	return fmt.Sprintf("rejected in block %d: %v", e.Height, e.Err)
}

// Unwrap returns the *ledger.RejectError.
func (e *CommitRejectError) Unwrap() error { return e.Err }

// ErrOverloaded is returned by a Backend when the node cannot take the
// request now: the mempool is full, or the node is starting or catching up.
// The API answers 503 with a Retry-After header.
var ErrOverloaded = errors.New("the node is overloaded or not ready: retry later")

// Default option values.
const (
	// DefaultMaxBodyBytes is the largest POST /v1/txs body: 1 MiB + 1 KiB.
	DefaultMaxBodyBytes = client.MaxTxBody
	// DefaultWait is how long POST /v1/txs waits when no timeout is given.
	DefaultWait = 30 * time.Second
	// DefaultMaxWait is the largest timeout a client may ask for.
	DefaultMaxWait = 2 * time.Minute
	// DefaultRetryAfter is the Retry-After of a 503.
	DefaultRetryAfter = time.Second
)

// Options configure the API handler. The zero value is usable: every zero
// field takes its default.
type Options struct {
	// Logger receives a Debug record for each request, a Warn record for
	// each 503 (overloaded or not ready) and an Error record for each other
	// 5xx response and recovered panic. Nil discards.
	Logger *slog.Logger
	// MaxBodyBytes caps the POST /v1/txs body (413 beyond);
	// 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DefaultWait is the commit wait when the request has no timeout
	// parameter; 0 means DefaultWait.
	DefaultWait time.Duration
	// MaxWait is the largest timeout parameter accepted (400 beyond);
	// 0 means DefaultMaxWait.
	MaxWait time.Duration
	// RetryAfter is sent with every 503; 0 means DefaultRetryAfter. It is
	// rounded up to whole seconds. (A receipt not available yet has its own
	// Retry-After, ReceiptRetryAfter.)
	RetryAfter time.Duration

	// Signer signs the transaction body that POST /v1/evidence builds for a
	// business system, with the node's configured client key, and returns
	// the signed transaction bytes (ledger.SignTx sets b.Signer). Nil
	// disables POST /v1/evidence (403 forbidden).
	Signer func(ctx context.Context, b *ledger.Body) ([]byte, error)
	// Tokens are the bearer tokens the API accepts, by their SM3 digests
	// (compared in constant time), each with its scopes: an endpoint that
	// acts through the node's member or keys answers only a token with its
	// scope (403 forbidden otherwise). No token disables those endpoints
	// (403 forbidden).
	Tokens []Token
	// Now is the clock that sets the client time of bodies built by
	// POST /v1/evidence; nil means time.Now.
	Now func() time.Time
	// Streams caps the event streams of GET /v1/events, with a tighter cap
	// for requests without a valid bearer token (503 with Retry-After
	// beyond); a node shares it with its explorer. Nil means a Streams of
	// DefaultMaxStreams and DefaultMaxAnonymousStreams of the API's own.
	Streams *Streams
	// ReadyMaxBlockAge is how old the last block may be for GET /readyz
	// to answer ready (against Now); 0 means DefaultReadyMaxBlockAge.
	ReadyMaxBlockAge time.Duration
	// Issuer issues evidence certificates in the name of the node's
	// member; nil: GET /v1/evidence/{id}/certificate answers 501.
	Issuer *Issuer
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.DefaultWait <= 0 {
		o.DefaultWait = DefaultWait
	}
	if o.DefaultWait > o.MaxWait {
		o.DefaultWait = o.MaxWait
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.ReadyMaxBlockAge <= 0 {
		o.ReadyMaxBlockAge = DefaultReadyMaxBlockAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Streams == nil {
		o.Streams = NewStreams(DefaultMaxStreams, DefaultMaxAnonymousStreams, nil)
	}
	return o
}

// server holds the handler's dependencies; it has no mutable state.
type server struct {
	b      Backend
	opts   Options
	log    *slog.Logger
	tokens []Token
}

// route is one endpoint of the API.
type route struct {
	method  string
	pattern string
	h       handlerFunc
	// scope is what a bearer token needs for the endpoint; zero: no token.
	scope Scopes
}

// routes lists every endpoint of the API, with the scope a bearer token
// needs for it (none: no token). The OpenAPI document (openapi.json)
// describes each of them, scope included; a test checks both ways.
func (s *server) routes() []route {
	return []route{
		{http.MethodPost, "/v1/txs", s.submit, 0},
		{http.MethodPost, "/v1/bundles", s.submitBundle, 0},
		{http.MethodGet, "/v1/txs/{txid}", s.txByID, 0},
		{http.MethodPost, "/v1/evidence", s.submitEvidence, ScopeSubmit},
		{http.MethodPost, "/v1/originals", s.submitOriginal, ScopeSubmit},
		{http.MethodGet, "/v1/evidence/{id}/original", s.original, ScopeOriginals},
		{http.MethodGet, "/v1/evidence/{id}/custody", s.custody, 0},
		{http.MethodPost, "/v1/grants", s.grant, ScopeGrant},
		{http.MethodPost, "/v1/grants/{index}/revoke", s.revoke, ScopeGrant},
		{http.MethodPost, "/v1/requests", s.fileRequest, ScopeGrant},
		{http.MethodGet, "/v1/requests", s.retrievalRequests, 0},
		{http.MethodGet, "/v1/requests/{request}", s.retrievalRequest, 0},
		{http.MethodPost, "/v1/requests/{request}/refuse", s.refuseRequest, ScopeGrant},
		{http.MethodGet, "/v1/events", s.events, 0},
		{http.MethodPost, "/v1/webhooks", s.subscribe, ScopeWebhooks},
		{http.MethodGet, "/v1/webhooks", s.webhooks, ScopeWebhooks},
		{http.MethodDelete, "/v1/webhooks/{name}", s.unsubscribe, ScopeWebhooks},
		{http.MethodGet, "/v1/evidence/{id}/receipt", s.receipt, 0},
		{http.MethodGet, "/v1/evidence/{id}/attestations", s.attestations, 0},
		{http.MethodPost, "/v1/attestations", s.attest, ScopeAttest},
		{http.MethodGet, "/v1/evidence/{id}/certificate", s.certificate, 0},
		{http.MethodGet, "/v1/status", s.status, 0},
		{http.MethodGet, "/v1/entries/{index}", s.entry, 0},
		{http.MethodGet, "/v1/chains/{chain}", s.chain, 0},
		{http.MethodGet, "/v1/commitments/{commitment}", s.commitment, 0},
		{http.MethodGet, "/v1/members", s.members, 0},
		{http.MethodGet, "/v1/roster", s.roster, 0},
		{http.MethodGet, "/v1/roster/versions", s.rosterVersions, 0},
		{http.MethodGet, "/v1/roster/versions/{n}", s.rosterVersion, 0},
		{http.MethodPost, "/v1/proposals", s.propose, ScopeGovern},
		{http.MethodGet, "/v1/proposals", s.proposals, 0},
		{http.MethodGet, "/v1/proposals/{proposal}", s.proposal, 0},
		{http.MethodPost, "/v1/proposals/{proposal}/votes", s.vote, ScopeGovern},
		// {height} is a decimal height or "latest"; one pattern serves
		// both, since GET /v1/checkpoints/{height} and a method-less
		// /v1/checkpoints/latest would conflict in http.ServeMux.
		{http.MethodGet, "/v1/checkpoints/{height}", s.checkpoint, 0},
		{http.MethodGet, "/v1/checkpoints/{height}/timestamp", s.timestamp, 0},
		{http.MethodGet, "/v1/checkpoints/{height}/timestamp/token", s.timestampToken, 0},
		{http.MethodGet, "/v1/proofs/consistency", s.consistencyProof, 0},
		{http.MethodGet, "/v1/proofs/inclusion", s.inclusionProof, 0},
		{http.MethodGet, "/v1/openapi.json", s.openAPI, 0},
		// Probes for process supervisors and load balancers, outside /v1.
		{http.MethodGet, "/healthz", s.healthz, 0},
		{http.MethodGet, "/readyz", s.readyz, 0},
	}
}

// New returns the HTTP handler of the API v1 over b. It panics if b is nil
// (a wiring bug). The handler is safe for concurrent use.
func New(b Backend, opts Options) http.Handler {
	if b == nil {
		panic("api.New: nil Backend")
	}
	opts = opts.withDefaults()
	s := &server{b: b, opts: opts, log: opts.Logger, tokens: slices.Clone(opts.Tokens)}
	mux := http.NewServeMux()
	allow := map[string][]string{} // methods by pattern, in route order
	var patterns []string
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.pattern, s.handle(s.authorized(rt)))
		if _, seen := allow[rt.pattern]; !seen {
			patterns = append(patterns, rt.pattern)
		}
		allow[rt.pattern] = append(allow[rt.pattern], rt.method)
		if rt.method == http.MethodGet {
			allow[rt.pattern] = append(allow[rt.pattern], http.MethodHead)
		}
	}
	// The same path without a method catches every other method, so that a
	// wrong method gets a JSON 405 rather than the mux's text.
	for _, p := range patterns {
		mux.Handle(p, s.handle(methodNotAllowed(strings.Join(allow[p], ", "))))
	}
	mux.Handle("/", s.handle(notFoundRoute))
	return s.middleware(mux)
}
