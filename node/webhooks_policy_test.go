package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
)

// TestWebhookNotTurnedInward (F3): a subscription aimed at 127.0.0.1 (the
// node's own CometBFT RPC, or any loopback service) or at a private address
// is refused with 400 naming webhook_policy.allow; one aimed at an allowed
// receiver that redirects to either gets the 3xx as a failed delivery, and
// the redirect is not followed. GET /metrics names no subscription; GET
// /v1/webhooks, with a token, tells each one's failures.
func TestWebhookNotTurnedInward(t *testing.T) {
	// The redirecting receiver is allowed by its name, localhost; 127.0.0.1
	// itself, where the target listens, is not.
	a, n, cl := startBankWith(t, "evidenced-webhook-inward", func(c *config.Config) { c.WebhookPolicy.Allow = []string{"localhost"} })
	token := readToken(t, a.TokensFile)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var hits atomic.Int32 // requests that reached the inward target
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	const private = "http://10.1.2.3:8080/hooks"
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to := target.URL + "/broadcast_tx_sync?tx=0x00"
		if r.URL.Path == "/to-private" {
			to = private
		}
		http.Redirect(w, r, to, http.StatusFound)
	}))
	defer redirector.Close()
	rport := port(t, redirector)
	secret := "0123456789abcdef0123456789abcdef"
	subscribe := func(name, u string) (int, string) {
		t.Helper()
		return callAPI(ctx, t, n, token, http.MethodPost, "/v1/webhooks", map[string]any{"name": name, "url": u, "secret": secret})
	}

	rpc, err := url.Parse(a.Members[0].RPC)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"http://" + rpc.Host + "/broadcast_tx_sync?tx=0x00", // the node's own CometBFT RPC
		target.URL,
		"http://[::1]:" + rport + "/",
		"http://[::ffff:127.0.0.1]:" + rport + "/",
		"http://0.0.0.0:" + rport + "/",
		private,
		"http://192.168.1.20/hooks",
		"http://172.20.0.5/hooks",
		"http://[fd12:3456::1]/hooks",
		"http://100.64.0.9/hooks",
		"http://169.254.169.254/latest/meta-data/",
	} {
		code, body := subscribe("inward", u)
		if code != http.StatusBadRequest || !strings.Contains(body, `"field":"url"`) || !strings.Contains(body, "webhook_policy.allow") {
			t.Errorf("subscribe to %s = %d %s, want 400 on url naming webhook_policy.allow", u, code, body)
		}
	}

	for _, path := range []string{"/to-loopback", "/to-private"} {
		name := "redirect" + strings.ReplaceAll(path, "/", "-")
		if code, body := subscribe(name, "http://localhost:"+rport+path); code != http.StatusCreated {
			t.Fatalf("subscribe %s = %d %s", name, code, body)
		}
	}
	key, err := keyfile.Load(a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-INWARD", Step: 1, Commitment: crypto.SM3([]byte("inward")), Size: 1}
	submitRecord(ctx, t, cl, key, a.ChainID, rec)

	// Both subscriptions fail on the 3xx, naming where it pointed.
	list := waitWebhooks(ctx, t, n, token, "both failing on the redirect", func(list []client.Webhook) bool {
		failing := 0
		for _, wh := range list {
			if wh.Failed > 0 && wh.LastFailure != nil && strings.Contains(wh.LastError, "HTTP 302 redirecting to") {
				failing++
			}
		}
		return len(list) == 2 && failing == 2
	})
	for _, wh := range list {
		want := target.URL
		if strings.HasSuffix(wh.Name, "private") {
			want = private
		}
		if wh.Delivered != 0 || wh.LastDelivery != nil || !strings.Contains(wh.LastError, want) {
			t.Errorf("webhook %s: %+v, want no delivery and the error naming %s", wh.Name, wh, want)
		}
	}
	if h := hits.Load(); h != 0 {
		t.Fatalf("the redirect was followed: the target got %d requests", h)
	}

	// GET /metrics needs no token: it names no subscription.
	resp, err := http.Get(n.APIURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(metrics), "redirect-to") || strings.Contains(string(metrics), `webhook="`) ||
		!strings.Contains(string(metrics), "evidenced_webhook_failures_total ") {
		t.Errorf("GET /metrics names subscriptions or lacks the failure total:\n%s", grepLines(string(metrics), "webhook"))
	}
}

