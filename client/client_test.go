package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// The fakes in this file follow notes/api.md (HTTP API v1): routes, status
// codes, the error body {"error": {...}} and Retry-After on 503.

var (
	testTime  = time.Date(2026, 11, 27, 3, 0, 1, 123456789, time.UTC)
	testTxID  = crypto.SM3([]byte("tx"))
	testLeaf  = crypto.SM3([]byte("leaf"))
	testComm  = crypto.SM3([]byte("salt"), []byte("original"))
	testKeyID = crypto.KeyID(crypto.SM3([]byte("key")))
)

// writeJSON writes v with status as the contract does.
func writeJSON(t *testing.T, w http.ResponseWriter, status int, v any) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Errorf("fake node: encode response: %v", err)
	}
}

// writeAPIError writes e in the contract's error shape, with Retry-After
// when e.RetryAfter is set.
func writeAPIError(t *testing.T, w http.ResponseWriter, e *Error) {
	t.Helper()
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", "2")
	}
	writeJSON(t, w, e.Status, ErrorResponse{Error: e})
}

// newTestClient starts srv's handler and returns a Client for it whose
// retry waits are recorded instead of slept.
func newTestClient(t *testing.T, h http.Handler, opts ...Option) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", srv.URL, err)
	}
	var mu sync.Mutex
	waits := new([]time.Duration)
	c.wait = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits = append(*waits, d)
		return ctx.Err()
	}
	return c, waits
}

func sampleStatus() Status {
	return Status{ChainID: "evidenced-dev", Moniker: "bank", Member: "bank", Role: "bank", Height: 42,
		AppHash: crypto.SM3([]byte("app")), LogSize: 57, LogRoot: crypto.SM3([]byte("root")), BlockTime: testTime, Validators: 4}
}

func sampleEntry() Entry {
	cipher := crypto.SM3([]byte("cipher"))
	return Entry{Index: 7, Height: 3, Time: testTime, LeafHash: testLeaf, Entry: []byte{1, 2, 3, 0xff},
		TxID: testTxID, Type: "evidence", ChainID: "evidenced-dev", Signer: "bank-a", SignerKey: testKeyID, ClientTime: testTime.Add(-time.Second),
		Records: []Record{{Pos: 0, Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Prev: testLeaf, Commitment: testComm, Size: 1234,
			Cipher: &cipher, Labels: map[string]string{"product": "consumer-loan"}}}}
}

func sampleChain() Chain {
	return Chain{Chain: "LOAN-1", Owner: "bank-a", Steps: 2, HeadLeafHash: testLeaf, HeadIndex: 7,
		Records: []ChainRecord{{Step: 1, Index: 6, Pos: 0, Height: 2, Time: testTime, TxID: testTxID, Kind: "loan-application", Commitment: testComm, Size: 1}}}
}

func sampleMembers() []Member {
	k, _ := crypto.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 1024)))
	return []Member{{Name: "bank-a", Role: ledger.RoleBank, Power: 10, Keys: []MemberKey{{ID: k.Public().ID(), PublicKey: k.Public().Bytes()}}}}
}

