package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// postOriginal sends body to POST target as an upload with the test token
// (auth "" for none, "-" for no header). A nil body is sent chunked (no
// Content-Length).
func postOriginal(t *testing.T, h http.Handler, target, auth string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, body)
	req.Header.Set("Content-Type", "application/octet-stream")
	switch auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+testToken)
	case "-":
	default:
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// record returns the committed record at ref.
func (f *fixture) record(t *testing.T, index uint64) *ledger.Record {
	t.Helper()
	f.node.mu.RLock()
	defer f.node.mu.RUnlock()
	r, _, _, err := ledger.NewView(f.node.st).Record(ledger.RecordRef{Index: index})
	if err != nil {
		t.Fatalf("record %d: %v", index, err)
	}
	return r
}

func TestUploadOriginal(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)
	original := []byte("LOAN-U1 借款协议: 12 instalments")

	res := decodeOK[client.OriginalResult](t, postOriginal(t, h,
		"/v1/originals?kind=loan-contract&chain=LOAN-U1&step=1&label=product=consumer-loan&label=channel=app", "", bytes.NewReader(original)),
		http.StatusOK, cacheNone)
	if res.Status != client.StatusCommitted || res.Index != 11 || res.Signer != "bank-a" || res.Type != "evidence" ||
		!reflect.DeepEqual(res.Chains, []string{"LOAN-U1"}) || res.Chain != "LOAN-U1" || res.Step != 1 {
		t.Fatalf("result %+v", res)
	}
	if res.Size != uint64(len(original)) || len(res.Salt) != crypto.SaltSize || res.Commitment != crypto.Commitment(res.Salt, original) {
		t.Errorf("size %d, salt %x, commitment %s: not those of the original", res.Size, res.Salt, res.Commitment)
	}
	rec := f.record(t, 11)
	if rec.Cipher == nil || *rec.Cipher != res.Cipher || rec.CipherSize != res.CipherSize || rec.Commitment != res.Commitment ||
		rec.Size != res.Size || len(rec.Labels) != 2 || rec.Labels[0].Key != "channel" {
		t.Fatalf("committed record %+v does not match the result %+v", rec, res)
	}
	// The owner's member key (bank-a's first key) unwraps key and salt.
	if _, salt, err := blob.UnwrapKey(f.node.a.Key("bank-a"), rec.OwnerKey); err != nil || !bytes.Equal(salt, res.Salt) {
		t.Errorf("bank-a cannot unwrap the record's key: %v (salt %x, want %x)", err, salt, res.Salt)
	}
	if _, _, err := blob.UnwrapKey(f.node.a.Key("bank-b"), rec.OwnerKey); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("bank-b unwraps bank-a's key: %v", err)
	}
	if f.node.keptOriginals() != 1 {
		t.Errorf("%d originals kept, want 1", f.node.keptOriginals())
	}

	// A later step without prev, sent chunked: the node fills in the head.
	res = decodeOK[client.OriginalResult](t, postOriginal(t, h, "/v1/originals?kind=disbursement&chain=LOAN-1&step=3&timeout=5s", "",
		io.MultiReader(strings.NewReader("part 1, "), strings.NewReader("part 2"))), http.StatusOK, cacheNone)
	if rec := f.record(t, res.Index); res.Index != 12 || rec.Prev != f.leaf(t, 7) || rec.Size != 14 {
		t.Errorf("step 3: result %+v, record %+v", res, rec)
	}

	// wait=sync: 202 with the original's fields and the salt.
	res = decodeOK[client.OriginalResult](t, postOriginal(t, h, "/v1/originals?kind=loan-contract&chain=LOAN-U2&step=1&wait=sync", "",
		strings.NewReader("x")), http.StatusAccepted, cacheNone)
	if res.Status != client.StatusPending || res.Index != 0 || len(res.Salt) != crypto.SaltSize || res.Commitment != crypto.Commitment(res.Salt, []byte("x")) {
		t.Errorf("pending result %+v", res)
	}
	if f.node.keptOriginals() != 3 {
		t.Errorf("%d originals kept, want 3", f.node.keptOriginals())
	}
}

