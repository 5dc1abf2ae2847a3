package testnet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/testnet"
)

// floodSize is one size of TestFloodBounded: what the flood client
// sends.
type floodSize struct {
	Name    string        `json:"name"`
	Streams int           `json:"streams"` // SSE requests opened at once (and held when served)
	Slow    int           `json:"slow"`    // connections trickling a request body
	Trickle time.Duration `json:"trickle"` // how often a slow body sends a byte
	Idle    int           `json:"idle"`    // connections from one address that send nothing
	Addr    string        `json:"addr"`    // the node's API, host:port
	// Wait bounds how long the client waits for the node to end the slow
	// and idle connections.
	Wait time.Duration `json:"wait"`
}

// floodReport is what the flood client met.
type floodReport struct {
	Served        int           `json:"served"`         // streams served, held open and never read
	ConnRefused   int           `json:"conn_refused"`   // refused by the caps on connections (503, Retry-After: 1)
	StreamRefused int           `json:"stream_refused"` // refused by the caps on streams (503, Retry-After: 5)
	Reset         int           `json:"reset"`          // closed or reset without an answer
	Took          time.Duration `json:"took"`           // to open them all
	// SlowLifetimes are those of the slow bodies the node cut with its
	// 400, IdleLifetimes those of the idle connections it closed; the
	// idle connections refused by the cap per address are IdleRefused.
	SlowLifetimes []time.Duration `json:"slow_lifetimes"`
	IdleLifetimes []time.Duration `json:"idle_lifetimes"`
	IdleRefused   int             `json:"idle_refused"`
}

// The flood comes from addresses of its own (all of 127.0.0.0/8 is
// loopback on Linux): two for the streams, four for the slow bodies, one
// for the idle connections, so that the caps per client address apply to
// it and not to the probe of /v1/status, which comes from 127.0.0.1. The
// flood's admitted connections stay below api.max_connections (2 and 1
// addresses' worth, and the slow bodies), so that the probe gets in.
func streamAddr(i int) string { return fmt.Sprintf("127.0.2.%d", 1+i%2) }
func slowAddr(i int) string   { return fmt.Sprintf("127.0.1.%d", 1+i%4) }

const idleAddr = "127.0.3.1"

// floodClientEnv, set to a floodSize in JSON, makes TestFloodClient flood.
const floodClientEnv = "EVIDENCED_FLOOD_CLIENT"

