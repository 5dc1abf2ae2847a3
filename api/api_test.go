package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// serve sends one request to h and returns the recorded response.
func serve(t *testing.T, h http.Handler, method, target string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decodeOK checks a success response and decodes its body into a T.
func decodeOK[T any](t *testing.T, rec *httptest.ResponseRecorder, status int, cache string) T {
	t.Helper()
	var v T
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	checkHeaders(t, rec, cache)
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
	return v
}

func checkHeaders(t *testing.T, rec *httptest.ResponseRecorder, cache string) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != cache {
		t.Errorf("Cache-Control %q, want %q", cc, cache)
	}
}

// decodeError checks an error response and returns its error object.
func decodeError(t *testing.T, rec *httptest.ResponseRecorder) *client.Error {
	t.Helper()
	checkHeaders(t, rec, "no-store")
	var er client.ErrorResponse
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&er); err != nil || er.Error == nil {
		t.Fatalf("error body %q does not decode: %v", rec.Body, err)
	}
	if er.Error.Status != rec.Code {
		t.Errorf("error.status %d, HTTP status %d", er.Error.Status, rec.Code)
	}
	if er.Error.Message == "" {
		t.Errorf("error without message: %s", rec.Body)
	}
	return er.Error
}

const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNone      = "no-store"
)

