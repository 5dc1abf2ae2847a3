package testnet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/internal/testutil"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/testnet"
)

// The end-to-end test runs a real 4-member alliance: four evidenced
// processes on 127.0.0.1, built from this checkout, and perturbs it.

type proc struct {
	m   testnet.Member
	cmd *exec.Cmd
	log *os.File
	cl  *client.Client
	up  bool
}

type cluster struct {
	t     *testing.T
	bin   string
	dir   string
	a     *testnet.Alliance
	nodes []*proc
	mu    sync.Mutex
}

// freeBase finds a base port with four members' ports free.
func freeBase(t *testing.T) int { return testutil.FreePortBase(t, 30000, 2500, 40) }

func (c *cluster) run(args ...string) ([]byte, error) {
	cmd := exec.Command(c.bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("evidenced %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func (c *cluster) start(i int) {
	c.t.Helper()
	p := c.nodes[i]
	f, err := os.OpenFile(filepath.Join(c.dir, p.m.Name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "start", "--home", p.m.Home, "--log-level", "info")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", p.m.Name, err)
	}
	c.mu.Lock()
	p.cmd, p.log, p.up = cmd, f, true
	c.mu.Unlock()
}

func (c *cluster) kill(i int, sig syscall.Signal) {
	c.t.Helper()
	p := c.nodes[i]
	c.mu.Lock()
	p.up = false
	c.mu.Unlock()
	_ = p.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.t.Errorf("%s did not stop within 30s of %s; killing it", p.m.Name, sig)
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.log.Close()
}

func (c *cluster) live() []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*proc
	for _, p := range c.nodes {
		if p.up {
			out = append(out, p)
		}
	}
	return out
}

func (c *cluster) logTails() string {
	var b strings.Builder
	for _, p := range c.nodes {
		data, _ := os.ReadFile(filepath.Join(c.dir, p.m.Name+".log"))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s log (tail) ---\n%s\n", p.m.Name, strings.Join(lines, "\n"))
	}
	return b.String()
}

// eventually polls f until it returns nil or the deadline passes.
func (c *cluster) eventually(what string, d time.Duration, f func() error) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not synchronisation
	}
	c.t.Fatalf("%s: not reached within %s: %v\n%s", what, d, err, c.logTails())
}

func (c *cluster) height(p *proc) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := p.cl.Status(ctx)
	if err != nil {
		return 0, err
	}
	return st.Height, nil
}

