package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// FuzzDecodeEvidence feeds arbitrary POST /v1/evidence bodies to the
// decoder. It never panics; every error is a 400 naming a field; and what
// it accepts round-trips: the client's encoding of the decoded request
// decodes to the same request.
func FuzzDecodeEvidence(f *testing.F) {
	c := crypto.SM3([]byte("c")).String()
	for _, seed := range []string{
		`{"kind": "loan-contract", "chain": "LOAN-1", "step": 1, "commitment": "` + c + `", "size": 5}`,
		`{"kind": "k", "chain": "C", "step": 2, "prev": "` + strings.ToUpper(c) + `", "commitment": "` + c + `", "size": 0, "cipher": "` + c + `", "labels": {"a": "b", "c": ""}}`,
		`{"records": [{"kind": "k", "chain": "C", "step": 1, "commitment": "` + c + `", "size": 1}, {"kind": "k", "chain": "D", "step": 3, "commitment": "` + c + `", "size": 2, "labels": {}}]}`,
		`{"records": []}`, `{"records": null, "kind": "k"}`, `{"kind": "k", "records": [{}]}`,
		`{"step": "1"}`, `{"step": -1}`, `{"size": 1e3}`, `[]`, `null`, ``, `{`, `{}{}`, `{"x": 1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, herr := decodeEvidence(body)
		if herr != nil {
			if herr.body.Status != http.StatusBadRequest || herr.body.Field == "" || herr.body.Message == "" {
				t.Fatalf("error %+v: want a 400 naming a field", herr.body)
			}
			return
		}
		if req.IsBatch() && len(req.Records) == 0 {
			t.Fatalf("accepted an empty batch")
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("encode %+v: %v", req, err)
		}
		req2, herr := decodeEvidence(again)
		if herr != nil {
			t.Fatalf("re-decode %s: %v", again, herr)
		}
		if !reflect.DeepEqual(req, req2) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", req, req2)
		}
	})
}

// FuzzDecodeAttest feeds arbitrary POST /v1/attestations bodies to the
// decoder. It never panics; every error is a 400 naming a field; what it
// accepts names records or a chain, not both, and round-trips.
func FuzzDecodeAttest(f *testing.F) {
	d := crypto.SM3([]byte("d")).String()
	for _, seed := range []string{
		`{"statement": "notarised", "chain": "LOAN-1", "note": "(2026)沪东证字第1234号"}`,
		`{"statement": "admitted", "records": ["6", "8.1"], "document": "` + d + `", "note": "Cafe\u0301"}`,
		`{"statement": "x", "records": [], "chain": ""}`, `{"statement": "x", "records": ["1"], "chain": "C"}`,
		`{"document": "zz"}`, `{"records": null}`, `[]`, `null`, ``, `{`, `{}{}`, `{"x": 1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, herr := decodeAttest(body)
		if herr != nil {
			if herr.body.Status != http.StatusBadRequest || herr.body.Field == "" || herr.body.Message == "" {
				t.Fatalf("error %+v: want a 400 naming a field", herr.body)
			}
			return
		}
		if (len(req.Records) == 0) == (req.Chain == "") || len(req.Records) > ledger.MaxTargets {
			t.Fatalf("accepted %+v", req)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("encode %+v: %v", req, err)
		}
		req2, herr := decodeAttest(again)
		if herr != nil {
			t.Fatalf("re-decode %s: %v", again, herr)
		}
		if !reflect.DeepEqual(req, req2) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", req, req2)
		}
	})
}

// FuzzParseRecordID parses arbitrary receipt ids. It never panics, and an
// id it accepts formats to a canonical form that parses to the same id
// (and formats to itself).
func FuzzParseRecordID(f *testing.F) {
	c := crypto.SM3([]byte("tx")).String()
	for _, seed := range []string{"0", "6", "12.3", "18446744073709551615", "18446744073709551616", "06", "-1", "+1", "1.", ".1",
		"1.65535", "1.65536", "1.2.3", c, strings.ToUpper(c), c + ".2", c + ".0", c[:63], "１"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseRecordID(s)
		if err != nil {
			return
		}
		canon := id.String()
		id2, err := ParseRecordID(canon)
		if err != nil {
			t.Fatalf("%q parsed, but its canonical form %q does not: %v", s, canon, err)
		}
		if id2 != id || id2.String() != canon {
			t.Fatalf("%q: %+v, canonical %q parses to %+v", s, id, canon, id2)
		}
	})
}

