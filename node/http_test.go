package node_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

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
