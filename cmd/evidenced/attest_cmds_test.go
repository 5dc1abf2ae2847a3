package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// attestRoutes serves POST /v1/attestations as a notary's node would
// (chain LOAN-1 has steps at entries 6 and 7), or refuses it as the
// ledger refuses a bank, and GET /v1/evidence/{id}/attestations.
func (n *fakeNode) attestRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/attestations", func(w http.ResponseWriter, r *http.Request) {
		var req client.AttestRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || r.Header.Get("Authorization") != "Bearer tok" {
			n.fail(w, &client.Error{Status: 400, Code: client.CodeBadRequest, Field: "body", Message: "bad attestation or token"})
			return
		}
		n.mu.Lock()
		n.attests = append(n.attests, req)
		role := n.attester
		n.mu.Unlock()
		if role == "bank" {
			n.fail(w, &client.Error{Status: 422, Code: ledger.CodeRoleNotAllowed.String(), ResultCode: uint32(ledger.CodeRoleNotAllowed), Field: "signer_key",
				Message: "a bank member may not attest; only notary, arbitration and court members do", Hint: "only notary, arbitration and court members attest"})
			return
		}
		res := client.AttestResult{TxID: crypto.SM3([]byte("a")), Status: client.StatusCommitted, Index: 61, Height: 61, Time: fakeBase,
			Signer: "notary", Type: "attest", Statement: req.Statement, Note: req.Note, Targets: req.Records}
		if req.Chain != "" {
			res.Chain, res.HeadStep, res.Head, res.Targets = req.Chain, 2, "7", []string{"6", "7"}
		}
		n.write(w, 200, res)
	})
	mux.HandleFunc("GET /v1/evidence/{id}/attestations", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "6" {
			n.fail(w, &client.Error{Status: 404, Code: client.CodeNotFound, Field: "id", Message: "there is no entry 99 in the log"})
			return
		}
		d := crypto.SM3([]byte("certificate"))
		n.write(w, 200, client.Attestations{Record: "6.0", Attestations: []client.AttestationInfo{{Index: 61, TxID: crypto.SM3([]byte("a")), Height: 61,
			Time: fakeBase, Signer: "notary", Role: "notary", Statement: "notarised", Targets: []string{"6", "7"}, Document: &d, Note: "(2026)沪东证字第1234号"}}})
	})
}

