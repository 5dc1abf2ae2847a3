package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
)

// Modes.
const (
	modeSigned = "signed"
	modeBatch  = "batch"
	modeKV     = "kv"
)

// ErrUsage is wrapped by every error in the flags: see loadgen -h.
var ErrUsage = errors.New("usage")

// config is everything a run needs, bound from the flags.
type config struct {
	mode           string
	targets        []string
	keyFile        string
	chainID        string
	duration       time.Duration
	warmup         time.Duration
	rate           float64 // records/s; 0: closed loop
	concurrency    int
	batchSize      int
	bundle         int // signed mode: individually signed txs per POST /v1/bundles; 0 or 1 = POST /v1/txs each
	latencySample  int
	receiptLag     bool
	receiptMax     int
	receiptPoll    time.Duration
	receiptTimeout time.Duration
	maxSampling    int
	commitTimeout  time.Duration
	drain          time.Duration
	backoff        time.Duration
	maxTxs         int
	out            string
	quiet          bool
}

// defaultConfig returns the flag defaults.
func defaultConfig() config {
	return config{
		mode: modeSigned, duration: 30 * time.Second, warmup: 5 * time.Second, concurrency: 32,
		batchSize: 1000, latencySample: 0, receiptMax: 200, receiptPoll: 50 * time.Millisecond,
		receiptTimeout: 30 * time.Second, maxSampling: 64, commitTimeout: 30 * time.Second,
		drain: 15 * time.Second, backoff: defaultBackoff,
	}
}

// recordsPerTx is how many evidence records one submission of the mode
// holds: a batch transaction's records, or a bundle's signed transactions.
func (c *config) recordsPerTx() int {
	switch {
	case c.mode == modeBatch:
		return c.batchSize
	case c.mode == modeSigned && c.bundle > 1:
		return c.bundle
	}
	return 1
}

// validate checks the flags and their combinations.
func (c *config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
	}
	if !slices.Contains([]string{modeSigned, modeBatch, modeKV}, c.mode) {
		return bad("--mode %q: want signed, batch or kv", c.mode)
	}
	if len(c.targets) == 0 {
		return bad("--targets is empty: list API base URLs (signed, batch) or CometBFT RPC URLs (kv), comma-separated")
	}
	for _, t := range c.targets {
		if !strings.HasPrefix(t, "http://") && !strings.HasPrefix(t, "https://") {
			return bad("target %q: want a URL like http://127.0.0.1:26602", t)
		}
	}
	if c.mode != modeKV && c.keyFile == "" {
		return bad("--key is required in %s mode: the bank client key (client_key in alliance.json)", c.mode)
	}
	if c.mode == modeKV && c.receiptLag {
		return bad("--receipt-lag needs an evidenced node: kvstore has no receipts")
	}
	if c.receiptLag && c.latencySample <= 0 {
		return bad("--receipt-lag follows the timed transactions: set --latency-sample too")
	}
	if c.duration <= 0 || c.warmup < 0 {
		return bad("--duration must be positive and --warmup not negative")
	}
	if c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0) {
		return bad("--rate %v: want records per second, or 0 for as fast as the nodes take", c.rate)
	}
	if c.concurrency < 1 || c.concurrency > 4096 {
		return bad("--concurrency %d: want 1 to 4096", c.concurrency)
	}
	if c.mode == modeBatch && (c.batchSize < 1 || c.batchSize > ledger.DefaultMaxBatchRecords) {
		return bad("--batch-size %d: want 1 to %d (the chain's default max_batch_records)", c.batchSize, ledger.DefaultMaxBatchRecords)
	}
	if c.bundle < 0 || c.bundle > ledger.MaxBundleTxs || (c.bundle > 1 && c.mode != modeSigned) {
		return bad("--bundle %d: want 0 to %d, in signed mode only", c.bundle, ledger.MaxBundleTxs)
	}
	if c.latencySample < 0 || c.maxTxs < 0 || c.receiptMax < 0 {
		return bad("--latency-sample, --max-txs and --receipt-max must not be negative")
	}
	if c.maxSampling < 1 || c.receiptPoll <= 0 || c.receiptTimeout <= 0 || c.commitTimeout <= 0 || c.drain < 0 || c.backoff <= 0 {
		return bad("--max-sampling, --receipt-poll, --receipt-timeout, --commit-timeout and --backoff must be positive, --drain not negative")
	}
	return nil
}