// TestFloodBounded (finding F2): an unauthenticated flood of event streams
// and slow request bodies against a real node (an evidenced process) is
// held off by the node's bounds. Throughout it, GET /v1/status answers
// within 1 s and the chain keeps committing; the streams beyond the caps
// are refused and counted in /metrics, and every slow body is cut within
// the configured body timeout. The figures (latency, resident memory,
// refusals, the slow bodies' lifetimes) are logged.
//
// The flood comes from another process (this test binary, running
// TestFloodClient), so that its thousands of goroutines do not delay the
// probe of /v1/status, which an attacker's would not either; both share
// the machine's cores with the node.
func TestFloodBounded(t *testing.T) {
	// The flood of the finding (5,000 SSE streams, 1,000 slow bodies)
	// against the node's default bounds with EVIDENCED_FLOOD=1 (about a
	// minute: the slow bodies live the default body_timeout of 30 s); a
	// smaller one, with the bounds scaled down to match, in the normal
	// test suite.
	size := floodSize{Name: "small", Streams: 600, Slow: 200, Trickle: 500 * time.Millisecond}
	bounds := func(a *config.API) {
		a.ReadHeaderTimeout, a.BodyTimeout = config.Duration(3*time.Second), config.Duration(3*time.Second)
		a.MaxConnections, a.MaxClientConnections = 512, 64
		a.MaxEventStreams, a.MaxAnonymousEventStreams = 32, 16
	}
	if os.Getenv("EVIDENCED_FLOOD") == "1" {
		size, bounds = floodSize{Name: "full", Streams: 5000, Slow: 1000, Trickle: 5 * time.Second}, nil
	} else if testing.Short() {
		t.Skip("floods a node: run without -short")
	}
	c := startAlliance(t, "evidenced-flood", "bank", func(a *testnet.Alliance) {
		if bounds == nil {
			return
		}
		home := a.Members[0].Home
		cfg, err := config.Load(home)
		if err != nil {
			t.Fatal(err)
		}
		bounds(&cfg.API)
		if err := cfg.Save(home); err != nil {
			t.Fatal(err)
		}
	})
	p := c.nodes[0]
	cfg, err := config.Load(p.m.Home)
	if err != nil {
		t.Fatal(err)
	}
	api := cfg.API
	bodyTimeout, headerTimeout := time.Duration(api.BodyTimeout), time.Duration(api.ReadHeaderTimeout)
	const idleOver = 50 // idle connections beyond the cap of their address
	size.Idle = api.MaxClientConnections + idleOver
	size.Addr, size.Wait = strings.TrimPrefix(p.m.API, "http://"), 2*max(bodyTimeout, headerTimeout)+30*time.Second
	pid := p.cmd.Process.Pid
	rssBefore, hwmBefore := memory(t, pid)

	probe := startProbe(t, p.m.API, pid)
	rep := runFloodClient(t, size)
	probes := probe.stop()
	rssAfter, hwm := memory(t, pid)
	t.Logf("%s flood: %d SSE requests opened in %s: %d served, %d refused by the caps on connections, %d by the caps on streams, %d reset",
		size.Name, size.Streams, rep.Took.Round(time.Millisecond), rep.Served, rep.ConnRefused, rep.StreamRefused, rep.Reset)

	// /v1/status answered within 1 s throughout, and the chain committed.
	if len(probes) < 5 {
		t.Fatalf("only %d probes of /v1/status ran during the flood", len(probes))
	}
	var worst time.Duration
	took := make([]time.Duration, 0, len(probes))
	for _, pr := range probes {
		if pr.err != nil {
			t.Errorf("GET /v1/status during the flood: %v", pr.err)
			continue
		}
		took = append(took, pr.took)
		worst = max(worst, pr.took)
	}
	slices.Sort(took)
	first, last := probes[0].height, probes[len(probes)-1].height
	t.Logf("GET /v1/status during the flood: %d probes, median %s, max %s; height %d to %d",
		len(probes), took[len(took)/2].Round(time.Microsecond), worst.Round(time.Microsecond), first, last)
	if worst > time.Second {
		t.Errorf("GET /v1/status took up to %s during the flood, want < 1s", worst)
	}
	if last < first+3 {
		t.Errorf("the chain went from height %d to %d during the flood, want it to keep committing", first, last)
	}

	// The node's memory (kB): resident before, the most during, after.
	peak := hwm
	for _, pr := range probes {
		peak = max(peak, pr.rss)
	}
	t.Logf("node memory: RSS %d MiB before (VmHWM %d MiB), VmHWM %d MiB after the flood, RSS %d MiB after",
		rssBefore>>10, hwmBefore>>10, peak>>10, rssAfter>>10)
	if peak > 256<<10 {
		t.Errorf("the node's resident memory peaked at %d MiB during the flood, want < 256 MiB", peak>>10)
	}

	// The slow bodies were cut within the body timeout (each had its 400),
	// the idle connections within the header timeout, beyond the address's
	// cap.
	cutWithin(t, fmt.Sprintf("slow bodies (a byte every %s; min_body_rate %d B/s)", size.Trickle, api.MinBodyRate),
		rep.SlowLifetimes, size.Slow, "body_timeout", bodyTimeout)
	cutWithin(t, "idle connections", rep.IdleLifetimes, api.MaxClientConnections, "read_header_timeout", headerTimeout)
	if rep.IdleRefused != idleOver {
		t.Errorf("%d idle connections refused, want the %d beyond the cap of their address", rep.IdleRefused, idleOver)
	}

	// The streams beyond the caps were refused, and every refusal is in
	// /metrics.
	if rep.Served != api.MaxAnonymousEventStreams {
		t.Errorf("%d anonymous streams served, want the cap, %d", rep.Served, api.MaxAnonymousEventStreams)
	}
	m := scrape(t, p.m.API)
	t.Logf("refusals in /metrics: %v", m)
	refused := m["connections"] + m["client_connections"] + m["event_streams"] + m["anonymous_event_streams"]
	if want := size.Streams - rep.Served + rep.IdleRefused; refused != want || m["anonymous_event_streams"] == 0 || m["client_connections"] < idleOver {
		t.Errorf("refusals counted %v: %d of connections and streams, want %d (the flood's streams not served and idle connections refused), with anonymous_event_streams and client_connections among them",
			m, refused, want)
	}
	if m["slow_body"] != size.Slow {
		t.Errorf("slow bodies counted: %d, want %d", m["slow_body"], size.Slow)
	}

	// Refusals are counted, not logged: the node logged no error, and no
	// line per refused client.
	log, err := os.ReadFile(filepath.Join(c.dir, p.m.Name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	errs, warnings := strings.Count(string(log), "level=ERROR"), strings.Count(string(log), "level=WARN")
	t.Logf("node log: %d lines, %d warnings, %d errors", strings.Count(string(log), "\n"), warnings, errs)
	if errs > 0 || warnings > 10 {
		t.Errorf("the node logged %d errors and %d warnings during the flood:\n%s", errs, warnings, log)
	}
}

// runFloodClient runs TestFloodClient in a process of its own and returns
// its report.
func runFloodClient(t *testing.T, size floodSize) *floodReport {
	t.Helper()
	spec, err := json.Marshal(size)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), floodClientEnv+"="+string(spec))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// It reports what it met even when it failed: go on with that.
		t.Errorf("the flood client: %v\n%s%s", err, out, stderr.Bytes())
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if js, ok := strings.CutPrefix(line, "FLOOD REPORT "); ok {
			var rep floodReport
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatalf("the flood client's report: %v", err)
			}
			return &rep
		}
	}
	t.Fatalf("the flood client made no report:\n%s%s", out, stderr.Bytes())
	return nil
}

