package api_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
)

// sseEvent is one event of a text/event-stream.
type sseEvent struct{ id, event, data string }

// readEvents reads n events from an SSE response body.
func readEvents(t *testing.T, sc *bufio.Scanner, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.id != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	if len(out) < n {
		t.Fatalf("read %d events, want %d: %v", len(out), n, sc.Err())
	}
	return out
}

func TestEvents(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(api.New(f.node, api.Options{}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	open := func(query string, lastID string) *bufio.Scanner {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events"+query, nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("GET /v1/events%s = %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return bufio.NewScanner(resp.Body)
	}

	// From entry 6, evidence only: 6 and 7 (9 is an attestation, 8 a batch).
	sc := open("?from=6&type=evidence", "")
	evs := readEvents(t, sc, 2)
	if evs[0].id != "6" || evs[1].id != "7" || evs[0].event != "evidence" || !strings.Contains(evs[1].data, `"chain":"LOAN-1"`) {
		t.Fatalf("events %+v", evs)
	}
	// A new commit arrives on the open stream.
	c, err := f.node.Submit(ctx, f.step3(), true)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Result.Index
	for {
		ev := readEvents(t, sc, 1)[0]
		if ev.id == strconv.FormatUint(want, 10) {
			break
		}
	}
	// Resuming with Last-Event-ID continues after it, every type.
	sc = open("", "8")
	if ev := readEvents(t, sc, 1)[0]; ev.id != "9" || ev.event != "attest" {
		t.Fatalf("after Last-Event-ID 8: %+v", ev)
	}
	// Filter by evidence chain.
	sc = open("?from=0&chain=LOAN-3", "")
	if ev := readEvents(t, sc, 1)[0]; ev.id != "8" || ev.event != "batch" {
		t.Fatalf("chain LOAN-3: %+v", ev)
	}
	for _, bad := range []string{"?type=nonsense", "?from=x"} {
		resp, err := srv.Client().Get(srv.URL + "/v1/events" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("GET /v1/events%s = %d, want 400", bad, resp.StatusCode)
		}
	}
}
