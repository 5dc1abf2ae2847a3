package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
)

// TestRetrievalRequestEndpoints: a request filed (as the court: memNode
// signs requests as court, everything else as bank-a), read back, listed
// with filters, refused, and refused again (422); the errors before
// signing; a grant naming a request takes what it does not give from it.
func TestRetrievalRequestEndpoints(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)
	auth := "Bearer " + testToken
	get := func(target string, out any) *httptest.ResponseRecorder {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if out != nil && rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
				t.Fatal(err)
			}
		}
		return rec
	}

	// A purpose typed in NFD is normalised before signing.
	rec := postEvidence(t, h, "/v1/requests", auth, `{"chain": "LOAN-1", "purpose": "(2026)沪0115民初1234号 cafe\u0301"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /v1/requests: %d %s", rec.Code, rec.Body)
	}
	var filed client.SubmitResult
	if err := json.Unmarshal(rec.Body.Bytes(), &filed); err != nil || filed.Type != "request" || filed.Signer != "court" {
		t.Fatalf("filed %+v, %v", filed, err)
	}
	var one client.RetrievalRequest
	if rec := get("/v1/requests/"+u64(filed.Index), &one); rec.Code != http.StatusOK ||
		one.Requester != "court" || one.Owner != "bank-a" || one.Chain != "LOAN-1" || one.Status != "open" || one.Answer != nil ||
		one.Purpose != "(2026)沪0115民初1234号 caf\u00e9" {
		t.Fatalf("GET request: %d %+v", rec.Code, one)
	}

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 1}, {"?owner=bank-a", 1}, {"?owner=bank-b", 0}, {"?requester=court", 1}, {"?requester=arbitration", 0},
		{"?status=open", 1}, {"?owner=bank-a&status=open", 1}, {"?from=" + u64(filed.Index+1), 0},
	} {
		var page client.RetrievalRequests
		if rec := get("/v1/requests"+tc.query, &page); rec.Code != http.StatusOK || len(page.Requests) != tc.want {
			t.Errorf("GET /v1/requests%s: %d, %d requests, want %d: %s", tc.query, rec.Code, len(page.Requests), tc.want, rec.Body)
		}
	}

	// Refused once, with a Chinese reason; then it is answered.
	if rec := postEvidence(t, h, "/v1/requests/"+u64(filed.Index)+"/refuse", auth, `{"reason": "该链已依法移交"}`); rec.Code != http.StatusOK {
		t.Fatalf("refuse: %d %s", rec.Code, rec.Body)
	}
	if rec := get("/v1/requests/"+u64(filed.Index), &one); rec.Code != http.StatusOK || one.Status != "refused" || one.Reason != "该链已依法移交" || one.Answer == nil {
		t.Fatalf("after the refusal: %+v", one)
	}
	var page client.RetrievalRequests
	if get("/v1/requests?status=open", &page); len(page.Requests) != 0 {
		t.Errorf("open requests after the refusal: %+v", page)
	}

	for _, tc := range []struct {
		name, method, target, body string
		status                     int
		code, field                string
	}{
		{"refused twice", http.MethodPost, "/v1/requests/" + u64(filed.Index) + "/refuse", `{"reason": "再次"}`, 422, "request_answered", ""},
		{"refusal of no request", http.MethodPost, "/v1/requests/3/refuse", `{"reason": "x"}`, 404, client.CodeNotFound, "request"},
		{"refusal without a reason", http.MethodPost, "/v1/requests/" + u64(filed.Index) + "/refuse", `{"reason": ""}`, 400, client.CodeBadRequest, "reason"},
		{"reason with a control character", http.MethodPost, "/v1/requests/" + u64(filed.Index) + "/refuse", `{"reason": "a\u0007"}`, 400, client.CodeBadRequest, "reason"},
		{"request without a target", http.MethodPost, "/v1/requests", `{"purpose": "x"}`, 400, client.CodeBadRequest, "record"},
		{"request naming both", http.MethodPost, "/v1/requests", `{"record": "7", "chain": "LOAN-1", "purpose": "x"}`, 400, client.CodeBadRequest, "record"},
		{"request without a purpose", http.MethodPost, "/v1/requests", `{"chain": "LOAN-1"}`, 400, client.CodeBadRequest, "purpose"},
		{"purpose with a line break", http.MethodPost, "/v1/requests", `{"chain": "LOAN-1", "purpose": "案号\n1"}`, 400, client.CodeBadRequest, "purpose"},
		{"purpose with a bidi override", http.MethodPost, "/v1/requests", `{"chain": "LOAN-1", "purpose": "\u202e1"}`, 400, client.CodeBadRequest, "purpose"},
		{"request for a record without an original", http.MethodPost, "/v1/requests", `{"record": "7", "purpose": "x"}`, 422, "no_original", ""},
		{"request for no chain", http.MethodPost, "/v1/requests", `{"chain": "LOAN-NONE", "purpose": "x"}`, 422, "unknown_target", "targets"},
		{"unknown field", http.MethodPost, "/v1/requests", `{"chain": "LOAN-1", "purpose": "x", "grantee": "court"}`, 400, client.CodeBadRequest, "body"},
		{"no such request", http.MethodGet, "/v1/requests/3", "", 404, client.CodeNotFound, "request"},
		{"request not a number", http.MethodGet, "/v1/requests/x", "", 400, client.CodeBadRequest, "request"},
		{"bad status", http.MethodGet, "/v1/requests?status=granted", "", 400, client.CodeBadRequest, "status"},
		{"bad owner", http.MethodGet, "/v1/requests?owner=Bank", "", 400, client.CodeBadRequest, "owner"},
		{"bad from", http.MethodGet, "/v1/requests?from=-1", "", 400, client.CodeBadRequest, "from"},
		{"grant answering no request", http.MethodPost, "/v1/grants", `{"request": 3}`, 404, client.CodeNotFound, "request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if tc.method == http.MethodGet {
				rec = get(tc.target, nil)
			} else {
				rec = postEvidence(t, h, tc.target, auth, tc.body)
			}
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			e := decodeError(t, rec)
			if e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("error %+v, want code %s field %q", e, tc.code, tc.field)
			}
		})
	}

	// A grant naming a request: record or chain, grantee and purpose come
	// from it.
	rec = postEvidence(t, h, "/v1/requests", auth, `{"chain": "LOAN-1", "purpose": "仲裁 17"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("second request: %d %s", rec.Code, rec.Body)
	}
	var second client.SubmitResult
	if err := json.Unmarshal(rec.Body.Bytes(), &second); err != nil {
		t.Fatal(err)
	}
	if rec := postEvidence(t, h, "/v1/grants", auth, `{"request": `+u64(second.Index)+`}`); rec.Code != http.StatusOK {
		t.Fatalf("grant answering the request: %d %s", rec.Code, rec.Body)
	}
	f.node.mu.Lock()
	got := f.node.grants[len(f.node.grants)-1]
	f.node.mu.Unlock()
	if got.Request != second.Index || got.Chain != "LOAN-1" || got.Grantee != "court" || got.Purpose != "仲裁 17" || got.Ref != nil {
		t.Fatalf("the grant asked of the node: %+v", got)
	}
}

func u64(n uint64) string { return strconv.FormatUint(n, 10) }