// TestFloodClient is the flood of TestFloodBounded, run in a process of
// its own when EVIDENCED_FLOOD_CLIENT holds a floodSize: it opens the idle
// connections and the slow bodies, then all the SSE requests at once,
// holds the streams served until the node has cut every idle and slow
// connection, and prints its floodReport.
func TestFloodClient(t *testing.T) {
	spec := os.Getenv(floodClientEnv)
	if spec == "" {
		t.Skip("the flood of TestFloodBounded, which runs it")
	}
	var size floodSize
	if err := json.Unmarshal([]byte(spec), &size); err != nil {
		t.Fatal(err)
	}
	raiseFileLimit(t, uint64(size.Idle+size.Slow+size.Streams+1024))
	held := holdConns(t, size)
	rep := floodStreams(t, size)
	held.wait(t, size.Wait, rep)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("FLOOD REPORT %s\n", b)
}

// raiseFileLimit makes sure the process may open need files.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(need, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
		t.Fatalf("the flood needs %d open files, the limit is %d (%v): raise ulimit -n", need, lim.Cur, err)
	}
}

// memory returns the VmRSS and VmHWM of process pid, in kB.
func memory(t *testing.T, pid int) (rss, hwm int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	return procField(b, "VmRSS:"), procField(b, "VmHWM:")
}

func procField(status []byte, name string) int64 {
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// probeResult is one GET /v1/status during the flood.
type probeResult struct {
	took   time.Duration
	height int64
	rss    int64 // the node's VmRSS then, kB
	err    error
}

// probe asks GET /v1/status every 100 ms, each time on a new connection
// (as a new client would) from 127.0.0.1.
type probe struct {
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []probeResult
}

func startProbe(t *testing.T, api string, pid int) *probe {
	t.Helper()
	p := &probe{done: make(chan struct{})}
	cl, err := client.New(api, client.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	p.wg.Go(func() {
		every(100*time.Millisecond, p.done, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			st, err := cl.Status(ctx)
			r := probeResult{took: time.Since(start), err: err}
			if err == nil {
				r.height = st.Height
			}
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				r.rss = procField(b, "VmRSS:")
			}
			p.mu.Lock()
			p.results = append(p.results, r)
			p.mu.Unlock()
		})
	})
	return p
}

// every calls f every d until stop is closed.
func every(d time.Duration, stop <-chan struct{}, f func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			f()
		}
	}
}

func (p *probe) stop() []probeResult {
	close(p.done)
	p.wg.Wait()
	return p.results
}

// cutWithin checks that want connections were cut, each within timeout
// (and a margin for a loaded machine), and logs their lifetimes.
func cutWithin(t *testing.T, what string, lifetimes []time.Duration, want int, setting string, timeout time.Duration) {
	t.Helper()
	if len(lifetimes) != want {
		t.Errorf("%d of %d %s were cut", len(lifetimes), want, what)
	}
	if len(lifetimes) == 0 {
		return
	}
	slices.Sort(lifetimes)
	longest := lifetimes[len(lifetimes)-1]
	t.Logf("%d %s lived %s to %s (%s %s)", len(lifetimes), what, lifetimes[0].Round(time.Millisecond), longest.Round(time.Millisecond), setting, timeout)
	if longest > timeout+timeout/4+time.Second {
		t.Errorf("%s lived up to %s, want about %s, the %s", what, longest, timeout, setting)
	}
}