// waitWebhooks polls GET /v1/webhooks until done holds for the list, and
// returns it; want says what done waits for.
func waitWebhooks(ctx context.Context, t *testing.T, n *node.Node, token, want string, done func([]client.Webhook) bool) []client.Webhook {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		var list struct{ Webhooks []client.Webhook }
		code, body := callAPI(ctx, t, n, token, http.MethodGet, "/v1/webhooks", nil)
		if err := json.Unmarshal([]byte(body), &list); code != http.StatusOK || err != nil {
			t.Fatalf("list = %d %s (%v)", code, body, err)
		}
		if done(list.Webhooks) {
			return list.Webhooks
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks %+v, want %s", list.Webhooks, want)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// port returns the port of a test server.
func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// grepLines returns the lines of s that contain substr.
func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestWebhookSubscribeValidates (F4): a name that is not an identifier and
// a URL that is not an absolute http(s) URL with a host and no credentials
// are refused with 400 naming the field, and nothing is saved.
func TestWebhookSubscribeValidates(t *testing.T) {
	a, n, _ := startBankWith(t, "evidenced-webhook-validate", allowLoopback)
	token := readToken(t, a.TokensFile)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	secret := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ name, url, field string }{
		{"a\x00b", "https://core.bank.example/hooks", "name"},
		{"..", "https://core.bank.example/hooks", "name"},
		{".hidden", "https://core.bank.example/hooks", "name"},
		{"a/b", "https://core.bank.example/hooks", "name"},
		{"Core", "https://core.bank.example/hooks", "name"},
		{"", "https://core.bank.example/hooks", "name"},
		{strings.Repeat("a", config.MaxWebhookNameLen+1), "https://core.bank.example/hooks", "name"},
		{"core", "http://a b/", "url"},
		{"core", "http://%zz/", "url"},
		{"core", "::not a url", "url"},
		{"core", "/hooks", "url"},
		{"core", "ftp://core.bank.example/", "url"},
		{"core", "http:///hooks", "url"},
		{"core", "https://user:pass@core.bank.example/", "url"},
		{"core", "https://core.bank.example/" + strings.Repeat("x", 2048), "url"},
		{"core", "https://nonexistent.invalid/hooks", "url"}, // does not resolve
	} {
		code, body := callAPI(ctx, t, n, token, http.MethodPost, "/v1/webhooks", map[string]any{"name": tc.name, "url": tc.url, "secret": secret})
		if code != http.StatusBadRequest || !strings.Contains(body, fmt.Sprintf(`"field":%q`, tc.field)) {
			t.Errorf("subscribe %q to %q = %d %s, want 400 on %s", tc.name, tc.url, code, body, tc.field)
		}
	}
	if _, err := os.Stat(filepath.Join(a.Members[0].Home, node.WebhookDir, "subscriptions.json")); err == nil {
		t.Error("a refused subscription was saved")
	}
	if code, body := callAPI(ctx, t, n, token, http.MethodGet, "/v1/webhooks", nil); code != http.StatusOK || strings.Contains(body, `"name":"`) {
		t.Errorf("list = %d %s, want no subscription", code, body)
	}
}

// TestWebhookRefusedAtDial (F3): the address a delivery connects to is
// checked when it connects, whatever the name resolved to before, so a
// name that resolves inward at delivery time (DNS rebinding; here a
// configured webhook to localhost, whose name is not resolved at load)
// reaches nothing, and the failure says how to allow it.
func TestWebhookRefusedAtDial(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	tport := port(t, target)
	secretFile := filepath.Join(t.TempDir(), "hook-secret")
	if err := os.WriteFile(secretFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := generateBank(t, "evidenced-webhook-dial", func(c *config.Config) {
		c.Webhooks = []config.Webhook{{Name: "rebound", URL: "http://localhost:" + tport + "/hooks", SecretFile: secretFile}}
	})
	token := addToken(t, a, api.ScopeAdmin) // configured webhooks are admin's
	n, cl := startMember(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, err := keyfile.Load(a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-DIAL", Step: 1, Commitment: crypto.SM3([]byte("dial")), Size: 1}
	submitRecord(ctx, t, cl, key, a.ChainID, rec)
	list := waitWebhooks(ctx, t, n, token, "one failed attempt", func(list []client.Webhook) bool { return len(list) == 1 && list[0].Failed > 0 })
	if wh := list[0]; wh.Delivered != 0 || !strings.Contains(wh.LastError, "127.0.0.1 is a loopback address: destination refused") ||
		!strings.Contains(wh.LastError, "webhook_policy.allow") {
		t.Fatalf("webhook %+v, want it refused at 127.0.0.1 with the way to allow it", wh)
	}
	if h := hits.Load(); h != 0 {
		t.Fatalf("the target got %d requests", h)
	}
}
