package node_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/internal/testutil"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
)

func freeBase(t *testing.T) int { return testutil.FreePortBase(t, 40000, 2000, 4) }

func generate(t *testing.T, chainID string) *testnet.Alliance {
	t.Helper()
	a, err := testnet.Generate(testnet.Options{Out: filepath.Join(t.TempDir(), chainID), ChainID: chainID, Members: []string{"bank"},
		BasePort: freeBase(t), TimeoutCommit: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSingleNodeSubmitAndRestart(t *testing.T) {
	a := generate(t, "evidenced-node-test")
	home := a.Members[0].Home
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.New(home, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(n.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, err := keyfile.Load(a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-N1", Step: 1, Commitment: crypto.SM3([]byte("x")), Size: 1}
	tx, err := ledger.SignTx(key, rand.Reader, &ledger.Body{ChainID: a.ChainID, Time: time.Now().UnixNano(), Payload: &ledger.Evidence{Record: rec}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Submit(ctx, tx, true)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if res.Status != client.StatusCommitted || res.Index != 1 || res.Height < 1 || res.Signer != "bank" {
		t.Fatalf("submit result %+v", res)
	}
	// wait=sync: accepted into the mempool, then committed.
	rec2 := ledger.Record{Kind: "loan-contract", Chain: "LOAN-N2", Step: 1, Commitment: crypto.SM3([]byte("y")), Size: 1}
	tx2, err := ledger.SignTx(key, rand.Reader, &ledger.Body{ChainID: a.ChainID, Time: time.Now().UnixNano(), Payload: &ledger.Evidence{Record: rec2}})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := cl.Submit(ctx, tx2, false)
	if err != nil || pending.Status != client.StatusPending {
		t.Fatalf("submit wait=sync: %+v, %v", pending, err)
	}
	var st *client.Status
	for deadline := time.Now().Add(20 * time.Second); ; {
		st, err = cl.Status(ctx)
		if err == nil && st.LogSize == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wait=sync tx did not commit: status %+v, %v", st, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	if st.ChainID != a.ChainID || st.Validators != 1 || st.Records != 2 {
		t.Fatalf("status %+v", st)
	}

	// A bundle: the good transactions commit, each its own entry, in one
	// block; the bad one is answered in its item.
	var inner [][]byte
	for i := range 3 {
		r := ledger.Record{Kind: "loan-contract", Chain: fmt.Sprintf("LOAN-B%d", i), Step: 1, Commitment: crypto.SM3([]byte{byte(i)}), Size: 1}
		if i == 2 {
			r.Step, r.Prev = 2, crypto.SM3([]byte("no such step")) // a gap: chain_step
		}
		tx, err := ledger.SignTx(key, rand.Reader, &ledger.Body{ChainID: a.ChainID, Time: time.Now().UnixNano(), Payload: &ledger.Evidence{Record: r}})
		if err != nil {
			t.Fatal(err)
		}
		inner = append(inner, tx)
	}
	bundle, err := ledger.EncodeBundle(inner)
	if err != nil {
		t.Fatal(err)
	}
	br, err := cl.SubmitBundle(ctx, bundle, true)
	if err != nil {
		t.Fatalf("submit bundle: %v", err)
	}
	if br.Committed != 2 || br.Rejected != 1 || br.Results[0].Index != 3 || br.Results[1].Index != 4 ||
		br.Results[0].Height != br.Results[1].Height || br.Results[2].Code != ledger.CodeChainStep {
		t.Fatalf("bundle result %+v", br)
	}
	if st, err = cl.Status(ctx); err != nil || st.Records != 4 || st.LogSize != 5 {
		t.Fatalf("status after the bundle %+v, %v", st, err)
	}
	// The node's metrics count what it committed since it started.
	resp, err := http.Get(n.APIURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"evidenced_records_committed_total 4", "evidenced_entries_committed_total 4",
		"evidenced_blob_store_originals 0", "evidenced_checkpoint_lag_blocks ", "evidenced_signature_verify_seconds_count ",
		`evidenced_http_refused_total{reason="client_connections"} 0`, `evidenced_http_refused_total{reason="slow_body"} 0`,
		`evidenced_http_refused_total{reason="anonymous_event_streams"} 0`, "evidenced_http_connections ", "evidenced_event_streams 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics has no %q (status %d)", want, resp.StatusCode)
		}
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// Restart from disk: the record is still there.
	n, err = node.New(home, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	e, err := cl.EntryByTx(ctx, res.TxID)
	if err != nil || e.Index != 1 {
		t.Fatalf("after restart: entry %+v, %v", e, err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesForeignHome(t *testing.T) {
	a := generate(t, "evidenced-home-a")
	b := generate(t, "evidenced-home-b")
	logger := slog.New(slog.DiscardHandler)
	home := a.Members[0].Home

	// Open once so the store records its chain.
	n, err := node.New(home, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Another chain's genesis in this home.
	gen, err := os.ReadFile(filepath.Join(b.Members[0].Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), gen, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = node.New(home, logger)
	if err == nil || !strings.Contains(err.Error(), "evidenced-home-a") || !strings.Contains(err.Error(), "evidenced-home-b") {
		t.Fatalf("New on a home with another chain's genesis = %v, want an error naming both chains", err)
	}
	// Config says nothing about the chain: the store still refuses.
	cfgPath := filepath.Join(home, "config", "evidenced.toml")
	cfg, _ := os.ReadFile(cfgPath)
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(cfg), `chain_id = "evidenced-home-a"`, `chain_id = ""`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = node.New(home, logger)
	if err == nil || !strings.Contains(err.Error(), "evidenced-home-a") {
		t.Fatalf("New on a store of another chain = %v, want a chain mismatch", err)
	}
	// Not a home at all.
	if _, err := node.New(t.TempDir(), logger); err == nil || !strings.Contains(err.Error(), "evidenced init") {
		t.Fatalf("New on an empty dir = %v", err)
	}
}

// TestRefusesOpenNetwork: a generated home filters its CometBFT peers
// through the app and exchanges no addresses; a node refuses to start
// with the filter off, or on a genesis made before the roster named each
// member's node id, saying what to do.
func TestRefusesOpenNetwork(t *testing.T) {
	a := generate(t, "evidenced-closed")
	home := a.Members[0].Home
	logger := slog.New(slog.DiscardHandler)
	cfgPath := filepath.Join(home, "config", "config.toml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"filter_peers = true", "pex = false"} {
		if !strings.Contains(string(cfg), want) {
			t.Fatalf("generated config.toml lacks %q", want)
		}
	}
	genPath := filepath.Join(home, "config", "genesis.json")
	gen, err := os.ReadFile(genPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(gen, &doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range doc["app_state"].(map[string]any)["members"].([]any) {
		delete(m.(map[string]any), "node_id")
	}
	old, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		config, genesis []byte
		want            []string
	}{
		{"filter off", []byte(strings.Replace(string(cfg), "filter_peers = true", "filter_peers = false", 1)), gen,
			[]string{"filter_peers = false", "set filter_peers = true"}},
		{"genesis without node ids", cfg, old,
			[]string{"made before the roster named each member's CometBFT node id", "genesis member bank: no node_id",
				"Make the alliance's genesis again", "this node's id is " + a.Members[0].NodeID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(cfgPath, tt.config, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(genPath, tt.genesis, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := node.LoadHome(home, logger)
			for _, want := range tt.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("LoadHome = %v, want an error saying %q", err, want)
				}
			}
		})
	}
}

// TestLoadHome: LoadHome reads what a generated home holds and opens its
// stores; Wire takes it from there; a home that is closed again can be
// loaded again (the store's lock is released).
func TestLoadHome(t *testing.T) {
	a := generate(t, "evidenced-load-home")
	home := a.Members[0].Home
	logger := slog.New(slog.DiscardHandler)
	h, err := node.LoadHome(home, logger)
	if err != nil {
		t.Fatal(err)
	}
	member, err := keyfile.Load(filepath.Join(home, "keys", "member.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Dir != home || h.Config.Member != "bank" || h.Genesis.ChainID != a.ChainID || !h.MemberKey.Public().Equal(member.Public()) ||
		h.ClientKey == nil || len(h.Tokens) == 0 || h.Validator == nil || h.NodeKey == nil || h.DB == nil || h.Blobs == nil {
		t.Fatalf("loaded home %+v", h)
	}
	if _, err := node.LoadHome(home, logger); err == nil {
		t.Fatal("a home whose store is open loaded a second time")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	h, err = node.LoadHome(home, logger)
	if err != nil {
		t.Fatalf("load after Close: %v", err)
	}
	n, err := node.Wire(h, logger)
	if err != nil {
		t.Fatal(err)
	}
	if n.ChainID() != a.ChainID || n.Originals() == nil {
		t.Fatalf("wired node: chain %q, originals %v", n.ChainID(), n.Originals())
	}
	if err := n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.DB != nil {
		t.Error("Stop left the home's store open")
	}
}