// FuzzDecodeProposal feeds arbitrary POST /v1/proposals bodies to the
// decoder. It never panics; every error is a 400 naming a field; and what
// it accepts round-trips: the request of the decoded proposal
// (client.ProposalRequestOf) decodes to the same proposal.
func FuzzDecodeProposal(f *testing.F) {
	k := "04" + strings.Repeat("ab", 64)
	for _, seed := range []string{
		`{"change":"remove","member":"arbitration","reason":"董事会决议"}`,
		`{"change":"add","member":"bank-c","role":"bank","power":10,"keys":["` + k + `"],"validator":"` + strings.Repeat("01", 32) + `","node":"` + strings.Repeat("02", 20) + `","peer":"p","addrs":["/ip4/1.2.3.4/tcp/1"],"deadline":9}`,
		`{"change":"rotate","member":"notary","keys":["` + k + `"],"node":"` + strings.Repeat("02", 20) + `"}`,
		`{"change":"set-power","member":"court","power":0}`, `{"change":"set-role","member":"court","role":"court"}`,
		`{"change":"add-key","member":"court","keys":["` + k + `"]}`, `{"change":"remove-key","member":"court","keys":[]}`,
		`{"change":"set-power","member":"court","power":-1}`, `{"change":"x"}`, `{}`, `[]`, `null`, ``, `{`, `{}{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, p, herr := decodeProposal(body, 7)
		if herr != nil {
			if herr.body.Status != http.StatusBadRequest || herr.body.Field == "" || herr.body.Message == "" {
				t.Fatalf("error %+v: want a 400 naming a field", herr.body)
			}
			return
		}
		again, err := json.Marshal(client.ProposalRequestOf(p))
		if err != nil {
			t.Fatalf("encode %+v: %v", p, err)
		}
		_, p2, herr := decodeProposal(again, 7)
		if herr != nil {
			t.Fatalf("re-decode %s: %v", again, herr)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the proposal:\n%+v\n%+v", p, p2)
		}
	})
}

// FuzzDecodeVote feeds arbitrary vote bodies to the decoder: it never
// panics, errors are 400s naming a field, and only the two decisions pass.
func FuzzDecodeVote(f *testing.F) {
	for _, seed := range []string{`{"decision":"approve"}`, `{"decision":"reject"}`, `{"decision":"Approve"}`, `{}`, `{"decision":1}`, `{"decision":"approve"} x`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, herr := decodeVote(body)
		if herr != nil {
			if herr.body.Status != http.StatusBadRequest || herr.body.Field == "" {
				t.Fatalf("error %+v: want a 400 naming a field", herr.body)
			}
			return
		}
		if d != ledger.Approve && d != ledger.Reject {
			t.Fatalf("accepted decision %d", d)
		}
	})
}

// FuzzDecodeRetrievalRequest feeds arbitrary POST /v1/requests and refuse
// bodies to their decoders. They never panic; every error is a 400 naming
// a field; what they accept is text the ledger takes (NFC, no control
// characters, within its bound) and names one record or one chain.
func FuzzDecodeRetrievalRequest(f *testing.F) {
	for _, seed := range []string{
		`{"record": "7", "purpose": "(2026)沪0115民初1234号"}`, `{"chain": "LOAN-1", "purpose": "cafe\u0301"}`,
		`{"chain": "LOAN-1", "purpose": "a\u0007"}`, `{"chain": "LOAN-1", "purpose": "\u202e"}`, `{"chain": "-x", "purpose": "x"}`,
		`{"record": "7", "chain": "C", "purpose": "x"}`, `{"purpose": ""}`, `{"reason": "该记录已依法移交"}`, `{"reason": "\n"}`,
		`[]`, `null`, ``, `{`, `{}{}`, `{"x": 1}`,
	} {
		f.Add([]byte(seed))
	}
	check := func(t *testing.T, what string, herr *httpError, text string, max int) {
		if herr != nil {
			if herr.body.Status != http.StatusBadRequest || herr.body.Field == "" || herr.body.Message == "" {
				t.Fatalf("%s error %+v: want a 400 naming a field", what, herr.body)
			}
			return
		}
		if text == "" || ledger.CheckText(what, text, max) != nil || ledger.NormalizeText(text) != text {
			t.Fatalf("%s accepted %q, which the ledger refuses", what, text)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rb, herr := decodeRetrievalRequest(body)
		check(t, "request", herr, rb.Purpose, ledger.MaxPurposeLen)
		if herr == nil && (rb.Record == "") == (rb.Chain == "") {
			t.Fatalf("accepted %+v: not one record or one chain", rb)
		}
		reason, herr := decodeRefusal(body)
		check(t, "refusal", herr, reason, ledger.MaxNoteLen)
	})
}
