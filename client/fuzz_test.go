package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeError checks that any non-2xx response decodes to a usable
// *Error (real status, non-empty code) and that the decoded error survives a
// round trip through the contract's JSON shape unchanged.
func FuzzDecodeError(f *testing.F) {
	f.Add(422, "2", []byte(`{"error": {"status": 422, "code": "chain_step", "result_code": 11, "message": "m", "hint": "h", "field": "step"}}`))
	f.Add(504, "", []byte(`{"error": {"status": 504, "code": "timeout", "message": "m", "tx_id": "ab", "height": 3}}`))
	f.Add(503, "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`{"error": null}`))
	f.Add(502, "", []byte("<html>bad gateway</html>"))
	f.Add(500, "x", []byte(""))
	f.Add(400, "1", []byte(`{"error": {"message": "\xff\x00"}}`))
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		e := parseError(status, h, body, now)
		if e.Status != status || e.Code == "" || e.Error() == "" {
			t.Fatalf("parseError(%d, %q) = %+v: want the real status and a code", status, body, e)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %v", e.RetryAfter)
		}
		again, err := json.Marshal(ErrorResponse{Error: e})
		if err != nil {
			t.Fatalf("marshal %+v: %v", e, err)
		}
		e2 := parseError(status, h, again, now)
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip changed the error:\n%+v\n%+v", e, e2)
		}
	})
}

// FuzzDecodeResponse checks that every response type the client decodes
// re-encodes to JSON that decodes to the same value (marshal, unmarshal,
// marshal is stable), so what the client shows is what the node sent.
func FuzzDecodeResponse(f *testing.F) {
	for _, v := range []any{sampleStatus(), sampleEntry(), sampleChain(), MembersResponse{Members: sampleMembers()},
		SubmitResult{TxID: testTxID, Status: StatusCommitted, Index: 1, Time: testTime}, SubmitResult{TxID: testTxID, Status: StatusPending},
		CommitmentRecords{Commitment: testComm, Records: []CommitmentRecord{{Index: 1, Time: testTime}}},
		ConsistencyProof{From: 1, To: 2, Proof: [][]byte{testLeaf[:]}, FromRoot: testLeaf, ToRoot: testComm},
		InclusionProof{Index: 1, Size: 2, Proof: [][]byte{testLeaf[:]}, Root: testComm}, sampleRoster(),
		EvidenceRecord{Kind: "k", Chain: "C", Step: 2, Prev: testLeaf, Commitment: testComm, Labels: map[string]string{"a": "b"}}} {
		b, err := json.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mk := range []func() any{
			func() any { return new(Status) }, func() any { return new(Entry) }, func() any { return new(Chain) },
			func() any { return new(MembersResponse) }, func() any { return new(SubmitResult) }, func() any { return new(CommitmentRecords) },
			func() any { return new(ConsistencyProof) }, func() any { return new(InclusionProof) }, func() any { return new(RosterResponse) },
			func() any { return new(EvidenceRecord) },
		} {
			v := mk()
			if json.Unmarshal(body, v) != nil {
				continue
			}
			if ch, ok := v.(checker); ok && ch.check() != nil {
				continue // the client rejects it with ErrBadResponse
			}
			b1, err := json.Marshal(v)
			if err != nil {
				// A decoded value that cannot be encoded (e.g. a role
				// name that decodes but not encodes) would be a bug.
				t.Fatalf("%T: marshal decoded value: %v", v, err)
			}
			w := mk()
			if err := json.Unmarshal(b1, w); err != nil {
				t.Fatalf("%T: re-decode %s: %v", v, b1, err)
			}
			b2, err := json.Marshal(w)
			if err != nil {
				t.Fatalf("%T: re-marshal: %v", w, err)
			}
			if !bytes.Equal(b1, b2) {
				t.Fatalf("%T: not stable:\n%s\n%s", v, b1, b2)
			}
		}
	})
}

// FuzzParseSeat parses arbitrary seat files: it never panics, and a seat
// it accepts re-encodes to one that parses to the same seat.
func FuzzParseSeat(f *testing.F) {
	for _, seed := range []string{
		`{"name":"bank-b","role":"bank","keys":["04ab"],"validator":"01","node":"0102","peer":"12D3KooW","addrs":["/ip4/1.2.3.4/tcp/1"]}`,
		`{"name":"x","keys":[],"node":"a"}`, `{"name":"x","role":"king","keys":["00"],"node":"a"}`, `{"name":"x","keys":["zz"],"node":"a"}`,
		`{}`, `[]`, `null`, ``, `{"name":"x","keys":["00"],"node":"a"} {}`, `{"name":"x","keys":["00"],"node":"a","extra":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSeat(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("encode %+v: %v", s, err)
		}
		s2, err := ParseSeat(again)
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip of %s: %+v, %v", again, s2, err)
		}
	})
}
