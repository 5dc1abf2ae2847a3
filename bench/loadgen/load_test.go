package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
)

// fakeAPI is an in-memory stand-in for an evidenced node's API: every
// accepted transaction is committed at once; the first unavailable
// submissions get a 503; a receipt is served on its second poll.
type fakeAPI struct {
	mu          sync.Mutex
	logSize     uint64
	accepted    int64
	unavailable int
	served503   int
	commits     int
	polls       map[string]int
}

func (f *fakeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /v1/txs", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.unavailable > 0 {
			f.unavailable--
			f.served503++
			writeJSON(w, http.StatusServiceUnavailable, client.ErrorResponse{Error: &client.Error{Status: 503, Code: client.CodeUnavailable, Message: "mempool is full"}})
			return
		}
		f.logSize++
		f.accepted++
		id := crypto.SM3(body)
		if r.URL.Query().Get("wait") == client.WaitCommit {
			f.commits++
			writeJSON(w, http.StatusOK, client.SubmitResult{TxID: id, Status: client.StatusCommitted, Index: f.logSize - 1,
				Height: 5, Time: time.Now().UTC(), Signer: "bank", Type: "evidence", Chains: []string{"B"}})
			return
		}
		writeJSON(w, http.StatusAccepted, client.SubmitResult{TxID: id, Status: client.StatusPending})
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, http.StatusOK, client.Status{ChainID: "bench-chain", Height: int64(f.logSize), LogSize: f.logSize, Records: f.logSize,
			BlockTime: time.Now().UTC(), Validators: 4})
	})
	mux.HandleFunc("GET /v1/evidence/{id}/receipt", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id := r.PathValue("id")
		f.polls[id]++
		if f.polls[id] < 2 {
			w.Header().Set("Retry-After", "2")
			writeJSON(w, http.StatusServiceUnavailable, client.ErrorResponse{Error: &client.Error{Status: 503, Code: client.CodeUnavailable, Message: "no trusted checkpoint covers it yet"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"version": "1"})
	})
	return mux
}

// testConfig returns a short run's config against targets.
func testConfig(mode string, targets ...string) *config {
	c := defaultConfig()
	c.mode, c.targets = mode, targets
	c.warmup, c.duration = 50*time.Millisecond, 300*time.Millisecond
	c.concurrency, c.maxSampling = 4, 8
	c.backoff, c.receiptPoll, c.receiptTimeout = 5*time.Millisecond, 5*time.Millisecond, 2*time.Second
	c.drain, c.commitTimeout = 3*time.Second, 3*time.Second
	return &c
}

// fakePool returns n distinct dummy transactions.
func fakePool(n int) [][]byte {
	p := make([][]byte, n)
	for i := range p {
		p[i] = []byte(fmt.Sprintf("tx-%d", i))
	}
	return p
}

