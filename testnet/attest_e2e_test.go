package testnet_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
)

// TestAttestEndToEnd runs attestations through real nodes: the bank
// preserves a two-step chain, the notary attests the whole chain through
// its own node with its dev token (the CLI names the head it covered), the
// bank's node is refused with role_not_allowed, `chain` and
// `attestations` show the attestation, and the attestation's receipt
// verifies offline against the exported genesis roster, with the notarial
// certificate as its document.
func TestAttestEndToEnd(t *testing.T) {
	c := startAlliance(t, "evidenced-attest", "bank,notary", nil)
	bank, notary := c.nodes[0].m, c.nodes[1].m
	dir := t.TempDir()
	for step := 1; step <= 2; step++ {
		f := filepath.Join(dir, fmt.Sprintf("step%d.txt", step))
		if err := os.WriteFile(f, []byte(fmt.Sprintf("loan step %d — synthetic\n", step)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := c.run("submit", "--node", bank.API, "--key", c.a.ClientKey, "--chain", "LOAN-A", "--step", fmt.Sprint(step),
			"--kind", "loan-contract", "-o", "json", f); err != nil {
			t.Fatal(err)
		}
	}
	cert := filepath.Join(dir, "certificate.txt")
	if err := os.WriteFile(cert, []byte("公证书 (2026)沪东证字第1234号\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	c.eventually("the notary's node sees both steps", 30*time.Second, func() error {
		out, err := c.run("chain", "LOAN-A", "--node", notary.API, "-o", "json")
		var ch client.Chain
		if err == nil {
			err = json.Unmarshal(out, &ch)
		}
		if err == nil && ch.Steps != 2 {
			err = fmt.Errorf("%d steps", ch.Steps)
		}
		return err
	})
	var res client.AttestResult
	c.eventually("the notary attests", 30*time.Second, func() error {
		out, err := c.run("attest", "--chain", "LOAN-A", "--statement", "notarised", "--note", "(2026)沪东证字第1234号", "--document", cert,
			"--node", notary.API, "--token-file", notary.TokensFile, "-o", "json")
		if err != nil {
			return err
		}
		return json.Unmarshal(out, &res)
	})
	if res.Signer != "notary" || res.HeadStep != 2 || len(res.Targets) != 2 || res.Head != res.Targets[1] || res.Note != "(2026)沪东证字第1234号" {
		t.Fatalf("attest answered %+v", res)
	}
	t.Logf("✓ the notary attested chain LOAN-A up to step 2 (record %s) at entry %d", res.Head, res.Index)

	_, err := c.run("attest", res.Targets[0], "--statement", "notarised", "--node", bank.API, "--token-file", bank.TokensFile)
	if err == nil || !strings.Contains(err.Error(), "role_not_allowed") || !strings.Contains(err.Error(), "a bank member may not attest") {
		t.Fatalf("a bank attesting: %v", err)
	}

	c.eventually("the bank's node lists the attestation on both steps", 30*time.Second, func() error {
		out, err := c.run("chain", "LOAN-A", "--node", bank.API)
		if err == nil && strings.Count(string(out), fmt.Sprintf("notarised by notary (entry %d)", res.Index)) != 2 {
			err = fmt.Errorf("chain printed %s", out)
		}
		return err
	})
	out, err := c.run("attestations", res.Head, "--node", bank.API)
	if err != nil || !strings.Contains(string(out), "notary (notary) notarised") {
		t.Fatalf("attestations: %s (%v)", out, err)
	}

	roster := filepath.Join(dir, "roster.json")
	if _, err := c.run("roster", "export", "--home", bank.Home, "--out", roster); err != nil {
		t.Fatal(err)
	}
	rf := filepath.Join(dir, "attestation.receipt.json")
	c.eventually("the attestation's receipt", 30*time.Second, func() error {
		_, err := c.run("receipt", fmt.Sprint(res.Index), "--node", bank.API, "--out", rf)
		return err
	})
	out, err = c.run("verify", "--receipt", rf, "--roster", roster, "--file", cert)
	if err != nil || !strings.Contains(string(out), "✓ attestation") || !strings.Contains(string(out), fmt.Sprintf("VERIFIED: attestation %d (notarised) by notary notary", res.Index)) {
		t.Fatalf("verify: %s (%v)", out, err)
	}
	t.Log("✓ the attestation's receipt verifies offline with the genesis roster and the certificate")
}
