package testnet_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/peertest"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/testnet"
)

// TestOriginalsEndToEnd drives issue 6 through the CLI against four
// evidenced processes: upload, a refused fetch, grant, fetch, custody,
// revoke, replicas, a corrupted replica repaired by the scrub, the owner's
// node killed, and a peer outside the roster.
func TestOriginalsEndToEnd(t *testing.T) {
	c := startCluster(t, "evidenced-originals-e2e", func(a *testnet.Alliance) {
		for _, m := range a.Members {
			cfg, err := config.Load(m.Home)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Originals.ScrubInterval = config.Duration(time.Second)
			if err := cfg.Save(m.Home); err != nil {
				t.Fatal(err)
			}
		}
	})
	member := map[string]testnet.Member{}
	idx := map[string]int{}
	for i, p := range c.nodes {
		member[p.m.Name], idx[p.m.Name] = p.m, i
	}
	bank, court, notary := member["bank"], member["court"], member["notary"]
	cli := func(m testnet.Member, args ...string) ([]byte, error) {
		return c.run(append(args, "--node", m.API, "--token-file", m.TokensFile, "-o", "json")...)
	}
	dir := t.TempDir()

	// The bank uploads a 2 MiB file.
	original := make([]byte, 2<<20)
	rand.Read(original)
	file := filepath.Join(dir, "contract.pdf")
	if err := os.WriteFile(file, original, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := c.run("submit", "--upload", "--chain", "LOAN-E2E-1", "--step", "1", "--kind", "loan-contract",
		"--node", bank.API, "--token-file", bank.TokensFile, "-o", "json", file)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Submissions []struct {
			Cipher crypto.Hash `json:"cipher"`
			Result struct {
				Index  uint64 `json:"index"`
				Height int64  `json:"height"`
			} `json:"result"`
		} `json:"submissions"`
	}
	if err := json.Unmarshal(out, &up); err != nil || len(up.Submissions) != 1 {
		t.Fatalf("submit --upload output %s: %v", out, err)
	}
	id := strconv.FormatUint(up.Submissions[0].Result.Index, 10)
	addr := up.Submissions[0].Cipher
	c.waitAll(up.Submissions[0].Result.Height)

	// Without a grant the court's node refuses and writes nothing.
	got := filepath.Join(dir, "court-copy.pdf")
	if _, err := cli(court, "fetch", id, "--out", got); err == nil || !strings.Contains(err.Error(), "grant") {
		t.Fatalf("fetch without a grant: %v", err)
	}
	if _, err := os.Stat(got); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused fetch left %s behind", got)
	}

	// The bank grants the court; the court fetches identical bytes, and the
	// access is on chain.
	grant := func() uint64 {
		out, err := cli(bank, "grant", id, "--to", "court", "--purpose", "(2026) case 1234", "--expires", "720h")
		if err != nil {
			t.Fatal(err)
		}
		var r client.SubmitResult
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		c.waitAll(r.Height)
		return r.Index
	}
	g1 := grant()
	fetch := func() {
		t.Helper()
		os.Remove(got)
		os.Remove(got + ".evidence.json")
		out, err := cli(court, "fetch", id, "--out", got)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(got)
		if err != nil || !bytes.Equal(b, original) {
			t.Fatalf("the court's copy differs from the original (%v)", err)
		}
		if !strings.Contains(string(out), `"receipt_check": "verified`) && !strings.Contains(string(out), "not yet available") {
			t.Fatalf("fetch output: %s", out)
		}
	}
	fetch()
	custody := func() client.Custody {
		out, err := c.run("custody", id, "--node", court.API, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var cu client.Custody
		if err := json.Unmarshal(out, &cu); err != nil {
			t.Fatal(err)
		}
		return cu
	}
	cu := custody()
	if len(cu.Events) != 2 || cu.Events[0].Index != g1 || cu.Events[0].Grant == nil || cu.Events[1].Type != "access" ||
		cu.Events[1].Member != "court" || cu.Events[1].ViaGrant == nil || *cu.Events[1].ViaGrant != g1 {
		t.Fatalf("custody after the fetch: %+v", cu)
	}

	// The access entry says which record and which grant.
	api, err := client.New(court.API)
	if err != nil {
		t.Fatal(err)
	}
	ae, err := api.Entry(context.Background(), cu.Events[1].Index)
	acc, _ := ae.Details.(*ledger.AccessDetails)
	if err != nil || ae.Type != "access" || acc == nil || acc.Grant == nil || *acc.Grant != g1 ||
		len(acc.Records) != 1 || strconv.FormatUint(acc.Records[0].Index, 10) != id {
		t.Fatalf("access entry %+v, %v", ae, err)
	}

	// Revoked: refused again.
	out, err = cli(bank, "revoke", strconv.FormatUint(g1, 10))
	if err != nil {
		t.Fatal(err)
	}
	var rv client.SubmitResult
	json.Unmarshal(out, &rv)
	c.waitAll(rv.Height)
	if _, err := cli(court, "fetch", id, "--out", filepath.Join(dir, "after-revoke")); err == nil {
		t.Fatal("the court fetched after the revoke")
	}

	// The bank's replicas (court and notary: the next members by name) hold copies.
	stores := map[string]*blob.Store{}
	for _, m := range []string{"court", "notary"} {
		s, err := blob.Open(filepath.Join(member[m].Home, "data", "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		stores[m] = s
		c.eventually(m+" holds a replica", 30*time.Second, func() error {
			if !s.Has(addr) {
				return errors.New("not yet")
			}
			return nil
		})
	}

	// A corrupted replica is found by notary's scrub and fetched again.
	peertest.CorruptBlob(t, stores["notary"], addr)
	c.eventually("notary repairs its corrupt replica", 30*time.Second, func() error {
		if err := stores["notary"].Verify(addr); err != nil {
			return err
		}
		data, _ := os.ReadFile(filepath.Join(c.dir, "notary.log"))
		if !strings.Contains(string(data), "corrupt original repaired") {
			return errors.New("no repair logged yet")
		}
		return nil
	})

	// With the bank's node killed and the court's own copy gone, the court
	// fetches from the notary's replica under a new grant.
	grant()
	c.kill(idx["bank"], syscall.SIGKILL)
	if err := stores["court"].Remove(addr); err != nil {
		t.Fatal(err)
	}
	fetch()

	// A peer outside the roster gets nothing from the notary.
	outsider, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := exchange.Identity(outsider)
	if err != nil {
		t.Fatal(err)
	}
	h, err := exchange.New(exchange.Config{Identity: ident, Members: func(peer.ID) (string, bool) { return "outsider", true },
		Authorize: func(string, crypto.Hash) error { return nil }, Store: peertest.EmptyStore{}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	info := peertest.RosterPeer(t, notary.Home, notary.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = h.Connect(ctx, info)
	if err == nil {
		err = h.Fetch(ctx, info.ID, addr)
	}
	if err == nil {
		t.Fatal("a peer outside the roster fetched an original from the notary")
	}

	// The court's node exports CometBFT's metrics and its own at GET /metrics.
	resp, err := http.Get(court.API + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"cometbft_consensus_height", "cometbft_mempool_size", "evidenced_blob_store_originals 1",
		"evidenced_records_committed_total", "evidenced_checkpoint_lag_blocks"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("the court's GET /metrics has no %q", want)
		}
	}

	// The court's event stream replays the custody events in commit order.
	ectx, ecancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ecancel()
	req, _ := http.NewRequestWithContext(ectx, http.MethodGet, court.API+"/v1/events?from=0&type=grant,access,revoke", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ids, kinds []string
	sc := bufio.NewScanner(resp.Body)
	for len(kinds) < 3 && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			ids = append(ids, v)
		}
		if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			kinds = append(kinds, v)
		}
	}
	resp.Body.Close()
	if strings.Join(kinds, ",") != "grant,access,revoke" || ids[0] != strconv.FormatUint(g1, 10) {
		t.Fatalf("custody events %v %v, want grant %d, access, revoke", ids, kinds, g1)
	}

	// A replica that lost its copy gets it again when the owner's node
	// restarts: it pushes every original it owns to its replicas.
	if err := stores["notary"].Remove(addr); err != nil {
		t.Fatal(err)
	}
	c.start(idx["bank"])
	c.eventually("the restarted bank's node restores notary's replica", 60*time.Second, func() error {
		return stores["notary"].Verify(addr)
	})
}

// waitAll waits until every running node has committed height h.
func (c *cluster) waitAll(h int64) {
	c.t.Helper()
	c.eventually(fmt.Sprintf("every node at height %d", h), 30*time.Second, func() error {
		for _, p := range c.live() {
			got, err := c.height(p)
			if err != nil {
				return err
			}
			if got < h {
				return fmt.Errorf("%s at %d", p.m.Name, got)
			}
		}
		return nil
	})
}