// driveFake runs drive against a fakeAPI and returns the result and the fake.
func driveFake(t *testing.T, cfg func(*config), poolN int) (*result, *fakeAPI) {
	t.Helper()
	f := &fakeAPI{unavailable: 3, polls: map[string]int{}}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	c := testConfig(modeSigned, srv.URL, srv.URL+"/")
	cfg(c)
	hc := srv.Client()
	sub, err := newAPISubmitter(c.targets, hc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := drive(context.Background(), c, sub, apiMeter{c: sub.clients[0]}, hc, fakePool(poolN), func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	return res, f
}

func TestDriveClosedLoop(t *testing.T) {
	res, f := driveFake(t, func(c *config) {
		c.latencySample, c.receiptLag = 10, true
	}, 200_000)
	f.mu.Lock()
	defer f.mu.Unlock()
	if got, want := res.TxsCommitted, int64(res.End.LogSize-res.Start.LogSize); got != want || got <= 0 {
		t.Errorf("txs committed %d, want the log growth %d (> 0)", got, want)
	}
	if res.RecordsCommitted != res.TxsCommitted || res.RecordsPerTx != 1 {
		t.Errorf("records %d for %d txs of %d records", res.RecordsCommitted, res.TxsCommitted, res.RecordsPerTx)
	}
	// A submission in flight when the window closes may be accepted by the
	// node after the submitter stopped waiting for the answer.
	if res.Submitted > f.accepted || f.accepted > res.Submitted+int64(testConfig(modeSigned).concurrency) {
		t.Errorf("submitted %d, the node accepted %d", res.Submitted, f.accepted)
	}
	if res.Errors[errUnavailable] != int64(f.served503) || f.served503 != 3 {
		t.Errorf("errors %v, the node answered 503 %d times (want 3 counted)", res.Errors, f.served503)
	}
	// Apart from the 503s, only skipped latency samples may be counted:
	// how many depends on how fast the machine answers the timed ones.
	if n := len(res.Errors); n != 1 && (n != 2 || res.Errors["sample_skipped"] == 0) {
		t.Errorf("errors %v, want only the 503s (and skipped samples)", res.Errors)
	}
	// One receipt per timed tx, up to --receipt-max.
	if wantReceipts := min(res.Latency.N, testConfig(modeSigned).receiptMax); res.Latency.N == 0 || res.Latency.N > f.commits || res.ReceiptLag.N != wantReceipts {
		t.Errorf("latency n=%d, receipt lag n=%d, commits %d: want 0 < latency n ≤ commits and one receipt per timed tx up to %d",
			res.Latency.N, res.ReceiptLag.N, f.commits, wantReceipts)
	}
	if res.ReceiptLag.P50 < 4 {
		t.Errorf("receipt lag p50 %v ms: the receipt is served on the second poll, ≥ 5 ms after the commit", res.ReceiptLag.P50)
	}
	if res.RecordsPerS <= 0 || res.DurationS <= 0 || res.PoolExhausted {
		t.Errorf("records/s %v over %v s, exhausted %v", res.RecordsPerS, res.DurationS, res.PoolExhausted)
	}
}

func TestDriveOpenLoopKeepsPace(t *testing.T) {
	const rate = 400.0
	var cfg *config
	res, f := driveFake(t, func(c *config) {
		c.rate, c.warmup, c.duration = rate, 0, 500*time.Millisecond
		cfg = c
	}, 1000)
	f.mu.Lock()
	defer f.mu.Unlock()
	// However fast the node, no more is sent than is due by the window's
	// end, give or take the submissions in flight when it closed (a loaded
	// machine may schedule the stop late).
	due := int64(rate*cfg.duration.Seconds()) + 1 + int64(cfg.concurrency)
	if f.accepted == 0 || f.accepted > due {
		t.Errorf("the node accepted %d transactions in %v at %v/s, want 1 to %d", f.accepted, cfg.duration, rate, due)
	}
	if res.Rate != rate || res.Submitted > f.accepted || res.Submitted == 0 {
		t.Errorf("result rate %v submitted %d; node accepted %d", res.Rate, res.Submitted, f.accepted)
	}
}

func TestDrivePoolExhausted(t *testing.T) {
	res, f := driveFake(t, func(*config) {}, 20)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !res.PoolExhausted || f.accepted != 20 || res.Submitted != 20 {
		t.Errorf("exhausted %v, accepted %d, submitted %d; want true, 20, 20", res.PoolExhausted, f.accepted, res.Submitted)
	}
	if !strings.Contains(res.summary(), "POOL EXHAUSTED") {
		t.Errorf("summary %q does not warn of the exhausted pool", res.summary())
	}
}

// fakeRPC is a stand-in for CometBFT's JSON-RPC: /blockchain lists block
// metas with num_txs = height (as CometBFT, in strings, highest first);
// broadcast_tx_async says the mempool is full once.
type fakeRPC struct {
	mu        sync.Mutex
	full      int
	broadcast int
}

func (f *fakeRPC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method string            `json:"method"`
		Params map[string]string `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.URL.Path != "/" { // as CometBFT answers a JSON-RPC POST to another path
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Invalid Request","data":"path %s is invalid"}}`, r.URL.Path)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	write := func(result string) { fmt.Fprintf(w, `{"jsonrpc":"2.0","id":1,"result":%s}`, result) }
	switch req.Method {
	case "status":
		write(`{"sync_info":{"latest_block_height":"47","latest_block_time":"2026-11-01T00:00:10Z"}}`)
	case "blockchain":
		var lo, hi int
		fmt.Sscan(req.Params["minHeight"], &lo)
		fmt.Sscan(req.Params["maxHeight"], &hi)
		var metas []string
		for h := hi; h >= lo; h-- {
			metas = append(metas, fmt.Sprintf(`{"num_txs":"%d","header":{"height":"%d","time":"2026-11-01T00:00:00Z"}}`, h, h))
		}
		write(`{"last_height":"47","block_metas":[` + strings.Join(metas, ",") + `]}`)
	case "broadcast_tx_async":
		if f.full > 0 {
			f.full--
			fmt.Fprint(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error","data":"mempool is full: number of txs 5000 (max: 5000)"}}`)
			return
		}
		f.broadcast++
		write(`{"code":0,"data":"","log":"","hash":"AB"}`)
	case "broadcast_tx_commit":
		write(`{"check_tx":{"code":0},"tx_result":{"code":0},"hash":"ABCD","height":"9"}`)
	default:
		fmt.Fprint(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}`)
	}
}

func TestRPCMeter(t *testing.T) {
	srv := httptest.NewServer(&fakeRPC{})
	defer srv.Close()
	m := rpcMeter{hc: srv.Client(), base: srv.URL}
	mk, err := m.mark(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if mk.Height != 47 || !mk.BlockTime.Equal(time.Date(2026, 11, 1, 0, 0, 10, 0, time.UTC)) {
		t.Errorf("mark = %+v, want height 47 at 00:00:10", mk)
	}
	tests := []struct {
		name     string
		from, to int64
		want     int64
	}{
		{"nothing new", 47, 47, 0},
		{"one block", 46, 47, 47},
		{"three pages (sum 4..47)", 3, 47, 47*48/2 - 3*4/2},
		{"exactly one page", 0, 20, 20 * 21 / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.committed(context.Background(), mark{Height: tt.from}, mark{Height: tt.to})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("committed(%d, %d] = %d, want %d", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestRPCSubmitter(t *testing.T) {
	f := &fakeRPC{full: 1}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := &rpcSubmitter{targets: []string{srv.URL}, hc: srv.Client(), backoff: 7 * time.Millisecond}
	ctx := context.Background()
	tests := []struct {
		name   string
		commit bool
		want   outcome
	}{
		{"full mempool backs off", false, outcome{errClass: errUnavailable, retryAfter: 7 * time.Millisecond}},
		{"async accepted", false, outcome{}},
		{"commit accepted", true, outcome{txID: "abcd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.submit(ctx, 0, []byte("k1=v1"), tt.commit); got != tt.want {
				t.Errorf("submit = %+v, want %+v", got, tt.want)
			}
		})
	}
	bad := &rpcSubmitter{targets: []string{srv.URL + "/nowhere"}, hc: srv.Client()}
	if got := bad.submit(ctx, 0, []byte("k=v"), false); got.errClass != errRPC {
		t.Errorf("submit to a bad path = %+v, want %s", got, errRPC)
	}
	html := httptest.NewServer(http.NotFoundHandler())
	defer html.Close()
	notRPC := &rpcSubmitter{targets: []string{html.URL}, hc: html.Client()}
	if got := notRPC.submit(ctx, 0, []byte("k=v"), false); got.errClass != errBadResponse {
		t.Errorf("submit to a non-RPC server = %+v, want %s", got, errBadResponse)
	}
	html.Close()
	if got := notRPC.submit(ctx, 0, []byte("k=v"), false); got.errClass != errUnreachable {
		t.Errorf("submit to a closed server = %+v, want %s", got, errUnreachable)
	}
}

func TestCountTxsRejectsWrongPages(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"too few blocks", `{"block_metas":[{"num_txs":"1","header":{"height":"5"}}]}`},
		{"height outside the range", `{"block_metas":[{"num_txs":"1","header":{"height":"9"}},{"num_txs":"1","header":{"height":"5"}}]}`},
		{"height twice", `{"block_metas":[{"num_txs":"1","header":{"height":"5"}},{"num_txs":"1","header":{"height":"5"}}]}`},
		{"negative count", `{"block_metas":[{"num_txs":"-1","header":{"height":"5"}},{"num_txs":"1","header":{"height":"6"}}]}`},
		{"not JSON", `<html>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, err := countTxs([]byte(tt.raw), 5, 6); err == nil {
				t.Errorf("countTxs = %d, nil; want an error", n)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	good, err := parseFlags(strings.Fields("--mode batch --targets http://a:1/,http://b:2 --key k.pem --rate 5000 --batch-size 500 --latency-sample 10 --receipt-lag"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if good.mode != modeBatch || len(good.targets) != 2 || good.targets[0] != "http://a:1" || good.rate != 5000 ||
		good.recordsPerTx() != 500 || good.latencySample != 10 || !good.receiptLag || good.duration != 30*time.Second {
		t.Errorf("parsed %+v", good)
	}
	for _, args := range []string{
		"--mode fast --targets http://a:1 --key k",
		"--mode signed --key k",
		"--mode signed --targets a:1 --key k",
		"--mode signed --targets http://a:1",
		"--mode kv --targets http://a:1 --latency-sample 5 --receipt-lag",
		"--mode signed --targets http://a:1 --key k --receipt-lag",
		"--mode batch --targets http://a:1 --key k --batch-size 5000",
		"--mode kv --targets http://a:1 --rate -1",
		"--mode kv --targets http://a:1 --concurrency 0",
		"--mode kv --targets http://a:1 extra",
		"--mode kv --targets http://a:1 --no-such-flag",
	} {
		t.Run(args, func(t *testing.T) {
			if _, err := parseFlags(strings.Fields(args), io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
				t.Errorf("parseFlags(%q) error = %v, want a usage error", args, err)
			}
		})
	}
}

func TestResultWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		blockSpan  time.Duration // 0: no block times
		wallSpan   time.Duration
		wantWindow float64
		wantClock  string
		wantRate   float64
	}{
		{"healthy chain: block time", 31 * time.Second, 30 * time.Second, 31, "block", 100},
		{"stalled chain: wall clock", 2 * time.Second, 30 * time.Second, 30, "wall", 3100.0 / 30},
		{"no block times: wall clock", 0, 20 * time.Second, 20, "wall", 155},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(modeBatch)
			c.batchSize = 10
			e := newEngine(c, nil, nil, nil, t0)
			// The chain's records counter, not txs × batch size, is what counts.
			a := mark{Wall: t0, Records: 500}
			b := mark{Wall: t0.Add(tt.wallSpan), Records: 3600}
			if tt.blockSpan > 0 {
				a.BlockTime, b.BlockTime = t0, t0.Add(tt.blockSpan)
			}
			r := e.result(a, b, 310)
			if r.DurationS != tt.wantWindow || r.WindowClock != tt.wantClock || r.RecordsCommitted != 3100 || r.RecordsPerS != round3(tt.wantRate) {
				t.Errorf("window %v s by %s, %d records at %v/s; want %v s by %s, 3100 at %v/s",
					r.DurationS, r.WindowClock, r.RecordsCommitted, r.RecordsPerS, tt.wantWindow, tt.wantClock, round3(tt.wantRate))
			}
		})
	}
}
