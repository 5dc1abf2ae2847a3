package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a node gets to stop on SIGTERM before SIGKILL.
const stopGrace = 20 * time.Second

// proc is one node process.
type proc struct {
	name    string
	home    string
	rpc     string // CometBFT RPC base URL
	api     string // evidenced API base URL ("" for the baseline)
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// cluster is four node processes of one system.
type cluster struct {
	system string
	procs  []*proc
}

// freeBasePort finds a base port P such that P+10*i+{0,1,2} are free on
// 127.0.0.1 for i < n. It tries a bounded number of random bases.
func freeBasePort(n int) (int, error) {
	for range 50 {
		base := 20000 + 10*rand.IntN(3000)
		ok := true
		for i := 0; i < n && ok; i++ {
			for d := range 4 { // p2p, RPC, API, libp2p
				ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+10*i+d))
				if err != nil {
					ok = false
					break
				}
				ln.Close()
			}
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("no free port range on 127.0.0.1 after 50 tries")
}

// start launches one process per member: bin args... --home home, its
// output appended to home/node.log.
func startCluster(system, bin string, members []*proc, args ...string) (*cluster, error) {
	c := &cluster{system: system}
	for _, p := range members {
		logf, err := os.OpenFile(filepath.Join(p.home, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			c.stop()
			return nil, err
		}
		p.cmd = exec.Command(bin, append(append([]string{}, args...), "--home", p.home)...)
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		if err := p.cmd.Start(); err != nil {
			logf.Close()
			c.stop()
			return nil, fmt.Errorf("start %s %s: %w", system, p.name, err)
		}
		p.done = make(chan struct{})
		go func() {
			p.waitErr = p.cmd.Wait()
			logf.Close()
			close(p.done)
		}()
		c.procs = append(c.procs, p)
	}
	return c, nil
}

// stop sends SIGTERM to every node, then SIGKILL to those still running
// after stopGrace.
func (c *cluster) stop() {
	var wg sync.WaitGroup
	for _, p := range c.procs {
		if p.cmd == nil || p.cmd.Process == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(stopGrace):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}()
	}
	wg.Wait()
}

// exited returns an error naming a node that is no longer running.
func (c *cluster) exited() error {
	for _, p := range c.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s node %s exited (%v): see %s", c.system, p.name, p.waitErr, filepath.Join(p.home, "node.log"))
		default:
		}
	}
	return nil
}

// waitHeight polls every node's CometBFT /status until each reports a
// height ≥ h, for at most timeout.
func (c *cluster) waitHeight(ctx context.Context, h int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if err := c.exited(); err != nil {
			return err
		}
		low := int64(-1)
		for _, p := range c.procs {
			got, err := cometHeight(ctx, p.rpc)
			if err != nil || got < h {
				low = got
				break
			}
		}
		if low == -1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not every node reached height %d within %v (lowest seen %d)", c.system, h, timeout, low)
		case <-t.C:
		}
	}
}

// getJSON fetches url into out with a 10 s bound.
func getJSON(ctx context.Context, url string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// cometHeight reads latest_block_height from CometBFT's /status.
func cometHeight(ctx context.Context, rpc string) (int64, error) {
	var st struct {
		Result struct {
			SyncInfo struct {
				Height string `json:"latest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := getJSON(ctx, rpc+"/status", &st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.Result.SyncInfo.Height, 10, 64)
}

// kvSize reads the kvstore's committed tx count from /abci_info ({"size":N}).
func kvSize(ctx context.Context, rpc string) (int64, error) {
	var info struct {
		Result struct {
			Response struct {
				Data string `json:"data"`
			} `json:"response"`
		} `json:"result"`
	}
	if err := getJSON(ctx, rpc+"/abci_info", &info); err != nil {
		return 0, err
	}
	var d struct {
		Size int64 `json:"size"`
	}
	if err := json.Unmarshal([]byte(info.Result.Response.Data), &d); err != nil {
		return 0, fmt.Errorf("kvstore abci_info data %q: %w", info.Result.Response.Data, err)
	}
	return d.Size, nil
}

// records reads the evidence records committed since genesis from the
// evidenced API's /v1/status.
func records(ctx context.Context, api string) (int64, error) {
	var st struct {
		Records int64 `json:"records"`
	}
	if err := getJSON(ctx, api+"/v1/status", &st); err != nil {
		return 0, err
	}
	return st.Records, nil
}

// peakRSS reads VmHWM (peak resident set) of each node, in bytes.
func (c *cluster) peakRSS() []int64 {
	out := make([]int64, len(c.procs))
	for i, p := range c.procs {
		if p.cmd == nil || p.cmd.Process == nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		out[i] = parseVmHWM(string(b))
	}
	return out
}

// parseVmHWM returns the VmHWM line of /proc/PID/status in bytes (0 if absent).
func parseVmHWM(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}

// diskBytes returns the bytes allocated on disk (st_blocks × 512, so
// sparse preallocated files count what is written) under each node's data dir.
func (c *cluster) diskBytes() []int64 {
	out := make([]int64, len(c.procs))
	for i, p := range c.procs {
		out[i] = duBytes(filepath.Join(p.home, "data"))
	}
	return out
}

// walBytes returns the bytes allocated by each node's CometBFT consensus
// WAL (data/cs.wal), which CometBFT caps at 1 GiB (libs/autofile's default
// group total size): a fixed cost, not one that grows with the chain.
func (c *cluster) walBytes() []int64 {
	out := make([]int64, len(c.procs))
	for i, p := range c.procs {
		out[i] = duBytes(filepath.Join(p.home, "data", "cs.wal"))
	}
	return out
}

// duBytes sums the allocated blocks of the regular files under dir.
func duBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}

// drain waits until every node's mempool is empty, so that a run measures
// only what it submits itself, not the backlog of the run before.
func (c *cluster) drain(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pending := 0
		for _, p := range c.procs {
			var r struct {
				Result struct {
					N json.Number `json:"n_txs"`
				} `json:"result"`
			}
			if err := getJSON(ctx, p.rpc+"/num_unconfirmed_txs", &r); err != nil {
				return fmt.Errorf("read the mempool of %s: %w", p.name, err)
			}
			n, _ := r.Result.N.Int64()
			pending += int(n)
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mempools still hold %d txs after %s", pending, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond): // polling interval
		}
	}
}
