package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// sampleOriginal is a committed upload result.
func sampleOriginal() OriginalResult {
	return OriginalResult{TxID: testTxID, Status: StatusCommitted, Code: ledger.CodeOK, Index: 9, Height: 4, Time: testTime,
		Signer: "bank", Type: "evidence", Chains: []string{"LOAN-1"}, Chain: "LOAN-1", Step: 2, Commitment: testComm,
		Size: 11, Salt: bytes.Repeat([]byte{0xab}, 32), Cipher: crypto.SM3([]byte("cipher")), CipherSize: 62}
}

// uploadFake is a fake POST /v1/originals that records what it got.
type uploadFake struct {
	t         *testing.T
	query     url.Values
	body      []byte
	length    int64
	chunked   bool
	auth      string
	mediaType string
	respond   func(w http.ResponseWriter)
}

func (f *uploadFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/originals" {
		f.t.Errorf("request %s %s, want POST /v1/originals", r.Method, r.URL.Path)
	}
	f.query = r.URL.Query()
	f.length = r.ContentLength
	f.chunked = len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked"
	f.auth = r.Header.Get("Authorization")
	f.mediaType = r.Header.Get("Content-Type")
	b, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake node: read body: %v", err)
	}
	f.body = b
	f.respond(w)
}

func TestUploadOriginal(t *testing.T) {
	want := sampleOriginal()
	prev := crypto.SM3([]byte("prev"))
	tests := []struct {
		name      string
		size      int64
		params    OriginalParams
		wantQuery url.Values
		chunked   bool
	}{
		{
			name: "known size, waits, labels sorted",
			size: 11,
			params: OriginalParams{Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Prev: prev, Wait: true, Timeout: 45 * time.Second,
				Labels: map[string]string{"product": "consumer-loan", "channel": "app=web"}},
			wantQuery: url.Values{"kind": {"loan-contract"}, "chain": {"LOAN-1"}, "step": {"2"}, "prev": {prev.String()},
				"label": {"channel=app=web", "product=consumer-loan"}, "wait": {"commit"}, "timeout": {"45s"}},
		},
		{
			name:      "unknown size is chunked, no prev, sync",
			size:      -1,
			params:    OriginalParams{Kind: "k", Chain: "C", Step: 1},
			wantQuery: url.Values{"kind": {"k"}, "chain": {"C"}, "step": {"1"}, "wait": {"sync"}},
			chunked:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &uploadFake{t: t, respond: func(w http.ResponseWriter) { writeJSON(t, w, http.StatusOK, want) }}
			c, _ := newTestClient(t, f, WithToken("tok-123"))
			got, err := c.UploadOriginal(context.Background(), strings.NewReader("hello world"), tt.size, tt.params)
			if err != nil {
				t.Fatalf("UploadOriginal: %v", err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("result %+v, want %+v", *got, want)
			}
			if !reflect.DeepEqual(f.query, tt.wantQuery) {
				t.Errorf("query %v, want %v", f.query, tt.wantQuery)
			}
			if string(f.body) != "hello world" || f.auth != "Bearer tok-123" || f.mediaType != "application/octet-stream" {
				t.Errorf("body %q, Authorization %q, Content-Type %q", f.body, f.auth, f.mediaType)
			}
			if f.chunked != tt.chunked || (!tt.chunked && f.length != tt.size) {
				t.Errorf("Content-Length %d, chunked %v; want %d, %v", f.length, f.chunked, tt.size, tt.chunked)
			}
		})
	}
}

func TestUploadOriginalErrors(t *testing.T) {
	tests := []struct {
		name    string
		respond func(t *testing.T, w http.ResponseWriter)
		check   func(t *testing.T, err error)
	}{
		{
			name: "413",
			respond: func(t *testing.T, w http.ResponseWriter) {
				writeAPIError(t, w, &Error{Status: 413, Code: "too_large", Message: "the original is larger than this node accepts", Field: "body"})
			},
			check: func(t *testing.T, err error) {
				var e *Error
				if !errors.As(err, &e) || e.Status != 413 || e.Code != "too_large" || e.IsRejection() {
					t.Errorf("error %v, want a 413 too_large that is not a rejection", err)
				}
			},
		},
		{
			name: "rejection",
			respond: func(t *testing.T, w http.ResponseWriter) {
				writeAPIError(t, w, &Error{Status: 422, Code: "chain_step", ResultCode: uint32(ledger.CodeChainStep), Message: "no such chain"})
			},
			check: func(t *testing.T, err error) {
				var e *Error
				if !errors.As(err, &e) || !e.IsRejection() || e.LedgerCode() != ledger.CodeChainStep {
					t.Errorf("error %v, want a chain_step rejection", err)
				}
			},
		},
		{
			name: "not the contract's JSON",
			respond: func(t *testing.T, w http.ResponseWriter) {
				writeJSON(t, w, http.StatusOK, map[string]any{"tx_id": 7})
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrBadResponse) {
					t.Errorf("error %v, want ErrBadResponse", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &uploadFake{t: t, respond: func(w http.ResponseWriter) { tt.respond(t, w) }}
			c, _ := newTestClient(t, f)
			_, err := c.UploadOriginal(context.Background(), strings.NewReader("x"), 1, OriginalParams{Kind: "k", Chain: "C", Step: 1})
			tt.check(t, err)
		})
	}
}

func TestOriginalResultJSON(t *testing.T) {
	full := sampleOriginal()
	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var back OriginalResult
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, full) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if !strings.Contains(string(b), `"salt":"`+strings.Repeat("ab", 32)+`"`) {
		t.Errorf("salt is not hex in %s", b)
	}

	pending := OriginalResult{TxID: full.TxID, Status: StatusPending, Chain: full.Chain, Step: full.Step, Commitment: full.Commitment,
		Size: full.Size, Salt: full.Salt, Cipher: full.Cipher, CipherSize: full.CipherSize}
	b, err = json.Marshal(pending)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	for _, k := range []string{"code", "index", "height", "time", "signer", "type", "chains"} {
		if _, ok := fields[k]; ok {
			t.Errorf("pending result has %s: %s", k, b)
		}
	}
	if len(keys) != 9 {
		t.Errorf("pending result has %d fields, want 9: %s", len(keys), b)
	}
	if sr := full.SubmitResult(); sr.TxID != full.TxID || sr.Index != 9 || sr.Signer != "bank" || !reflect.DeepEqual(sr.Chains, full.Chains) {
		t.Errorf("SubmitResult() = %+v", sr)
	}
}
