package node_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
)

// TestNonCanonicalPathsAnswer404 (finding F7): a path that http.ServeMux
// would clean and redirect (//, /./, /../) gets a 404 from the node, never
// a redirect: the API's JSON error under /v1 and elsewhere, the explorer's
// page under /explorer/, as docs/API.md promises.
func TestNonCanonicalPathsAnswer404(t *testing.T) {
	_, n, _ := startBank(t, "evidenced-paths")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		path     string
		explorer bool
	}{
		{path: "/v1//status"},
		{path: "/v1/entries/../status"},
		{path: "/v1/./status"},
		{path: "//v1/status"},
		{path: "/metrics/../v1/status"},
		{path: "/v1/status/.."},
		{path: "/explorer//alliance", explorer: true},
		{path: "/explorer/blocks/../alliance", explorer: true},
		{path: "/explorer/../v1/status", explorer: true},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := noRedirect.Get(n.APIURL() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d (Location %q), want 404:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			ct := resp.Header.Get("Content-Type")
			if tt.explorer {
				if !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), `data-status="404"`) {
					t.Errorf("Content-Type %q, want the explorer's 404 page:\n%s", ct, body)
				}
				return
			}
			var e client.ErrorResponse
			if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Code != "not_found" || ct != "application/json" {
				t.Errorf("Content-Type %q, body %s: want the API's JSON not_found error", ct, body)
			}
		})
	}
	// The canonical paths still answer.
	for _, p := range []string{"/v1/status", "/explorer/alliance", "/metrics"} {
		resp, err := noRedirect.Get(n.APIURL() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", p, resp.StatusCode)
		}
	}
}

// TestHealthAndReady: a running node answers GET /healthz at once, and
// GET /readyz 200 once it has committed a block (polled with a deadline).
func TestHealthAndReady(t *testing.T) {
	_, n, _ := startBank(t, "evidenced-ready")
	get := func(p string) (int, map[string]any) {
		resp, err := http.Get(n.APIURL() + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		return resp.StatusCode, body
	}
	if code, body := get("/healthz"); code != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("GET /healthz: %d %v", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get("/readyz")
		if code == http.StatusOK {
			if body["status"] != "ok" || body["height"].(float64) < 1 {
				t.Fatalf("GET /readyz: %v", body)
			}
			return
		}
		if code != http.StatusServiceUnavailable || body["status"] != "not_ready" || body["reason"] == "" {
			t.Fatalf("GET /readyz: %d %v", code, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node is not ready after 30s: %v", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
