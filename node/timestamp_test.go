package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
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
// the development TSA, which the genesis trusts, and its stamper obtains a
// token over the first trusted checkpoint and puts it on chain (counted
// under result="ok", served by GET /v1/checkpoints/{h}/timestamp). A
// token is no log entry and makes no checkpoint due: with no record, no
// second token comes however many intervals pass; a record makes one.
func TestDevTSAAndStamper(t *testing.T) {
	const interval = 200 * time.Millisecond
	a := generateBank(t, "evidenced-stamp-test", func(c *config.Config) { c.Timestamp.Interval = config.Duration(interval) })
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := client.New(n.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	metrics := func() string {
		t.Helper()
		resp, err := http.Get(n.APIURL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	okCount := func(k int) string {
		return fmt.Sprintf(`evidenced_timestamp_requests_total{result="ok",tsa="dev-tsa"} %d`, k)
	}
	// timestamps lists the heights whose checkpoints have a token.
	timestamps := func() []int64 {
		t.Helper()
		st, err := cl.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var hs []int64
		for h := int64(1); h <= st.Height; h++ {
			_, err := cl.Timestamp(ctx, h)
			var ce *client.Error
			switch {
			case err == nil:
				hs = append(hs, h)
			case !errors.As(err, &ce) || ce.Code != client.CodeNotFound:
				t.Fatalf("timestamp of height %d: %v", h, err)
			}
		}
		return hs
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s; logs:\n%s", what, logs)
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}
	waitFor("a token committed", func() bool { return strings.Contains(metrics(), okCount(1)) })
	m := metrics()
	for _, want := range []string{`evidenced_timestamp_requests_total{result="unreachable",tsa="dev-tsa"} 0`, "evidenced_timestamp_pending_seconds", "evidenced_timestamp_lag_seconds_bucket"} {
		if !strings.Contains(m, want) {
			t.Fatalf("GET /metrics lacks %q", want)
		}
	}
	hs := timestamps()
	if len(hs) != 1 {
		t.Fatalf("timestamp entries stamp heights %v, want one", hs)
	}
	ts, err := cl.Timestamp(ctx, hs[0])
	if err != nil || ts.TSA != "dev-tsa" || ts.GenTime.IsZero() {
		t.Fatalf("GET /v1/checkpoints/%d/timestamp = %+v, %v; want the dev-tsa's token", hs[0], ts, err)
	}

	// Ten intervals of block time with no record: the checkpoint that
	// covers the token's entry is not stamped.
	st, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	blockTime := func() time.Time {
		st, err := cl.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.BlockTime
	}
	since := blockTime()
	waitFor("ten intervals of blocks", func() bool { return blockTime().Sub(since) > 10*interval })
	if hs := timestamps(); len(hs) != 1 || !strings.Contains(metrics(), okCount(1)) {
		t.Fatalf("with no record after the first token (log size %d then), tokens stamp heights %v: the stamper stamps without records", st.LogSize, hs)
	}

	key, err := keyfile.Load(a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-TS1", Step: 1, Commitment: crypto.SM3([]byte("x")), Size: 1}
	tx, err := ledger.SignTx(key, rand.Reader, &ledger.Body{ChainID: a.ChainID, Time: time.Now().UnixNano(), Payload: &ledger.Evidence{Record: rec}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Submit(ctx, tx, true); err != nil {
		t.Fatal(err)
	}
	waitFor("a second token after a record", func() bool { return strings.Contains(metrics(), okCount(2)) })
	if hs := timestamps(); len(hs) != 2 || hs[1] <= hs[0] {
		t.Fatalf("after a record, timestamps stamp %v, want two", hs)
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