// parseFlags binds args into a config.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var targets string
	fs.StringVar(&c.mode, "mode", c.mode, "signed (one SM2-signed record per tx), batch (--batch-size records per tx) or kv (unsigned kvstore txs)")
	fs.StringVar(&targets, "targets", "", "comma-separated base URLs: evidenced API (signed, batch) or CometBFT RPC (kv); txs go round-robin")
	fs.StringVar(&c.keyFile, "key", "", "bank client key file (signed, batch)")
	fs.StringVar(&c.chainID, "chain-id", "", "chain id the bodies name (default: the first target's /v1/status)")
	fs.DurationVar(&c.duration, "duration", c.duration, "timed window")
	fs.DurationVar(&c.warmup, "warmup", c.warmup, "load before the timed window")
	fs.Float64Var(&c.rate, "rate", 0, "records per second (open loop); 0 = as fast as the nodes take (closed loop)")
	fs.IntVar(&c.concurrency, "concurrency", c.concurrency, "submitters (closed loop) or most transactions in flight (open loop)")
	fs.IntVar(&c.batchSize, "batch-size", c.batchSize, "records per transaction in batch mode")
	fs.IntVar(&c.bundle, "bundle", 0, "signed mode: send N individually signed transactions per POST /v1/bundles (0: one per POST /v1/txs)")
	fs.IntVar(&c.latencySample, "latency-sample", 0, "time every K-th transaction to its commit (wait=commit); 0 = none")
	fs.BoolVar(&c.receiptLag, "receipt-lag", false, "poll the receipt of each timed transaction and record commit→receipt time")
	fs.IntVar(&c.receiptMax, "receipt-max", c.receiptMax, "most receipts to poll")
	fs.DurationVar(&c.receiptPoll, "receipt-poll", c.receiptPoll, "receipt polling interval (the lag's resolution)")
	fs.DurationVar(&c.receiptTimeout, "receipt-timeout", c.receiptTimeout, "give up on a receipt after this long")
	fs.IntVar(&c.maxSampling, "max-sampling", c.maxSampling, "most timed transactions in flight; more are submitted untimed")
	fs.DurationVar(&c.commitTimeout, "commit-timeout", c.commitTimeout, "how long a timed transaction waits for its commit")
	fs.DurationVar(&c.drain, "drain", c.drain, "how long after the window timed transactions and receipts may take")
	fs.DurationVar(&c.backoff, "backoff", c.backoff, "back-off after a 503 without Retry-After (and after kvstore's full mempool)")
	fs.IntVar(&c.maxTxs, "max-txs", 0, "most transactions to build and send (default: what --rate needs, or 250k records' worth; batch 3M)")
	fs.StringVar(&c.out, "out", "", "write the JSON result here (default stdout)")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress lines on stderr, only the summary")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	for _, t := range strings.Split(targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.targets = append(c.targets, strings.TrimRight(t, "/"))
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// result is the JSON output of a run.
type result struct {
	Mode string `json:"mode"`
	// DurationS is the measured window: the block-time difference between
	// the heads read at its start and end, or the wall-clock time between
	// the two reads when block times are missing or the chain stalled
	// (block window under stallRatio of the wall window); WindowClock says
	// which. The rates are per this window.
	DurationS        float64          `json:"duration_s"`
	WindowClock      string           `json:"window_clock"`
	WallWindowS      float64          `json:"wall_window_s"`
	RecordsCommitted int64            `json:"records_committed"`
	TxsCommitted     int64            `json:"txs_committed"`
	RecordsPerS      float64          `json:"records_per_s"`
	TxsPerS          float64          `json:"txs_per_s"`
	Latency          Distribution     `json:"latency_ms"`
	ReceiptLag       Distribution     `json:"receipt_lag_ms"`
	Errors           map[string]int64 `json:"errors"`
	// Submitted counts transactions the targets accepted over the whole run
	// (warm-up included); SubmittedInWindow those sent in the window.
	Submitted         int64    `json:"submitted"`
	SubmittedInWindow int64    `json:"submitted_in_window"`
	RecordsPerTx      int      `json:"records_per_tx"`
	Bundle            int      `json:"bundle,omitempty"` // signed txs per POST /v1/bundles
	Rate              float64  `json:"rate"`
	Concurrency       int      `json:"concurrency"`
	LatencySample     int      `json:"latency_sample"`
	PoolTxs           int      `json:"pool_txs"`
	PoolExhausted     bool     `json:"pool_exhausted"`
	PresignS          float64  `json:"presign_s"`
	Start             mark     `json:"start"`
	End               mark     `json:"end"`
	Targets           []string `json:"targets"`
}

