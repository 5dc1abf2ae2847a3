package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// checkJSONResponse fails unless rec is a JSON response whose status is one
// of allowed, and an error body when the status is not 2xx.
func checkJSONResponse(t *testing.T, rec *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	ok := false
	for _, s := range allowed {
		ok = ok || rec.Code == s
	}
	if !ok {
		t.Fatalf("status %d not in %v; body %s", rec.Code, allowed, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("body is not JSON: %q", rec.Body)
	}
	if rec.Code >= 300 {
		var er client.ErrorResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || er.Error == nil ||
			er.Error.Status != rec.Code || er.Error.Code == "" || er.Error.Message == "" {
			t.Fatalf("status %d with body %q: not the error shape", rec.Code, rec.Body)
		}
	}
}

// FuzzSubmitBody posts arbitrary bodies. The server never panics, always
// answers JSON, and whatever it accepts round-trips: the committed entry holds
// exactly the submitted bytes under the returned tx id.
func FuzzSubmitBody(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.step3())
	f.Add(fx.txs[6])
	f.Add(fx.txs[8][:len(fx.txs[8])-1])
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte(`{"tx":"..."}`))
	h := api.New(fx.node, api.Options{MaxBodyBytes: 64 << 10})
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := serve(t, h, http.MethodPost, "/v1/txs", body)
		checkJSONResponse(t, rec, 200, 400, 409, 413, 422)
		if rec.Code != http.StatusOK {
			return
		}
		var res client.SubmitResult
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		got := serve(t, h, http.MethodGet, fmt.Sprintf("/v1/entries/%d", res.Index), nil)
		var e client.Entry
		if err := json.Unmarshal(got.Body.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		entry, err := ledger.DecodeEntry(e.Entry)
		if err != nil || !bytes.Equal(entry.TxBytes, body) || e.TxID != res.TxID {
			t.Fatalf("entry %d does not hold the submitted bytes (err %v)", res.Index, err)
		}
	})
}

// FuzzPathParams requests arbitrary paths, queries and methods. The server
// never panics, never redirects and always answers JSON.
func FuzzPathParams(f *testing.F) {
	fx := newFixture(f)
	tx := fx.txID(f, 6).String()
	c := ledgertest.Commitment("shared").String()
	for _, seed := range []struct {
		method byte
		path   string
		query  string
	}{
		{0, "/v1/entries/6", ""},
		{0, "/v1/entries/99999999999999999999", ""},
		{0, "/v1/txs/" + tx, ""},
		{0, "/v1/chains/LOAN-1", "from=2&limit=1"},
		{0, "/v1/chains/LOAN-1", "limit=%zz"},
		{0, "/v1/commitments/" + c, "limit=1"},
		{0, "/v1/members", ""},
		{0, "/v1/status", ""},
		{1, "/v1/txs", "wait=sync&timeout=1s"},
		{2, "/v1//entries/./6", ""},
		{3, "v1/status", ""},
		{4, "", ""},
		{5, "/v1/chains/LOAN%2F1", ""},
		{0, "/v1/evidence/6/receipt", ""},
		{0, "/v1/evidence/" + tx + ".1/receipt", ""},
		{1, "/v1/evidence", "wait=sync"},
		{0, "/v1/checkpoints/latest", ""},
		{0, "/v1/checkpoints/3", ""},
		{0, "/v1/proofs/consistency", "from=1&to=11"},
		{0, "/v1/proofs/inclusion", "index=6&size=7"},
		{0, "/v1/roster", ""},
		{0, "/v1/openapi.json", ""},
	} {
		f.Add(seed.method, seed.path, seed.query)
	}
	methods := []string{"GET", "POST", "HEAD", "DELETE", "CONNECT", "OPTIONS", "PUT", "BREW"}
	h := api.New(fx.node, api.Options{})
	f.Fuzz(func(t *testing.T, m byte, path, query string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method = methods[int(m)%len(methods)]
		req.URL = &url.URL{Path: path, RawQuery: query}
		req.RequestURI = req.URL.RequestURI()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		// A POST without a body is a 400, POST /v1/evidence is disabled
		// (403), and no checkpoint covers any receipt (503); nothing is
		// ever committed here.
		checkJSONResponse(t, rec, 200, 400, 403, 404, 405, 503)
	})
}