// headerAppHash returns the app hash in the header of block h as seen by p
// (CometBFT's standard RPC).
func headerAppHash(p *proc, h int64) (string, error) {
	resp, err := http.Get(fmt.Sprintf("%s/block?height=%d", p.m.RPC, h))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Result struct {
			Block struct {
				Header struct {
					AppHash string `json:"app_hash"`
				} `json:"header"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", err
	}
	if r.Result.Block.Header.AppHash == "" {
		return "", fmt.Errorf("%s has no block %d", p.m.Name, h)
	}
	return r.Result.Block.Header.AppHash, nil
}

// agree waits until every node has passed height h+1 and all report the
// same app hash in the header of block h+1 (the app hash after block h).
func (c *cluster) agree(h int64) {
	c.t.Helper()
	c.eventually(fmt.Sprintf("all nodes agree on the app hash after height %d", h), 60*time.Second, func() error {
		var first string
		for _, p := range c.nodes {
			ah, err := headerAppHash(p, h+1)
			if err != nil {
				return err
			}
			if first == "" {
				first = ah
			} else if ah != first {
				c.t.Fatalf("app hash after height %d differs: %s has %s, %s has %s", h, c.nodes[0].m.Name, first, p.m.Name, ah)
			}
		}
		return nil
	})
}

// load submits evidence records in the background and remembers every
// submission a node reported committed.
type load struct {
	c         *cluster
	key       *crypto.PrivateKey
	chainID   string
	mu        sync.Mutex
	committed map[crypto.Hash]uint64
	failures  int
	stop      chan struct{}
	done      sync.WaitGroup
}

func (l *load) run(workers int) {
	for w := range workers {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				live := l.c.live()
				if len(live) == 0 {
					continue
				}
				p := live[mrand.IntN(len(live))]
				rec := ledger.Record{Kind: "loan-contract", Chain: fmt.Sprintf("LOAD-%d-%d-%d", w, i, time.Now().UnixNano()), Step: 1,
					Commitment: crypto.SM3([]byte(fmt.Sprint("load", w, i, time.Now().UnixNano()))), Size: 100}
				tx, err := ledger.SignTx(l.key, rand.Reader, &ledger.Body{ChainID: l.chainID, Time: time.Now().UnixNano(), Payload: &ledger.Evidence{Record: rec}})
				if err != nil {
					panic(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				res, err := p.cl.Submit(ctx, tx, true)
				cancel()
				l.mu.Lock()
				if err == nil && res.Status == client.StatusCommitted {
					l.committed[res.TxID] = res.Index
				} else {
					l.failures++
				}
				l.mu.Unlock()
			}
		}()
	}
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.committed)
}

func (l *load) halt() {
	close(l.stop)
	l.done.Wait()
}

// allPresent checks that every committed submission is on every node, at
// the index it was reported at.
func (c *cluster) allPresent(l *load) {
	c.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range c.nodes {
		for id, idx := range l.committed {
			var e *client.Entry
			c.eventually(fmt.Sprintf("tx %s on %s", id.String()[:12], p.m.Name), 30*time.Second, func() error {
				var err error
				e, err = p.cl.EntryByTx(context.Background(), id)
				return err
			})
			if e.Index != idx {
				c.t.Fatalf("%s: tx %s at index %d, it was reported committed at %d", p.m.Name, id, e.Index, idx)
			}
		}
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds the evidenced binary once for all tests of the package.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evidenced-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "evidenced")
		cmd := exec.Command("go", "build", "-o", builtBin, "../cmd/evidenced")
		cmd.Stderr = os.Stderr
		buildErr = cmd.Run()
	})
	if buildErr != nil {
		t.Fatalf("build evidenced: %v", buildErr)
	}
	return builtBin
}

// startCluster generates a 4-member alliance, lets prepare change the homes,
// starts the four processes and waits until all serve the API at height >= 2.
func startCluster(t *testing.T, chainID string, prepare func(a *testnet.Alliance)) *cluster {
	t.Helper()
	return startAlliance(t, chainID, "bank,notary,court,arbitration", prepare)
}

// startAlliance is startCluster with the members of `evidenced testnet
// --members`.
func startAlliance(t *testing.T, chainID, members string, prepare func(a *testnet.Alliance)) *cluster {
	t.Helper()
	return startAllianceArgs(t, chainID, members, nil, prepare)
}

// startAllianceArgs is startAlliance with more arguments for `evidenced
// testnet`.
func startAllianceArgs(t *testing.T, chainID, members string, more []string, prepare func(a *testnet.Alliance)) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: binary(t), dir: t.TempDir()}
	base := freeBase(t)
	out, err := c.run(append([]string{"testnet", "--members", members, "--out", filepath.Join(c.dir, "alliance"),
		"--base-port", fmt.Sprint(base), "--chain-id", chainID, "--timeout-commit", "300ms", "--output", "json"}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	c.a = &testnet.Alliance{}
	if err := json.Unmarshal(out, c.a); err != nil {
		t.Fatalf("testnet --output json: %v\n%s", err, out)
	}
	if prepare != nil {
		prepare(c.a)
	}
	for _, m := range c.a.Members {
		cl, err := client.New(m.API)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, &proc{m: m, cl: cl})
	}
	for i := range c.nodes {
		c.start(i)
	}
	t.Cleanup(func() {
		c.stopAll()
		if t.Failed() {
			t.Log(c.logTails())
		}
	})
	c.eventually("every node serves /v1/status at height >= 2", 60*time.Second, func() error {
		for _, p := range c.nodes {
			h, err := c.height(p)
			if err != nil {
				return err
			}
			if h < 2 {
				return fmt.Errorf("%s at height %d", p.m.Name, h)
			}
		}
		return nil
	})
	return c
}

// stopAll stops every running node with SIGTERM.
func (c *cluster) stopAll() {
	for i, p := range c.nodes {
		if p.up {
			c.kill(i, syscall.SIGTERM)
		}
	}
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test starts four node processes; run without -short")
	}
	c := startCluster(t, "evidenced-e2e", nil)
	t.Log("✓ started 4 evidenced processes (bank, notary, court, arbitration) on 127.0.0.1; all serve the API")

	// CometBFT's own RPC answers as a normal CometBFT node.
	resp, err := http.Get(c.nodes[0].m.RPC + "/status")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CometBFT RPC /status: %v %v", resp, err)
	}
	resp.Body.Close()

	// Submit evidence of a file from the CLI.
	file := filepath.Join(c.dir, "loan-contract.pdf")
	if err := os.WriteFile(file, []byte("借款协议 — synthetic loan agreement for the e2e test"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := c.run("submit", "--node", c.nodes[0].m.API, "--key", c.a.ClientKey, "--chain", "LOAN-E2E-1", "--step", "1",
		"--kind", "loan-contract", "--output", "json", file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"tx_id"`)) {
		t.Fatalf("submit printed no tx id: %s", out)
	}
	c.eventually("the evidence chain is readable on the court's node", 20*time.Second, func() error {
		out, err := c.run("chain", "--node", c.nodes[2].m.API, "LOAN-E2E-1", "--output", "json")
		if err != nil {
			return err
		}
		if !bytes.Contains(out, []byte(`"steps": 1`)) {
			return fmt.Errorf("chain output lacks step 1: %s", out)
		}
		return nil
	})
	t.Log("✓ CLI submit on the bank's node; the evidence chain is readable on the court's node")

	key, err := keyfile.Load(c.a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := &load{c: c, key: key, chainID: c.a.ChainID, committed: map[crypto.Hash]uint64{}, stop: make(chan struct{})}
	l.run(2)

	// 1. SIGKILL one validator while submissions continue.
	victim := 3 // arbitration
	c.kill(victim, syscall.SIGKILL)
	h0, _ := c.height(c.nodes[0])
	n0 := l.count()
	c.eventually("the other three keep committing with one validator killed", 60*time.Second, func() error {
		for _, p := range c.live() {
			h, err := c.height(p)
			if err != nil {
				return err
			}
			if h < h0+5 {
				return fmt.Errorf("%s at %d, want >= %d", p.m.Name, h, h0+5)
			}
		}
		if l.count() < n0+5 {
			return fmt.Errorf("%d new submissions committed, want >= 5", l.count()-n0)
		}
		return nil
	})
	t.Logf("✓ SIGKILL %s: the other three kept committing (height %d → ≥%d, %d submissions committed meanwhile)", c.nodes[victim].m.Name, h0, h0+5, l.count()-n0)

	// 2. Restart it: it catches up and all four agree.
	c.start(victim)
	var target int64
	c.eventually("the restarted node catches up", 90*time.Second, func() error {
		h, err := c.height(c.nodes[victim])
		if err != nil {
			return err
		}
		other, err := c.height(c.nodes[0])
		if err != nil {
			return err
		}
		if h < other-1 {
			return fmt.Errorf("%s at %d, bank at %d", c.nodes[victim].m.Name, h, other)
		}
		target = h
		return nil
	})
	c.agree(target)
	t.Logf("✓ restarted %s: caught up to height %d; all four report the same app hash there", c.nodes[victim].m.Name, target)

	// 3. Kill and restart every node in turn, under load.
	for i, p := range c.nodes {
		sig := syscall.SIGKILL
		if i%2 == 1 {
			sig = syscall.SIGTERM
		}
		before := l.count()
		c.kill(i, sig)
		c.eventually(fmt.Sprintf("commits continue with %s down", p.m.Name), 60*time.Second, func() error {
			if l.count() < before+3 {
				return fmt.Errorf("%d commits since the kill", l.count()-before)
			}
			return nil
		})
		c.start(i)
		c.eventually(fmt.Sprintf("%s back", p.m.Name), 60*time.Second, func() error {
			_, err := c.height(p)
			return err
		})
		t.Logf("✓ %s killed (%s) and restarted under load; %d more submissions committed meanwhile", p.m.Name, sig, l.count()-before)
	}
	l.halt()
	final, _ := c.height(c.nodes[0])
	c.agree(final)
	c.allPresent(l)
	t.Logf("✓ rolling restart: every one of the %d submissions reported committed is on all four nodes at its index; app hashes agree at height %d (%d submissions failed while nodes were down, as expected)", len(l.committed), final, l.failures)

	// 4. Bad input gets a clear code; the nodes are unaffected.
	bank := c.nodes[0]
	ctx := context.Background()
	rec := func(chain string, step uint32, prev crypto.Hash) *ledger.Record {
		return &ledger.Record{Kind: "loan-contract", Chain: chain, Step: step, Prev: prev, Commitment: crypto.SM3([]byte(chain), []byte(fmt.Sprint(step))), Size: 1}
	}
	sign := func(k *crypto.PrivateKey, r *ledger.Record) []byte {
		tx, err := ledger.SignTx(k, rand.Reader, &ledger.Body{ChainID: c.a.ChainID, Time: time.Now().UnixNano(), Payload: &ledger.Evidence{Record: *r}})
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	good := sign(key, rec("LOAN-E2E-2", 1, crypto.Hash{}))
	first, err := bank.cl.Submit(ctx, good, true)
	if err != nil {
		t.Fatal(err)
	}
	outsider, _ := crypto.GenerateKey(rand.Reader)
	notaryKey, err := keyfile.Load(filepath.Join(c.nodes[1].m.Home, "keys", "member.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		tx   []byte
		want ledger.Code
	}{
		{"garbage bytes", []byte("this is not a transaction"), ledger.CodeUnsupported},
		{"truncated tx", good[:len(good)-3], ledger.CodeMalformed},
		{"valid tx re-sent", good, ledger.CodeDuplicate},
		{"signed by an unregistered key", sign(outsider, rec("LOAN-E2E-3", 1, crypto.Hash{})), ledger.CodeUnknownKey},
		{"a notary submitting evidence", sign(notaryKey, rec("LOAN-E2E-4", 1, crypto.Hash{})), ledger.CodeRoleNotAllowed},
		{"broken evidence-chain link", sign(key, rec("LOAN-E2E-2", 2, crypto.SM3([]byte("wrong")))), ledger.CodeChainPrev},
		{"evidence-chain gap", sign(key, rec("LOAN-E2E-2", 3, crypto.SM3([]byte("wrong")))), ledger.CodeChainStep},
	}
	for _, tc := range cases {
		_, err := bank.cl.Submit(ctx, tc.tx, true)
		var ce *client.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: got %v, want a rejection", tc.name, err)
		}
		if ce.LedgerCode() != tc.want || ce.Code != tc.want.String() {
			t.Fatalf("%s: got %s (%d) %q, want %s", tc.name, ce.Code, ce.ResultCode, ce.Message, tc.want)
		}
		t.Logf("✓ %s → HTTP %d, code %s (%d): %s", tc.name, ce.Status, ce.Code, ce.ResultCode, ce.Message)
	}
	// The nodes are unaffected: the chain continues correctly.
	e, err := bank.cl.Entry(ctx, first.Index)
	if err != nil {
		t.Fatal(err)
	}
	next, err := bank.cl.Submit(ctx, sign(key, rec("LOAN-E2E-2", 2, e.LeafHash)), true)
	if err != nil {
		t.Fatalf("a valid step after the bad input: %v", err)
	}
	h, _ := c.height(bank)
	c.agree(h)
	t.Logf("✓ after the bad input the next valid step committed at index %d and all four nodes agree at height %d", next.Index, h)
}