// heldConns are the flood's connections that are slow on purpose: idle
// ones from one address, which send nothing (slow headers), and slow
// bodies, which send the headers of a POST /v1/txs of 100,000 bytes and
// then trickle its bytes, one now and then.
type heldConns struct {
	conns   []net.Conn
	trickle []net.Conn // the slow bodies
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	slow    []time.Duration // lifetimes of the slow bodies cut with a 400
	idle    []time.Duration // lifetimes of the idle connections closed
	refused int             // idle connections refused with a 503
}

func holdConns(t *testing.T, size floodSize) *heldConns {
	t.Helper()
	h := &heldConns{stop: make(chan struct{})}
	t.Cleanup(func() {
		for _, c := range h.conns {
			c.Close()
		}
	})
	// One address's worth of idle connections, and more: in order, so
	// that the node admits its cap of them and refuses the rest.
	for range size.Idle {
		c := dialFrom(t, idleAddr, size.Addr)
		start := time.Now()
		h.conns = append(h.conns, c)
		h.wg.Go(func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			h.mu.Lock()
			defer h.mu.Unlock()
			if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
				h.refused++
			} else {
				h.idle = append(h.idle, time.Since(start))
			}
		})
	}
	const header = "POST /v1/txs HTTP/1.1\r\nHost: node\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"
	for i := range size.Slow {
		c := dialFrom(t, slowAddr(i), size.Addr)
		start := time.Now()
		if _, err := io.WriteString(c, header+"\x01"); err != nil {
			t.Fatalf("slow body %d: %v", i, err)
		}
		h.conns, h.trickle = append(h.conns, c), append(h.trickle, c)
		h.wg.Go(func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "too slowly") {
				h.mu.Lock()
				h.slow = append(h.slow, time.Since(start))
				h.mu.Unlock()
			}
		})
	}
	go every(size.Trickle, h.stop, func() { // the trickle
		for _, c := range h.trickle {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte{1}) // fails once the node has cut it
		}
	})
	return h
}

// wait waits up to d for the node to end every held connection and puts
// what became of them in rep.
func (h *heldConns) wait(t *testing.T, d time.Duration, rep *floodReport) {
	t.Helper()
	ended := make(chan struct{})
	go func() { h.wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(d):
		t.Errorf("slow or idle connections still open %s after they started", d)
		for _, c := range h.conns {
			c.Close()
		}
		<-ended
	}
	close(h.stop)
	h.mu.Lock()
	defer h.mu.Unlock()
	rep.SlowLifetimes, rep.IdleLifetimes, rep.IdleRefused = h.slow, h.idle, h.refused
}

// floodStreams opens size.Streams unauthenticated SSE requests at once,
// three in four to GET /v1/events and one to the explorer's
// /explorer/live, and holds the streams the node serves until the test
// ends.
func floodStreams(t *testing.T, size floodSize) *floodReport {
	t.Helper()
	rep := &floodReport{}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	start := time.Now()
	var wg sync.WaitGroup
	for i := range size.Streams {
		wg.Go(func() {
			path := "/v1/events"
			if i%4 == 3 {
				path = "/explorer/live"
			}
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(streamAddr(i))}, Timeout: 30 * time.Second}
			c, err := d.Dial("tcp", size.Addr)
			if err != nil {
				t.Errorf("stream %d: %v", i, err)
				return
			}
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			status, retryAfter := 0, ""
			if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: node\r\nAccept: text/event-stream\r\n\r\n", path); err == nil {
				if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					status, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
				}
			}
			mu.Lock()
			defer mu.Unlock()
			// The caps on connections answer with Retry-After: 1
			// (api.DefaultRetryAfter), those on streams with 5
			// (api.StreamRetryAfter).
			switch {
			case status == http.StatusOK:
				_ = c.SetDeadline(time.Time{})
				held = append(held, c)
				rep.Served++
				return
			case status == http.StatusServiceUnavailable && retryAfter == "1":
				rep.ConnRefused++
			case status == http.StatusServiceUnavailable && retryAfter == "5":
				rep.StreamRefused++
			case status == 0:
				rep.Reset++
			default:
				t.Errorf("stream %d (%s): status %d", i, path, status)
			}
			c.Close()
		})
	}
	wg.Wait()
	rep.Took = time.Since(start)
	return rep
}

// dialFrom opens a TCP connection to addr from the local address ip.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 30 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	return c
}

// scrape returns the node's refusals by reason, from GET /metrics.
func scrape(t *testing.T, api string) map[string]int {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	refused := regexp.MustCompile(`(?m)^evidenced_http_refused_total\{reason="([a-z_]+)"\} ([0-9]+)$`)
	for _, m := range refused.FindAllStringSubmatch(string(b), -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(out) == 0 {
		t.Fatalf("GET /metrics has no evidenced_http_refused_total")
	}
	return out
}