func TestUploadOriginalErrors(t *testing.T) {
	const ok = "/v1/originals?kind=loan-contract&chain=LOAN-E&step=1"
	stranger, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status     int
		code       string
		resultCode ledger.Code
		field      string
		kept       bool // the original stays in the store
	}
	tests := []struct {
		name     string
		target   string
		auth     string
		body     io.Reader // default: "an original"
		opts     api.Options
		noSigner bool
		knob     func(n *memNode)
		want     want
	}{
		{name: "node does not sign", target: ok, noSigner: true, want: want{status: 403, code: "forbidden"}},
		{name: "no token", target: ok, auth: "-", want: want{status: 401, code: "unauthorized", field: "Authorization"}},
		{name: "wrong token", target: ok, auth: "Bearer nope", want: want{status: 401, code: "unauthorized", field: "Authorization"}},
		{name: "kind missing", target: "/v1/originals?chain=LOAN-E&step=1", want: want{status: 400, code: "bad_request", field: "kind"}},
		{name: "bad kind", target: "/v1/originals?kind=Loan&chain=LOAN-E&step=1", want: want{status: 400, code: "bad_request", field: "kind"}},
		{name: "chain missing", target: "/v1/originals?kind=k&step=1", want: want{status: 400, code: "bad_request", field: "chain"}},
		{name: "step missing", target: "/v1/originals?kind=k&chain=LOAN-E", want: want{status: 400, code: "bad_request", field: "step"}},
		{name: "step zero", target: "/v1/originals?kind=k&chain=C&step=0", want: want{status: 400, code: "bad_request", field: "step"}},
		{name: "step not a number", target: "/v1/originals?kind=k&chain=C&step=one", want: want{status: 400, code: "bad_request", field: "step"}},
		{name: "step overflows", target: "/v1/originals?kind=k&chain=C&step=4294967296", want: want{status: 400, code: "bad_request", field: "step"}},
		{name: "prev not hex", target: ok + "&prev=xyz", want: want{status: 400, code: "bad_request", field: "prev"}},
		{name: "prev for step 1", target: ok + "&prev=" + crypto.SM3([]byte("p")).String(), want: want{status: 400, code: "bad_request", field: "prev"}},
		{name: "label without =", target: ok + "&label=product", want: want{status: 400, code: "bad_request", field: "label"}},
		{name: "label twice", target: ok + "&label=a=1&label=a=2", want: want{status: 400, code: "bad_request", field: "label"}},
		{name: "bad label key", target: ok + "&label=Name=x", want: want{status: 400, code: "bad_request", field: "label"}},
		{name: "unknown parameter", target: ok + "&commitment=00", want: want{status: 400, code: "bad_request", field: "commitment"}},
		{name: "repeated parameter", target: ok + "&kind=other", want: want{status: 400, code: "bad_request", field: "kind"}},
		{name: "bad wait", target: ok + "&wait=later", want: want{status: 400, code: "bad_request", field: "wait"}},
		{name: "bad timeout", target: ok + "&timeout=1h", want: want{status: 400, code: "bad_request", field: "timeout"}},
		{name: "empty body", target: ok, body: bytes.NewReader(nil), want: want{status: 400, code: "bad_request", field: "body"}},
		{name: "announced too large", target: ok, body: bytes.NewReader(make([]byte, 101)), knob: func(n *memNode) { n.maxOriginal = 100 },
			want: want{status: 413, code: "too_large", field: "body"}},
		{name: "found too large while reading", target: ok, body: io.MultiReader(bytes.NewReader(make([]byte, 60)), bytes.NewReader(make([]byte, 41))),
			knob: func(n *memNode) { n.maxOriginal = 100 }, want: want{status: 413, code: "too_large", field: "body"}},
		{name: "missing chain, before reading", target: "/v1/originals?kind=k&chain=LOAN-NONE&step=2",
			want: want{status: 422, code: "chain_step", resultCode: ledger.CodeChainStep, field: "step"}},
		{name: "chain taken", target: "/v1/originals?kind=k&chain=LOAN-1&step=1",
			want: want{status: 422, code: "chain_step", resultCode: ledger.CodeChainStep, field: "step"}},
		{name: "wrong prev, after reading", target: "/v1/originals?kind=k&chain=LOAN-1&step=3&prev=" + crypto.SM3([]byte("p")).String(),
			want: want{status: 422, code: "chain_prev", resultCode: ledger.CodeChainPrev, field: "prev"}},
		{name: "rejected by the block", target: "/v1/originals?kind=k&chain=LOAN-1&step=3&prev=" + crypto.SM3([]byte("p")).String(),
			knob: func(n *memNode) { n.skipCheck = true },
			want: want{status: 422, code: "chain_prev", resultCode: ledger.CodeChainPrev, field: "prev"}},
		{name: "signer is no member's key", target: ok,
			opts: api.Options{Signer: func(_ context.Context, b *ledger.Body) ([]byte, error) {
				return ledger.SignTx(stranger, rand.Reader, b)
			}},
			want: want{status: 422, code: "unknown_key", resultCode: ledger.CodeUnknownKey, field: "signer_key"}},
		{name: "signer fails", target: ok,
			opts: api.Options{Signer: func(context.Context, *ledger.Body) ([]byte, error) { return nil, errors.New("HSM unplugged") }},
			want: want{status: 500, code: "internal"}},
		{name: "overloaded", target: ok, knob: func(n *memNode) { n.overloaded = true }, want: want{status: 503, code: "unavailable"}},
		{name: "commit timeout keeps the original", target: ok + "&timeout=10ms", knob: func(n *memNode) { n.hang = true },
			want: want{status: 504, code: "timeout", kept: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.knob != nil {
				tt.knob(f.node)
			}
			h := f.evidenceHandler(tt.opts, tt.noSigner)
			body := tt.body
			if body == nil {
				body = strings.NewReader("an original")
			}
			rec := postOriginal(t, h, tt.target, tt.auth, body)
			if rec.Code != tt.want.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want.status, rec.Body)
			}
			e := decodeError(t, rec)
			if e.Code != tt.want.code || ledger.Code(e.ResultCode) != tt.want.resultCode || e.Field != tt.want.field {
				t.Errorf("error %+v, want code %s, result code %d, field %q", e, tt.want.code, tt.want.resultCode, tt.want.field)
			}
			if kept := f.node.keptOriginals() == 1; kept != tt.want.kept {
				t.Errorf("%d originals kept, want kept = %v", f.node.keptOriginals(), tt.want.kept)
			}
		})
	}
}

