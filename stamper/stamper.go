package stamper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/tsa"
)

// TSA is a time-stamping authority the stamper asks for tokens
// ([[timestamp.tsa]] in evidenced.toml).
type TSA struct {
	// Name names the TSA in logs and metrics; it should be the name of its
	// anchor in the roster.
	Name string
	// URL is its RFC 3161 HTTP endpoint.
	URL string
	// Hash is the hash algorithm of the imprints asked for; "" is SM3.
	Hash tsa.HashAlg
}

// Config holds a Stamper's settings. Zero values of the optional fields
// take the defaults documented.
type Config struct {
	// TSAs are asked in order: the first, then the next when one fails.
	// At least one is required.
	TSAs []TSA
	// Interval is the least time between two tokens (default 5 s): the
	// latest trusted checkpoint is stamped at most every Interval, when
	// records arrived since the last stamped one.
	Interval time.Duration
	// Timeout bounds each request to a TSA (default 10 s).
	Timeout time.Duration
	// SubmitTimeout bounds a submission until its commit (default 30 s).
	SubmitTimeout time.Duration
	// MinBackoff is the wait after a round in which every TSA failed
	// (default 1 s); it doubles after each failed round up to MaxBackoff
	// (default 1 min), with jitter, and starts over after a token.
	MinBackoff, MaxBackoff time.Duration
	// Client makes the requests; default NewClient(Timeout).
	Client *http.Client
	// Now and After are the clock (default time.Now and time.After): of
	// the interval, the backoff and the metrics, never of a token's time.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Rand returns a uniform random number in [0, n) for n > 0, for the
	// backoff's jitter (default math/rand/v2.Int64N).
	Rand func(n int64) int64
}

// Defaults of Config fields.
const (
	DefaultInterval      = 5 * time.Second
	DefaultTimeout       = 10 * time.Second
	DefaultSubmitTimeout = 30 * time.Second
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = time.Minute
)

// ErrNoCheckpoint is what a Source's Latest wraps when there is no trusted
// checkpoint yet (or no committed state at all): the stamper waits for the
// next commit without a word.
var ErrNoCheckpoint = errors.New("no trusted checkpoint yet")

// Source gives the stamper the node's committed state. Its methods are
// called from the stamper's goroutine only.
type Source interface {
	// Latest returns the latest trusted checkpoint (co-signed by more than
	// 2/3 of the voting power): its height and its text (the C2SP
	// checkpoint text a token's imprint is the hash of). An error wrapping
	// ErrNoCheckpoint means there is none yet.
	Latest(ctx context.Context) (height int64, text string, err error)
	// Stamped reports whether a committed token already stamps the
	// checkpoint of height.
	Stamped(height int64) (bool, error)
	// Anchors returns the TSAs the roster in force trusts. A token is
	// verified against them before it is submitted; with none (a roster
	// without TSAs) it is submitted unverified and the ledger decides.
	Anchors() ([]tsa.Anchor, error)
}

// Stamp is a token to put on chain: a timestamp transaction's payload.
type Stamp struct {
	Height     int64  // the stamped checkpoint's height
	Checkpoint string // its text: the token's imprint is its hash
	TSA        string // the name of the anchor the token verified against (the configured name without anchors)
	Token      []byte // the RFC 3161 TimeStampToken (DER)
}

// SubmitFunc submits a stamp in a timestamp transaction and returns once
// the transaction is committed, or with why it was not.
type SubmitFunc func(ctx context.Context, s Stamp) error

// Result is the outcome of one request to a TSA (the result label of
// evidenced_timestamp_requests_total).
type Result string

// The results of a request.
const (
	ResultOK           Result = "ok"            // a token, verified and committed
	ResultUnreachable  Result = "unreachable"   // no connection (refused, DNS, reset)
	ResultTimeout      Result = "timeout"       // no answer within Config.Timeout
	ResultBadReply     Result = "bad_reply"     // not an RFC 3161 response, an HTTP error, a bad signature or nonce
	ResultWrongImprint Result = "wrong_imprint" // a token over another message
	ResultUntrusted    Result = "untrusted"     // not signed by a TSA the roster trusts (or with a hash it does not allow)
	ResultExpired      Result = "expired"       // a certificate not valid at the token's genTime
	ResultRejected     Result = "rejected"      // the TSA refused the request (its status)
	ResultSubmitFailed Result = "submit_failed" // a good token whose transaction did not commit
)