// summary is the one-line human summary of r.
func (r *result) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "loadgen %s: %.0f records/s committed (%d records, %d txs in %.1fs; %.1f tx/s)",
		r.Mode, r.RecordsPerS, r.RecordsCommitted, r.TxsCommitted, r.DurationS, r.TxsPerS)
	if r.Rate > 0 {
		fmt.Fprintf(&b, " at %.0f records/s offered", r.Rate)
	}
	if r.Latency.N > 0 {
		fmt.Fprintf(&b, "; latency p50 %.0f p95 %.0f p99 %.0f ms (n=%d)", r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.N)
	}
	if r.ReceiptLag.N > 0 {
		fmt.Fprintf(&b, "; receipt lag p50 %.0f p99 %.0f ms (n=%d)", r.ReceiptLag.P50, r.ReceiptLag.P99, r.ReceiptLag.N)
	}
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, r.Errors[k])
		}
		fmt.Fprintf(&b, "; errors %s", strings.Join(parts, " "))
	}
	if r.PoolExhausted {
		b.WriteString("; POOL EXHAUSTED before the window ended: raise --max-txs")
	}
	return b.String()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := 0
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		code = 1
		if errors.Is(err, ErrUsage) {
			code = 2
		}
	}
	stop()
	os.Exit(code)
}

// run parses args, builds the pool, drives the targets and writes the result.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) {
		if !cfg.quiet {
			fmt.Fprintf(stderr, "loadgen: "+format+"\n", a...)
		}
	}
	hc := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.concurrency + cfg.maxSampling + 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
	defer hc.CloseIdleConnections()

	var (
		sub submitter
		m   meter
		key *crypto.PrivateKey
	)
	if cfg.mode == modeKV {
		sub = &rpcSubmitter{targets: cfg.targets, hc: hc, backoff: cfg.backoff}
		m = rpcMeter{hc: hc, base: cfg.targets[0]}
	} else {
		if key, err = keyfile.Load(cfg.keyFile, nil); err != nil {
			return err
		}
		as, err := newAPISubmitter(cfg.targets, hc)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		sub, m = as, apiMeter{c: as.clients[0]}
	}
	if cfg.mode != modeKV && cfg.chainID == "" {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := m.(apiMeter).c.Status(sctx)
		cancel()
		if err != nil {
			return fmt.Errorf("read the chain id from %s: %w (or pass --chain-id)", cfg.targets[0], err)
		}
		cfg.chainID = st.ChainID
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = m.mark(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("the first target does not answer: %w; is the alliance running?", err)
	}

	n, err := poolSize(cfg)
	if err != nil {
		return err
	}
	gen, err := newGenerator(cfg, key, rand.Reader, time.Now)
	if err != nil {
		return err
	}
	workers := runtime.NumCPU()
	logf("building %d %s transactions (%d records) on %d goroutines", n, cfg.mode, n*cfg.recordsPerTx(), workers)
	t0 := time.Now()
	pool, err := presign(ctx, gen, n, workers, func(done int) {
		logf("built %d/%d transactions (%.1fs)", done, n, time.Since(t0).Seconds())
	})
	if err != nil {
		return err
	}
	presignTime := time.Since(t0)

	res, err := drive(ctx, cfg, sub, m, hc, pool, logf)
	if err != nil {
		return err
	}
	res.PresignS = math.Round(presignTime.Seconds()*100) / 100
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	out = append(out, '\n')
	if cfg.out == "" {
		if _, err := stdout.Write(out); err != nil {
			return err
		}
	} else if err := atomicfile.WriteFile(cfg.out, out, 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	fmt.Fprintln(stderr, res.summary())
	return nil
}

// drive runs the load over pool and measures the window.
func drive(ctx context.Context, cfg *config, sub submitter, m meter, hc *http.Client, pool [][]byte, logf func(string, ...any)) (*result, error) {
	start := time.Now()
	e := newEngine(cfg, sub, hc, pool, start)
	windowEnd := e.rec.windowEnd
	loadCtx, cancelLoad := context.WithDeadline(ctx, windowEnd)
	defer cancelLoad()
	sampleCtx, cancelSample := context.WithDeadline(ctx, windowEnd.Add(cfg.drain))
	defer cancelSample()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.load(loadCtx, sampleCtx)
	}()
	fail := func(err error) (*result, error) {
		cancelLoad()
		cancelSample()
		<-done
		return nil, err
	}
	logf("load started; warm-up %v, window %v", cfg.warmup, cfg.duration)
	if err := sleepCtx(ctx, time.Until(e.rec.windowStart)); err != nil {
		return fail(err)
	}
	a, err := readMark(ctx, m)
	if err != nil {
		return fail(fmt.Errorf("read the head at the start of the window: %w", err))
	}
	logf("window open at height %d", a.Height)
	if err := sleepCtx(ctx, time.Until(windowEnd)); err != nil {
		return fail(err)
	}
	b, err := readMark(ctx, m)
	if err != nil {
		return fail(fmt.Errorf("read the head at the end of the window: %w", err))
	}
	cancelLoad()
	logf("window closed at height %d; waiting up to %v for timed transactions", b.Height, cfg.drain)
	<-done
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	txs, err := m.committed(cctx, a, b)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("count committed transactions: %w", err)
	}
	return e.result(a, b, txs), nil
}