// fakeNode is a node that answers every GET endpoint with the samples and
// POST /v1/txs with a committed (or pending) result.
func fakeNode(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(t, w, 200, sampleStatus()) })
	mux.HandleFunc("GET /v1/entries/{index}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("index") != "7" {
			writeAPIError(t, w, &Error{Status: 404, Code: CodeNotFound, Message: "no entry " + r.PathValue("index"), Field: "index"})
			return
		}
		writeJSON(t, w, 200, sampleEntry())
	})
	mux.HandleFunc("GET /v1/txs/{txid}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("txid") != testTxID.String() {
			writeAPIError(t, w, &Error{Status: 404, Code: CodeNotFound, Message: "no transaction", Field: "txid"})
			return
		}
		writeJSON(t, w, 200, sampleEntry())
	})
	mux.HandleFunc("GET /v1/chains/{chain}", func(w http.ResponseWriter, r *http.Request) {
		ch := sampleChain()
		ch.Chain = r.PathValue("chain")
		if got := r.URL.Query().Get("from"); got != "1" {
			t.Errorf("chain from = %q, want 1", got)
		}
		if got := r.URL.Query().Get("limit"); got != "100" {
			t.Errorf("chain limit = %q, want 100", got)
		}
		writeJSON(t, w, 200, ch)
	})
	mux.HandleFunc("GET /v1/commitments/{hex}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, 200, CommitmentRecords{Commitment: testComm,
			Records: []CommitmentRecord{{Index: 6, Chain: "LOAN-1", Step: 1, Height: 2, Time: testTime, TxID: testTxID}}})
	})
	mux.HandleFunc("GET /v1/members", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, 200, MembersResponse{Members: sampleMembers()})
	})
	mux.HandleFunc("POST /v1/txs", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("submit Content-Type = %q", ct)
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxTxBody))
		if err != nil {
			writeAPIError(t, w, &Error{Status: 413, Code: CodeBadRequest, Message: "transaction too large"})
			return
		}
		id := crypto.SM3(body)
		if r.URL.Query().Get("wait") == WaitSync {
			writeJSON(t, w, 202, SubmitResult{TxID: id, Status: StatusPending})
			return
		}
		writeJSON(t, w, 200, SubmitResult{TxID: id, Status: StatusCommitted, Index: 12, Height: 5, Time: testTime,
			Signer: "bank-a", Type: "evidence", Chains: []string{"LOAN-1"}})
	})
	return mux
}