// Results lists every Result, for metrics that show each from 0.
func Results() []Result {
	return []Result{ResultOK, ResultUnreachable, ResultTimeout, ResultBadReply, ResultWrongImprint,
		ResultUntrusted, ResultExpired, ResultRejected, ResultSubmitFailed}
}

// Metrics records what the stamper does. Its methods must not block.
type Metrics interface {
	// Requested counts a request to the TSA named tsa.
	Requested(tsa string, r Result)
	// Stamped records a committed token: lag is the time from the commit
	// (block time) of the oldest checkpoint with records no earlier token
	// covered to the token's commit.
	Stamped(lag time.Duration)
}

// Stamper requests tokens over trusted checkpoints and submits them.
type Stamper struct {
	conf    Config
	log     *slog.Logger
	src     Source
	submit  SubmitFunc
	metrics Metrics

	wake   chan struct{} // a commit happened (coalesced)
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup
	mu     sync.Mutex
	start  bool

	pendingSince atomic.Int64 // Unix ns of the oldest unstamped checkpoint with new records; 0: none

	// The loop's state (its goroutine only).
	lastSize    uint64    // tree size of the last checkpoint stamped (or found stamped)
	lastToken   time.Time // when the last successful round started
	failures    int       // consecutive failed rounds
	retryAt     time.Time // no round before this after a failure
	sourceErr   string    // the last Source error logged, to log each once
	failedRound bool      // the last round failed: log when tokens resume
}

