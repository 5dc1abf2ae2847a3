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
	"github.com/evidenced/evidenced/internal/testutil"
)

// readEvents reads n events from an SSE response body.
func readEvents(t *testing.T, sc *bufio.Scanner, n int) []testutil.SSEEvent {
	t.Helper()
	var out []testutil.SSEEvent
	for len(out) < n {
		ev, ok := testutil.NextSSE(sc)
		if !ok {
			t.Fatalf("read %d events, want %d: %v", len(out), n, sc.Err())
		}
		out = append(out, ev)
	}
	return out
}

// openEvents opens GET /v1/events with query and a Last-Event-ID (none
// when empty) and returns a scanner over the stream, closed at cleanup.
func openEvents(ctx context.Context, t *testing.T, srv *httptest.Server, query, lastID string) *bufio.Scanner {
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

func TestEvents(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(api.New(f.node, api.Options{}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	open := func(query, lastID string) *bufio.Scanner {
		t.Helper()
		return openEvents(ctx, t, srv, query, lastID)
	}

	// From entry 6, evidence only: 6 and 7 (9 is an attestation, 8 a batch).
	sc := open("?from=6&type=evidence", "")
	evs := readEvents(t, sc, 2)
	if evs[0].ID != "6" || evs[1].ID != "7" || evs[0].Event != "evidence" || !strings.Contains(evs[1].Data, `"chain":"LOAN-1"`) {
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
		if ev.ID == strconv.FormatUint(want, 10) {
			break
		}
	}
	// Resuming with Last-Event-ID continues after it, every type.
	sc = open("", "8")
	if ev := readEvents(t, sc, 1)[0]; ev.ID != "9" || ev.Event != "attest" {
		t.Fatalf("after Last-Event-ID 8: %+v", ev)
	}
	// Filter by evidence chain.
	sc = open("?from=0&chain=LOAN-3", "")
	if ev := readEvents(t, sc, 1)[0]; ev.ID != "8" || ev.Event != "batch" {
		t.Fatalf("chain LOAN-3: %+v", ev)
	}
	// HEAD gets the headers and ends, rather than streaming.
	head, err := http.NewRequestWithContext(ctx, http.MethodHead, srv.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(head)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("HEAD /v1/events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
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

// TestEventsCheckpointsAndKind covers checkpoint events (only when asked
// for, after the entries of the block that committed them, resumable by
// their id) and the kind filter.
func TestEventsCheckpointsAndKind(t *testing.T) {
	f := newFixture(t)
	h := f.trust(t) // the checkpoint of h, committed by block h+2
	srv := httptest.NewServer(api.New(f.node, api.Options{}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	open := func(query, lastID string) *bufio.Scanner {
		t.Helper()
		return openEvents(ctx, t, srv, query, lastID)
	}
	cpID := "checkpoint-" + strconv.FormatInt(h, 10)

	// Entries 9 and 10 (the last two), then the checkpoint.
	evs := readEvents(t, open("?from=9&type=attest,evidence,checkpoint", ""), 3)
	if evs[0].ID != "9" || evs[1].ID != "10" || evs[2].ID != cpID || evs[2].Event != "checkpoint" ||
		!strings.Contains(evs[2].Data, `"tree_size":11`) {
		t.Fatalf("events from 9 with checkpoints: %+v", evs)
	}
	// Without type=checkpoint, none: the next event after 10 is the next commit.
	sc := open("?from=10", "")
	if ev := readEvents(t, sc, 1)[0]; ev.ID != "10" {
		t.Fatalf("first event from 10: %+v", ev)
	}
	c, err := f.node.Submit(ctx, f.step3(), true)
	if err != nil {
		t.Fatal(err)
	}
	if ev := readEvents(t, sc, 1)[0]; ev.ID != strconv.FormatUint(c.Result.Index, 10) {
		t.Fatalf("event after 10 without checkpoints = %+v, want entry %d", ev, c.Result.Index)
	}
	// Resuming after the checkpoint continues with the next entry.
	if ev := readEvents(t, open("?type=evidence,checkpoint", cpID), 1)[0]; ev.ID != strconv.FormatUint(c.Result.Index, 10) {
		t.Fatalf("after Last-Event-ID %s: %+v, want entry %d", cpID, ev, c.Result.Index)
	}
	// Kind: loan-contract records are entry 7 and the batch 8.
	evs = readEvents(t, open("?from=0&kind=loan-contract", ""), 2)
	if evs[0].ID != "7" || evs[1].ID != "8" {
		t.Fatalf("kind loan-contract: %+v", evs)
	}
	for _, bad := range []struct{ query, lastID string }{{"?type=checkpoints", ""}, {"", "checkpoint-x"}} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events"+bad.query, nil)
		req.Header.Set("Last-Event-ID", bad.lastID)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /v1/events%s Last-Event-ID %q = %d, want 400", bad.query, bad.lastID, resp.StatusCode)
		}
	}
	resp, err := srv.Client().Do(func() *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events", nil)
		req.Header.Set("Last-Event-ID", "checkpoint-999")
		return req
	}())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("Last-Event-ID of an uncommitted checkpoint = %d, want 404", resp.StatusCode)
	}
}

// FuzzCursor feeds arbitrary event ids (Last-Event-ID) and cursor files to
// their parsers: they return a cursor or an error, never panic, and a
// parsed cursor's text form parses back to itself.
func FuzzCursor(f *testing.F) {
	fx := newFixture(f)
	h := fx.trust(f)
	for _, s := range []string{"0", "10", "11 8", "checkpoint-" + strconv.FormatInt(h, 10), "checkpoint-", "-1", "1 -1", "", "18446744073709551615", "checkpoint-9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, height, release, err := fx.node.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if c, err := api.CursorAfter(v, height, s); err == nil {
			if _, _, _, err := api.ReadEvents(v, c, api.EventFilter{Types: []string{"evidence", "checkpoint"}}, 4); err != nil {
				t.Fatalf("ReadEvents after %q: %v", s, err)
			}
		}
		c, err := api.ParseCursor(v, height, s)
		if err != nil {
			return
		}
		back, err := api.ParseCursor(v, height, c.String())
		if err != nil || back != c {
			t.Fatalf("cursor %q → %v → %v, %v", s, c, back, err)
		}
	})
}

// TestReadEventsBudget: a reader whose filter matches nothing stops after
// ReadBudget entries and blocks, says there is more, and reaches the end
// of the log in later calls with nothing skipped twice.
func TestReadEventsBudget(t *testing.T) {
	f := newFixture(t)
	for range api.ReadBudget {
		if _, err := f.node.applyBlock(); err != nil {
			t.Fatal(err)
		}
	}
	v, height, release, err := f.node.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	cur := api.Cursor{}
	nothing := api.EventFilter{Kind: "no-such-kind"}
	calls := 0
	for {
		evs, next, more, err := api.ReadEvents(v, cur, nothing, 10)
		if err != nil {
			t.Fatal(err)
		}
		calls++
		if len(evs) != 0 {
			t.Fatalf("a filter that matches nothing read %v", evs)
		}
		if next.Block < cur.Block || next.Next < cur.Next {
			t.Fatalf("the cursor went back from %v to %v", cur, next)
		}
		cur = next
		if !more {
			break
		}
	}
	if calls < 2 || cur.Block != height+1 {
		t.Fatalf("%d calls ended at %v; want more than one call, ending at block %d", calls, cur, height+1)
	}
	// Every entry is still found from the start with an open filter.
	evs, _, _, err := api.ReadEvents(v, api.Cursor{}, api.EventFilter{}, 100)
	if err != nil || len(evs) != 11 {
		t.Fatalf("all entries: %d events, %v; want the 11 of the fixture", len(evs), err)
	}
}

// TestEventAfter: the position ReadEvents gives after each event is the
// one a reader resuming with that event's id gets.
func TestEventAfter(t *testing.T) {
	f := newFixture(t)
	f.trust(t)
	v, height, release, err := f.node.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	evs, _, _, err := api.ReadEvents(v, api.Cursor{}, api.EventFilter{Types: api.EventTypes()}, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkpoints := 0
	for _, e := range evs {
		want, err := api.CursorAfter(v, height, e.ID)
		if err != nil {
			t.Fatalf("CursorAfter(%s): %v", e.ID, err)
		}
		if e.After != want {
			t.Errorf("event %s: After = %v, resuming after it = %v", e.ID, e.After, want)
		}
		if e.Type == api.EventCheckpoint {
			checkpoints++
		}
	}
	if len(evs) != 12 || checkpoints != 1 {
		t.Fatalf("%d events with %d checkpoints, want the 11 entries and 1 checkpoint", len(evs), checkpoints)
	}
}
