package explorer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/internal/testutil"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// event is one Server-Sent Event.
type event = testutil.SSEEvent

// liveData is the union of the block, evidence and checkpoint event data.
type liveData struct {
	Evidence []struct {
		ID, Chain, Kind, Submitter string
		Step                       uint32
	} `json:"evidence"`
	Height  int64     `json:"height"`
	Time    time.Time `json:"time"`
	First   uint64    `json:"first"`
	Size    uint64    `json:"size"`
	Records *uint64   `json:"records"`
	Root    string    `json:"root"`
	Signers []string  `json:"signers"`
	Power   uint64    `json:"power"`
	Total   uint64    `json:"total"`
}

// openLive connects to the live stream at url (with Last-Event-ID when
// lastID is set) and returns its events. The stream's handler has chosen
// where it starts when openLive returns.
func openLive(t *testing.T, ctx context.Context, url, lastID string) <-chan event {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("live: no Content-Security-Policy")
	}
	out := make(chan event, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for {
			ev, ok := testutil.NextSSE(sc)
			if !ok {
				return
			}
			out <- ev
		}
	}()
	return out
}

// nextEvent returns the next event, failing at ctx's deadline.
func nextEvent(t *testing.T, ctx context.Context, events <-chan event) (event, liveData) {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the live stream ended")
		}
		var d liveData
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatalf("event %+v: %v", ev, err)
		}
		return ev, d
	case <-ctx.Done():
		t.Fatal("no live event before the deadline")
	}
	panic("unreachable")
}

func wantBlock(t *testing.T, ev event, d liveData, height int64, first, size, records uint64) {
	t.Helper()
	if ev.Event != "block" || ev.ID != itoa(height) || d.Height != height || d.First != first || d.Size != size ||
		d.Records == nil || *d.Records != records || !d.Time.Equal(time.Unix(0, blockTime(height))) {
		t.Errorf("event %s id %s %s, want block %d [%d, %d) with %d records", ev.Event, ev.ID, ev.Data, height, first, size, records)
	}
}

// wantEvidence checks an evidence event of block id lists the records
// (ID/chain/step/kind/submitter) given, newest first.
func wantEvidence(t *testing.T, ev event, d liveData, id int64, records ...string) {
	t.Helper()
	var got []string
	for _, r := range d.Evidence {
		got = append(got, fmt.Sprintf("%s/%s/%d/%s/%s", r.ID, r.Chain, r.Step, r.Kind, r.Submitter))
	}
	if ev.Event != "evidence" || ev.ID != itoa(id) || d.Height != id || strings.Join(got, " ") != strings.Join(records, " ") {
		t.Errorf("event %s id %s %s, want the evidence of block %d: %q", ev.Event, ev.ID, ev.Data, id, records)
	}
}

func wantCheckpoint(t *testing.T, ev event, d liveData, id, height int64, size uint64) {
	t.Helper()
	if ev.Event != "checkpoint" || ev.ID != itoa(id) || d.Height != height || d.Size != size || len(d.Root) != 64 ||
		strings.Join(d.Signers, ",") != "arbitration,bank-a,bank-b,court,notary" || d.Power != 50 || d.Total != 50 {
		t.Errorf("event %s id %s %s, want the checkpoint of height %d (size %d) in block %d", ev.Event, ev.ID, ev.Data, height, size, id)
	}
}

func itoa(h int64) string { return strconv.FormatInt(h, 10) }

