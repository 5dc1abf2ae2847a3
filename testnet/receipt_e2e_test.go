package testnet_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
)

// verifyReport is the JSON printed by `evidenced verify --output json`.
type verifyReport struct {
	OK         bool         `json:"ok"`
	FailedStep string       `json:"failed_step"`
	Steps      []verifyStep `json:"steps"`
}

// verifyStep is one step of a verifyReport.
type verifyStep struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// keepCometIdentity moves member's home to CometBFT key files
// (keys.comet_keys = "files") that hold the validator and node keys
// derived from its member key, the node's derivation (HKDF-SM3 with
// node's labels), so that the member key can be replaced while the node
// stays the roster's validator and node.
func keepCometIdentity(t *testing.T, m testnet.Member) {
	t.Helper()
	member, err := keyfile.Load(filepath.Join(m.Home, "keys", "member.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	derive := func(label string) cmted25519.PrivKey {
		seed, err := member.DeriveSecret(label, ed25519.SeedSize)
		if err != nil {
			t.Fatal(err)
		}
		return cmted25519.PrivKey(ed25519.NewKeyFromSeed(seed))
	}
	cc, err := node.LoadCometConfig(m.Home)
	if err != nil {
		t.Fatal(err)
	}
	nk := &p2p.NodeKey{PrivKey: derive("evidenced/cometbft/node-key/v1")}
	if string(nk.ID()) != m.NodeID {
		t.Fatalf("%s: derived node id %s, the alliance has %s", m.Name, nk.ID(), m.NodeID)
	}
	if err := nk.SaveAs(cc.NodeKeyFile()); err != nil {
		t.Fatal(err)
	}
	privval.NewFilePV(derive("evidenced/cometbft/validator-key/v1"), cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile()).Key.Save()
	cfg, err := config.Load(m.Home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keys.CometKeys = config.CometKeysFiles
	if err := cfg.Save(m.Home); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) verify(args ...string) (verifyReport, int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"verify", "--output", "json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("verify: %v", err)
	}
	var r verifyReport
	if err := json.Unmarshal(out, &r); err != nil {
		c.t.Fatalf("verify --output json printed %q (stderr %q): %v", out, stderr.String(), err)
	}
	return r, code
}

// TestReceiptsOffline: submit on a 4-member alliance whose arbitration
// node has a corrupted SM2 member key, fetch the receipt, stop every node,
// and verify the receipt with nothing but the roster.
func TestReceiptsOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test starts four node processes; run without -short")
	}
	c := startCluster(t, "evidenced-receipts", func(a *testnet.Alliance) {
		// Arbitration's member key no longer matches the roster: its
		// checkpoint signatures must be ignored, not fatal. Its node
		// stays the roster's validator and node (the alliance admits no
		// other), with the CometBFT keys derived from the roster's key.
		keepCometIdentity(t, a.Members[3])
		path := filepath.Join(a.Members[3].Home, "keys", "member.pem")
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		k, err := crypto.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := keyfile.Save(path, k, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Log("✓ 4-member alliance running; arbitration's SM2 member key replaced by a key the roster does not know (its CometBFT keys kept)")

	dir := t.TempDir()
	file := filepath.Join(dir, "loan-agreement.txt")
	if err := os.WriteFile(file, []byte("借款协议: 12 instalments, 等额本息 — synthetic"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := c.run("submit", "--node", c.nodes[0].m.API, "--key", c.a.ClientKey, "--chain", "LOAN-R-1", "--step", "1",
		"--kind", "loan-contract", "--output", "json", file)
	if err != nil {
		t.Fatal(err)
	}
	var sub struct {
		Submissions []struct {
			Sidecar string `json:"sidecar"`
			Result  struct {
				TxID  string    `json:"tx_id"`
				Index uint64    `json:"index"`
				Time  time.Time `json:"time"`
			} `json:"result"`
		} `json:"submissions"`
	}
	if err := json.Unmarshal(out, &sub); err != nil || len(sub.Submissions) != 1 {
		t.Fatalf("submit output %s: %v", out, err)
	}
	s := sub.Submissions[0]
	committed := time.Now()

	// The receipt is available within seconds of the commit.
	receiptPath := filepath.Join(dir, "receipt.json")
	c.eventually("the receipt is available", 20*time.Second, func() error {
		_, err := c.run("receipt", "--node", c.nodes[2].m.API, s.Result.TxID, "--sidecar", s.Sidecar, "--out", receiptPath)
		return err
	})
	lag := time.Since(committed)
	raw, err := os.ReadFile(receiptPath)
	if err != nil {
		t.Fatal(err)
	}
	var rc struct {
		Version    int    `json:"version"`
		LeafIndex  uint64 `json:"leaf_index"`
		TreeSize   uint64 `json:"tree_size"`
		Checkpoint string `json:"checkpoint"`
		Signatures []struct {
			Member string `json:"member"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(raw, &rc); err != nil {
		t.Fatal(err)
	}
	var signers []string
	for _, sg := range rc.Signatures {
		signers = append(signers, sg.Member)
	}
	sort.Strings(signers)
	if rc.Version != 1 || rc.LeafIndex != s.Result.Index || rc.TreeSize <= rc.LeafIndex || strings.Join(signers, ",") != "bank,court,notary" {
		t.Fatalf("receipt: version %d leaf %d tree %d signers %v", rc.Version, rc.LeafIndex, rc.TreeSize, signers)
	}
	t.Logf("✓ receipt for entry %d available %.1fs after commit, from the court's node; checkpoint co-signed by %v (arbitration's bad key ignored)", rc.LeafIndex, lag.Seconds(), signers)

	rosterPath := filepath.Join(dir, "roster.json")
	if _, err := c.run("roster", "export", "--home", c.a.Members[1].Home, "--out", rosterPath); err != nil {
		t.Fatal(err)
	}

	// Stop every node: what follows has no node and no network.
	c.stopAll()
	t.Log("✓ all four nodes stopped")

	r, code := c.verify("--receipt", receiptPath, "--roster", rosterPath, "--file", file, "--sidecar", s.Sidecar)
	if !r.OK || code != 0 {
		t.Fatalf("verify of a good receipt: exit %d, report %+v", code, r)
	}
	for _, st := range r.Steps {
		t.Logf("  ✓ %s: %s", st.Name, st.Detail)
	}
	t.Log("✓ the receipt verifies offline against the roster and the original file")

	// Tampering is caught at the right step.
	tampered := filepath.Join(dir, "tampered.txt")
	orig, _ := os.ReadFile(file)
	bad := bytes.Clone(orig)
	bad[3] ^= 0x01
	if err := os.WriteFile(tampered, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if r, code := c.verify("--receipt", receiptPath, "--roster", rosterPath, "--file", tampered, "--sidecar", s.Sidecar); r.OK || code != 3 || r.FailedStep != "file" {
		t.Fatalf("verify of a tampered file: exit %d, failed step %q", code, r.FailedStep)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["checkpoint"] = strings.Replace(rc.Checkpoint, "height ", "height 1", 1)
	badReceipt := filepath.Join(dir, "tampered-receipt.json")
	b, _ := json.Marshal(doc)
	if err := os.WriteFile(badReceipt, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if r, code := c.verify("--receipt", badReceipt, "--roster", rosterPath); r.OK || code != 3 {
		t.Fatalf("verify of a receipt with an altered checkpoint: exit %d, report %+v", code, r)
	} else {
		t.Logf("✓ a flipped byte in the file fails at step file; an altered checkpoint fails at step %s", r.FailedStep)
	}
}
