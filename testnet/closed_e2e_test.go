package testnet_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/internal/testutil"
)

// rpcGet decodes the result of a CometBFT RPC call on rpc (base URL).
func rpcGet(rpc, path string, result any) error {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(rpc + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s%s: %w", rpc, path, err)
	}
	return json.Unmarshal(r.Result, result)
}

// peerIDs returns the node ids of the peers CometBFT on rpc has (net_info).
func peerIDs(rpc string) ([]string, error) {
	var ni struct {
		Peers []struct {
			NodeInfo struct {
				ID string `json:"id"`
			} `json:"node_info"`
		} `json:"peers"`
	}
	if err := rpcGet(rpc, "/net_info", &ni); err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range ni.Peers {
		ids = append(ids, p.NodeInfo.ID)
	}
	slices.Sort(ids)
	return ids, nil
}

// cometHeight returns the latest block height CometBFT on rpc has (status).
func cometHeight(rpc string) (int64, error) {
	var st struct {
		SyncInfo struct {
			Height string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := rpcGet(rpc, "/status", &st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.SyncInfo.Height, 10, 64)
}

// logSince returns what member p logged after offset bytes.
func (c *cluster) logSince(p *proc, offset int64) string {
	c.t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, p.m.Name+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(data[min(offset, int64(len(data))):])
}

// TestClosedAllianceRefusesOutsider is the regression test of finding F1
// (CometBFT p2p admitted nodes outside the roster). A 4-member alliance
// of evidenced processes runs; an outsider, an evidenced process on a
// home of its own (its own member key, so its own node key) with the
// alliance's genesis and every member as a persistent peer, dials them
// all. Every member refuses it and logs so, none lists it as a peer, it
// syncs no block while the alliance commits several, and the members
// agree on the app hash throughout.
func TestClosedAllianceRefusesOutsider(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test starts five node processes; run without -short")
	}
	c := startCluster(t, "evidenced-closed", nil)
	var members []string
	for _, p := range c.nodes {
		members = append(members, p.m.NodeID)
	}
	slices.Sort(members)

	// The filter admits the members to one another on their first start:
	// each has the other three as peers.
	c.eventually("every member has the other three as peers", 30*time.Second, func() error {
		for _, p := range c.nodes {
			ids, err := peerIDs(p.m.RPC)
			if err != nil {
				return err
			}
			want := slices.DeleteFunc(slices.Clone(members), func(id string) bool { return id == p.m.NodeID })
			if !slices.Equal(ids, want) {
				return fmt.Errorf("%s has peers %v, want %v", p.m.Name, ids, want)
			}
		}
		return nil
	})
	t.Log("✓ 4 members started with filter_peers on and PEX off; each has the other three as CometBFT peers")

	// The outsider: `evidenced init` (its own member key, so its own node
	// key), the alliance's genesis, every member as a persistent peer.
	port := testutil.FreePortBase(t, 30000, 2500, 3)
	home := filepath.Join(c.dir, "outsider")
	out, err := c.run("init", "--home", home, "--moniker", "outsider", "--role", "bank", "--no-passphrase", "--chain-id", c.a.ChainID,
		"--p2p-port", fmt.Sprint(port), "--rpc-port", fmt.Sprint(port+1), "--api-port", fmt.Sprint(port+2), "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var made struct {
		NodeID string `json:"node_id"`
	}
	if err := json.Unmarshal(out, &made); err != nil || len(made.NodeID) != 40 {
		t.Fatalf("init --output json: %s (%v)", out, err)
	}
	outsider, outsiderRPC := made.NodeID, fmt.Sprintf("http://127.0.0.1:%d", port+1)
	gen, err := os.ReadFile(filepath.Join(c.nodes[0].m.Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), gen, 0o600); err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, p := range c.nodes {
		peers = append(peers, p.m.NodeID+"@"+p.m.P2P)
	}
	cfgPath := filepath.Join(home, "config", "config.toml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "\npersistent_peers = \"\"\n") {
		t.Fatalf("%s has no empty persistent_peers to fill", cfgPath)
	}
	cfg = []byte(strings.Replace(string(cfg), "\npersistent_peers = \"\"\n", "\npersistent_peers = \""+strings.Join(peers, ",")+"\"\n", 1))
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}

	// What the members logged before the outsider came.
	offsets := make([]int64, len(c.nodes))
	for i, p := range c.nodes {
		fi, err := os.Stat(filepath.Join(c.dir, p.m.Name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		offsets[i] = fi.Size()
	}
	outLog := filepath.Join(c.dir, "outsider.log")
	f, err := os.Create(outLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(c.bin, "start", "--home", home, "--log-level", "info")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the outsider: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			data, _ := os.ReadFile(outLog)
			t.Logf("--- outsider log ---\n%s", data)
		}
	})
	h0, err := c.height(c.nodes[0])
	if err != nil {
		t.Fatal(err)
	}

	// Until the alliance has committed 5 more blocks and every member has
	// logged the refusal, at every poll: no member lists the outsider as
	// a peer, and the outsider, which answers, has no block.
	refusal := `msg="refused a CometBFT peer: its node id is no member's node in the roster" component=abci node_id=` + outsider
	checks := 0
	c.eventually("the alliance commits 5 blocks while every member refuses the outsider", 90*time.Second, func() error {
		checks++
		for _, p := range c.nodes {
			ids, err := peerIDs(p.m.RPC)
			if err != nil {
				return err
			}
			if slices.Contains(ids, outsider) {
				t.Fatalf("%s lists the outsider %s among its CometBFT peers %v", p.m.Name, outsider, ids)
			}
		}
		oh, err := cometHeight(outsiderRPC)
		if err != nil {
			return fmt.Errorf("the outsider's RPC: %w", err)
		}
		if oh != 0 {
			t.Fatalf("the outsider synced to height %d", oh)
		}
		for i, p := range c.nodes {
			if !strings.Contains(c.logSince(p, offsets[i]), refusal) {
				return fmt.Errorf("%s has not logged the refusal of %s", p.m.Name, outsider)
			}
		}
		for _, p := range c.nodes {
			h, err := c.height(p)
			if err != nil {
				return err
			}
			if h < h0+5 {
				return fmt.Errorf("%s at height %d, want >= %d", p.m.Name, h, h0+5)
			}
		}
		return nil
	})
	final, err := c.height(c.nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("✓ outsider %s (an evidenced process with the alliance's genesis) refused by all four members, which logged it; at each of %d polls no member listed it as a peer and it was at height 0, while the alliance went from height %d to %d", outsider, checks, h0, final)

	// It still has nothing, the members still have only one another, and
	// they agree on the app hash.
	if oh, err := cometHeight(outsiderRPC); err != nil || oh != 0 {
		t.Fatalf("the outsider at height %d (%v), want 0", oh, err)
	}
	for _, p := range c.nodes {
		ids, err := peerIDs(p.m.RPC)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, outsider) || len(ids) != 3 {
			t.Fatalf("%s has peers %v, want the other three members", p.m.Name, ids)
		}
	}
	c.agree(final)
	t.Logf("✓ the outsider is still at height 0; all four members agree on the app hash after height %d", final)

	// The outsider was told why at its start; the members logged nothing
	// worse than a healthy member does.
	data, err := os.ReadFile(outLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "this node's CometBFT node id is not its member's node in the roster") {
		t.Error("the outsider did not log that the roster does not name its node")
	}
	for i, p := range c.nodes {
		if strings.Contains(c.logSince(p, 0), "node id is not its member's node") {
			t.Errorf("%s logged that the roster does not name its node", p.m.Name)
		}
		for _, line := range strings.Split(c.logSince(p, offsets[i]), "\n") {
			if strings.Contains(line, "level=ERROR") {
				t.Errorf("%s logged an error while refusing the outsider: %s", p.m.Name, line)
			}
		}
	}
	t.Log("✓ each member logged the refusal as a warning and no error; the outsider logged that the roster does not name its node")
}