// readMark reads a mark with a bound on how long the node may take.
func readMark(ctx context.Context, m meter) (mark, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return m.mark(ctx)
}

// result assembles the run's result from the marks at the window's ends
// and the transactions committed between them.
func (e *engine) result(a, b mark, txs int64) *result {
	window, clock := b.BlockTime.Sub(a.BlockTime), "block"
	if wall := b.Wall.Sub(a.Wall); a.BlockTime.IsZero() || b.BlockTime.IsZero() || float64(window) < stallRatio*float64(wall) {
		window, clock = wall, "wall"
	}
	rpt := e.cfg.recordsPerTx()
	records := txs * int64(rpt)
	if e.cfg.mode != modeKV {
		// The chain counts records itself; a log entry is one signed
		// transaction (one record, or a batch's records).
		records = int64(b.Records - a.Records)
		if rpt > 1 && e.cfg.mode == modeSigned {
			rpt = 1
		}
	}
	r := &result{
		Mode: e.cfg.mode, WindowClock: clock, DurationS: round3(window.Seconds()), WallWindowS: round3(b.Wall.Sub(a.Wall).Seconds()),
		TxsCommitted: txs, RecordsCommitted: records, RecordsPerTx: rpt, Bundle: e.cfg.bundle,
		Rate: e.cfg.rate, Concurrency: e.cfg.concurrency, LatencySample: e.cfg.latencySample,
		PoolTxs: len(e.pool), PoolExhausted: e.exhausted.Load(), Start: a, End: b, Targets: e.cfg.targets,
	}
	if window > 0 {
		r.TxsPerS = round3(float64(txs) / window.Seconds())
		r.RecordsPerS = round3(float64(r.RecordsCommitted) / window.Seconds())
	}
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	r.Latency = summarise(e.rec.latencies)
	r.ReceiptLag = summarise(e.rec.receiptLags)
	r.Errors = e.rec.errors
	r.Submitted, r.SubmittedInWindow = e.rec.submitted, e.rec.submittedInWindow
	return r
}

// stallRatio: a block-time window shorter than this fraction of the
// wall-clock window means the chain stopped committing during the window,
// so the wall clock is the honest denominator.
const stallRatio = 0.8

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
