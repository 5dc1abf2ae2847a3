package main

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// uploadNode is a fake node for submit --upload: GET /v1/status and
// POST /v1/originals, which computes the commitment under a fresh salt as
// the node does, or answers reject (when set).
type uploadNode struct {
	t      *testing.T
	token  string
	reject *client.Error
	got    []received // the uploads received
}

type received struct {
	query string
	body  string
}

func (n *uploadNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	write := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/status":
		write(200, client.Status{ChainID: "evidenced-upload", Member: "bank", Role: "bank", Height: 5})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/originals":
		if r.Header.Get("Authorization") != "Bearer "+n.token {
			write(401, client.ErrorResponse{Error: &client.Error{Status: 401, Code: "unauthorized", Message: "bad token"}})
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			n.t.Errorf("fake node: %v", err)
		}
		n.got = append(n.got, received{r.URL.RawQuery, string(body)})
		if n.reject != nil {
			write(n.reject.Status, client.ErrorResponse{Error: n.reject})
			return
		}
		salt := make([]byte, crypto.SaltSize)
		rand.Read(salt)
		q := r.URL.Query()
		step := uint32(1)
		if q.Get("step") == "2" {
			step = 2
		}
		write(200, client.OriginalResult{TxID: crypto.SM3(body, salt), Status: client.StatusCommitted, Code: ledger.CodeOK,
			Index: uint64(len(n.got)), Height: 6, Time: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), Signer: "bank", Type: "evidence",
			Chains: []string{q.Get("chain")}, Chain: q.Get("chain"), Step: step, Commitment: crypto.Commitment(salt, body),
			Size: uint64(len(body)), Salt: salt, Cipher: crypto.SM3([]byte("cipher"), body), CipherSize: uint64(len(body) + 35)})
	default:
		n.t.Errorf("fake node: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

func TestSubmitUpload(t *testing.T) {
	dir := t.TempDir()
	fake := &uploadNode{t: t, token: "upload-token-0123456789"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("# the node's token\n"+fake.token+"\n"), 0o600)
	a, b := filepath.Join(dir, "contract.pdf"), filepath.Join(dir, "schedule.pdf")
	os.WriteFile(a, []byte("the loan contract"), 0o600)
	os.WriteFile(b, []byte("the repayment schedule"), 0o600)

	out, _, err := runCLI(t, "submit", "--upload", "--node", srv.URL, "--token-file", tokenFile,
		"--chain", "LOAN-UP", "--step", "1", "--kind", "loan-contract", "--label", "product=consumer-loan", a, b)
	text := out
	if err != nil {
		t.Fatalf("submit --upload: %v\n%s", err, out)
	}
	if len(fake.got) != 2 || fake.got[0].body != "the loan contract" || !strings.Contains(fake.got[0].query, "step=1") ||
		!strings.Contains(fake.got[1].query, "step=2") || !strings.Contains(fake.got[0].query, "label=product%3Dconsumer-loan") {
		t.Fatalf("uploads %+v", fake.got)
	}
	if !strings.Contains(out, "chain LOAN-UP step 2: entry 2") || !strings.Contains(out, "keeps the original encrypted") {
		t.Errorf("output does not say what happened:\n%s", out)
	}
	// The sidecar holds a salt that proves the file against the commitment.
	raw, err := os.ReadFile(a + sidecar.Suffix)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(a + sidecar.Suffix); fi.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode %v, want 0600", fi.Mode().Perm())
	}
	var sc sidecar.File
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Status != sidecar.StatusCommitted || sc.Chain != "LOAN-UP" || sc.Step != 1 || sc.ChainID != "evidenced-upload" || sc.Owner != "bank" ||
		sc.Commitment != crypto.Commitment(sc.Salt, []byte("the loan contract")) || sc.Cipher == (crypto.Hash{}) || sc.CipherSize != 17+35 {
		t.Errorf("sidecar %s", raw)
	}

	// Again: the sidecars are in the way.
	if _, _, err := runCLI(t, "submit", "--upload", "--node", srv.URL, "--token-file", tokenFile,
		"--chain", "LOAN-UP", "--step", "3", "--kind", "k", a); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second upload over an existing sidecar: %v", err)
	}
	// JSON output, with --force.
	out, _, err = runCLI(t, "submit", "--upload", "-o", "json", "--force", "--node", srv.URL, "--token-file", tokenFile,
		"--chain", "LOAN-UP2", "--step", "1", "--kind", "k", b)
	var js struct{ Submissions []uploaded }
	if err != nil || json.Unmarshal([]byte(out), &js) != nil || len(js.Submissions) != 1 || js.Submissions[0].Result.Status != client.StatusCommitted ||
		js.Submissions[0].Sidecar != b+sidecar.Suffix {
		t.Errorf("-o json: %v\n%s", err, out)
	}
	// The salt is a secret: it is in the 0600 sidecar and nowhere on stdout,
	// in text or JSON.
	scB, err := sidecar.Load(b + sidecar.Suffix)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, scB.Salt.String()) || strings.Contains(out, `"salt"`) {
		t.Errorf("submit --upload -o json prints the salt %s:\n%s", scB.Salt, out)
	}
	scA, err := sidecar.Load(a + sidecar.Suffix)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, scA.Salt.String()) {
		t.Errorf("submit --upload prints the salt %s:\n%s", scA.Salt, text)
	}
}

func TestSubmitUploadErrors(t *testing.T) {
	dir := t.TempDir()
	fake := &uploadNode{t: t, token: "upload-token-0123456789"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(fake.token), 0o600)
	file := filepath.Join(dir, "f.pdf")
	os.WriteFile(file, []byte("x"), 0o600)
	base := []string{"submit", "--upload", "--node", srv.URL, "--chain", "LOAN-E", "--step", "1", "--kind", "k"}
	tests := []struct {
		name   string
		args   []string
		env    string // EVIDENCED_TOKEN
		reject *client.Error
		code   int
		want   string
	}{
		{name: "no token", args: []string{file}, code: 1, want: "needs its API token"},
		{name: "with --key", args: []string{"--token-file", tokenFile, "--key", "k.pem", file}, code: 1, want: "--key is not used with --upload"},
		{name: "with --batch", args: []string{"--token-file", tokenFile, "--batch", file}, code: 1, want: "--batch cannot be used"},
		{name: "wrong token from the environment", env: "nope", args: []string{file}, code: 1, want: "bad token"},
		{name: "rejected", args: []string{"--token-file", tokenFile, file}, code: 2, want: "the node kept nothing",
			reject: &client.Error{Status: 422, Code: "chain_step", ResultCode: uint32(ledger.CodeChainStep), Message: "chain LOAN-E exists"}},
		{name: "too large", args: []string{"--token-file", tokenFile, file}, code: 1, want: "larger than the node accepts",
			reject: &client.Error{Status: 413, Code: "too_large", Message: "the original is larger than this node accepts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envToken, tt.env)
			fake.reject = tt.reject
			_, _, err := runCLI(t, append(append([]string{}, base...), tt.args...)...)
			if exitCode(err) != tt.code || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v (exit %d), want exit %d containing %q", err, exitCode(err), tt.code, tt.want)
			}
			if _, serr := os.Stat(file + sidecar.Suffix); serr == nil {
				t.Errorf("a sidecar was written for a failed upload")
			}
		})
	}
}
