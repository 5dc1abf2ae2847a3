package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// TestOverclaimingBundleCostsLittle (finding F6): an unauthenticated
// POST /v1/bundles of a 348 KB bundle of 4,096 batch transactions, each
// claiming 10,000 records, once cost the node about 190 MB. The handler,
// with the ledger's check behind it, now allocates < 10 MiB (8.7 MB, most
// of it the 1 MB answer listing 4,096 rejections; twice the bound under
// the race detector).
func TestOverclaimingBundleCostsLittle(t *testing.T) {
	n, err := newMemNode()
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(n, api.Options{})
	bundle := ledgertest.OverclaimingBundle(n.a.ChainID, n.a.Key("bank-a").Public().ID(), blockTime(1))
	var w *discardWriter
	allocated := allocatedBy(func() {
		w = &discardWriter{header: http.Header{}}
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/bundles?wait=sync", bytes.NewReader(bundle)))
	})
	t.Logf("a %d-byte bundle of %d batches each claiming %d records: status %d, %d bytes answered, %d bytes allocated",
		len(bundle), ledger.MaxBundleTxs, ledger.MaxBatchRecords, w.status, w.n, allocated)
	if w.status != http.StatusOK {
		t.Fatalf("status %d, want 200 (every item rejected)", w.status)
	}
	if allocated > allocFactor*10<<20 {
		t.Errorf("the handler allocated %d bytes for a %d-byte bundle, want < %d MiB", allocated, len(bundle), allocFactor*10)
	}
}

// TestEvidenceRecordsCountedFirst: a POST /v1/evidence body of 1 MiB of
// empty records ({},{},…: 350,000 of them) is refused as too large a batch
// before the records are decoded (64 bytes each, and more while the slice
// grows).
func TestEvidenceRecordsCountedFirst(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{MaxBodyBytes: 4 << 20}, false)
	body := `{"records": [{}` + strings.Repeat(",{}", (client.MaxTxBody-20)/3) + `]}`
	var rec *httptest.ResponseRecorder
	allocated := allocatedBy(func() { rec = postEvidence(t, h, "/v1/evidence", "Bearer "+testToken, body) })
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %s", rec.Code, rec.Body)
	}
	if e := decodeError(t, rec); e.Code != "batch_too_large" || e.Field != "records" {
		t.Errorf("code %q field %q, want batch_too_large records", e.Code, e.Field)
	}
	t.Logf("%d bytes of empty records: %d bytes allocated", len(body), allocated)
	if allocated > allocFactor*4<<20 {
		t.Errorf("refusing %d bytes of empty records allocated %d bytes, want < %d MiB", len(body), allocated, allocFactor*4)
	}
	// One record too many is refused the same way.
	c := ledgertest.Commitment("c").String()
	one, err := json.Marshal(map[string]any{"kind": "k", "chain": "C", "step": 1, "commitment": c, "size": 1})
	if err != nil {
		t.Fatal(err)
	}
	many := `{"records": [` + strings.Repeat(string(one)+",", ledger.MaxBatchRecords) + string(one) + `]}`
	if rec := postEvidence(t, h, "/v1/evidence", "Bearer "+testToken, many); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("%d records: status %d, want 422", ledger.MaxBatchRecords+1, rec.Code)
	}
}

// allocatedBy returns the bytes allocated on the heap while f runs.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// discardWriter is an http.ResponseWriter that keeps the status and counts
// the body: an httptest.ResponseRecorder would keep the body, and its
// buffer would count as the handler's.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(b)
	return len(b), nil
}

// TestEventStreamCaps (finding F2): GET /v1/events serves at most the
// Streams' cap of streams at once, and fewer to requests without a valid
// bearer token; beyond, 503 with Retry-After, the connection closed, and
// the refusal reported. A stream's end frees its place.
func TestEventStreamCaps(t *testing.T) {
	n, err := newMemNode()
	if err != nil {
		t.Fatal(err)
	}
	var refusedMu sync.Mutex
	refused := map[string]int{}
	streams := api.NewStreams(2, 1, func(reason string) {
		refusedMu.Lock()
		defer refusedMu.Unlock()
		refused[reason]++
	})
	srv := httptest.NewServer(api.New(n, api.Options{Streams: streams, Tokens: testTokens}))
	defer srv.Close()
	open := func(token string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	refusal := func(resp *http.Response, reason string) {
		t.Helper()
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" || !resp.Close ||
			!strings.Contains(string(body), `"code":"unavailable"`) || !strings.Contains(string(body), "too many event streams") {
			t.Fatalf("status %d, Retry-After %q, close %v: %s; want a 503 closing the connection", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close, body)
		}
		refusedMu.Lock()
		defer refusedMu.Unlock()
		if refused[reason] != 1 {
			t.Fatalf("refusals %v, want one %s", refused, reason)
		}
	}
	anon := open("")
	if anon.StatusCode != http.StatusOK {
		t.Fatalf("the first anonymous stream: status %d", anon.StatusCode)
	}
	refusal(open("wrong-token"), api.RefusedAnonymousStreams) // a wrong token is no token
	authed := open(testToken)
	if authed.StatusCode != http.StatusOK {
		t.Fatalf("a stream with a token beside an anonymous one: status %d", authed.StatusCode)
	}
	refusal(open(testToken), api.RefusedStreams)
	if all, anonymous := streams.Open(); all != 2 || anonymous != 1 {
		t.Fatalf("Open() = %d, %d; want 2, 1", all, anonymous)
	}
	anon.Body.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) { // polling interval
		if all, _ := streams.Open(); all == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed stream kept its place")
		}
	}
	again := open("")
	if again.StatusCode != http.StatusOK {
		t.Fatalf("an anonymous stream after one ended: status %d", again.StatusCode)
	}
	again.Body.Close()
	authed.Body.Close()
}