func TestNew(t *testing.T) {
	tests := []struct {
		url     string
		wantErr bool
		base    string
	}{
		{"http://127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"https://node.example/prefix/", false, "https://node.example/prefix"},
		{"http://[::1]:8080", false, "http://[::1]:8080"},
		{"127.0.0.1:8080", true, ""},
		{"ftp://node", true, ""},
		{"http://", true, ""},
		{"http://:8080", true, ""},
		{"http://u:p@node", true, ""},
		{"http://node?x=1", true, ""},
		{"://bad", true, ""},
		{"", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := New(tt.url)
			if tt.wantErr {
				if !errors.Is(err, ErrBadURL) {
					t.Fatalf("New(%q) err = %v, want ErrBadURL", tt.url, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tt.url, err)
			}
			if c.BaseURL() != tt.base {
				t.Errorf("BaseURL = %q, want %q", c.BaseURL(), tt.base)
			}
		})
	}
}

func TestMethodsSuccess(t *testing.T) {
	c, _ := newTestClient(t, fakeNode(t))
	ctx := context.Background()
	tests := []struct {
		name string
		call func() (any, error)
		want any
	}{
		{"Status", func() (any, error) { return c.Status(ctx) }, ptr(sampleStatus())},
		{"Entry", func() (any, error) { return c.Entry(ctx, 7) }, ptr(sampleEntry())},
		{"EntryByTx", func() (any, error) { return c.EntryByTx(ctx, testTxID) }, ptr(sampleEntry())},
		{"Chain", func() (any, error) { return c.Chain(ctx, "LOAN-1", 1, 100) }, ptr(sampleChain())},
		{"Commitment", func() (any, error) { return c.Commitment(ctx, testComm) }, &CommitmentRecords{Commitment: testComm,
			Records: []CommitmentRecord{{Index: 6, Chain: "LOAN-1", Step: 1, Height: 2, Time: testTime, TxID: testTxID}}}},
		{"Members", func() (any, error) { return c.Members(ctx) }, sampleMembers()},
		{"SubmitCommit", func() (any, error) { return c.Submit(ctx, []byte("signed tx"), true) }, &SubmitResult{TxID: crypto.SM3([]byte("signed tx")),
			Status: StatusCommitted, Index: 12, Height: 5, Time: testTime, Signer: "bank-a", Type: "evidence", Chains: []string{"LOAN-1"}}},
		{"SubmitSync", func() (any, error) { return c.Submit(ctx, []byte("signed tx"), false) }, &SubmitResult{TxID: crypto.SM3([]byte("signed tx")), Status: StatusPending}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s =\n%+v\nwant\n%+v", tt.name, got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestMethodsErrors(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		name string
		call func(c *Client) error
	}{
		{"Status", func(c *Client) error { _, err := c.Status(ctx); return err }},
		{"Entry", func(c *Client) error { _, err := c.Entry(ctx, 7); return err }},
		{"EntryByTx", func(c *Client) error { _, err := c.EntryByTx(ctx, testTxID); return err }},
		{"Chain", func(c *Client) error { _, err := c.Chain(ctx, "LOAN-1", 0, 0); return err }},
		{"Commitment", func(c *Client) error { _, err := c.Commitment(ctx, testComm); return err }},
		{"Members", func(c *Client) error { _, err := c.Members(ctx); return err }},
		{"Submit", func(c *Client) error { _, err := c.Submit(ctx, []byte("tx"), true); return err }},
	}
	statuses := []struct {
		name      string
		e         Error
		rejection bool
	}{
		{"400", Error{Status: 400, Code: CodeBadRequest, Message: "index \"x\" is not a number", Field: "index"}, false},
		{"404", Error{Status: 404, Code: CodeNotFound, Message: "no such thing"}, false},
		{"409", Error{Status: 409, Code: "duplicate", ResultCode: 8, Message: "already accepted", Hint: ledger.CodeDuplicate.Hint(), TxID: testTxID.String()}, true},
		{"422", Error{Status: 422, Code: "chain_step", ResultCode: 11, Message: "evidence chain LOAN-1 is at step 2, so the next step is 3, not 5",
			Hint: ledger.CodeChainStep.Hint(), Field: "step", Height: 9}, true},
		{"500", Error{Status: 500, Code: CodeInternal, Message: "store failed"}, false},
		{"504", Error{Status: 504, Code: CodeTimeout, Message: "not committed within 30s", TxID: testTxID.String()}, false},
	}
	for _, m := range calls {
		for _, s := range statuses {
			t.Run(m.name+"/"+s.name, func(t *testing.T) {
				c, waits := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					e := s.e
					writeAPIError(t, w, &e)
				}))
				err := m.call(c)
				var got *Error
				if !errors.As(err, &got) {
					t.Fatalf("err = %v (%T), want *Error", err, err)
				}
				if !reflect.DeepEqual(*got, s.e) {
					t.Errorf("error = %+v, want %+v", *got, s.e)
				}
				if got.IsRejection() != s.rejection {
					t.Errorf("IsRejection = %v, want %v", got.IsRejection(), s.rejection)
				}
				if len(*waits) != 0 {
					t.Errorf("retried a %d: waits %v", s.e.Status, *waits)
				}
			})
		}
		for _, body := range []string{
			`{"height": "x", "tx_id": "NOT HEX", "members": 3, "records": {}}`,
			`{"truncated`,
			`<html>not json</html>`,
		} {
			t.Run(m.name+"/bad-json/"+body[:6], func(t *testing.T) {
				c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, body)
				}))
				err := m.call(c)
				if !errors.Is(err, ErrBadResponse) {
					t.Fatalf("err = %v, want ErrBadResponse", err)
				}
				if !strings.Contains(err.Error(), "evidenced node") {
					t.Errorf("error %q does not say what to check", err)
				}
			})
		}
		t.Run(m.name+"/html-502", func(t *testing.T) {
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(502)
				_, _ = io.WriteString(w, "<html>\n<h1>Bad Gateway</h1></html>")
			}))
			err := m.call(c)
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want *Error", err)
			}
			want := Error{Status: 502, Code: "http_502", Message: "the node answered HTTP 502 Bad Gateway: <html> <h1>Bad Gateway</h1></html>"}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("error = %+v, want %+v", *got, want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Status: 422, Code: "chain_step", Message: "at step 2", Hint: "submit in order"}, "chain_step: at step 2 (submit in order)"},
		{Error{Status: 404, Code: "not_found", Message: "no entry 9"}, "not_found: no entry 9"},
		{Error{Status: 418, Message: "teapot"}, "http_418: teapot"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGetRetries503(t *testing.T) {
	tests := []struct {
		name      string
		failures  int      // 503s before a 200
		header    []string // Retry-After per failure ("" = none)
		wantCalls int
		wantWaits []time.Duration
		wantErr   bool
	}{
		{"none", 0, nil, 1, nil, false},
		{"one", 1, []string{"2"}, 2, []time.Duration{2 * time.Second}, false},
		{"three-default-wait", 3, []string{"", "1", "0"}, 4, []time.Duration{time.Second, time.Second, time.Second}, false},
		{"four-gives-up", 4, []string{"1", "1", "1", "1"}, 4, []time.Duration{time.Second, time.Second, time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			c, waits := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n := calls
				calls++
				mu.Unlock()
				if n < tt.failures {
					if h := tt.header[n]; h != "" {
						w.Header().Set("Retry-After", h)
					}
					writeJSON(t, w, 503, ErrorResponse{Error: &Error{Status: 503, Code: CodeUnavailable, Message: "overloaded"}})
					return
				}
				writeJSON(t, w, 200, sampleStatus())
			}))
			_, err := c.Status(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Status err = %v, wantErr %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if !reflect.DeepEqual(*waits, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", *waits, tt.wantWaits)
			}
			var e *Error
			if tt.wantErr && (!errors.As(err, &e) || e.RetryAfter != time.Second || e.Code != CodeUnavailable) {
				t.Errorf("err = %#v, want 503 *Error with RetryAfter 1s", err)
			}
		})
	}
}

