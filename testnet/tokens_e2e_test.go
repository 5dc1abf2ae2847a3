package testnet_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/testnet"
)

// TestReadmeDevToken runs the README's commands against a one-member dev
// alliance made as `make run` makes it: the dev token in
// client/bank-api-token uploads and fetches an original, custody needs no
// token, and `tokens list` shows the dev token's scopes (not admin). A
// token added with `tokens add` for webhooks only is refused a fetch,
// naming the scope it lacks.
func TestReadmeDevToken(t *testing.T) {
	c := startAlliance(t, "evidenced-dev", "bank", nil)
	bank := c.nodes[0].m
	devToken := filepath.Join(c.a.Dir, "client", "bank-api-token")
	if c.a.TokensFile != devToken || bank.TokensFile != devToken {
		t.Fatalf("the dev token is in %s, not %s as the README says", c.a.TokensFile, devToken)
	}
	out, err := c.run("tokens", "list", "--home", bank.Home, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	token, _ := os.ReadFile(devToken)
	var list struct {
		Tokens []struct {
			ID     string `json:"id"`
			Scopes string `json:"scopes"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(out, &list); err != nil || len(list.Tokens) != 1 || list.Tokens[0].Scopes != testnet.DevScopes.String() ||
		len(token) < 32 || bytes.Contains(out, bytes.TrimSpace(token)) {
		t.Fatalf("tokens list: %v\n%s", err, out)
	}

	dir := t.TempDir()
	contract := filepath.Join(dir, "contract.txt")
	if err := os.WriteFile(contract, []byte("loan agreement\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	index := func(out []byte) string {
		t.Helper()
		var r struct {
			Submissions []struct {
				Result client.SubmitResult `json:"result"`
			} `json:"submissions"`
		}
		if err := json.Unmarshal(out, &r); err != nil || len(r.Submissions) != 1 {
			t.Fatalf("submit output %s: %v", out, err)
		}
		return strconv.FormatUint(r.Submissions[0].Result.Index, 10)
	}
	node := func(args ...string) ([]byte, error) { return c.run(append(args, "--node", bank.API, "-o", "json")...) }
	out, err = node("submit", "--key", c.a.ClientKey, "--chain", "LOAN-1", "--step", "1", "--kind", "loan-contract", contract)
	if err != nil {
		t.Fatal(err)
	}
	index(out)
	signed := filepath.Join(dir, "signed.txt")
	if err := os.WriteFile(signed, []byte("signed loan agreement\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = node("submit", "--upload", "--token-file", devToken, "--chain", "LOAN-2", "--step", "1", "--kind", "loan-contract", signed)
	if err != nil {
		t.Fatal(err)
	}
	id := index(out)
	cp := filepath.Join(dir, "copy.txt")
	if _, err := node("fetch", id, "--out", cp, "--token-file", devToken); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(cp); err != nil || string(got) != "signed loan agreement\n" {
		t.Fatalf("fetched %q, %v", got, err)
	}
	if out, err := node("custody", id); err != nil || !strings.Contains(string(out), `"access"`) {
		t.Fatalf("custody: %v\n%s", err, out)
	}

	// A token for webhooks only, taken into use at the next start, may
	// not fetch originals.
	hooksToken := filepath.Join(dir, "hooks-token")
	if _, err := c.run("tokens", "add", "--home", bank.Home, "--scopes", "webhooks", "--out", hooksToken); err != nil {
		t.Fatal(err)
	}
	c.kill(0, syscall.SIGTERM)
	c.start(0)
	c.eventually("the node serves /v1/status again", 30*time.Second, func() error {
		_, err := c.height(c.nodes[0])
		return err
	})
	if _, err := node("fetch", id, "--out", filepath.Join(dir, "copy2.txt"), "--token-file", hooksToken); err == nil || !strings.Contains(err.Error(), "needs the originals scope") {
		t.Fatalf("fetch with a webhooks token: %v, want a refusal naming the originals scope", err)
	}
	if _, err := node("fetch", id, "--out", filepath.Join(dir, "copy3.txt"), "--token-file", devToken); err != nil {
		t.Fatalf("the dev token after a restart: %v", err)
	}
}
