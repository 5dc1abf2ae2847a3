package stamper_test

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/stamper"
	"github.com/evidenced/evidenced/tsa"
)

// t0 is the fake clock's start; checkpoints are committed 2 s before it.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// fakeClock is the stamper's clock: After's channels fire on Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = kept
}

// waiting reports whether a timer is set to fire at at.
func (c *fakeClock) waiting(at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.timers, func(t fakeTimer) bool { return t.at.Equal(at) })
}

// fakeSource is committed state: the latest trusted checkpoint, the
// stamped heights (submit marks them, as the ledger would) and anchors.
type fakeSource struct {
	mu      sync.Mutex
	height  int64
	text    string
	stamped map[int64]bool
	anchors []tsa.Anchor
	latest  int // calls of Latest
}

func (f *fakeSource) set(height int64, size uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.height = height
	f.text = string(ledger.CheckpointText("evidenced-test", size, crypto.Hash{byte(size)}, height, t0.Add(-2*time.Second).UnixNano()))
}

func (f *fakeSource) Latest(context.Context) (int64, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latest++
	if f.text == "" {
		return 0, "", fmt.Errorf("latest: %w", stamper.ErrNoCheckpoint)
	}
	return f.height, f.text, nil
}

func (f *fakeSource) Stamped(h int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stamped[h], nil
}

func (f *fakeSource) Anchors() ([]tsa.Anchor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.anchors, nil
}

func (f *fakeSource) calls() int { f.mu.Lock(); defer f.mu.Unlock(); return f.latest }

// fakeMetrics counts requests by "tsa/result" and keeps the lags.
type fakeMetrics struct {
	mu   sync.Mutex
	reqs map[string]int
	lags []time.Duration
}

func (m *fakeMetrics) Requested(name string, r stamper.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reqs[name+"/"+string(r)]++
}

func (m *fakeMetrics) Stamped(lag time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lags = append(m.lags, lag)
}

func (m *fakeMetrics) count(key string) int { m.mu.Lock(); defer m.mu.Unlock(); return m.reqs[key] }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// harness is a stamper over fakes.
type harness struct {
	t       *testing.T
	s       *stamper.Stamper
	src     *fakeSource
	clock   *fakeClock
	metrics *fakeMetrics
	logs    *syncBuffer

	mu        sync.Mutex
	submits   []stamper.Stamp
	submitErr error // returned by the next submit, then cleared
}

func newHarness(t *testing.T, cfg stamper.Config, anchors ...tsa.Anchor) *harness {
	t.Helper()
	h := &harness{t: t, src: &fakeSource{stamped: map[int64]bool{}, anchors: anchors}, clock: &fakeClock{now: t0},
		metrics: &fakeMetrics{reqs: map[string]int{}}, logs: &syncBuffer{}}
	cfg.Now, cfg.After = h.clock.Now, h.clock.After
	cfg.Rand = func(int64) int64 { return 0 }
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.s = stamper.New(cfg, log, h.src, h.submit, h.metrics)
	t.Cleanup(func() {
		if err := h.s.Close(); err != nil {
			t.Error(err)
		}
		if strings.Contains(h.logs.String(), "level=ERROR") {
			t.Errorf("the stamper logged an ERROR:\n%s", h.logs)
		}
	})
	return h
}

func (h *harness) submit(_ context.Context, s stamper.Stamp) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.submitErr; err != nil {
		h.submitErr = nil
		return err
	}
	h.submits = append(h.submits, s)
	h.src.mu.Lock()
	h.src.stamped[s.Height] = true
	h.src.mu.Unlock()
	return nil
}

func (h *harness) stamps() []stamper.Stamp {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.submits)
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.s.Start(); err != nil {
		h.t.Fatal(err)
	}
}

// poll fails the test unless cond holds within 10 s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settle signals commits until the stamper has finished a step begun
// after this call: Latest is called at the start of each step, and wake-ups
// are coalesced, so the second new call of Latest means the first step
// completed.
func (h *harness) settle() {
	h.t.Helper()
	n := h.src.calls()
	for i := 1; i <= 2; i++ {
		h.s.Committed()
		poll(h.t, "a step of the stamper", func() bool { return h.src.calls() >= n+i })
	}
}