func TestAttestCommand(t *testing.T) {
	_, key := testKey(t, t.TempDir(), "")
	n := newFakeNode(t, key.Public())
	t.Setenv(envToken, "tok")
	doc := filepath.Join(t.TempDir(), "certificate.pdf")
	if err := os.WriteFile(doc, []byte("certificate"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A chain, with a note written decomposed ("e" + U+0301): it is sent in NFC.
	out, _, err := runCLI(t, "attest", "--chain", "LOAN-1", "--statement", "notarised", "--note", "(2026)沪东证字第1234号 Cafe\u0301", "--document", doc, "--node", n.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"notary attested notarised: evidence chain LOAN-1 up to step 2 (head record 7): records 6, 7\n",
		"  note (2026)沪东证字第1234号 Café\n",
		"  attestation entry 61, tx " + crypto.SM3([]byte("a")).String() + ", committed in block 61",
		"steps added to the chain later are not covered",
		"evidenced receipt 61 --out attestation.receipt.json",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("attest --chain printed %q, want %q in it", out, want)
		}
	}
	req := n.attests[0]
	if req.Chain != "LOAN-1" || req.Records != nil || req.Statement != "notarised" || req.Note != "(2026)沪东证字第1234号 Café" ||
		req.Document == nil || *req.Document != crypto.SM3([]byte("certificate")) {
		t.Fatalf("attest --chain sent %+v", req)
	}

	// Records, -o json.
	out, _, err = runCLI(t, "attest", "6", "8.1", "--statement", "admitted", "--node", n.srv.URL, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res client.AttestResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Index != 61 || !slices.Equal(res.Targets, []string{"6", "8.1"}) || res.Statement != "admitted" || res.Head != "" {
		t.Fatalf("attest -o json: %s (%v)", out, err)
	}
	if !strings.Contains(out, `"index": 61`) || !strings.Contains(out, `"tx_id"`) || !strings.Contains(out, `"targets"`) || strings.Contains(out, `"head"`) {
		t.Errorf("attest -o json: %s", out)
	}
	out, _, err = runCLI(t, "attest", "--chain", "LOAN-1", "--statement", "notarised", "--node", n.srv.URL, "-o", "json")
	if err != nil || !strings.Contains(out, `"head": "7"`) || !strings.Contains(out, `"head_step": 2`) {
		t.Fatalf("attest --chain -o json: %s (%v)", out, err)
	}

	// A bank's node: the ledger's rule, and what to do instead.
	n.mu.Lock()
	n.attester = "bank"
	n.mu.Unlock()
	_, _, err = runCLI(t, "attest", "6", "--statement", "notarised", "--node", n.srv.URL)
	if err == nil || !strings.Contains(err.Error(), "role_not_allowed, code 7") || !strings.Contains(err.Error(), "a bank member may not attest") ||
		!strings.Contains(err.Error(), "run `evidenced attest` against such a member's node") {
		t.Errorf("a bank attesting: %v", err)
	}

	// The listing.
	out, _, err = runCLI(t, "attestations", "6", "--node", n.srv.URL)
	if err != nil || !strings.Contains(out, "record 6.0, 1 attestation(s):") ||
		!strings.Contains(out, "entry 61     notary (notary) notarised, records 6, 7, note (2026)沪东证字第1234号, document ") {
		t.Errorf("attestations: %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "attestations", "99", "--node", n.srv.URL); err == nil || !strings.Contains(err.Error(), "there is no entry 99") {
		t.Errorf("attestations of nothing: %v", err)
	}
}

func TestAttestCommandRefusesBadInput(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	node := "http://127.0.0.1:1" // nothing listens: only input errors may be reached
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"neither", []string{"attest", "--statement", "notarised", "--token-file", tokenFile}, "name the records (ID...) or one evidence chain (--chain)"},
		{"both", []string{"attest", "6", "--chain", "LOAN-1", "--statement", "notarised", "--token-file", tokenFile}, "not both"},
		{"no statement", []string{"attest", "6", "--token-file", tokenFile}, "--statement KIND is required"},
		{"missing document", []string{"attest", "6", "--statement", "notarised", "--document", filepath.Join(t.TempDir(), "none"), "--token-file", tokenFile}, "--document"},
		{"no token", []string{"attest", "6", "--statement", "notarised"}, "needs its API token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envToken, "")
			_, _, err := runCLI(t, append(tt.args, "--node", node)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

const (
	exampleAttestReceipt  = "../../receipt/testdata/example-attestation-receipt.json"
	exampleAttestDocument = "../../receipt/testdata/example-attestation-document.txt"
)

// TestVerifyAttestationReceipt verifies the worked example of an
// attestation receipt (docs/RECEIPT.md), with and without its document,
// and with its statement changed.
func TestVerifyAttestationReceipt(t *testing.T) {
	out, _, err := runCLI(t, "verify", "--receipt", exampleAttestReceipt, "--roster", exampleRoster, "--file", exampleAttestDocument)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	for _, want := range []string{
		`receipt of attestation 9 (notarised by notary notary, records 6, 8, note "(2026)沪东证字第1234号") on chain "evidenced-test"`,
		"✓ file        SM3 of the 39-byte file is ",
		"✓ attestation the leaf holds attestation transaction ",
		"VERIFIED: attestation 9 (notarised) by notary notary of records 6, 8 was accepted by the alliance in block 7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify printed:\n%s\nwant %q in it", out, want)
		}
	}
	data, err := os.ReadFile(exampleAttestReceipt)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(data), `"statement": "notarised"`, `"statement": "reviewed"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "verify", "--receipt", bad, "--roster", exampleRoster, "-o", "json")
	if exitCode(err) != exitVerifyFailed || !strings.Contains(out, `"failed_step": "attestation"`) || !strings.Contains(out, `"reason": "attestation_differs"`) {
		t.Errorf("a changed statement: %v\n%s", err, out)
	}
}