func TestGetNoWaitPastDeadline(t *testing.T) {
	calls := 0
	c, waits := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "3600")
		writeJSON(t, w, 503, ErrorResponse{Error: &Error{Status: 503, Code: CodeUnavailable, Message: "not ready"}})
	}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Members(ctx)
	var e *Error
	if !errors.As(err, &e) || e.RetryAfter != time.Hour {
		t.Fatalf("err = %v, want 503 with RetryAfter 1h", err)
	}
	if calls != 1 || len(*waits) != 0 {
		t.Errorf("calls = %d, waits = %v; want 1 call and no wait", calls, *waits)
	}
}

func TestSubmitDoesNotRetry(t *testing.T) {
	calls := 0
	c, waits := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "7")
		writeJSON(t, w, 503, ErrorResponse{Error: &Error{Status: 503, Code: CodeUnavailable, Message: "mempool full"}})
	}))
	_, err := c.Submit(context.Background(), []byte("tx"), true)
	var e *Error
	if !errors.As(err, &e) || e.RetryAfter != 7*time.Second || e.IsRejection() {
		t.Fatalf("err = %v, want 503 *Error with RetryAfter 7s", err)
	}
	if calls != 1 || len(*waits) != 0 {
		t.Errorf("calls = %d, waits = %v; want exactly one attempt", calls, *waits)
	}
}

func TestSubmitRequest(t *testing.T) {
	tests := []struct {
		name        string
		wait        bool
		deadline    time.Duration
		wantWait    string
		wantTimeout bool
	}{
		{"commit", true, 0, "commit", false},
		{"commit-deadline", true, 30 * time.Second, "commit", true},
		{"sync", false, 30 * time.Second, "sync", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := bytes.Repeat([]byte{0xab}, 1000)
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/v1/txs" {
					t.Errorf("request %s %s, want POST /v1/txs", r.Method, r.URL.Path)
				}
				q := r.URL.Query()
				if q.Get("wait") != tt.wantWait {
					t.Errorf("wait = %q, want %q", q.Get("wait"), tt.wantWait)
				}
				if to := q.Get("timeout"); (to != "") != tt.wantTimeout {
					t.Errorf("timeout = %q, want set %v", to, tt.wantTimeout)
				} else if to != "" {
					d, err := time.ParseDuration(to)
					if err != nil || d <= 25*time.Second || d >= 30*time.Second {
						t.Errorf("timeout = %q, want a little under 30s", to)
					}
				}
				body, _ := io.ReadAll(r.Body)
				if !bytes.Equal(body, tx) {
					t.Errorf("body differs from the tx bytes")
				}
				writeJSON(t, w, 202, SubmitResult{TxID: crypto.SM3(body), Status: StatusPending})
			}))
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			res, err := c.Submit(ctx, tx, tt.wait)
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if res.TxID != crypto.SM3(tx) {
				t.Errorf("TxID = %s, want %s", res.TxID, crypto.SM3(tx))
			}
		})
	}
}