// errReader fails after yielding n bytes.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset by peer")
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func TestUploadOriginalBodyFails(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)
	rec := postOriginal(t, h, "/v1/originals?kind=k&chain=LOAN-R&step=1", "", io.MultiReader(&errReader{n: 1000}))
	e := decodeError(t, rec)
	if rec.Code != http.StatusBadRequest || e.Field != "body" || !strings.Contains(e.Message, "after 1000 bytes") {
		t.Errorf("status %d, error %+v; want 400 naming the body and the bytes read", rec.Code, e)
	}
	if f.node.keptOriginals() != 0 {
		t.Errorf("%d originals kept after a failed body", f.node.keptOriginals())
	}
}

func TestUploadOriginalClient(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.evidenceHandler(api.Options{}, false))
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	original := bytes.Repeat([]byte("contract "), 5000)
	res, err := c.UploadOriginal(ctx, bytes.NewReader(original), int64(len(original)),
		client.OriginalParams{Kind: "loan-contract", Chain: "LOAN-C1", Step: 1, Labels: map[string]string{"product": "consumer-loan"}, Wait: true})
	if err != nil {
		t.Fatalf("UploadOriginal: %v", err)
	}
	if res.Index != 11 || res.Size != uint64(len(original)) || res.Commitment != crypto.Commitment(res.Salt, original) {
		t.Errorf("result %+v", res)
	}
	// Step 2 names step 1's entry explicitly, size unknown (chunked).
	res2, err := c.UploadOriginal(ctx, io.MultiReader(bytes.NewReader(original)), -1,
		client.OriginalParams{Kind: "loan-contract", Chain: "LOAN-C1", Step: 2, Prev: f.leaf(t, 11), Wait: true})
	if err != nil || res2.Index != 12 || res2.Cipher == res.Cipher || res2.Commitment == res.Commitment {
		t.Fatalf("step 2: %+v, %v (a second upload of the same bytes must get a new salt and cipher)", res2, err)
	}
	_, err = c.UploadOriginal(ctx, strings.NewReader("x"), 1, client.OriginalParams{Kind: "k", Chain: "LOAN-C1", Step: 2, Wait: true})
	var ce *client.Error
	if !errors.As(err, &ce) || !ce.IsRejection() || ce.LedgerCode() != ledger.CodeChainStep {
		t.Errorf("duplicate step: %v, want a chain_step rejection", err)
	}
	if n := f.node.keptOriginals(); n != 2 {
		t.Errorf("%d originals kept, want 2", n)
	}
}

// TestGrantExpiryRange (F5): an expiry block time cannot hold (2611) is
// refused with 400 on "expires" before anything is signed, instead of
// being wrapped around to a date in the past or the next day.
func TestGrantExpiryRange(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)
	for _, tt := range []struct {
		expires string
		status  int
	}{
		{"2611-01-01T00:00:00Z", http.StatusBadRequest},
		{"2262-04-12T00:00:00Z", http.StatusBadRequest},
		{"2027-01-31T00:00:00Z", http.StatusOK},
	} {
		rec := postEvidence(t, h, "/v1/grants", "Bearer "+testToken,
			`{"record": "7", "grantee": "court", "purpose": "case-1", "expires": "`+tt.expires+`"}`)
		if rec.Code != tt.status {
			t.Fatalf("expires %s: status %d, want %d: %s", tt.expires, rec.Code, tt.status, rec.Body)
		}
		if tt.status == http.StatusBadRequest {
			var e client.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Field != "expires" || !strings.Contains(e.Error.Message, "outside what block times can hold") {
				t.Fatalf("expires %s: %s (%v)", tt.expires, rec.Body, err)
			}
		}
	}
}
