// Command run is `make bench` (issue 5): it builds evidenced, the kvstore
// baseline (bench/kvnode) and the load generator (bench/loadgen), then for
// each system starts a fresh local 4-validator network on 127.0.0.1, drives
// it with loadgen, and prints one table — each figure of evidenced beside
// CometBFT's kvstore baseline, their ratio, the target and whether it holds
// — and writes every raw run to bench/results/<YYYY-MM-DD>.json.
//
// Scenarios (each loadgen run is --warmup then --duration):
//
//	evidenced  signed, closed loop, --runs times      → individually signed records/s
//	           (--bundle signed txs per POST /v1/bundles, each verified by every node)
//	evidenced  signed, one tx per POST /v1/txs, --single-runs times (for comparison)
//	evidenced  batch,  closed loop, --runs times      → batch-signed records/s
//	evidenced  signed at 50% of that rate, --latency-runs times, with receipt lag
//	evidenced  signed at 90% of that rate, --latency-runs times
//	kvstore    kv, closed loop, --runs times           → baseline tx/s
//
// plus, in-process: offline receipt.Verify time over a fetched receipt;
// on-disk bytes per record per node (allocated blocks under each data dir,
// before and after the throughput phases, over the records they committed,
// extrapolated linearly to 1,000,000 records); peak RSS per node (VmHWM).
//
// Run it from the module root: go run ./bench/run [--duration 30s] [--runs 3].
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
	"github.com/evidenced/evidenced/testnet"
)