// New returns a stamper; nothing runs until Start. metrics may be nil.
func New(cfg Config, log *slog.Logger, src Source, submit SubmitFunc, metrics Metrics) *Stamper {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.SubmitTimeout <= 0 {
		cfg.SubmitTimeout = DefaultSubmitTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.Timeout)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Int64N
	}
	cfg.TSAs = append([]TSA(nil), cfg.TSAs...)
	for i := range cfg.TSAs {
		if cfg.TSAs[i].Hash == "" {
			cfg.TSAs[i].Hash = tsa.SM3
		}
	}
	if metrics == nil {
		metrics = nopMetrics{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Stamper{conf: cfg, log: log.With("component", "stamper"), src: src, submit: submit, metrics: metrics,
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

// NewClient returns the HTTP client of TSA requests: it follows no
// redirect (a 3xx is a bad reply), and bounds dialling, the TLS handshake
// and the wait for the response headers by timeout, and the response's
// headers to 16 KiB (tsa.Request bounds the body). It uses the proxy of
// the environment (HTTPS_PROXY, NO_PROXY), as a TSA on the internet may be
// reachable only through one.
func NewClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           4,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Start starts the stamper's goroutine. It fails when there is no TSA or
// the stamper was started or closed before.
func (s *Stamper) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.start:
		return errors.New("stamper: already started")
	case s.ctx.Err() != nil:
		return errors.New("stamper: closed")
	case len(s.conf.TSAs) == 0:
		return errors.New("stamper: no TSA configured: add a [[timestamp.tsa]] with name, url and hash to evidenced.toml")
	}
	s.start = true
	names := make([]string, len(s.conf.TSAs))
	for i, t := range s.conf.TSAs {
		names[i] = t.Name + " " + t.URL + " (" + string(t.Hash) + ")"
	}
	s.log.Info("stamping trusted checkpoints with RFC 3161 tokens", "tsas", names, "interval", s.conf.Interval, "timeout", s.conf.Timeout)
	s.bg.Go(s.run)
	s.Committed() // a first look, in case nothing commits for a while
	return nil
}

// Close stops the stamper and waits for its goroutine; a request or a
// submission in flight is cancelled.
func (s *Stamper) Close() error {
	s.cancel()
	s.bg.Wait()
	if tr, ok := s.conf.Client.Transport.(interface{ CloseIdleConnections() }); ok {
		tr.CloseIdleConnections()
	}
	return nil
}

// Committed tells the stamper a block committed. It never blocks, so the
// node calls it on the consensus goroutine (abci.Options.OnCommit).
func (s *Stamper) Committed() {
	select {
	case s.wake <- struct{}{}:
	default: // already awake
	}
}

// Pending returns the age of the oldest trusted checkpoint with records
// that no token covers yet (0 when every one is covered), by Config.Now
// against its block time (evidenced_timestamp_pending_seconds).
func (s *Stamper) Pending() time.Duration {
	since := s.pendingSince.Load()
	if since == 0 {
		return 0
	}
	return max(0, s.conf.Now().Sub(time.Unix(0, since)))
}

func (s *Stamper) run() {
	for {
		wait := s.step(s.ctx)
		var timer <-chan time.Time
		if wait >= 0 {
			timer = s.conf.After(wait)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer:
		}
	}
}

// forWake is step's answer when nothing is due until the next commit.
const forWake = -1

// step does what is due and returns how long to wait before the next
// step (forWake: until the next commit).
func (s *Stamper) step(ctx context.Context) time.Duration {
	height, text, err := s.src.Latest(ctx)
	if ctx.Err() != nil {
		return forWake
	}
	if errors.Is(err, ErrNoCheckpoint) {
		return forWake
	}
	if err != nil {
		s.sourceFailed("cannot read the latest trusted checkpoint; the stamper tries again after the next commit", err)
		return forWake
	}
	cp, err := ledger.ParseCheckpoint([]byte(text))
	if err != nil {
		s.sourceFailed(fmt.Sprintf("the latest trusted checkpoint (height %d) does not parse; the stamper tries again after the next commit", height), err)
		return forWake
	}
	if cp.Size <= s.lastSize {
		s.pendingSince.Store(0)
		return forWake // no record since the last stamped checkpoint
	}
	stamped, err := s.src.Stamped(height)
	if err != nil {
		s.sourceFailed(fmt.Sprintf("cannot read whether the checkpoint of height %d is stamped; the stamper tries again after the next commit", height), err)
		return forWake
	}
	s.sourceErr = ""
	if stamped {
		s.lastSize = cp.Size
		s.pendingSince.Store(0)
		return forWake
	}
	if s.pendingSince.Load() == 0 {
		s.pendingSince.Store(cp.Time.UnixNano())
	}
	now := s.conf.Now()
	due := s.retryAt
	if !s.lastToken.IsZero() {
		due = later(due, s.lastToken.Add(s.conf.Interval))
	}
	if now.Before(due) {
		return due.Sub(now)
	}
	if s.round(ctx, height, text, cp.Size, now) {
		s.failures, s.retryAt = 0, time.Time{}
		return forWake
	}
	if ctx.Err() != nil {
		return forWake
	}
	s.failures++
	wait := s.backoff(s.failures)
	s.retryAt = s.conf.Now().Add(wait)
	return wait
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// backoff returns the wait after n consecutive failed rounds:
// MinBackoff·2^(n-1), at most MaxBackoff, less up to a quarter of it at
// random (so that stampers retrying together drift apart).
func (s *Stamper) backoff(n int) time.Duration {
	b := s.conf.MinBackoff
	for i := 1; i < n && b < s.conf.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, s.conf.MaxBackoff)
	if q := int64(b / 4); q > 0 {
		b -= time.Duration(s.conf.Rand(q))
	}
	return b
}

// sourceFailed logs a Source error once until it changes or a read
// succeeds.
func (s *Stamper) sourceFailed(msg string, err error) {
	if e := err.Error(); e != s.sourceErr {
		s.sourceErr = e
		s.log.Warn(msg, "err", err)
	}
}

// round asks the TSAs in order for a token over the checkpoint, verifies
// and submits the first good one, and reports whether one committed.
func (s *Stamper) round(ctx context.Context, height int64, text string, size uint64, start time.Time) bool {
	anchors, err := s.src.Anchors()
	if err != nil {
		s.log.Warn("cannot read the roster's TSA anchors to verify tokens; retrying", "height", height, "err", err)
		return false
	}
	for _, t := range s.conf.TSAs {
		st, res, err := s.obtain(ctx, t, anchors, height, text)
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			s.metrics.Requested(t.Name, res)
			s.log.Warn("the time-stamping authority gave no usable token: "+hint(res),
				"tsa", t.Name, "url", t.URL, "result", string(res), "height", height, "err", err)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, s.conf.SubmitTimeout)
		err = s.submit(sctx, *st)
		cancel()
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			s.metrics.Requested(t.Name, ResultSubmitFailed)
			s.log.Warn("the token is good but its timestamp transaction did not commit: "+hint(ResultSubmitFailed),
				"tsa", t.Name, "url", t.URL, "result", string(ResultSubmitFailed), "height", height, "err", err)
			return false // the token was fine: the next round asks again, from the first TSA
		}
		s.metrics.Requested(t.Name, ResultOK)
		now := s.conf.Now()
		if since := s.pendingSince.Load(); since != 0 {
			s.metrics.Stamped(max(0, now.Sub(time.Unix(0, since))))
		}
		s.pendingSince.Store(0)
		s.lastSize, s.lastToken = size, start
		if s.failedRound {
			s.log.Info("time-stamp tokens resumed", "tsa", t.Name, "url", t.URL, "height", height)
		}
		s.failedRound = false
		s.log.Debug("stamped a trusted checkpoint", "tsa", st.TSA, "url", t.URL, "height", height, "size", size)
		return true
	}
	s.failedRound = true
	return false
}

