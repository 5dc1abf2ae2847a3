package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

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
