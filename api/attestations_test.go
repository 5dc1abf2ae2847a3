package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// TestAttest attests records and a chain through POST /v1/attestations as
// the notary, and lists them with GET /v1/evidence/{id}/attestations and
// in the chain's steps.
func TestAttest(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)

	// A chain: every step up to the head (6 and 7), the note in NFC
	// ("e" + combining acute becomes "é").
	rec := postGovern(t, h, "/v1/attestations", `{"statement":"notarised","chain":"LOAN-1","note":"(2026)沪东证字第1234号 Cafe\u0301"}`)
	res := decodeOK[client.AttestResult](t, rec, http.StatusOK, cacheNone)
	if res.Type != "attest" || res.Signer != "notary" || res.Status != client.StatusCommitted || res.Statement != "notarised" ||
		res.Note != "(2026)沪东证字第1234号 Café" || !slices.Equal(res.Targets, []string{"6", "7"}) || res.Chain != "LOAN-1" || res.HeadStep != 2 || res.Head != "7" {
		t.Fatalf("attest chain answered %+v", res)
	}
	chainIndex := res.Index
	e, _, err := f.view().Entry(chainIndex)
	if err != nil || e == nil {
		t.Fatalf("entry %d: %v", chainIndex, err)
	}

	// Records, in any order, with a document: the ledger's order.
	rec = postGovern(t, h, "/v1/attestations", `{"statement":"reviewed","records":["8.1","6"],"document":"`+strings.Repeat("ab", 32)+`"}`)
	res = decodeOK[client.AttestResult](t, rec, http.StatusOK, cacheNone)
	if !slices.Equal(res.Targets, []string{"6", "8.1"}) || res.Chain != "" || res.Head != "" || res.HeadStep != 0 {
		t.Fatalf("attest records answered %+v", res)
	}
	recordsIndex := res.Index

	// Record 6 is named by the fixture's attestation (9) and both new ones.
	list := decodeOK[client.Attestations](t, serve(t, h, http.MethodGet, "/v1/evidence/6/attestations", nil), http.StatusOK, cacheNone)
	if list.Record != "6.0" || len(list.Attestations) != 3 {
		t.Fatalf("attestations of 6: %+v", list)
	}
	if a := list.Attestations[1]; a.Index != chainIndex || a.Signer != "notary" || a.Role != "notary" || a.Statement != "notarised" ||
		a.Note != "(2026)沪东证字第1234号 Café" || !slices.Equal(a.Targets, []string{"6", "7"}) || a.Document != nil {
		t.Errorf("the chain attestation is listed as %+v", a)
	}
	if a := list.Attestations[2]; a.Index != recordsIndex || a.Statement != "reviewed" || a.Document == nil || a.Document.String() != strings.Repeat("ab", 32) {
		t.Errorf("the records attestation is listed as %+v", a)
	}
	list = decodeOK[client.Attestations](t, serve(t, h, http.MethodGet, "/v1/evidence/7/attestations", nil), http.StatusOK, cacheNone)
	if len(list.Attestations) != 1 || list.Attestations[0].Index != chainIndex {
		t.Errorf("attestations of 7: %+v", list)
	}
	ch := decodeOK[client.Chain](t, serve(t, h, http.MethodGet, "/v1/chains/LOAN-1", nil), http.StatusOK, cacheNone)
	if len(ch.Records) != 2 || len(ch.Records[0].Attestations) != 3 || len(ch.Records[1].Attestations) != 1 ||
		ch.Records[1].Attestations[0] != (client.ChainAttestation{Index: chainIndex, Signer: "notary", Statement: "notarised"}) {
		t.Errorf("chain steps: %+v", ch.Records)
	}
}

// TestAttestRefused: bad requests, unknown records and chains, and a
// bank's node (role_not_allowed, with a hint naming who attests).
func TestAttestRefused(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"neither", `{"statement":"notarised"}`, 400, client.CodeBadRequest, "records"},
		{"both", `{"statement":"notarised","chain":"LOAN-1","records":["6"]}`, 400, client.CodeBadRequest, "records"},
		{"unknown field", `{"statement":"notarised","chain":"LOAN-1","x":1}`, 400, client.CodeBadRequest, "body"},
		{"no chain", `{"statement":"notarised","chain":"LOAN-99"}`, 404, client.CodeNotFound, "chain"},
		{"bad chain", `{"statement":"notarised","chain":"-x"}`, 400, client.CodeBadRequest, "chain"},
		{"no record", `{"statement":"notarised","records":["99"]}`, 404, client.CodeNotFound, "id"},
		{"not a record", `{"statement":"notarised","records":["9"]}`, 404, client.CodeNotFound, "id"},
		{"bad statement", `{"statement":"Not Ident","records":["6"]}`, 422, ledger.CodeMalformed.String(), "body"},
		{"control character", `{"statement":"notarised","records":["6"],"note":"a\u0007b"}`, 422, ledger.CodeControlChar.String(), "body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := postGovern(t, h, "/v1/attestations", tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if e := decodeError(t, rec); e.Code != tt.code || e.Field != tt.field {
				t.Errorf("code %q field %q, want %q %q (%s)", e.Code, e.Field, tt.code, tt.field, e.Message)
			}
		})
	}

	f.node.mu.Lock()
	f.node.attester = "bank-a"
	f.node.mu.Unlock()
	rec := postGovern(t, h, "/v1/attestations", `{"statement":"notarised","chain":"LOAN-1"}`)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a bank attesting: %d %s", rec.Code, rec.Body)
	}
	e := decodeError(t, rec)
	if e.Code != "role_not_allowed" || e.ResultCode != uint32(ledger.CodeRoleNotAllowed) ||
		e.Message != "a bank member may not attest; only notary, arbitration and court members do" ||
		!strings.Contains(e.Hint, "only notary, arbitration and court members attest") || strings.Contains(e.Hint, "sign") && !strings.Contains(e.Hint, "member's node") {
		t.Errorf("a bank attesting: %+v", e)
	}
}

// TestAttestThrough: through_step covers steps 1 to that step exactly,
// though the chain has more; a step this node has not committed is waited
// for within the commit wait, then answered 404 naming through_step; and
// through_step without a chain is a 400.
func TestAttestThrough(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{DefaultWait: 300 * time.Millisecond}, false)
	rec := postGovern(t, h, "/v1/attestations", `{"statement":"notarised","chain":"LOAN-1","through_step":1}`)
	res := decodeOK[client.AttestResult](t, rec, http.StatusOK, cacheNone)
	if !slices.Equal(res.Targets, []string{"6"}) || res.HeadStep != 1 || res.Head != "6" {
		t.Fatalf("through_step 1 answered %+v, want step 1 (record 6) only", res)
	}
	start := time.Now()
	rec = postGovern(t, h, "/v1/attestations", `{"statement":"notarised","chain":"LOAN-1","through_step":5}`)
	if e := decodeError(t, rec); rec.Code != http.StatusNotFound || e.Field != "through_step" || !strings.Contains(e.Message, "has 2 steps on this node, not the 5 named") {
		t.Fatalf("through_step 5: %d %+v", rec.Code, e)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("through_step 5 answered after %s, before the commit wait", waited)
	}
	rec = postGovern(t, h, "/v1/attestations", `{"statement":"notarised","records":["6"],"through_step":1}`)
	if e := decodeError(t, rec); rec.Code != http.StatusBadRequest || e.Field != "through_step" {
		t.Fatalf("through_step without a chain: %d %+v", rec.Code, e)
	}
}