// options are the command's flags.
type options struct {
	Duration         time.Duration `json:"duration"`
	Warmup           time.Duration `json:"warmup"`
	Runs             int           `json:"runs"`
	LatencyRuns      int           `json:"latency_runs"`
	TimeoutCommit    time.Duration `json:"timeout_commit"`
	BatchSize        int           `json:"batch_size"`
	Bundle           int           `json:"bundle"`
	SingleRuns       int           `json:"single_runs"`
	Concurrency      int           `json:"concurrency"`
	BatchConcurrency int           `json:"batch_concurrency"`
	LatencySample    int           `json:"latency_sample"`
	Systems          string        `json:"systems"`
	ResultsDir       string        `json:"-"`
	Keep             bool          `json:"-"`
	VerifyN          int           `json:"verify_n"`
	Loadgen          string        `json:"-"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "measured window of each loadgen run (after --warmup)")
	fs.DurationVar(&o.Warmup, "warmup", 5*time.Second, "warm-up before each measured window")
	fs.IntVar(&o.Runs, "runs", 3, "runs of each throughput scenario (the table shows the median)")
	fs.IntVar(&o.LatencyRuns, "latency-runs", 1, "runs of each latency scenario (50% and 90% of the signed rate)")
	fs.DurationVar(&o.TimeoutCommit, "timeout-commit", 500*time.Millisecond, "CometBFT timeout_commit for both systems (evidenced testnet's default)")
	fs.IntVar(&o.BatchSize, "batch-size", 1000, "records per batch transaction")
	fs.IntVar(&o.Bundle, "bundle", 100, "individually signed txs per POST /v1/bundles in the signed scenarios (1: one per POST /v1/txs)")
	fs.IntVar(&o.SingleRuns, "single-runs", 1, "runs of the signed scenario with one tx per POST /v1/txs (0: skip)")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "closed-loop submitters for signed and kv runs")
	fs.IntVar(&o.BatchConcurrency, "batch-concurrency", 8, "closed-loop submitters for batch runs")
	fs.IntVar(&o.LatencySample, "latency-sample", 10, "every K-th tx of a latency run waits for its commit")
	fs.StringVar(&o.Systems, "systems", "evidenced,kvstore", "systems to run: evidenced, kvstore or both")
	fs.StringVar(&o.ResultsDir, "results", "bench/results", "directory for <YYYY-MM-DD>.json")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (binaries, node homes and logs)")
	fs.IntVar(&o.VerifyN, "verify-n", 1000, "offline receipt verifications to time")
	fs.StringVar(&o.Loadgen, "loadgen", "", "use this load generator binary instead of building ./bench/loadgen")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.Duration < time.Second:
		return nil, fmt.Errorf("--duration %v: use at least 1s", o.Duration)
	case o.Runs < 1 || o.LatencyRuns < 0 || o.SingleRuns < 0:
		return nil, errors.New("--runs must be ≥ 1, --latency-runs and --single-runs ≥ 0")
	case o.Bundle < 1 || o.Bundle > 4096:
		return nil, fmt.Errorf("--bundle %d: a bundle holds 1..4096 transactions", o.Bundle)
	case o.BatchSize < 1 || o.BatchSize > 4096:
		return nil, fmt.Errorf("--batch-size %d: a batch holds 1..4096 records", o.BatchSize)
	case o.Concurrency < 1 || o.BatchConcurrency < 1 || o.LatencySample < 1 || o.VerifyN < 1:
		return nil, errors.New("--concurrency, --batch-concurrency, --latency-sample and --verify-n must be ≥ 1")
	}
	for _, s := range strings.Split(o.Systems, ",") {
		if s != "evidenced" && s != "kvstore" {
			return nil, fmt.Errorf("--systems: unknown system %q (evidenced, kvstore)", s)
		}
	}
	return o, nil
}

func (o *options) has(system string) bool {
	return slices.Contains(strings.Split(o.Systems, ","), system)
}

// Fixed overheads of the plan's estimate, measured on the 2-core machine.
const (
	estBuild   = 60 * time.Second // three go builds, warm cache
	estCluster = 45 * time.Second // generate, start, reach height 3, stop
	estRunOver = 8 * time.Second  // loadgen pre-signing and final reads per run
)

// step is one loadgen scenario of the plan.
type step struct {
	system, scenario string
	runs             int
}

func (o *options) plan() []step {
	var s []step
	if o.has("evidenced") {
		s = append(s, step{"evidenced", "signed-max", o.Runs})
		if o.SingleRuns > 0 {
			s = append(s, step{"evidenced", "signed-single-max", o.SingleRuns})
		}
		s = append(s, step{"evidenced", "batch-max", o.Runs})
		if o.LatencyRuns > 0 {
			s = append(s, step{"evidenced", "signed-50%+receipts", o.LatencyRuns}, step{"evidenced", "signed-90%", o.LatencyRuns})
		}
	}
	if o.has("kvstore") {
		s = append(s, step{"kvstore", "kv-max", o.Runs})
	}
	return s
}

func (o *options) estimate() time.Duration {
	d := estBuild
	for _, sys := range []string{"evidenced", "kvstore"} {
		if o.has(sys) {
			d += estCluster
		}
	}
	for _, s := range o.plan() {
		d += time.Duration(s.runs) * (o.Warmup + o.Duration + estRunOver)
	}
	return d
}

// bench holds the state of one invocation.
type bench struct {
	o      *options
	tmp    string
	bins   map[string]string
	out    io.Writer
	runs   []runRecord
	extra  map[string]any
	ours   figures
	kv     figures
	start  time.Time
	stderr io.Writer
	rcpt   *receipt.Receipt // a receipt fetched from the alliance, for timeVerify
	roster *ledger.Roster
}

// figures are the measured values of one system.
type figures struct {
	signedRate, batchRate, kvRate float64
	singleRate                    float64 // one signed tx per request
	lat50, lat90, lag50           *percentiles
	verifyPer                     time.Duration
	signedBPR, batchBPR, kvBPR    float64
	signedRecs, batchRecs, kvRecs int64
	totalRecs                     int64   // records on the chain after the batch phase
	totalBPR                      float64 // all bytes under data/ over totalRecs (measured, not extrapolated)
	totalNoWALBPR                 float64 // the same without the consensus WAL (capped at 1 GiB by CometBFT)
	rss                           []int64
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the module root (where go.mod is): go run ./bench/run")
	}
	b := &bench{o: o, out: stdout, stderr: stderr, bins: map[string]string{}, extra: map[string]any{}, start: time.Now()}
	cpu := cpuModel()
	fmt.Fprintf(stdout, "machine: %s, %d cores (GOMAXPROCS %d), %s/%s\n", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "plan (each run: %v warm-up + %v measured; timeout_commit %v):\n", o.Warmup, o.Duration, o.TimeoutCommit)
	for _, s := range o.plan() {
		fmt.Fprintf(stdout, "  %-9s %-20s × %d\n", s.system, s.scenario, s.runs)
	}
	fmt.Fprintf(stdout, "estimated time: %v\n\n", o.estimate().Round(time.Second))

	b.tmp, err = os.MkdirTemp("", "evidenced-bench-")
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintf(stdout, "keeping %s\n", b.tmp)
	} else {
		defer os.RemoveAll(b.tmp)
	}
	if err := b.build(ctx); err != nil {
		return err
	}
	if o.has("evidenced") {
		if err := b.runOurs(ctx); err != nil {
			return fmt.Errorf("evidenced: %w", err)
		}
		// Offline means offline: time verification with every node stopped,
		// so the figure is not the leftover load's.
		if b.rcpt != nil {
			b.ours.verifyPer = b.timeVerify()
			fmt.Fprintf(stdout, "  offline verify (nodes stopped): %v per receipt\n", b.ours.verifyPer)
		}
	}
	if o.has("kvstore") {
		if err := b.runKV(ctx); err != nil {
			return fmt.Errorf("kvstore: %w", err)
		}
	}
	rows := b.rows()
	fmt.Fprintf(stdout, "\nevidenced vs CometBFT kvstore — %s, %d cores; median of %d × %v runs (latency: %d run(s))\n\n", cpu, runtime.NumCPU(), o.Runs, o.Duration, o.LatencyRuns)
	if err := writeTable(stdout, rows); err != nil {
		return err
	}
	path, err := b.save(cpu, rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nraw runs: %s (took %v)\n", path, time.Since(b.start).Round(time.Second))
	return nil
}

// build compiles the three programs into the temporary directory.
func (b *bench) build(ctx context.Context) error {
	for _, p := range []struct{ name, pkg string }{
		{"evidenced", "./cmd/evidenced"}, {"kvnode", "./bench/kvnode"}, {"loadgen", "./bench/loadgen"},
	} {
		out := filepath.Join(b.tmp, "bin", p.name)
		if p.name == "loadgen" && b.o.Loadgen != "" {
			b.bins[p.name] = b.o.Loadgen
			continue
		}
		fmt.Fprintf(b.out, "build %s\n", p.pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, p.pkg)
		cmd.Stdout, cmd.Stderr = b.stderr, b.stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", p.pkg, err)
		}
		b.bins[p.name] = out
	}
	return nil
}

// loadgen runs one scenario run and records it.
func (b *bench) loadgen(ctx context.Context, system, scenario string, n int, args []string) *loadResult {
	out := filepath.Join(b.tmp, fmt.Sprintf("%s-%s-%d.json", system, strings.TrimSuffix(scenario, "%"), n))
	args = append(slices.Clone(args), "--duration", b.o.Duration.String(), "--warmup", b.o.Warmup.String(), "--out", out)
	rec := runRecord{System: system, Scenario: scenario, Run: n, Args: args}
	fmt.Fprintf(b.out, "  %s %s run %d … ", system, scenario, n)
	// Bounded: the run itself, plus generous room for pre-signing and draining.
	ctx, cancel := context.WithTimeout(ctx, b.o.Warmup+b.o.Duration+5*time.Minute)
	defer cancel()
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, b.bins["loadgen"], args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	rec.WallS = time.Since(t0).Seconds()
	if err == nil {
		var data []byte
		if data, err = os.ReadFile(out); err == nil {
			rec.Result = &loadResult{}
			err = json.Unmarshal(data, rec.Result)
		}
	}
	if err != nil {
		rec.Result = nil
		rec.Error = fmt.Sprintf("%v: %s", err, lastLines(errb.String(), 5))
		fmt.Fprintf(b.out, "FAILED: %s\n", rec.Error)
	} else {
		fmt.Fprintf(b.out, "%s\n", lastLines(errb.String(), 1))
	}
	b.runs = append(b.runs, rec)
	return rec.Result
}

// lastLines returns the last n non-empty lines of s, joined by " / ".
func lastLines(s string, n int) string {
	var ls []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " / ")
}

// scenario runs a scenario runs times and returns its results. It runs
// nothing once the chain has halted (a run during which the height did not
// move), and records the halt in b.extra.
func (b *bench) scenario(ctx context.Context, c *cluster, name string, runs int, args []string) []*loadResult {
	var rs []*loadResult
	for i := 1; i <= runs && ctx.Err() == nil; i++ {
		if h, ok := b.extra[c.system+"_halted"]; ok {
			fmt.Fprintf(b.out, "  %s %s run %d skipped: the chain halted (%v)\n", c.system, name, i, h)
			continue
		}
		if err := c.drain(ctx, 2*time.Minute); err != nil {
			fmt.Fprintf(b.out, "  %s %s run %d: %v (the run counts leftovers of the previous one)\n", c.system, name, i, err)
		}
		h0, _ := cometHeight(ctx, c.procs[0].rpc)
		if r := b.loadgen(ctx, c.system, name, i, args); r != nil {
			rs = append(rs, r)
		}
		if h1, err := cometHeight(ctx, c.procs[0].rpc); err == nil && h1 <= h0 {
			msg := fmt.Sprintf("height stayed at %d during %s run %d; see %s", h1, name, i, filepath.Join(c.procs[0].home, "node.log"))
			fmt.Fprintf(b.out, "  CHAIN HALTED: %s\n", msg)
			b.extra[c.system+"_halted"] = msg
		}
	}
	return rs
}

func medianRate(rs []*loadResult) float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, r.RecordsPerS)
	}
	return median(xs)
}

// runOurs measures evidenced.
func (b *bench) runOurs(ctx context.Context) error {
	base, err := freeBasePort(4)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.tmp, "evidenced")
	fmt.Fprintf(b.out, "\nevidenced: 4-member alliance in %s (ports from %d)\n", dir, base)
	gen := exec.CommandContext(ctx, b.bins["evidenced"], "testnet", "--members", "bank,notary,court,arbitration",
		"--out", dir, "--base-port", strconv.Itoa(base), "--timeout-commit", b.o.TimeoutCommit.String(), "--output", "json")
	if out, err := gen.CombinedOutput(); err != nil {
		return fmt.Errorf("evidenced testnet: %w: %s", err, out)
	}
	a, err := testnet.Load(dir)
	if err != nil {
		return err
	}
	var members []*proc
	var apis []string
	for _, m := range a.Members {
		members = append(members, &proc{name: m.Name, home: m.Home, rpc: m.RPC, api: m.API})
		apis = append(apis, m.API)
	}
	c, err := startCluster("evidenced", b.bins["evidenced"], members, "start")
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(b.out, "  stopping evidenced nodes")
		c.stop()
	}()
	if err := c.waitHeight(ctx, 3, 90*time.Second); err != nil {
		return err
	}
	api0 := apis[0]
	common := []string{"--targets", strings.Join(apis, ","), "--key", a.ClientKey, "--chain-id", a.ChainID}
	f := &b.ours

	ls0 := mustRecords(ctx, api0)
	disk0 := c.diskBytes()
	signedArgs := append(slices.Clone(common), "--mode", "signed", "--bundle", strconv.Itoa(b.o.Bundle))
	signed := b.scenario(ctx, c, "signed-max", b.o.Runs,
		append(slices.Clone(signedArgs), "--rate", "0", "--concurrency", strconv.Itoa(b.o.Concurrency)))
	f.signedRate = medianRate(signed)
	ls1 := mustRecords(ctx, api0)
	disk1 := c.diskBytes()
	f.signedRecs = ls1 - ls0
	f.signedBPR = perRecord(disk0, disk1, f.signedRecs)
	if b.o.SingleRuns > 0 {
		single := b.scenario(ctx, c, "signed-single-max", b.o.SingleRuns,
			append(slices.Clone(common), "--mode", "signed", "--rate", "0", "--concurrency", strconv.Itoa(b.o.Concurrency)))
		f.singleRate = medianRate(single)
	}
	ls1b := mustRecords(ctx, api0)
	disk1b := c.diskBytes()

	batch := b.scenario(ctx, c, "batch-max", b.o.Runs,
		append(slices.Clone(common), "--mode", "batch", "--batch-size", strconv.Itoa(b.o.BatchSize), "--rate", "0", "--concurrency", strconv.Itoa(b.o.BatchConcurrency)))
	f.batchRate = medianRate(batch)
	ls2 := mustRecords(ctx, api0)
	disk2 := c.diskBytes()
	f.batchRecs = ls2 - ls1b
	f.batchBPR = perRecord(disk1b, disk2, f.batchRecs)
	f.totalRecs = ls2
	f.totalBPR = perRecord(make([]int64, len(disk2)), disk2, ls2)
	wal2 := c.walBytes()
	f.totalNoWALBPR = perRecord(wal2, disk2, ls2)
	b.extra["evidenced_wal_bytes"] = wal2

	if b.o.LatencyRuns > 0 && f.signedRate > 0 {
		r50 := max(1, int(f.signedRate*0.5))
		lat := append(slices.Clone(signedArgs), "--concurrency", strconv.Itoa(b.o.Concurrency), "--latency-sample", strconv.Itoa(b.o.LatencySample))
		rs := b.scenario(ctx, c, "signed-50%+receipts", b.o.LatencyRuns, append(slices.Clone(lat), "--rate", strconv.Itoa(r50), "--receipt-lag"))
		f.lat50, f.lag50 = medianLatency(rs, false), medianLatency(rs, true)
		r90 := max(1, int(f.signedRate*0.9))
		rs = b.scenario(ctx, c, "signed-90%", b.o.LatencyRuns, append(slices.Clone(lat), "--rate", strconv.Itoa(r90)))
		f.lat90 = medianLatency(rs, false)
	}
	if err := b.fetchReceipt(ctx, api0); err != nil {
		fmt.Fprintf(b.out, "  offline verify: %v\n", err)
		b.extra["verify_error"] = err.Error()
	}
	f.rss = c.peakRSS()
	b.extra["evidenced_disk_bytes"] = map[string][]int64{"start": disk0, "after_signed": disk1, "after_batch": disk2, "end": c.diskBytes()}
	b.extra["evidenced_records"] = map[string]int64{"start": ls0, "after_signed": ls1, "after_single": ls1b, "after_batch": ls2}
	b.extra["evidenced_peak_rss_bytes"] = f.rss
	return ctx.Err()
}

// runKV measures the kvstore baseline.
func (b *bench) runKV(ctx context.Context) error {
	base, err := freeBasePort(4)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.tmp, "kvstore")
	fmt.Fprintf(b.out, "\nkvstore: 4-validator network in %s (ports from %d)\n", dir, base)
	gen := exec.CommandContext(ctx, b.bins["kvnode"], "init", "--out", dir, "--base-port", strconv.Itoa(base), "--timeout-commit", b.o.TimeoutCommit.String())
	var errb bytes.Buffer
	gen.Stderr = &errb
	out, err := gen.Output()
	if err != nil {
		return fmt.Errorf("kvnode init: %w: %s", err, errb.String())
	}
	var n struct {
		Members []struct{ Name, Home, RPC string }
	}
	if err := json.Unmarshal(out, &n); err != nil {
		return fmt.Errorf("kvnode init output: %w", err)
	}
	var members []*proc
	var rpcs []string
	for _, m := range n.Members {
		members = append(members, &proc{name: m.Name, home: m.Home, rpc: m.RPC})
		rpcs = append(rpcs, m.RPC)
	}
	c, err := startCluster("kvstore", b.bins["kvnode"], members, "start")
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(b.out, "  stopping kvstore nodes")
		c.stop()
	}()
	if err := c.waitHeight(ctx, 3, 90*time.Second); err != nil {
		return err
	}
	f := &b.kv
	kvs := func(ctx context.Context) (int64, error) { return kvSize(ctx, rpcs[0]) }
	s0 := settle(ctx, kvs)
	disk0 := c.diskBytes()
	rs := b.scenario(ctx, c, "kv-max", b.o.Runs,
		[]string{"--mode", "kv", "--targets", strings.Join(rpcs, ","), "--rate", "0", "--concurrency", strconv.Itoa(b.o.Concurrency)})
	f.kvRate = medianRate(rs)
	s1 := settle(ctx, kvs)
	disk1 := c.diskBytes()
	f.kvRecs = s1 - s0
	f.kvBPR = perRecord(disk0, disk1, f.kvRecs)
	f.rss = c.peakRSS()
	b.extra["kvstore_disk_bytes"] = map[string][]int64{"start": disk0, "end": disk1}
	b.extra["kvstore_size"] = map[string]int64{"start": s0, "end": s1}
	b.extra["kvstore_peak_rss_bytes"] = f.rss
	return ctx.Err()
}

// mustRecords waits until the chain's record count stops growing (the
// previous phase's mempool backlog has committed: the same count over two
// polls 1.5 s apart, for at most 30 s), then returns it (0 if the node does
// not answer).
func mustRecords(ctx context.Context, api string) int64 {
	return settle(ctx, func(ctx context.Context) (int64, error) { return records(ctx, api) })
}

// settle polls size until two consecutive reads 1.5 s apart agree, for at most 30 s.
func settle(ctx context.Context, size func(context.Context) (int64, error)) int64 {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	last := int64(-1)
	t := time.NewTicker(1500 * time.Millisecond)
	defer t.Stop()
	for {
		n, err := size(ctx)
		if err == nil && n == last {
			return n
		}
		if err == nil {
			last = n
		}
		select {
		case <-ctx.Done():
			return max(last, 0)
		case <-t.C:
		}
	}
}

// perRecord is the mean over nodes of the disk growth divided by records.
func perRecord(before, after []int64, records int64) float64 {
	if records <= 0 || len(before) != len(after) || len(before) == 0 {
		return 0
	}
	var sum float64
	for i := range before {
		sum += float64(after[i] - before[i])
	}
	return sum / float64(len(before)) / float64(records)
}

// medianLatency is the per-percentile median over runs of their latency
// (or receipt lag) summaries; nil when no run has samples.
func medianLatency(rs []*loadResult, lag bool) *percentiles {
	var p50, p95, p99, n []float64
	for _, r := range rs {
		p := r.Latency
		if lag {
			p = r.ReceiptLag
		}
		if p == nil || p.N == 0 {
			continue
		}
		p50, p95, p99, n = append(p50, p.P50), append(p95, p.P95), append(p99, p.P99), append(n, p.N)
	}
	if len(n) == 0 {
		return nil
	}
	return &percentiles{P50: median(p50), P95: median(p95), P99: median(p99), N: median(n)}
}

// fetchReceipt fetches the receipt of the newest evidence record and the
// roster, and checks that the receipt verifies, for timeVerify.
func (b *bench) fetchReceipt(ctx context.Context, api string) error {
	cl, err := client.New(api)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	st, err := cl.Status(ctx)
	if err != nil || st.LogSize == 0 {
		return fmt.Errorf("log size: %v", err)
	}
	size := int64(st.LogSize)
	// The newest entries may be attestations or registrations (no receipt):
	// walk back a bounded number of entries to the newest evidence record.
	var r *receipt.Receipt
	for i := size - 1; i >= 0 && i >= size-64; i-- {
		if r, err = cl.Receipt(ctx, strconv.FormatInt(i, 10)); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	roster, _, err := cl.Roster(ctx)
	if err != nil {
		return err
	}
	if rep := receipt.Verify(r, roster, receipt.VerifyOptions{}); !rep.OK {
		return fmt.Errorf("the fetched receipt does not verify: %s step failed", rep.FailedStep)
	}
	b.rcpt, b.roster = r, roster
	return nil
}

// timeVerify times receipt.Verify over the fetched receipt in-process, in
// ten rounds of VerifyN/10 (at most 10 s in all), and returns the median
// round's time per receipt.
func (b *bench) timeVerify() time.Duration {
	const rounds = 10
	per := max(1, b.o.VerifyN/rounds)
	deadline := time.Now().Add(10 * time.Second)
	var times []time.Duration
	for range rounds {
		t0 := time.Now()
		for range per {
			receipt.Verify(b.rcpt, b.roster, receipt.VerifyOptions{})
		}
		times = append(times, time.Since(t0)/time.Duration(per))
		if time.Now().After(deadline) {
			break
		}
	}
	slices.Sort(times)
	return times[len(times)/2]
}

// rows builds the results table.
func (b *bench) rows() []row {
	o, k := &b.ours, &b.kv
	var rows []row
	rows = append(rows,
		row{fmt.Sprintf("committed records/s, individually signed (%d per request)", b.o.Bundle), fmtRate(o.signedRate), fmtRate(k.kvRate) + " (unsigned tx)", ratio(o.signedRate, k.kvRate), "≥ 5,000/s", holds(o.signedRate > 0, o.signedRate >= 5000)},
		row{"committed records/s, individually signed (1 per request)", fmtRate(o.singleRate), fmtRate(k.kvRate) + " (unsigned tx)", ratio(o.singleRate, k.kvRate), "—", "—"},
		row{fmt.Sprintf("committed records/s, batch-signed (%d/tx)", b.o.BatchSize), fmtRate(o.batchRate), fmtRate(k.kvRate) + " (unsigned tx)", ratio(o.batchRate, k.kvRate), "≥ 50,000/s", holds(o.batchRate > 0, o.batchRate >= 50000)},
		row{fmt.Sprintf("submit→commit p50/p95/p99 at 50%% (%s)", fmtRate(o.signedRate*0.5)), fmtLat(o.lat50), "—", "—", "p99 ≤ 1,500 ms", holds(o.lat50 != nil, o.lat50 != nil && o.lat50.P99 <= 1500)},
		row{fmt.Sprintf("submit→commit p50/p95/p99 at 90%% (%s)", fmtRate(o.signedRate*0.9)), fmtLat(o.lat90), "—", "—", "—", "—"},
		row{"receipt lag commit→receipt p50/p95/p99", fmtLat(o.lag50), "—", "—", "p99 ≤ 3,000 ms", holds(o.lag50 != nil, o.lag50 != nil && o.lag50.P99 <= 3000)},
	)
	vs := "—"
	if o.verifyPer > 0 {
		vs = fmt.Sprintf("%.3f ms", float64(o.verifyPer)/float64(time.Millisecond))
	}
	rows = append(rows, row{"offline verify per receipt", vs, "—", "—", "≤ 2 ms", holds(o.verifyPer > 0, o.verifyPer <= 2*time.Millisecond)})
	rows = append(rows,
		row{fmt.Sprintf("disk bytes/record/node, signed (over %d records, → 1M linear)", o.signedRecs), fmtBytes(o.signedBPR), fmtBytes(k.kvBPR) + " (per tx)", ratio(o.signedBPR, k.kvBPR), "≤ 400 B", holds(o.signedBPR > 0, o.signedBPR <= 400)},
		row{fmt.Sprintf("disk bytes/record/node, batch (over %d records, → 1M linear)", o.batchRecs), fmtBytes(o.batchBPR), fmtBytes(k.kvBPR) + " (per tx)", ratio(o.batchBPR, k.kvBPR), "≤ 400 B", holds(o.batchBPR > 0, o.batchBPR <= 400)},
		row{fmt.Sprintf("disk bytes/record/node, whole chain (all data/ over %d records)", o.totalRecs), fmtBytes(o.totalBPR), fmtBytes(k.kvBPR) + " (per tx)", ratio(o.totalBPR, k.kvBPR), "≤ 400 B at ≥ 1M", holds(o.totalRecs >= 1_000_000, o.totalBPR <= 400)},
		row{"  of which grows with the chain (all but the consensus WAL, which CometBFT caps at 1 GiB)", fmtBytes(o.totalNoWALBPR), "—", "—", "—", "—"},
		row{"peak RSS per node (max of 4)", fmtMiB(float64(slices.Max(append([]int64{0}, o.rss...)))), fmtMiB(float64(slices.Max(append([]int64{0}, k.rss...)))),
			ratio(float64(slices.Max(append([]int64{0}, o.rss...))), float64(slices.Max(append([]int64{0}, k.rss...)))), "—", "—"},
	)
	return rows
}

// save writes bench/results/<YYYY-MM-DD>.json.
func (b *bench) save(cpu string, rows []row) (string, error) {
	if err := os.MkdirAll(b.o.ResultsDir, 0o755); err != nil {
		return "", err
	}
	doc := map[string]any{
		"date":       b.start.UTC().Format(time.RFC3339),
		"cpu":        cpu,
		"cores":      runtime.NumCPU(),
		"go":         runtime.Version(),
		"options":    b.o,
		"table":      rows,
		"runs":       b.runs,
		"node_stats": b.extra,
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(b.o.ResultsDir, b.start.Format("2006-01-02")+".json")
	return path, os.WriteFile(path, append(data, '\n'), 0o644)
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