// devTSA serves a development authority named name over HTTP.
func devTSA(t *testing.T, name string) (*tsa.Authority, *httptest.Server) {
	t.Helper()
	a, err := tsa.NewAuthority(tsa.SM2, name, t0.Add(-time.Hour), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return a, srv
}

func anchor(a *tsa.Authority, name string) tsa.Anchor {
	an := a.Anchor()
	an.Name = name
	return an
}

// closedURL returns the URL of a port nothing listens on (connection refused).
func closedURL(t *testing.T) (string, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/", addr
}

// TestStampsOnce: a new trusted checkpoint is stamped once, by a token
// that verifies against the anchor, the lag is recorded, and neither the
// same checkpoint nor a later one without new records is stamped again.
func TestStampsOnce(t *testing.T) {
	a, srv := devTSA(t, "evidenced dev TSA")
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: srv.URL, Hash: tsa.SM3}}}, anchor(a, "dev"))
	h.src.set(3, 5)
	h.start()
	poll(t, "a stamp", func() bool { return len(h.stamps()) == 1 })
	st := h.stamps()[0]
	h.src.mu.Lock()
	text := h.src.text
	h.src.mu.Unlock()
	if st.Height != 3 || st.Checkpoint != text || st.TSA != "dev" {
		t.Fatalf("stamp = %+v, want height 3, the checkpoint's text, TSA dev", st)
	}
	tok, err := tsa.ParseToken(st.Token)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := tok.Verify([]tsa.Anchor{anchor(a, "dev")}, []byte(text))
	if err != nil || vs.Hash != tsa.SM3 {
		t.Fatalf("the submitted token: %+v, %v", vs, err)
	}
	if got := h.metrics.count("dev/ok"); got != 1 {
		t.Fatalf("dev/ok = %d, want 1", got)
	}
	h.metrics.mu.Lock()
	lags := slices.Clone(h.metrics.lags)
	h.metrics.mu.Unlock()
	if len(lags) != 1 || lags[0] != 2*time.Second {
		t.Fatalf("lags = %v, want [2s] (checkpoint committed 2 s before the token)", lags)
	}
	if p := h.s.Pending(); p != 0 {
		t.Fatalf("Pending = %v after the stamp, want 0", p)
	}

	h.settle()
	h.src.set(4, 5) // an empty block: no new record
	h.clock.Advance(time.Minute)
	h.settle()
	if n := len(h.stamps()); n != 1 {
		t.Fatalf("%d stamps, want 1: nothing new to stamp", n)
	}
	if strings.Contains(h.logs.String(), "level=WARN") {
		t.Fatalf("a healthy stamper warned:\n%s", h.logs)
	}
}

// TestInterval: a checkpoint with new records waits until Interval has
// passed since the last token.
func TestInterval(t *testing.T) {
	a, srv := devTSA(t, "dev")
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: srv.URL}}, Interval: 5 * time.Second}, a.Anchor())
	h.src.set(1, 1)
	h.start()
	poll(t, "the first stamp", func() bool { return len(h.stamps()) == 1 })
	h.src.set(2, 2)
	h.settle()
	if n := len(h.stamps()); n != 1 {
		t.Fatalf("%d stamps before the interval, want 1", n)
	}
	if !h.clock.waiting(t0.Add(5 * time.Second)) {
		t.Fatal("the stamper does not wait for the end of the interval")
	}
	if p := h.s.Pending(); p != 2*time.Second {
		t.Fatalf("Pending = %v, want 2s (the checkpoint's age)", p)
	}
	h.clock.Advance(4 * time.Second)
	h.settle()
	if n := len(h.stamps()); n != 1 {
		t.Fatalf("%d stamps 4 s after the first, want 1", n)
	}
	h.clock.Advance(time.Second)
	poll(t, "the second stamp", func() bool { return len(h.stamps()) == 2 })
	if st := h.stamps()[1]; st.Height != 2 {
		t.Fatalf("second stamp of height %d, want 2", st.Height)
	}
}

// TestAlreadyStamped: a checkpoint a token on chain already stamps (from
// another stamper) is not stamped again.
func TestAlreadyStamped(t *testing.T) {
	_, srv := devTSA(t, "dev")
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: srv.URL}}})
	h.src.set(7, 3)
	h.src.stamped[7] = true
	h.start()
	h.settle()
	if n := len(h.stamps()); n != 0 || h.metrics.count("dev/ok") != 0 {
		t.Fatalf("%d stamps of a stamped checkpoint, want 0", n)
	}
}

// TestNoCheckpointYet: before the first trusted checkpoint the stamper
// waits quietly.
func TestNoCheckpointYet(t *testing.T) {
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: "http://127.0.0.1:1/"}}})
	h.start()
	h.settle()
	if strings.Contains(h.logs.String(), "level=WARN") || len(h.metrics.reqs) != 0 {
		t.Fatalf("without a checkpoint: requests %v, logs\n%s", h.metrics.reqs, h.logs)
	}
}