func TestLive(t *testing.T) {
	f := newFixture(t)
	done := make(chan struct{}, 8)
	h := explorer.New(f.n, explorer.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.URL.Path == "/explorer/live" {
			done <- struct{}{}
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("replay after a height", func(t *testing.T) {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		events := openLive(t, ctx, srv.URL+"/explorer/live?after=8", "")
		ev, d := nextEvent(t, ctx, events)
		wantBlock(t, ev, d, 9, 14, 14, 6)
		ev, d = nextEvent(t, ctx, events)
		wantCheckpoint(t, ev, d, 9, 7, 14)
		ev, d = nextEvent(t, ctx, events)
		wantBlock(t, ev, d, 10, 14, 15, 6)
		ev, d = nextEvent(t, ctx, events)
		wantBlock(t, ev, d, 11, 15, 16, 7)
		ev, d = nextEvent(t, ctx, events)
		wantEvidence(t, ev, d, 11, "15/LOAN-5/1/loan-contract/bank-b")
	})
	t.Run("resume from Last-Event-ID", func(t *testing.T) {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		events := openLive(t, ctx, srv.URL+"/explorer/live?after=0", "10")
		ev, d := nextEvent(t, ctx, events)
		wantBlock(t, ev, d, 11, 15, 16, 7)
		ev, d = nextEvent(t, ctx, events)
		wantEvidence(t, ev, d, 11, "15/LOAN-5/1/loan-contract/bank-b")
	})

	// A new stream starts at the next commit and follows each one.
	sctx, stop := context.WithCancel(ctx)
	events := openLive(t, sctx, srv.URL+"/explorer/live", "")
	a := f.n.a
	f.n.block(t, a.Batch(a.Key("bank-b"), f.n.next(), []ledger.Record{
		{Kind: "loan-contract", Chain: "LOAN-6", Step: 1, Size: 1, Commitment: ledgertest.Commitment("loan6")},
		{Kind: "loan-contract", Chain: "LOAN-7", Step: 1, Size: 1, Commitment: ledgertest.Commitment("loan7")},
	}))
	ev, d := nextEvent(t, ctx, events)
	wantBlock(t, ev, d, 12, 16, 17, 9)
	ev, d = nextEvent(t, ctx, events)
	wantEvidence(t, ev, d, 12, "16.1/LOAN-7/1/loan-contract/bank-b", "16/LOAN-6/1/loan-contract/bank-b")
	if got := f.n.trust(t); got != 12 {
		t.Fatalf("trusted %d", got)
	}
	ev, d = nextEvent(t, ctx, events)
	wantBlock(t, ev, d, 13, 17, 17, 9)
	ev, d = nextEvent(t, ctx, events)
	wantBlock(t, ev, d, 14, 17, 17, 9)
	ev, d = nextEvent(t, ctx, events)
	wantCheckpoint(t, ev, d, 14, 12, 17)

	// Each stream ends when its client goes: the two above already, this
	// one now.
	stop()
	for i := 0; i < 3; i++ {
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatalf("%d of 3 live handlers returned after their clients went", i)
		}
	}
}

// polled is a Source without api.Notifier: the stream polls it.
type polled struct{ n *node }

func (p polled) Snapshot() (*ledger.View, int64, func(), error) { return p.n.Snapshot() }
func (p polled) Status(ctx context.Context) (*client.Status, error) {
	return p.n.Status(ctx)
}

func TestLivePolls(t *testing.T) {
	n := newNode(t)
	srv := httptest.NewServer(explorer.New(polled{n}, explorer.Options{}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events := openLive(t, ctx, srv.URL+"/explorer/live", "")
	a := n.a
	n.block(t, a.Evidence(a.Key("bank-a"), n.next(), ledger.Record{Kind: "loan-contract", Chain: "LOAN-P", Step: 1, Size: 1,
		Commitment: ledgertest.Commitment("p")}))
	ev, d := nextEvent(t, ctx, events)
	wantBlock(t, ev, d, 1, 6, 7, 1)
}

// TestLiveStreamCap: the live streams count against the node's cap on
// anonymous event streams; beyond it the stream is refused with a 503
// page, Retry-After and the connection closed, and an ended stream frees
// its place.
func TestLiveStreamCap(t *testing.T) {
	f := newFixture(t)
	streams := api.NewStreams(4, 1, nil)
	srv := httptest.NewServer(explorer.New(f.n, explorer.Options{Streams: streams}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, stop := context.WithCancel(ctx)
	openLive(t, first, srv.URL+"/explorer/live", "")
	resp, err := http.Get(srv.URL + "/explorer/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" || !resp.Close {
		t.Fatalf("a second live stream: status %d, Retry-After %q, close %v; want 503, 5, true", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close)
	}
	stop()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) { // polling interval
		if all, _ := streams.Open(); all == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an ended live stream kept its place")
		}
	}
	openLive(t, ctx, srv.URL+"/explorer/live", "")
}
