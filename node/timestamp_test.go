package node_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/node"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDevTSAAndStamper: the first member of a generated alliance serves
// the development TSA and its stamper obtains a token from it over the
// trusted checkpoints: the request is counted under tsa="dev-tsa". (Until
// the ledger has the timestamp transaction, the node's submit refuses,
// so the result is submit_failed; once it has, ok.)
func TestDevTSAAndStamper(t *testing.T) {
	a := generate(t, "evidenced-stamp-test")
	logs := &lockedBuffer{}
	n, err := node.New(a.Members[0].Home, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	served := `result="submit_failed",tsa="dev-tsa"} 1`
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.APIURL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := string(b)
		if strings.Contains(m, served) || strings.Contains(m, `result="ok",tsa="dev-tsa"} 1`) {
			for _, want := range []string{`evidenced_timestamp_requests_total{result="unreachable",tsa="dev-tsa"} 0`, "evidenced_timestamp_pending_seconds", "evidenced_timestamp_lag_seconds_bucket"} {
				if !strings.Contains(m, want) {
					t.Fatalf("GET /metrics lacks %q", want)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no token from the development TSA within 30 s; logs:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := logs.String()
	for _, want := range []string{
		"development TSA serving RFC 3161 on http://127.0.0.1:",
		"a production alliance points at its real TSAs",
		`msg="stamping trusted checkpoints with RFC 3161 tokens"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "level=ERROR") {
		t.Errorf("the node logged an ERROR:\n%s", out)
	}
}
