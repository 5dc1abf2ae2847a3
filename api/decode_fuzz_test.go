package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
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