func TestTokenAndPrefix(t *testing.T) {
	var gotPath, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.EscapedPath(), r.Header.Get("Authorization")
		writeJSON(t, w, 200, sampleChain())
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/ev/", WithToken("s3cret"), WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Chain(context.Background(), "LOAN:2026-1", 0, 0); err != nil {
		t.Fatal(err)
	}
	if gotPath != "/ev/v1/chains/LOAN:2026-1" {
		t.Errorf("path = %q, want /ev/v1/chains/LOAN:2026-1", gotPath)
	}
	if gotAuth != "Bearer s3cret" {
		t.Errorf("Authorization = %q", gotAuth)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := New(url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name the URL", err)
	}
}

func TestContextCanceled(t *testing.T) {
	c, _ := newTestClient(t, fakeNode(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Status(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-1", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999", 0},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestWireForm(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"pending", SubmitResult{TxID: testTxID, Status: StatusPending, Index: 3},
			`{"tx_id":"` + testTxID.String() + `","status":"pending"}`},
		{"committed", SubmitResult{TxID: testTxID, Status: StatusCommitted, Index: 12, Height: 5, Time: testTime, Signer: "bank-a", Type: "evidence", Chains: []string{"LOAN-1"}},
			`{"tx_id":"` + testTxID.String() + `","status":"committed","code":0,"index":12,"height":5,"time":"2026-11-27T03:00:01.123456789Z","signer":"bank-a","type":"evidence","chains":["LOAN-1"]}`},
		{"error", ErrorResponse{Error: &Error{Status: 422, Code: "chain_step", ResultCode: 11, Message: "m", Hint: "h", Field: "step", RetryAfter: time.Second}},
			`{"error":{"status":422,"code":"chain_step","result_code":11,"message":"m","hint":"h","field":"step"}}`},
		{"attestation", Attestation{Statement: "notarised", Targets: []RecordRef{{Index: 6}}, Note: "n"},
			`{"statement":"notarised","targets":[{"index":6,"pos":0}],"note":"n"}`},
		{"register", Entry{Index: 0, Time: testTime, LeafHash: testLeaf, Entry: []byte{1}, TxID: testTxID, Type: "register", ChainID: "c", Signer: "bank-a", ClientTime: testTime,
			Details: &MemberRegistration{Name: "bank-a", Role: ledger.RoleBank, Power: 10, Keys: []HexBytes{{4, 0xab}}}},
			`{"index":0,"height":0,"time":"2026-11-27T03:00:01.123456789Z","leaf_hash":"` + testLeaf.String() + `","entry":"AQ==","tx_id":"` + testTxID.String() +
				`","type":"register","chain_id":"c","signer":"bank-a","client_time":"2026-11-27T03:00:01.123456789Z","member":{"name":"bank-a","role":"bank","power":10,"keys":["04ab"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("JSON =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestHexBytes(t *testing.T) {
	var b HexBytes
	if err := b.UnmarshalText([]byte("04AbCd")); err != nil || !bytes.Equal(b, []byte{4, 0xab, 0xcd}) {
		t.Errorf("UnmarshalText(04AbCd) = %x, %v", []byte(b), err)
	}
	if err := b.UnmarshalText([]byte("0g")); err == nil {
		t.Error("UnmarshalText(0g) succeeded")
	}
	if s := (HexBytes{0xde, 0xad}).String(); s != "dead" {
		t.Errorf("String = %q", s)
	}
}
