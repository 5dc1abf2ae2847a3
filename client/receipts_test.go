package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

func sampleReceipt() receipt.Receipt {
	return receipt.Receipt{Version: 1, ChainID: "evidenced-dev", Leaf: []byte{1, 2, 3}, LeafIndex: 7, TreeSize: 9,
		InclusionProof: [][]byte{testLeaf[:], testComm[:]}, Checkpoint: "evidenced/evidenced-dev\n9\nAAAA\nheight 4\ntime 2026-11-27T03:00:01Z\n",
		Signatures: []receipt.Signature{{Member: "bank-a", PublicKey: "04ab", Signature: []byte{0x30, 1, 2}}},
		Record: receipt.Record{Pos: 1, Type: "batch", Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Prev: testLeaf, Commitment: testComm, Size: 10,
			Submitter: "bank-a", SubmitterKey: testKeyID, TxID: testTxID, Height: 3, Time: testTime, ClientTime: testTime},
		RosterDigest: crypto.SM3([]byte("roster"))}
}

func sampleCheckpoint() receipt.CheckpointFile {
	return receipt.CheckpointFile{Checkpoint: "evidenced/evidenced-dev\n9\n...\n", Height: 4, TreeSize: 9, Root: testLeaf,
		Signatures: []receipt.Signature{{Member: "bank-a", PublicKey: "04ab", Signature: []byte{0x30}}}}
}

func sampleRoster() RosterResponse {
	r := ledger.Roster{Version: 1, ChainID: "evidenced-dev", Members: []ledger.RosterMember{{Name: "bank-a", Role: ledger.RoleBank, Power: 10,
		Keys: []string{strings.Repeat("04", 1) + strings.Repeat("ab", 64)}}}}
	d, err := r.Digest()
	if err != nil {
		panic(err)
	}
	return RosterResponse{Roster: r, Digest: d}
}

// receiptNode answers the receipt, checkpoint, proof, roster and evidence
// endpoints as notes/api4.md specifies them.
func receiptNode(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/evidence/{id}/receipt", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "7.1" {
			writeAPIError(t, w, &Error{Status: 404, Code: CodeNotFound, Message: "no record", Field: "id"})
			return
		}
		if from, ok := r.URL.Query()["from_roster"]; ok && (len(from) != 1 || from[0] != testLeaf.String()) {
			writeAPIError(t, w, &Error{Status: 400, Code: CodeBadRequest, Message: "unknown roster", Field: "from_roster"})
			return
		}
		writeJSON(t, w, 200, sampleReceipt())
	})
	mux.HandleFunc("GET /v1/checkpoints/{height}", func(w http.ResponseWriter, r *http.Request) {
		if h := r.PathValue("height"); h != "latest" && h != "4" {
			writeAPIError(t, w, &Error{Status: 404, Code: CodeNotFound, Message: "no checkpoint", Field: "height"})
			return
		}
		writeJSON(t, w, 200, sampleCheckpoint())
	})
	mux.HandleFunc("GET /v1/proofs/consistency", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("from") != "3" || q.Get("to") != "9" {
			t.Errorf("consistency query %q", r.URL.RawQuery)
		}
		writeJSON(t, w, 200, ConsistencyProof{From: 3, To: 9, Proof: [][]byte{testLeaf[:]}, FromRoot: testComm, ToRoot: testLeaf})
	})
	mux.HandleFunc("GET /v1/proofs/inclusion", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("index") != "7" || q.Get("size") != "9" {
			t.Errorf("inclusion query %q", r.URL.RawQuery)
		}
		writeJSON(t, w, 200, InclusionProof{Index: 7, Size: 9, Proof: [][]byte{testLeaf[:], testComm[:]}, Root: testLeaf})
	})
	mux.HandleFunc("GET /v1/roster", func(w http.ResponseWriter, r *http.Request) { writeJSON(t, w, 200, sampleRoster()) })
	mux.HandleFunc("POST /v1/evidence", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			writeAPIError(t, w, &Error{Status: 401, Code: CodeUnauthorized, Message: "bad token", Field: "Authorization"})
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" || r.URL.Query().Get("wait") != WaitCommit {
			t.Errorf("Content-Type %q query %q", ct, r.URL.RawQuery)
		}
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		res := SubmitResult{TxID: crypto.SM3(body), Status: StatusCommitted, Index: 12, Height: 5, Time: testTime, Signer: "bank-a", Type: "evidence", Chains: []string{"LOAN-1"}}
		if recs, ok := m["records"].([]any); ok {
			res.Type, res.Chains = "batch", make([]string, len(recs))
			for i, rec := range recs {
				res.Chains[i] = rec.(map[string]any)["chain"].(string)
			}
		}
		writeJSON(t, w, 200, res)
	})
	return mux
}