// TestTSADownThenBack: a TSA that refuses connections gets a WARN naming
// its URL, a count, and retries after 1 s, 2 s, 4 s; when it is back the
// checkpoint is stamped and the stamper says tokens resumed.
func TestTSADownThenBack(t *testing.T) {
	a, err := tsa.NewAuthority(tsa.ECDSAP256, "dev", t0.Add(-time.Hour), 24*365*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	url, addr := closedURL(t)
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: url, Hash: tsa.SHA256}}}, a.Anchor())
	h.src.set(1, 4)
	h.start()
	now := t0
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		poll(t, fmt.Sprintf("failure %d", i+1), func() bool { return h.metrics.count("dev/unreachable") == i+1 })
		poll(t, fmt.Sprintf("a retry after %v", wait), func() bool { return h.clock.waiting(now.Add(wait)) })
		if i < 2 {
			h.clock.Advance(wait)
			now = now.Add(wait)
		}
	}
	if p := h.s.Pending(); p != 5*time.Second {
		t.Fatalf("Pending = %v after 3 s of outage, want 5s (committed 2 s before the start)", p)
	}
	if n := len(h.stamps()); n != 0 {
		t.Fatalf("%d stamps while the TSA is down", n)
	}
	logs := h.logs.String()
	for _, want := range []string{"level=WARN", "url=" + url, "result=unreachable", "no connection to the TSA", "connection refused"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("logs lack %q:\n%s", want, logs)
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	h.clock.Advance(4 * time.Second)
	poll(t, "the stamp once the TSA is back", func() bool { return len(h.stamps()) == 1 })
	if h.metrics.count("dev/ok") != 1 || h.metrics.count("dev/unreachable") != 3 {
		t.Fatalf("requests = %v, want 3 unreachable then 1 ok", h.metrics.reqs)
	}
	poll(t, "the resumed log line", func() bool { return strings.Contains(h.logs.String(), "time-stamp tokens resumed") })
	if p := h.s.Pending(); p != 0 {
		t.Fatalf("Pending = %v after the stamp", p)
	}
}

// tsReq is RFC 3161's TimeStampReq, to forge replies in tests.
type tsReq struct {
	Version        int
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	ReqPolicy  asn1.ObjectIdentifier `asn1:"optional"`
	Nonce      *big.Int              `asn1:"optional"`
	CertReq    bool                  `asn1:"optional,default:false"`
	Extensions []pkix.Extension      `asn1:"optional,tag:0"`
}

// signing answers each request with the response reply makes of its body.
func signing(t *testing.T, reply func(body []byte) []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		w.Header().Set("Content-Type", tsa.ReplyType)
		w.Write(reply(body))
	})
}

// TestBadTSAs: each way a TSA can fail gets its result, a WARN line
// naming the URL with what the operator can do, no submission, and a
// retry after the backoff.
func TestBadTSAs(t *testing.T) {
	good, err := tsa.NewAuthority(tsa.SM2, "good", t0.Add(-time.Hour), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := tsa.NewAuthority(tsa.SM2, "old", time.Now().Add(-2*365*24*time.Hour), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tsa.NewAuthority(tsa.SM2, "other", t0.Add(-time.Hour), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	for _, tc := range []struct {
		name    string
		handler http.Handler
		anchors []tsa.Anchor
		result  stamper.Result
		log     string
	}{
		{"garbage", signing(t, func([]byte) []byte { return []byte("<html>hello</html>") }), []tsa.Anchor{good.Anchor()},
			stamper.ResultBadReply, "not a valid RFC 3161 time-stamp response"},
		{"HTTP 500", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down for maintenance", 500) }), []tsa.Anchor{good.Anchor()},
			stamper.ResultBadReply, "HTTP 500"},
		{"redirect", http.RedirectHandler("http://example.com/tsa", http.StatusFound), []tsa.Anchor{good.Anchor()},
			stamper.ResultBadReply, "HTTP 302"},
		{"wrong imprint", signing(t, func(body []byte) []byte {
			var q tsReq
			if _, err := asn1.Unmarshal(body, &q); err != nil {
				t.Error(err)
			}
			q.MessageImprint.HashedMessage[0] ^= 1
			b, err := asn1.Marshal(q)
			if err != nil {
				t.Error(err)
			}
			resp, err := good.Sign(b, time.Now())
			if err != nil {
				t.Error(err)
			}
			return resp
		}), []tsa.Anchor{good.Anchor()}, stamper.ResultWrongImprint, "over another message"},
		{"expired", expired.Handler(), []tsa.Anchor{expired.Anchor()}, stamper.ResultExpired, "renew its certificate"},
		{"untrusted", other.Handler(), []tsa.Anchor{good.Anchor()}, stamper.ResultUntrusted, "not signed by a TSA the roster trusts"},
		{"rejected", signing(t, func([]byte) []byte {
			resp, err := good.Sign([]byte{0x30, 0x00}, time.Now())
			if err != nil {
				t.Error(err)
			}
			return resp
		}), []tsa.Anchor{good.Anchor()}, stamper.ResultRejected, "the TSA refused the request"},
		{"slow", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // then the server notices the client leaving
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}), []tsa.Anchor{good.Anchor()}, stamper.ResultTimeout, "did not answer within timestamp.timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "tsa", URL: srv.URL}}, Timeout: 200 * time.Millisecond}, tc.anchors...)
			h.src.set(2, 9)
			h.start()
			key := "tsa/" + string(tc.result)
			poll(t, "the first failure", func() bool { return h.metrics.count(key) == 1 })
			poll(t, "a retry after 1 s", func() bool { return h.clock.waiting(t0.Add(time.Second)) })
			h.clock.Advance(time.Second)
			poll(t, "the retry", func() bool { return h.metrics.count(key) == 2 })
			if n := len(h.stamps()); n != 0 {
				t.Fatalf("%d submissions of a bad token", n)
			}
			if len(h.metrics.reqs) != 1 {
				t.Fatalf("requests = %v, want only %s", h.metrics.reqs, key)
			}
			logs := h.logs.String()
			for _, want := range []string{"level=WARN", "url=" + srv.URL, "result=" + string(tc.result), tc.log} {
				if !strings.Contains(logs, want) {
					t.Fatalf("logs lack %q:\n%s", want, logs)
				}
			}
		})
	}
}