// obtain asks t for a token over text and verifies it against anchors
// (when there are any).
func (s *Stamper) obtain(ctx context.Context, t TSA, anchors []tsa.Anchor, height int64, text string) (*Stamp, Result, error) {
	rctx, cancel := context.WithTimeout(ctx, s.conf.Timeout)
	defer cancel()
	tok, err := tsa.Request(rctx, s.conf.Client, t.URL, t.Hash, []byte(text))
	if err != nil {
		return nil, classify(err), err
	}
	name := t.Name
	if len(anchors) > 0 {
		st, err := tok.Verify(anchors, []byte(text))
		if err != nil {
			return nil, classify(err), fmt.Errorf("verify the token against the roster's TSA anchors: %w", err)
		}
		name = st.TSA
	}
	return &Stamp{Height: height, Checkpoint: text, TSA: name, Token: tok.Raw()}, ResultOK, nil
}

// classify maps an error of tsa.Request or Token.Verify to a Result.
func classify(err error) Result {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ResultTimeout
	case errors.Is(err, tsa.ErrRejected):
		return ResultRejected
	case errors.Is(err, tsa.ErrImprint):
		return ResultWrongImprint
	case errors.Is(err, tsa.ErrExpired):
		return ResultExpired
	case errors.Is(err, tsa.ErrUntrusted), errors.Is(err, tsa.ErrHashAlg):
		return ResultUntrusted
	case errors.Is(err, tsa.ErrMalformed), errors.Is(err, tsa.ErrSignature):
		return ResultBadReply
	}
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &oe) || errors.As(err, &de) {
		return ResultUnreachable
	}
	return ResultBadReply // an HTTP error status, a body cut short, …
}

// hint says what an operator can do about a result.
func hint(r Result) string {
	switch r {
	case ResultUnreachable:
		return "no connection to the TSA; check that it runs, the url in [[timestamp.tsa]], and that this node reaches it (firewall, proxy); retrying with backoff"
	case ResultTimeout:
		return "the TSA did not answer within timestamp.timeout; check its load and the network, or raise timestamp.timeout; retrying with backoff"
	case ResultBadReply:
		return "the reply is not a valid RFC 3161 time-stamp response; check that the url is the TSA's RFC 3161 endpoint (not a web page or a redirect) and tell the TSA's operator; retrying with backoff"
	case ResultWrongImprint:
		return "the token is over another message than the checkpoint asked for (a faulty TSA, or something between this node and it answering with another reply); tell the TSA's operator; retrying with backoff"
	case ResultUntrusted:
		return "the token is not signed by a TSA the roster trusts with this hash; the TSA's certificate must chain to a TSA anchor of the roster (genesis tsas, or an add-tsa proposal) that allows the hash in [[timestamp.tsa]]; check the url, hash and name; retrying with backoff"
	case ResultExpired:
		return "the TSA's certificate was not valid at the token's time; the TSA must renew its certificate and the alliance trust the new one (an add-tsa proposal), or remove this TSA from [[timestamp.tsa]]; retrying with backoff"
	case ResultRejected:
		return "the TSA refused the request; check that it supports the hash in [[timestamp.tsa]] and that this node may use it (account, policy); retrying with backoff"
	case ResultSubmitFailed:
		return "see err; the next round asks for a new token, with backoff"
	}
	return "retrying with backoff"
}

type nopMetrics struct{}

func (nopMetrics) Requested(string, Result) {}
func (nopMetrics) Stamped(time.Duration)    {}
