package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
)

// TestWebhookSubscribedThroughAPI: a subscription made with POST
// /v1/webhooks delivers signed entries, belongs to the token that made it,
// survives a restart, and is removed with DELETE. One read from a file
// written before owners were recorded becomes admin's.
func TestWebhookSubscribedThroughAPI(t *testing.T) {
	a, n, cl := startBankWith(t, "evidenced-webhook-api", allowLoopback)
	token := readToken(t, a.TokensFile)
	secret := "0123456789abcdef0123456789abcdef"
	var mu sync.Mutex
	var got []string // tx ids delivered, checked, once each
	seen := map[string]bool{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := signedBody(w, r, secret)
		if !ok {
			return
		}
		var e client.Entry
		json.Unmarshal(body, &e)
		mu.Lock()
		// At least once: a delivery in flight when the node stops comes
		// again after the restart; receivers deduplicate by delivery id.
		if id := r.Header.Get(node.HeaderDelivery); !seen[id] {
			seen[id] = true
			got = append(got, e.TxID.String())
		}
		mu.Unlock()
	}))
	defer recv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	call := func(n *node.Node, method, path string, body any) (int, string) {
		t.Helper()
		return callAPI(ctx, t, n, token, method, path, body)
	}
	sub := map[string]any{"name": "core", "url": recv.URL, "secret": secret, "types": []string{"evidence"}}
	if code, body := call(n, http.MethodPost, "/v1/webhooks", sub); code != http.StatusCreated || !strings.Contains(body, `"source":"api"`) {
		t.Fatalf("subscribe = %d %s", code, body)
	}
	if code, _ := call(n, http.MethodPost, "/v1/webhooks", sub); code != http.StatusConflict {
		t.Fatalf("subscribe again = %d, want 409", code)
	}
	key, err := keyfile.Load(a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	submit := func(cl *client.Client, chain string) string {
		t.Helper()
		rec := ledger.Record{Kind: "loan-contract", Chain: chain, Step: 1, Commitment: crypto.SM3([]byte(chain)), Size: 1}
		res := submitRecord(ctx, t, cl, key, a.ChainID, rec)
		return res.TxID.String()
	}
	waitFor := func(want []string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; {
			mu.Lock()
			ok := strings.Join(got, ",") == strings.Join(want, ",")
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivered %v, want %v", got, want)
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}
	first := submit(cl, "LOAN-WH1")
	waitFor([]string{first})

	// The secret is not on disk in the clear: it is sealed to the member
	// key. The owner is the token's id, not the token.
	subsFile := filepath.Join(a.Members[0].Home, node.WebhookDir, "subscriptions.json")
	saved, err := os.ReadFile(subsFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(subsFile); bytes.Contains(saved, []byte(secret)) || !bytes.Contains(saved, []byte(`"sealed_secret"`)) || fi.Mode().Perm() != 0o600 {
		t.Fatalf("subscriptions.json (mode %v) holds the secret in the clear or no sealed secret:\n%s", fi.Mode(), saved)
	}
	owner := api.NewToken(token, 0).ID()
	if !bytes.Contains(saved, []byte(`"owner": "`+owner+`"`)) || bytes.Contains(saved, []byte(token)) {
		t.Fatalf("subscriptions.json does not name the owner %s, or holds the token:\n%s", owner, saved)
	}

	// The subscription survives a restart, also from a file an earlier
	// version wrote with the secret in the clear and no owner: the secret
	// is then sealed, and the subscription is admin's.
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	admin, other := addToken(t, a, api.ScopeAdmin), addToken(t, a, api.ScopeWebhooks)
	legacy := fmt.Sprintf(`[{"name": "core", "url": %q, "secret": %q, "types": ["evidence"]}]`, recv.URL, secret)
	if err := os.WriteFile(subsFile, []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	n2, err := node.New(a.Members[0].Home, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n2.Stop(context.Background()) })
	if code, body := callAPI(ctx, t, n2, admin, http.MethodGet, "/v1/webhooks", nil); code != http.StatusOK || !strings.Contains(body, `"name":"core"`) || !strings.Contains(body, `"owner":"admin"`) {
		t.Fatalf("admin's list after restart = %d %s", code, body)
	}
	if saved, err := os.ReadFile(subsFile); err != nil || bytes.Contains(saved, []byte(secret)) || !bytes.Contains(saved, []byte(`"owner": "admin"`)) {
		t.Fatalf("after a restart from a file with the secret in the clear and no owner, the secret is still in the clear or no owner is saved (%v):\n%s", err, saved)
	}
	if code, body := call(n2, http.MethodGet, "/v1/webhooks", nil); code != http.StatusOK || strings.Contains(body, `"core"`) {
		t.Fatalf("the first token's list after restart = %d %s, want no admin subscription", code, body)
	}
	if code, body := call(n2, http.MethodDelete, "/v1/webhooks/core", nil); code != http.StatusForbidden {
		t.Fatalf("unsubscribe admin's subscription with the first token = %d %s, want 403", code, body)
	}
	// Another token's subscription is its own.
	side := map[string]any{"name": "side", "url": recv.URL, "secret": secret, "kind": "never-submitted"}
	if code, body := callAPI(ctx, t, n2, other, http.MethodPost, "/v1/webhooks", side); code != http.StatusCreated || !strings.Contains(body, `"owner":"`+api.NewToken(other, 0).ID()+`"`) {
		t.Fatalf("subscribe with another token = %d %s", code, body)
	}
	if code, body := call(n2, http.MethodGet, "/v1/webhooks", nil); code != http.StatusOK || strings.Contains(body, `"side"`) {
		t.Fatalf("the first token lists another token's subscription: %d %s", code, body)
	}
	if code, body := call(n2, http.MethodDelete, "/v1/webhooks/side", nil); code != http.StatusForbidden || !strings.Contains(body, "another API token") {
		t.Fatalf("unsubscribe another token's subscription = %d %s, want 403", code, body)
	}
	if code, body := callAPI(ctx, t, n2, other, http.MethodDelete, "/v1/webhooks/side", nil); code != http.StatusOK {
		t.Fatalf("unsubscribe by its owner = %d %s", code, body)
	}
	second := submit(cl, "LOAN-WH2")
	waitFor([]string{first, second})

	if code, body := callAPI(ctx, t, n2, admin, http.MethodDelete, "/v1/webhooks/core", nil); code != http.StatusOK {
		t.Fatalf("unsubscribe with admin = %d %s", code, body)
	}
	if code, body := callAPI(ctx, t, n2, admin, http.MethodGet, "/v1/webhooks", nil); code != http.StatusOK || strings.Contains(body, `"core"`) {
		t.Fatalf("list after unsubscribe = %d %s", code, body)
	}
	if code, _ := callAPI(ctx, t, n2, admin, http.MethodDelete, "/v1/webhooks/core", nil); code != http.StatusNotFound {
		t.Fatalf("unsubscribe again = %d, want 404", code)
	}
}

// addToken appends a new token with scopes to the bank's api.tokens_file
// (read at the node's next start) and returns it.
func addToken(t *testing.T, a *testnet.Alliance, scopes api.Scopes) string {
	t.Helper()
	token, err := api.GenerateToken(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(a.Members[0].Home, "config", "api-tokens")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(api.FormatTokenLine(api.NewToken(token, scopes), "test") + "\n"); err != nil {
		t.Fatal(err)
	}
	return token
}

// TestWebhookCheckpointsAndKind: a subscription to checkpoint events gets
// each trusted checkpoint in height order; one filtered by evidence kind
// gets only records of that kind; an unknown type is refused.
func TestWebhookCheckpointsAndKind(t *testing.T) {
	a, n, cl := startBankWith(t, "evidenced-webhook-kinds", allowLoopback)
	token := readToken(t, a.TokensFile)
	secret := "0123456789abcdef0123456789abcdef"
	var mu sync.Mutex
	got := map[string][]string{} // delivery ids by path
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := signedBody(w, r, secret)
		if !ok {
			return
		}
		id := r.Header.Get(node.HeaderDelivery)
		if strings.HasPrefix(id, "checkpoint-") && (r.Header.Get(node.HeaderEvent) != "checkpoint" || !bytes.Contains(body, []byte(`"checkpoint":"evidenced/`))) {
			http.Error(w, "not a checkpoint", http.StatusBadRequest)
			return
		}
		mu.Lock()
		if !slices.Contains(got[r.URL.Path], id) {
			got[r.URL.Path] = append(got[r.URL.Path], id)
		}
		mu.Unlock()
	}))
	defer recv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	subscribe := func(body map[string]any) (int, string) {
		t.Helper()
		return callAPI(ctx, t, n, token, http.MethodPost, "/v1/webhooks", body)
	}
	for _, sub := range []map[string]any{
		{"name": "cps", "url": recv.URL + "/cps", "secret": secret, "types": []string{"checkpoint"}},
		{"name": "contracts", "url": recv.URL + "/contracts", "secret": secret, "kind": "loan-contract"},
	} {
		if code, body := subscribe(sub); code != http.StatusCreated {
			t.Fatalf("subscribe %v = %d %s", sub["name"], code, body)
		}
	}
	if code, body := subscribe(map[string]any{"name": "bad", "url": recv.URL, "secret": secret, "types": []string{"checkpoints"}}); code != http.StatusBadRequest || !strings.Contains(body, "checkpoint") {
		t.Fatalf("subscribe with type checkpoints = %d %s, want 400 naming the types", code, body)
	}
	key, err := keyfile.Load(a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	var contract uint64
	for _, kind := range []string{"disbursement", "loan-contract"} {
		rec := ledger.Record{Kind: kind, Chain: "LOAN-" + kind, Step: 1, Commitment: crypto.SM3([]byte(kind)), Size: 1}
		res := submitRecord(ctx, t, cl, key, a.ChainID, rec)
		contract = res.Index
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		mu.Lock()
		cps, contracts := slices.Clone(got["/cps"]), slices.Clone(got["/contracts"])
		mu.Unlock()
		if len(cps) >= 2 && len(contracts) >= 1 {
			if len(contracts) != 1 || contracts[0] != strconv.FormatUint(contract, 10) {
				t.Fatalf("kind loan-contract delivered %v, want only entry %d", contracts, contract)
			}
			last := int64(-1)
			for _, id := range cps {
				h, err := strconv.ParseInt(strings.TrimPrefix(id, "checkpoint-"), 10, 64)
				if err != nil || h <= last {
					t.Fatalf("checkpoint deliveries %v are not checkpoint-HEIGHT in height order", cps)
				}
				last = h
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %v and %v, want 2 checkpoints and entry %d", cps, contracts, contract)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// allowLoopback lets the node deliver to test receivers on 127.0.0.1,
// which the webhook policy refuses by default.
func allowLoopback(c *config.Config) { c.WebhookPolicy.Allow = []string{"127.0.0.1"} }

// callAPI sends body (JSON, when not nil) to the node's API with the bearer
// token and returns the status and the response body.
func callAPI(ctx context.Context, t *testing.T, n *node.Node, token, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, n.APIURL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signedBody reads a webhook delivery and checks its HMAC-SM3 signature
// under secret; a bad one is answered 401 and ok is false.
func signedBody(w http.ResponseWriter, r *http.Request, secret string) (body []byte, ok bool) {
	body, _ = io.ReadAll(r.Body)
	sig, _ := hex.DecodeString(strings.TrimPrefix(r.Header.Get(node.HeaderSignature), "sm3="))
	if !crypto.MACEqual(sig, []byte(secret), []byte(r.Header.Get(node.HeaderTimestamp)), []byte("."), body) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// submitRecord signs rec as an evidence transaction with key and submits
// it, waiting for its commit.
func submitRecord(ctx context.Context, t *testing.T, cl *client.Client, key *crypto.PrivateKey, chainID string, rec ledger.Record) *client.SubmitResult {
	t.Helper()
	tx, err := ledger.SignTx(key, rand.Reader, &ledger.Body{ChainID: chainID, Time: time.Now().UnixNano(), Payload: &ledger.Evidence{Record: rec}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Submit(ctx, tx, true)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