// TestFallback: when the first TSA fails the second stamps, in the same
// round.
func TestFallback(t *testing.T) {
	b, srv := devTSA(t, "second")
	url, _ := closedURL(t)
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "first", URL: url}, {Name: "second", URL: srv.URL}}}, anchor(b, "second-anchor"))
	h.src.set(1, 1)
	h.start()
	poll(t, "a stamp", func() bool { return len(h.stamps()) == 1 })
	if st := h.stamps()[0]; st.TSA != "second-anchor" {
		t.Fatalf("stamp TSA %q, want the anchor's name second-anchor", st.TSA)
	}
	if h.metrics.count("first/unreachable") != 1 || h.metrics.count("second/ok") != 1 || len(h.metrics.reqs) != 2 {
		t.Fatalf("requests = %v", h.metrics.reqs)
	}
}

// TestSubmitFailed: a good token whose transaction does not commit is
// counted submit_failed and asked for again after the backoff.
func TestSubmitFailed(t *testing.T) {
	a, srv := devTSA(t, "dev")
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: srv.URL}}}, a.Anchor())
	h.submitErr = errors.New("the node is overloaded")
	h.src.set(1, 1)
	h.start()
	poll(t, "submit_failed", func() bool { return h.metrics.count("dev/submit_failed") == 1 })
	poll(t, "a retry after 1 s", func() bool { return h.clock.waiting(t0.Add(time.Second)) })
	h.clock.Advance(time.Second)
	poll(t, "the stamp", func() bool { return len(h.stamps()) == 1 })
	if !strings.Contains(h.logs.String(), "the node is overloaded") {
		t.Fatalf("the WARN does not say why:\n%s", h.logs)
	}
}

// TestCloseStopsPromptly: Close cancels a request in flight.
func TestCloseStopsPromptly(t *testing.T) {
	entered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the client leaving
		entered <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: srv.URL}}, Timeout: time.Hour})
	h.src.set(1, 1)
	h.start()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the TSA")
	}
	done := make(chan error, 1)
	go func() { done <- h.s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5 s of a request in flight")
	}
	if len(h.metrics.reqs) != 0 || strings.Contains(h.logs.String(), "level=WARN") {
		t.Fatalf("Close counted or warned: %v\n%s", h.metrics.reqs, h.logs)
	}
}

// TestCommittedNeverBlocks: commits signalled faster than the stamper
// runs coalesce.
func TestCommittedNeverBlocks(t *testing.T) {
	h := newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: "http://127.0.0.1:1/"}}})
	for range 10000 {
		h.s.Committed()
	}
}

func TestStartErrors(t *testing.T) {
	h := newHarness(t, stamper.Config{})
	if err := h.s.Start(); err == nil || !strings.Contains(err.Error(), "[[timestamp.tsa]]") {
		t.Fatalf("Start without TSAs = %v", err)
	}
	h = newHarness(t, stamper.Config{TSAs: []stamper.TSA{{Name: "dev", URL: "http://127.0.0.1:1/"}}})
	h.start()
	if err := h.s.Start(); err == nil {
		t.Fatal("a second Start succeeded")
	}
}