func TestReceiptMethods(t *testing.T) {
	c, _ := newTestClient(t, receiptNode(t), WithToken("other"))
	ctx := context.Background()
	rc, err := c.Receipt(ctx, "7.1")
	if want := sampleReceipt(); err != nil || !reflect.DeepEqual(rc, &want) {
		t.Errorf("Receipt = %+v, %v", rc, err)
	}
	rc, err = c.ReceiptFrom(ctx, "7.1", testLeaf)
	if want := sampleReceipt(); err != nil || !reflect.DeepEqual(rc, &want) {
		t.Errorf("ReceiptFrom = %+v, %v", rc, err)
	}
	var apiErr *Error
	if _, err := c.ReceiptFrom(ctx, "7.1", testComm); !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Field != "from_roster" {
		t.Errorf("ReceiptFrom an unknown roster: %v, want 400 on from_roster", err)
	}
	for _, call := range []func() (*receipt.CheckpointFile, error){
		func() (*receipt.CheckpointFile, error) { return c.LatestCheckpoint(ctx) },
		func() (*receipt.CheckpointFile, error) { return c.Checkpoint(ctx, 4) },
	} {
		cf, err := call()
		if want := sampleCheckpoint(); err != nil || !reflect.DeepEqual(cf, &want) {
			t.Errorf("checkpoint = %+v, %v", cf, err)
		}
	}
	if _, err := c.Checkpoint(ctx, 5); !isStatus(err, 404) {
		t.Errorf("Checkpoint(5) err = %v, want 404", err)
	}
	cp, err := c.ConsistencyProof(ctx, 3, 9)
	if err != nil || cp.From != 3 || cp.To != 9 || cp.FromRoot != testComm || len(cp.Proof) != 1 {
		t.Errorf("ConsistencyProof = %+v, %v", cp, err)
	}
	ip, err := c.InclusionProof(ctx, 7, 9)
	if err != nil || ip.Index != 7 || ip.Root != testLeaf || len(ip.Proof) != 2 {
		t.Errorf("InclusionProof = %+v, %v", ip, err)
	}
	ro, d, err := c.Roster(ctx)
	if want := sampleRoster(); err != nil || !reflect.DeepEqual(ro, &want.Roster) || d != want.Digest {
		t.Errorf("Roster = %+v %s, %v", ro, d, err)
	}

	// The token argument wins over WithToken.
	res, err := c.SubmitEvidence(ctx, "tok", EvidenceRequest{EvidenceRecord: EvidenceRecord{Kind: "k", Chain: "LOAN-1", Step: 1, Commitment: testComm}})
	if err != nil || res.Index != 12 || res.Type != "evidence" {
		t.Errorf("SubmitEvidence = %+v, %v", res, err)
	}
	res, err = c.SubmitEvidence(ctx, "tok", EvidenceRequest{Records: []EvidenceRecord{{Chain: "A"}, {Chain: "B"}}})
	if err != nil || res.Type != "batch" || !reflect.DeepEqual(res.Chains, []string{"A", "B"}) {
		t.Errorf("SubmitEvidence batch = %+v, %v", res, err)
	}
	_, err = c.SubmitEvidence(ctx, "", EvidenceRequest{})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnauthorized || e.Field != "Authorization" {
		t.Errorf("SubmitEvidence with WithToken's token: %v, want 401", err)
	}
}

func isStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// TestReceiptBadResponses checks that bodies the contract does not allow
// are ErrBadResponse.
func TestReceiptBadResponses(t *testing.T) {
	bad := sampleRoster()
	bad.Digest = testLeaf
	tests := []struct {
		name string
		body any
		call func(c *Client) error
	}{
		{"receipt of another version", map[string]any{"version": 2}, func(c *Client) error { _, err := c.Receipt(context.Background(), "1"); return err }},
		{"receipt with an unknown field", map[string]any{"version": 1, "extra": 1}, func(c *Client) error { _, err := c.Receipt(context.Background(), "1"); return err }},
		{"roster digest mismatch", bad, func(c *Client) error { _, _, err := c.Roster(context.Background()); return err }},
		{"short proof hash", ConsistencyProof{Proof: [][]byte{{1, 2}}}, func(c *Client) error { _, err := c.ConsistencyProof(context.Background(), 1, 2); return err }},
		{"short inclusion hash", InclusionProof{Proof: [][]byte{{1}}}, func(c *Client) error { _, err := c.InclusionProof(context.Background(), 1, 2); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(t, w, 200, tt.body) }))
			if err := tt.call(c); !errors.Is(err, ErrBadResponse) {
				t.Errorf("err = %v, want ErrBadResponse", err)
			}
		})
	}
}

func TestReceiptNotYetRetries(t *testing.T) {
	calls := 0
	c, waits := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls < 3 {
			w.Header().Set("Retry-After", "2")
			writeJSON(t, w, 503, ErrorResponse{Error: &Error{Status: 503, Code: CodeUnavailable, Message: "no trusted checkpoint covers entry 7 yet"}})
			return
		}
		writeJSON(t, w, 200, sampleReceipt())
	}))
	r, err := c.Receipt(context.Background(), "7")
	if err != nil || r.LeafIndex != 7 || calls != 3 || !reflect.DeepEqual(*waits, []time.Duration{2 * time.Second, 2 * time.Second}) {
		t.Errorf("Receipt = %v, %v after %d calls, waits %v", r, err, calls, *waits)
	}
}

func TestEvidenceRequestJSON(t *testing.T) {
	cipher := testComm
	tests := []struct {
		name string
		req  EvidenceRequest
		want string
	}{
		{"single step 1", EvidenceRequest{EvidenceRecord: EvidenceRecord{Kind: "k", Chain: "C", Step: 1, Commitment: testComm, Size: 0}},
			`{"kind":"k","chain":"C","step":1,"commitment":"` + testComm.String() + `","size":0}`},
		{"single with prev, cipher, labels", EvidenceRequest{EvidenceRecord: EvidenceRecord{Kind: "k", Chain: "C", Step: 2, Prev: testLeaf, Commitment: testComm, Size: 3,
			Cipher: &cipher, Labels: map[string]string{"a": "b"}}},
			`{"kind":"k","chain":"C","step":2,"prev":"` + testLeaf.String() + `","commitment":"` + testComm.String() + `","size":3,"cipher":"` + testComm.String() + `","labels":{"a":"b"}}`},
		{"batch", EvidenceRequest{EvidenceRecord: EvidenceRecord{Kind: "ignored"}, Records: []EvidenceRecord{{Kind: "k", Chain: "C", Step: 1, Commitment: testComm}}},
			`{"records":[{"kind":"k","chain":"C","step":1,"commitment":"` + testComm.String() + `","size":0}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.req)
			if err != nil || string(b) != tt.want {
				t.Errorf("got  %s (%v)\nwant %s", b, err, tt.want)
			}
		})
	}
}

func TestCertificate(t *testing.T) {
	pdf := []byte("%PDF-1.3 a certificate")
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/evidence/12.3/certificate" && r.URL.RawQuery == "lang=en":
			w.Header().Set("Content-Type", "application/pdf")
			w.Write(pdf)
		case r.URL.Path == "/v1/evidence/12.3/certificate" && r.URL.RawQuery == "":
			writeJSON(t, w, http.StatusOK, map[string]string{"not": "a pdf"})
		default:
			writeAPIError(t, w, &Error{Status: http.StatusNotImplemented, Code: "not_implemented", Message: "no font"})
		}
	}))
	got, err := c.Certificate(context.Background(), "12.3", "en")
	if err != nil || string(got) != string(pdf) {
		t.Fatalf("Certificate = %q, %v", got, err)
	}
	if _, err := c.Certificate(context.Background(), "12.3", ""); !errors.Is(err, ErrBadResponse) {
		t.Errorf("a JSON body: %v, want ErrBadResponse", err)
	}
	var apiErr *Error
	if _, err := c.Certificate(context.Background(), "7", "zh"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotImplemented {
		t.Errorf("a 501: %v", err)
	}
}
