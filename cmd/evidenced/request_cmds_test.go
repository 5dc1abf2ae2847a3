package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
)

// requestsNode is a stand-in node for the retrieval-request commands: it
// records what they post and answers with canned results.
type requestsNode struct {
	mu     sync.Mutex
	bodies map[string]string // path -> last body posted
	auth   string
}

func newRequestsNode(t *testing.T) (*requestsNode, string) {
	n := &requestsNode{bodies: map[string]string{}}
	committed := func(typ, signer string, index uint64) client.SubmitResult {
		return client.SubmitResult{Status: client.StatusCommitted, Index: index, Height: 9, Time: time.Unix(1, 0).UTC(), Signer: signer, Type: typ, Chains: []string{}}
	}
	mux := http.NewServeMux()
	post := func(pattern string, res client.SubmitResult) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			n.mu.Lock()
			n.bodies[r.URL.Path] = string(b)
			n.auth = r.Header.Get("Authorization")
			n.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(res)
		})
	}
	post("POST /v1/requests", committed("request", "court", 31))
	post("POST /v1/requests/{request}/refuse", committed("refuse", "bank-a", 32))
	post("POST /v1/grants", committed("grant", "bank-a", 33))
	mux.HandleFunc("GET /v1/requests", func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.bodies["GET /v1/requests"] = r.URL.RawQuery
		n.mu.Unlock()
		ans := uint64(32)
		next := uint64(41)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(client.RetrievalRequests{Requests: []client.RetrievalRequest{
			{Index: 31, Requester: "court", Owner: "bank-a", Chain: "LOAN-1", Purpose: "(2026)沪0115民初1234号", Status: "refused", Answer: &ans, Reason: "已移交"},
			{Index: 40, Requester: "arbitration", Owner: "bank-a", Record: "12", Purpose: "仲裁 17", Status: "open"},
		}, Next: &next})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return n, srv.URL
}

func (n *requestsNode) body(path string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bodies[path]
}

func TestRequestCommands(t *testing.T) {
	n, node := newRequestsNode(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envToken, "")
	auth := []string{"--node", node, "--token-file", tokenFile}

	// A purpose typed in NFD goes out in NFC.
	out, _, err := runCLI(t, append([]string{"request", "--chain", "LOAN-1", "--purpose", "(2026)沪0115民初1234号 cafe\u0301"}, auth...)...)
	if err != nil || !strings.Contains(out, "request 31: court asks for the originals of evidence chain LOAN-1") {
		t.Fatalf("request: %q, %v", out, err)
	}
	var rb client.RetrievalRequestBody
	if err := json.Unmarshal([]byte(n.body("/v1/requests")), &rb); err != nil || rb.Chain != "LOAN-1" || rb.Record != "" || rb.Purpose != "(2026)沪0115民初1234号 caf\u00e9" {
		t.Fatalf("posted %+v, %v", rb, err)
	}
	if n.auth != "Bearer 0123456789abcdef0123" {
		t.Errorf("Authorization %q", n.auth)
	}
	if out, _, err = runCLI(t, append([]string{"request", "12", "--purpose", "案号", "-o", "json"}, auth...)...); err != nil {
		t.Fatal(err)
	}
	var res client.SubmitResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Index != 31 || res.Type != "request" {
		t.Fatalf("-o json: %q, %v", out, err)
	}
	rb = client.RetrievalRequestBody{}
	if err := json.Unmarshal([]byte(n.body("/v1/requests")), &rb); err != nil || rb.Record != "12" || rb.Chain != "" {
		t.Fatalf("posted %+v, %v", rb, err)
	}

	out, _, err = runCLI(t, append([]string{"refuse", "31", "--reason", "该记录已依法移交"}, auth...)...)
	if err != nil || out != "request 31 refused at entry 32, block 9\n" {
		t.Fatalf("refuse: %q, %v", out, err)
	}
	if got := n.body("/v1/requests/31/refuse"); got != `{"reason":"该记录已依法移交"}` {
		t.Fatalf("refusal posted %s", got)
	}

	out, _, err = runCLI(t, append([]string{"grant", "--request", "40", "--expires", "720h"}, auth...)...)
	if err != nil || out != "granted request 40: grant 33, committed in block 9\n" {
		t.Fatalf("grant --request: %q, %v", out, err)
	}
	var gb client.GrantRequest
	if err := json.Unmarshal([]byte(n.body("/v1/grants")), &gb); err != nil || gb.Request != 40 || gb.Record != "" || gb.Chain != "" || gb.Grantee != "" || gb.Expires == "" {
		t.Fatalf("grant posted %+v, %v", gb, err)
	}
	if _, _, err = runCLI(t, append([]string{"grant", "12", "--to", "court", "--purpose", "(2026)沪0115民初1234号"}, auth...)...); err != nil {
		t.Fatalf("grant with a Chinese case number: %v", err)
	}

	out, _, err = runCLI(t, "requests", "--open", "--for", "bank-a", "--node", node)
	if err != nil || n.body("GET /v1/requests") != "owner=bank-a&status=open" {
		t.Fatalf("requests: %v, query %q", err, n.body("GET /v1/requests"))
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[1]), " ") != "31 refused court bank-a chain LOAN-1 (2026)沪0115民初1234号 entry 32: 已移交" ||
		strings.Join(strings.Fields(lines[2]), " ") != "40 open arbitration bank-a record 12 仲裁 17 -" || lines[3] != "more: --from 41" {
		t.Errorf("requests output:\n%s", out)
	}
	if out, _, err = runCLI(t, "requests", "--by", "court", "-o", "json", "--node", node); err != nil {
		t.Fatal(err)
	}
	var page client.RetrievalRequests
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Requests) != 2 || n.body("GET /v1/requests") != "requester=court" {
		t.Fatalf("requests -o json: %q, %v", out, err)
	}
}

func TestRequestCommandsRefuseBadInput(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	node := "http://127.0.0.1:1" // nothing listens: only input errors may be reached
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"request without a target", []string{"request", "--purpose", "x"}, "one record (ID) or one evidence chain"},
		{"request naming both", []string{"request", "12", "--chain", "LOAN-1", "--purpose", "x"}, "not both"},
		{"request without a purpose", []string{"request", "12"}, "--purpose TEXT is required"},
		{"purpose with a line break", []string{"request", "12", "--purpose", "案号\n1"}, "control character U+000A"},
		{"purpose with a bidi override", []string{"request", "12", "--purpose", "\u202e1"}, "control character U+202E"},
		{"purpose not UTF-8", []string{"request", "12", "--purpose", "\xff"}, "not valid UTF-8"},
		{"refuse of a non-index", []string{"refuse", "x", "--reason", "r"}, "not an entry index"},
		{"refuse without a reason", []string{"refuse", "31"}, "--reason TEXT is required"},
		{"grant purpose with a control character", []string{"grant", "12", "--to", "court", "--purpose", "a\x07"}, "control character U+0007"},
		{"grant without record, chain or request", []string{"grant", "--to", "court", "--purpose", "x"}, "or answer a request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envToken, "")
			_, _, err := runCLI(t, append(tt.args, "--node", node, "--token-file", tokenFile)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