func TestEntries(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	a := f.node.a
	bankA, bankB, notary := a.Key("bank-a").Public(), a.Key("bank-b").Public(), a.Key("notary").Public()
	cipher := ledgertest.Commitment("loan1-step2-cipher")

	tests := []struct {
		name  string
		index uint64
		check func(t *testing.T, e client.Entry)
	}{
		{"genesis registration", 0, func(t *testing.T, e client.Entry) {
			want := &client.MemberRegistration{Name: "bank-a", Role: ledger.RoleBank, Power: 10, Keys: []client.HexBytes{bankA.Bytes()}}
			if e.Type != "register" || e.Height != 0 || e.Signer != "bank-a" || !reflect.DeepEqual(e.Details, ledger.Details(want)) {
				t.Errorf("type %q height %d signer %q member %+v", e.Type, e.Height, e.Signer, e.Details)
			}
			if e.SignerKey != (crypto.KeyID{}) || e.Records != nil {
				t.Errorf("register entry with signer key %s, records %v", e.SignerKey, e.Records)
			}
			if !e.Time.Equal(time.Unix(0, ledgertest.GenesisTime)) {
				t.Errorf("time %v, want genesis time", e.Time)
			}
		}},
		{"evidence with labels", 6, func(t *testing.T, e client.Entry) {
			want := []client.Record{{Pos: 0, Kind: "credit-authorisation", Chain: "LOAN-1", Step: 1, Size: 100,
				Commitment: ledgertest.Commitment("loan1-step1"),
				Labels:     map[string]string{"channel": "app", "product": "consumer-loan"}}}
			if e.Type != "evidence" || e.Signer != "bank-a" || e.SignerKey != bankA.ID() || !reflect.DeepEqual(e.Records, want) {
				t.Errorf("type %q signer %q key %s records %+v", e.Type, e.Signer, e.SignerKey, e.Records)
			}
			if e.Height != 1 || !e.Time.Equal(time.Unix(0, blockTime(1))) || !e.ClientTime.Equal(time.Unix(0, ledgertest.GenesisTime)) {
				t.Errorf("height %d time %v client time %v", e.Height, e.Time, e.ClientTime)
			}
		}},
		{"evidence with prev and cipher", 7, func(t *testing.T, e client.Entry) {
			want := []client.Record{{Pos: 0, Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Size: 200,
				Prev: f.leaf(t, 6), Commitment: ledgertest.Commitment("loan1-step2"), Cipher: &cipher}}
			if !reflect.DeepEqual(e.Records, want) {
				t.Errorf("records %+v, want %+v", e.Records, want)
			}
		}},
		{"batch", 8, func(t *testing.T, e client.Entry) {
			want := []client.Record{
				{Pos: 0, Kind: "loan-contract", Chain: "LOAN-2", Step: 1, Size: 1, Commitment: ledgertest.Commitment("shared")},
				{Pos: 1, Kind: "loan-contract", Chain: "LOAN-3", Step: 1, Size: 2, Commitment: ledgertest.Commitment("loan3")},
			}
			if e.Type != "batch" || e.Signer != "bank-b" || e.SignerKey != bankB.ID() || !reflect.DeepEqual(e.Records, want) {
				t.Errorf("type %q signer %q records %+v", e.Type, e.Signer, e.Records)
			}
		}},
		{"attestation", 9, func(t *testing.T, e client.Entry) {
			want := &client.Attestation{Statement: "notarised", Targets: []client.RecordRef{{Index: 6, Pos: 0}, {Index: 8, Pos: 1}}}
			if e.Type != "attest" || e.Signer != "notary" || e.SignerKey != notary.ID() || !reflect.DeepEqual(e.Details, ledger.Details(want)) || e.Records != nil {
				t.Errorf("type %q signer %q attestation %+v records %v", e.Type, e.Signer, e.Details, e.Records)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := f.entryBytes(t, tt.index)
			for _, target := range []string{
				fmt.Sprintf("/v1/entries/%d", tt.index),
				"/v1/txs/" + f.txIDOf(t, raw).String(),
				"/v1/txs/" + strings.ToUpper(f.txIDOf(t, raw).String()),
			} {
				e := decodeOK[client.Entry](t, serve(t, h, http.MethodGet, target, nil), http.StatusOK, cacheImmutable)
				if e.Index != tt.index || !bytes.Equal(e.Entry, raw) || e.LeafHash != ledger.LeafHash(raw) ||
					e.TxID != f.txIDOf(t, raw) || e.ChainID != "evidenced-test" {
					t.Errorf("%s: index %d leaf %s tx %s chain %q; entry bytes match: %v",
						target, e.Index, e.LeafHash, e.TxID, e.ChainID, bytes.Equal(e.Entry, raw))
				}
				if e.Time.Location() != time.UTC || e.ClientTime.Location() != time.UTC {
					t.Errorf("%s: times not in UTC: %v, %v", target, e.Time, e.ClientTime)
				}
				tt.check(t, e)
			}
		})
	}
}

// txIDOf returns the tx id inside entry bytes.
func (f *fixture) txIDOf(t *testing.T, entry []byte) crypto.Hash {
	t.Helper()
	e, err := ledger.DecodeEntry(entry)
	if err != nil {
		t.Fatalf("decode entry: %v", err)
	}
	tx, err := ledger.DecodeTx(e.TxBytes)
	if err != nil {
		t.Fatalf("decode tx: %v", err)
	}
	return tx.ID()
}

func TestChain(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	step := func(step uint32, index uint64, pos uint16, height int64, kind, commitment string, size uint64, prev crypto.Hash) client.ChainRecord {
		return client.ChainRecord{Step: step, Index: index, Pos: pos, Height: height, Time: time.Unix(0, blockTime(height)).UTC(),
			TxID: f.txID(t, index), Kind: kind, Commitment: ledgertest.Commitment(commitment), Size: size, Prev: prev}
	}
	// Entry 9 is the notary's attestation of 6 and 8.1.
	attested := []client.ChainAttestation{{Index: 9, Signer: "notary", Statement: "notarised"}}
	step1 := step(1, 6, 0, 1, "credit-authorisation", "loan1-step1", 100, crypto.Hash{})
	step1.Attestations = attested
	step2 := step(2, 7, 0, 2, "loan-contract", "loan1-step2", 200, f.leaf(t, 6))
	loan1 := func(recs ...client.ChainRecord) client.Chain {
		if recs == nil {
			recs = []client.ChainRecord{}
		}
		return client.Chain{Chain: "LOAN-1", Owner: "bank-a", Steps: 2, HeadLeafHash: f.leaf(t, 7), HeadIndex: 7, Records: recs}
	}
	tests := []struct {
		target string
		want   client.Chain
	}{
		{"/v1/chains/LOAN-1", loan1(step1, step2)},
		{"/v1/chains/LOAN-1?from=1&limit=100", loan1(step1, step2)},
		{"/v1/chains/LOAN-1?limit=1", loan1(step1)},
		{"/v1/chains/LOAN-1?from=2", loan1(step2)},
		{"/v1/chains/LOAN-1?from=3", loan1()},
		{"/v1/chains/LOAN-3", client.Chain{Chain: "LOAN-3", Owner: "bank-b", Steps: 1, HeadLeafHash: f.leaf(t, 8), HeadIndex: 8,
			Records: []client.ChainRecord{func() client.ChainRecord {
				r := step(1, 8, 1, 3, "loan-contract", "loan3", 2, crypto.Hash{})
				r.Attestations = attested
				return r
			}()}}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got := decodeOK[client.Chain](t, serve(t, h, http.MethodGet, tt.target, nil), http.StatusOK, cacheNone)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCommitment(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	shared := ledgertest.Commitment("shared")
	rec := func(index uint64, pos uint16, chain string, height int64) client.CommitmentRecord {
		return client.CommitmentRecord{Index: index, Pos: pos, Chain: chain, Step: 1, Height: height,
			Time: time.Unix(0, blockTime(height)).UTC(), TxID: f.txID(t, index)}
	}
	tests := []struct {
		target string
		want   client.CommitmentRecords
	}{
		{"/v1/commitments/" + shared.String(), client.CommitmentRecords{Commitment: shared,
			Records: []client.CommitmentRecord{rec(8, 0, "LOAN-2", 3), rec(10, 0, "LOAN-4", 5)}}},
		{"/v1/commitments/" + shared.String() + "?limit=1", client.CommitmentRecords{Commitment: shared,
			Records: []client.CommitmentRecord{rec(8, 0, "LOAN-2", 3)}}},
		{"/v1/commitments/" + ledgertest.Commitment("loan3").String(), client.CommitmentRecords{Commitment: ledgertest.Commitment("loan3"),
			Records: []client.CommitmentRecord{rec(8, 1, "LOAN-3", 3)}}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got := decodeOK[client.CommitmentRecords](t, serve(t, h, http.MethodGet, tt.target, nil), http.StatusOK, cacheNone)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMembers(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	got := decodeOK[client.MembersResponse](t, serve(t, h, http.MethodGet, "/v1/members", nil), http.StatusOK, cacheNone)
	var want []client.Member
	for _, m := range []struct {
		name  string
		role  ledger.Role
		power uint64
	}{
		{"arbitration", ledger.RoleArbitration, 10},
		{"bank-a", ledger.RoleBank, 10},
		{"bank-b", ledger.RoleBank, 10},
		{"court", ledger.RoleCourt, 10},
		{"notary", ledger.RoleNotary, 10},
		{"regulator", ledger.RoleRegulator, 0},
	} {
		pub := f.node.a.Key(m.name).Public()
		want = append(want, client.Member{Name: m.name, Role: m.role, Power: m.power,
			Keys: []client.MemberKey{{ID: pub.ID(), PublicKey: pub.Bytes()}}})
	}
	if !reflect.DeepEqual(got.Members, want) {
		t.Errorf("got  %+v\nwant %+v", got.Members, want)
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	got := decodeOK[client.Status](t, serve(t, h, http.MethodGet, "/v1/status", nil), http.StatusOK, cacheNone)
	head, err := ledger.NewView(f.node.st).Head()
	if err != nil {
		t.Fatal(err)
	}
	want := client.Status{ChainID: "evidenced-test", Moniker: "node-a", Member: "bank-a", Role: "bank", Height: 5,
		AppHash: head.AppHash, LogSize: 11, LogRoot: head.Root, BlockTime: time.Unix(0, blockTime(5)).UTC(), Validators: 5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// The backend's time zone is not leaked: block_time is UTC on the wire.
	if !strings.Contains(serve(t, h, http.MethodGet, "/v1/status", nil).Body.String(), `"block_time":"2026-11-01T00:00:05Z"`) {
		t.Errorf("block_time is not written in UTC")
	}
}

func TestSubmit(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	a := f.node.a
	now := ledgertest.GenesisTime

	// wait=commit (the default): 200 with the committed result.
	tx := a.Evidence(a.Key("bank-b"), now, ledger.Record{Kind: "repayment", Chain: "LOAN-5", Step: 1, Size: 5,
		Commitment: ledgertest.Commitment("loan5")})
	for _, target := range []string{"/v1/txs", "/v1/txs?wait=commit&timeout=5s"} {
		t.Run(target, func(t *testing.T) {
			tx := tx
			if target != "/v1/txs" { // a second, different transaction
				tx = a.Attest(a.Key("court"), now, "reviewed", ledger.RecordRef{Index: 11})
			}
			got := decodeOK[client.SubmitResult](t, serve(t, h, http.MethodPost, target, tx), http.StatusOK, cacheNone)
			decoded, err := ledger.DecodeTx(tx)
			if err != nil {
				t.Fatal(err)
			}
			height := f.node.height
			want := client.SubmitResult{TxID: decoded.ID(), Status: "committed", Code: ledger.CodeOK, Index: uint64(height) + 5,
				Height: height, Time: time.Unix(0, blockTime(height)).UTC(), Signer: "bank-b", Type: "evidence", Chains: []string{"LOAN-5"}}
			if target != "/v1/txs" {
				want.Signer, want.Type, want.Chains = "court", "attest", []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			// The entry is there, with the exact bytes submitted.
			e := decodeOK[client.Entry](t, serve(t, h, http.MethodGet, fmt.Sprintf("/v1/entries/%d", got.Index), nil), http.StatusOK, cacheImmutable)
			entry, err := ledger.DecodeEntry(e.Entry)
			if err != nil || !bytes.Equal(entry.TxBytes, tx) || e.TxID != got.TxID {
				t.Errorf("entry %d holds other bytes (err %v)", got.Index, err)
			}
		})
	}

	t.Run("wait=sync", func(t *testing.T) {
		tx := a.Evidence(a.Key("bank-b"), now, ledger.Record{Kind: "repayment", Chain: "LOAN-6", Step: 1, Size: 6,
			Commitment: ledgertest.Commitment("loan6")})
		rec := serve(t, h, http.MethodPost, "/v1/txs?wait=sync", tx)
		got := decodeOK[client.SubmitResult](t, rec, http.StatusAccepted, cacheNone)
		decoded, _ := ledger.DecodeTx(tx)
		if got.TxID != decoded.ID() || got.Status != "pending" {
			t.Errorf("got %+v", got)
		}
		var raw map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || len(raw) != 2 {
			t.Errorf("pending result has fields %v, want only tx_id and status", raw)
		}
	})
}

func TestErrors(t *testing.T) {
	zero := strings.Repeat("0", 64)
	type want struct {
		status     int
		code       string
		resultCode ledger.Code
		field      string
		txID       bool   // error.tx_id is the submitted tx's id
		height     bool   // error.height is set
		header     string // a header that must be set, "Name: value"
	}
	tests := []struct {
		name   string
		method string
		target string
		body   func(f *fixture) []byte
		knob   func(n *memNode)
		want   want
	}{
		{name: "index not a number", target: "/v1/entries/abc", want: want{status: 400, code: "bad_request", field: "index"}},
		{name: "negative index", target: "/v1/entries/-1", want: want{status: 400, code: "bad_request", field: "index"}},
		{name: "index overflows", target: "/v1/entries/18446744073709551616", want: want{status: 400, code: "bad_request", field: "index"}},
		{name: "unknown entry", target: "/v1/entries/11", want: want{status: 404, code: "not_found", field: "index"}},
		{name: "tx id not hex", target: "/v1/txs/xyz", want: want{status: 400, code: "bad_request", field: "txid"}},
		{name: "tx id too short", target: "/v1/txs/" + zero[:62], want: want{status: 400, code: "bad_request", field: "txid"}},
		{name: "unknown tx", target: "/v1/txs/" + zero, want: want{status: 404, code: "not_found", field: "txid"}},
		{name: "unknown chain", target: "/v1/chains/LOAN-99", want: want{status: 404, code: "not_found", field: "chain"}},
		{name: "bad chain id", target: "/v1/chains/-LOAN", want: want{status: 400, code: "bad_request", field: "chain"}},
		{name: "chain id too long", target: "/v1/chains/" + strings.Repeat("L", 65), want: want{status: 400, code: "bad_request", field: "chain"}},
		{name: "chain id with slash", target: "/v1/chains/LOAN%2F1", want: want{status: 400, code: "bad_request", field: "chain"}},
		{name: "from zero", target: "/v1/chains/LOAN-1?from=0", want: want{status: 400, code: "bad_request", field: "from"}},
		{name: "from not a number", target: "/v1/chains/LOAN-1?from=x", want: want{status: 400, code: "bad_request", field: "from"}},
		{name: "limit zero", target: "/v1/chains/LOAN-1?limit=0", want: want{status: 400, code: "bad_request", field: "limit"}},
		{name: "limit too large", target: "/v1/chains/LOAN-1?limit=1001", want: want{status: 400, code: "bad_request", field: "limit"}},
		{name: "bad query", target: "/v1/chains/LOAN-1?limit=%zz", want: want{status: 400, code: "bad_request", field: "query"}},
		{name: "commitment not hex", target: "/v1/commitments/abc", want: want{status: 400, code: "bad_request", field: "commitment"}},
		{name: "commitment limit", target: "/v1/commitments/" + zero + "?limit=5000", want: want{status: 400, code: "bad_request", field: "limit"}},
		{name: "unknown commitment", target: "/v1/commitments/" + zero, want: want{status: 404, code: "not_found", field: "commitment"}},
		{name: "unknown route", target: "/v1/nope", want: want{status: 404, code: "not_found"}},
		{name: "root", target: "/", want: want{status: 404, code: "not_found"}},
		{name: "empty segment", target: "/v1/entries/", want: want{status: 404, code: "not_found"}},
		{name: "unclean path", target: "/v1//status", want: want{status: 404, code: "not_found"}},
		{name: "dot path", target: "/v1/entries/../status", want: want{status: 404, code: "not_found"}},
		{name: "POST status", method: "POST", target: "/v1/status", want: want{status: 405, code: "bad_request", field: "method", header: "Allow: GET, HEAD"}},
		{name: "DELETE entry", method: "DELETE", target: "/v1/entries/1", want: want{status: 405, code: "bad_request", field: "method", header: "Allow: GET, HEAD"}},
		{name: "GET txs", target: "/v1/txs", want: want{status: 405, code: "bad_request", field: "method", header: "Allow: POST"}},
		{name: "PUT tx", method: "PUT", target: "/v1/txs/" + zero, want: want{status: 405, code: "bad_request", field: "method", header: "Allow: GET, HEAD"}},
		{name: "CONNECT", method: "CONNECT", target: "/v1/status", want: want{status: 405, code: "bad_request", field: "method"}},

		{name: "empty body", method: "POST", target: "/v1/txs", body: func(*fixture) []byte { return []byte{} },
			want: want{status: 400, code: "bad_request", field: "body"}},
		{name: "truncated body", method: "POST", target: "/v1/txs", body: func(f *fixture) []byte { return f.txs[6][:40] },
			want: want{status: 422, code: "malformed", resultCode: ledger.CodeMalformed, field: "body"}},
		{name: "JSON body", method: "POST", target: "/v1/txs", body: func(*fixture) []byte { return []byte(`{"hello":"json"}`) },
			want: want{status: 422, code: "unsupported", resultCode: ledger.CodeUnsupported, field: "body"}},
		{name: "body too large", method: "POST", target: "/v1/txs", body: func(*fixture) []byte { return make([]byte, api.DefaultMaxBodyBytes+1) },
			want: want{status: 413, code: "too_large", resultCode: ledger.CodeTooLarge, field: "body"}},
		{name: "bad wait", method: "POST", target: "/v1/txs?wait=forever", body: (*fixture).step3,
			want: want{status: 400, code: "bad_request", field: "wait"}},
		{name: "bad timeout", method: "POST", target: "/v1/txs?timeout=soon", body: (*fixture).step3,
			want: want{status: 400, code: "bad_request", field: "timeout"}},
		{name: "timeout above max", method: "POST", target: "/v1/txs?timeout=1h", body: (*fixture).step3,
			want: want{status: 400, code: "bad_request", field: "timeout"}},
		{name: "negative timeout", method: "POST", target: "/v1/txs?timeout=-1s", body: (*fixture).step3,
			want: want{status: 400, code: "bad_request", field: "timeout"}},
		{name: "duplicate", method: "POST", target: "/v1/txs", body: func(f *fixture) []byte { return f.txs[6] },
			want: want{status: 409, code: "duplicate", resultCode: ledger.CodeDuplicate, txID: true}},
		{name: "CheckTx rejection", method: "POST", target: "/v1/txs", body: (*fixture).step5,
			want: want{status: 422, code: "chain_step", resultCode: ledger.CodeChainStep, field: "step", txID: true}},
		{name: "role rejection", method: "POST", target: "/v1/txs?wait=sync", body: func(f *fixture) []byte {
			a := f.node.a
			return a.Evidence(a.Key("court"), ledgertest.GenesisTime, ledger.Record{Kind: "k", Chain: "C-1", Step: 1, Commitment: ledgertest.Commitment("c")})
		}, want: want{status: 422, code: "role_not_allowed", resultCode: ledger.CodeRoleNotAllowed, field: "signer_key", txID: true}},
		{name: "FinalizeBlock rejection", method: "POST", target: "/v1/txs", body: (*fixture).step5, knob: func(n *memNode) { n.skipCheck = true },
			want: want{status: 422, code: "chain_step", resultCode: ledger.CodeChainStep, field: "step", txID: true, height: true}},
		{name: "overloaded submit", method: "POST", target: "/v1/txs", body: (*fixture).step3, knob: func(n *memNode) { n.overloaded = true },
			want: want{status: 503, code: "unavailable", header: "Retry-After: 1"}},
		{name: "overloaded query", target: "/v1/entries/1", knob: func(n *memNode) { n.overloaded = true },
			want: want{status: 503, code: "unavailable", header: "Retry-After: 1"}},
		{name: "not initialised", target: "/v1/members", knob: func(n *memNode) { n.notReady = true },
			want: want{status: 503, code: "unavailable", header: "Retry-After: 1"}},
		{name: "commit timeout", method: "POST", target: "/v1/txs?timeout=10ms", body: (*fixture).step3, knob: func(n *memNode) { n.hang = true },
			want: want{status: 504, code: "timeout", txID: true}},
		{name: "snapshot failure", target: "/v1/chains/LOAN-1", knob: func(n *memNode) { n.snapshotError = errors.New("disk on fire") },
			want: want{status: 500, code: "internal"}},
		{name: "status failure", target: "/v1/status", knob: func(n *memNode) { n.statusErr = errors.New("rpc down") },
			want: want{status: 500, code: "internal"}},
		{name: "status times out", target: "/v1/status", knob: func(n *memNode) { n.statusErr = context.DeadlineExceeded },
			want: want{status: 504, code: "timeout"}},
		{name: "panic", target: "/v1/status", knob: func(n *memNode) { n.statusPanics = true },
			want: want{status: 500, code: "internal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.knob != nil {
				tt.knob(f.node)
			}
			var logs bytes.Buffer
			h := api.New(f.node, api.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			var body []byte
			if tt.body != nil {
				body = tt.body(f)
			}
			rec := serve(t, h, method, tt.target, body)
			if rec.Code != tt.want.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want.status, rec.Body)
			}
			e := decodeError(t, rec)
			if e.Code != tt.want.code || e.ResultCode != uint32(tt.want.resultCode) || e.Field != tt.want.field {
				t.Errorf("code %q result_code %d field %q, want %q %d %q", e.Code, e.ResultCode, e.Field,
					tt.want.code, tt.want.resultCode, tt.want.field)
			}
			if tt.want.resultCode != 0 && e.Hint != tt.want.resultCode.Hint() {
				t.Errorf("hint %q, want %q", e.Hint, tt.want.resultCode.Hint())
			}
			if tt.want.txID {
				tx, err := ledger.DecodeTx(body)
				if err != nil {
					t.Fatal(err)
				}
				if e.TxID != tx.ID().String() {
					t.Errorf("tx_id %q, want %s", e.TxID, tx.ID())
				}
			} else if e.TxID != "" {
				t.Errorf("unexpected tx_id %q", e.TxID)
			}
			if tt.want.height != (e.Height != 0) {
				t.Errorf("height %d, want set: %v", e.Height, tt.want.height)
			}
			if tt.want.height && e.Height != f.node.height {
				t.Errorf("height %d, want the rejecting block %d", e.Height, f.node.height)
			}
			if tt.want.header != "" {
				name, value, _ := strings.Cut(tt.want.header, ": ")
				if got := rec.Header().Get(name); got != value {
					t.Errorf("%s: %q, want %q", name, got, value)
				}
			}
			// Every request is logged at Debug; every 5xx at Error, with its
			// cause, but a 503 (overloaded, not ready) at Warn.
			level := "DEBUG"
			switch {
			case tt.want.status == http.StatusServiceUnavailable:
				level = "WARN"
			case tt.want.status >= 500:
				level = "ERROR"
			}
			if !strings.Contains(logs.String(), `"level":"`+level+`","msg":"http request"`) {
				t.Errorf("log %q has no %s request record", logs.String(), level)
			}
			if tt.want.status >= 500 && !strings.Contains(logs.String(), `"error":`) {
				t.Errorf("5xx logged without its cause: %s", logs.String())
			}
		})
	}
}

// step3 is a valid next step (3) of LOAN-1.
func (f *fixture) step3() []byte {
	a := f.node.a
	v := ledger.NewView(f.node.st)
	b, err := v.EntryBytes(7)
	if err != nil {
		panic(err)
	}
	return a.Evidence(a.Key("bank-a"), ledgertest.GenesisTime, ledger.Record{Kind: "disbursement", Chain: "LOAN-1", Step: 3,
		Prev: ledger.LeafHash(b), Size: 9, Commitment: ledgertest.Commitment("loan1-step3")})
}

// newBundle is a bundle of step 1 of two new evidence chains named after
// tag, and step5 (rejected).
func (f *fixture) newBundle(t testing.TB, tag string) []byte {
	t.Helper()
	a := f.node.a
	var txs [][]byte
	for i := range 2 {
		txs = append(txs, a.Evidence(a.Key("bank-a"), ledgertest.GenesisTime, ledger.Record{Kind: "loan-contract", Chain: fmt.Sprintf("%s-%d", tag, i), Step: 1,
			Size: 9, Commitment: ledgertest.Commitment(tag + fmt.Sprint(i))}))
	}
	b, err := ledger.EncodeBundle(append(txs, f.step5()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// step5 skips steps 3 and 4 of LOAN-1: a chain_step rejection.
func (f *fixture) step5() []byte {
	a := f.node.a
	return a.Evidence(a.Key("bank-a"), ledgertest.GenesisTime, ledger.Record{Kind: "repayment", Chain: "LOAN-1", Step: 5,
		Prev: ledgertest.Commitment("not a leaf"), Size: 9, Commitment: ledgertest.Commitment("loan1-step5")})
}

// TestHead checks that HEAD is served like GET, without a body change in
// headers.
func TestHead(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	rec := serve(t, h, http.MethodHead, "/v1/entries/6", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("HEAD status %d", rec.Code)
	}
	checkHeaders(t, rec, cacheImmutable)
}

// TestPanicLogged checks that a recovered panic is logged at Error with its
// stack, and the client gets only the generic 500.
func TestPanicLogged(t *testing.T) {
	f := newFixture(t)
	f.node.statusPanics = true
	var logs bytes.Buffer
	h := api.New(f.node, api.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	rec := serve(t, h, http.MethodGet, "/v1/status", nil)
	e := decodeError(t, rec)
	if strings.Contains(e.Message, "exploded") {
		t.Errorf("panic value leaked to the client: %q", e.Message)
	}
	if !strings.Contains(logs.String(), "status exploded") || !strings.Contains(logs.String(), `"stack":`) {
		t.Errorf("panic not logged with its stack: %s", logs.String())
	}
}

// TestOptions checks that the body limit, the wait limits and Retry-After
// follow the options.
func TestOptions(t *testing.T) {
	f := newFixture(t)
	opts := api.Options{MaxBodyBytes: 100, MaxWait: time.Second, RetryAfter: 1500 * time.Millisecond}
	h := api.New(f.node, opts)
	if rec := serve(t, h, http.MethodPost, "/v1/txs", f.step3()); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("body above MaxBodyBytes: status %d", rec.Code)
	}
	// A body of unknown length (chunked) is cut off at the limit too.
	req := httptest.NewRequest(http.MethodPost, "/v1/txs", bytes.NewReader(f.step3()))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if e := decodeError(t, rec); rec.Code != http.StatusRequestEntityTooLarge || e.Code != "too_large" {
		t.Errorf("chunked body above MaxBodyBytes: status %d code %q", rec.Code, e.Code)
	}
	opts.MaxBodyBytes = 0
	h = api.New(f.node, opts)
	if rec := serve(t, h, http.MethodPost, "/v1/txs?timeout=2s", f.step3()); rec.Code != http.StatusBadRequest {
		t.Errorf("timeout above MaxWait: status %d", rec.Code)
	}
	f.node.overloaded = true
	if rec := serve(t, h, http.MethodGet, "/v1/members", nil); rec.Header().Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q, want 2 (1.5s rounded up)", rec.Header().Get("Retry-After"))
	}
}

// TestClientRoundTrip drives the server with package client over real HTTP,
// so the two sides of the wire format are checked against each other.
func TestClientRoundTrip(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(api.New(f.node, api.Options{}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Submit(ctx, f.step3(), true)
	if err != nil || res.Index != 11 || res.Chains[0] != "LOAN-1" {
		t.Fatalf("submit: %+v, %v", res, err)
	}
	ch, err := c.Chain(ctx, "LOAN-1", 1, 10)
	if err != nil || ch.Steps != 3 || len(ch.Records) != 3 || ch.Records[2].Index != 11 || ch.HeadLeafHash != f.leaf(t, 11) {
		t.Fatalf("chain: %+v, %v", ch, err)
	}
	e, err := c.EntryByTx(ctx, res.TxID)
	if err != nil || e.Index != 11 || e.Records[0].Prev != f.leaf(t, 7) {
		t.Fatalf("entry: %+v, %v", e, err)
	}
	_, err = c.Submit(ctx, f.step5(), true)
	var ce *client.Error
	if !errors.As(err, &ce) || !ce.IsRejection() || ce.LedgerCode() != ledger.CodeChainStep || ce.Field != "step" {
		t.Fatalf("rejection: %v", err)
	}
	ms, err := c.Members(ctx)
	if err != nil || len(ms) != 6 {
		t.Fatalf("members: %v, %v", ms, err)
	}
	cr, err := c.Commitment(ctx, ledgertest.Commitment("shared"))
	if err != nil || len(cr.Records) != 2 {
		t.Fatalf("commitment: %+v, %v", cr, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.LogSize != 12 {
		t.Fatalf("status: %+v, %v", st, err)
	}
}

// TestConcurrent serves queries while transactions commit; run with -race.
func TestConcurrent(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(api.New(f.node, api.Options{}))
	defer srv.Close()
	a := f.node.a
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 4 {
		tx := a.Evidence(a.Key("bank-b"), ledgertest.GenesisTime, ledger.Record{Kind: "k", Chain: fmt.Sprintf("C-%d", i), Step: 1,
			Commitment: ledgertest.Commitment(fmt.Sprint(i))})
		wg.Go(func() {
			resp, err := http.Post(srv.URL+"/v1/txs", "application/octet-stream", bytes.NewReader(tx))
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("submit: status %d", resp.StatusCode)
			}
		})
	}
	for _, p := range []string{"/v1/members", "/v1/entries/6", "/v1/chains/LOAN-1", "/v1/status"} {
		for range 4 {
			wg.Go(func() {
				resp, err := http.Get(srv.URL + p)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("GET %s: status %d", p, resp.StatusCode)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if f.node.height != 9 {
		t.Errorf("height %d after 4 commits on 5, want 9", f.node.height)
	}
}

func TestSubmitBundle(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	b := f.newBundle(t, "BUNDLE")
	rec := serve(t, h, http.MethodPost, "/v1/bundles?wait=commit", b)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /v1/bundles = %d %s", rec.Code, rec.Body)
	}
	var res client.BundleResult
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Committed != 2 || res.Rejected != 1 || len(res.Results) != 3 {
		t.Fatalf("bundle result %+v, want 2 committed and 1 rejected", res)
	}
	inner, _ := ledger.DecodeBundle(b)
	for i, it := range res.Results[:2] {
		tx, _ := ledger.DecodeTx(inner[i])
		if it.Status != client.StatusCommitted || it.TxID != tx.ID() || it.Index != 11+uint64(i) || it.Height == 0 || it.Time == nil || it.Type != "evidence" || it.Signer != "bank-a" {
			t.Fatalf("item %d = %+v", i, it)
		}
	}
	if r := res.Results[2]; r.Status != client.StatusRejected || r.Code != ledger.CodeChainStep || r.Message == "" || r.Hint == "" {
		t.Fatalf("rejected item = %+v", r)
	}
	// The same bundle again: every item is a duplicate or still rejected.
	rec = serve(t, h, http.MethodPost, "/v1/bundles?wait=sync", b)
	res = client.BundleResult{}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK || res.Rejected != 3 || res.Results[0].Code != ledger.CodeDuplicate {
		t.Fatalf("resubmitted bundle = %d %s", rec.Code, rec.Body)
	}
	// wait=sync answers pending.
	rec = serve(t, h, http.MethodPost, "/v1/bundles?wait=sync", f.newBundle(t, "SYNC"))
	res = client.BundleResult{}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Pending != 2 || res.Results[0].Status != client.StatusPending {
		t.Fatalf("wait=sync bundle = %d %s", rec.Code, rec.Body)
	}
	for _, tt := range []struct {
		name   string
		body   []byte
		status int
		code   string
		msg    string
	}{
		{"single tx", f.step3(), http.StatusUnprocessableEntity, "malformed", "POST /v1/txs"},
		{"truncated", b[:len(b)-2], http.StatusUnprocessableEntity, "malformed", "truncated"},
		{"empty", nil, http.StatusBadRequest, client.CodeBadRequest, "empty"},
		{"too large", make([]byte, client.MaxBundleBody+1), http.StatusRequestEntityTooLarge, "too_large", "larger"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, http.MethodPost, "/v1/bundles", tt.body)
			var er client.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || er.Error == nil {
				t.Fatalf("error body %s: %v", rec.Body, err)
			}
			if e := er.Error; rec.Code != tt.status || e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("= %d %s, want %d %s mentioning %q", rec.Code, rec.Body, tt.status, tt.code, tt.msg)
			}
		})
	}
	f.node.overloaded = true
	if rec := serve(t, h, http.MethodPost, "/v1/bundles", b); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("overloaded = %d", rec.Code)
	}
}
