package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// postGovern sends a JSON body to a governance endpoint with the admin
// test token.
func postGovern(t *testing.T, h http.Handler, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	return postEvidence(t, h, target, "Bearer "+testToken, body)
}

// addBody is the body of a proposal to add bank-c with power 10.
func addBody(t *testing.T) (string, *crypto.PrivateKey) {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	val := crypto.SM3([]byte("bank-c validator"))
	node := crypto.SM3([]byte("bank-c node"))
	return fmt.Sprintf(`{"change":"add","member":"bank-c","role":"bank","power":10,"keys":["%x"],"validator":"%x","node":"%x","peer":"12D3KooWBankC","addrs":["/ip4/127.0.0.1/tcp/4001"],"deadline":500,"reason":"董事会决议 2026-12 号"}`,
		k.Public().Bytes(), val[:], node[:20]), k
}

// TestGovernance proposes adding a member through the API, has the
// members vote (one through the API, the others signing directly) until it
// passes, and follows the roster version it made into force: the
// proposal's state, the version list, the version's seats and the
// exported roster files agree.
func TestGovernance(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)
	body, newKey := addBody(t)
	rec := postGovern(t, h, "/v1/proposals", body)
	res := decodeOK[client.GovernResult](t, rec, http.StatusOK, cacheNone)
	if res.Type != "propose" || res.Signer != "bank-a" || res.Proposal != res.Index || res.Proposal == 0 || res.Change != "add" || res.Member != "bank-c" ||
		res.Deadline != 500 || res.ProposalStatus != "open" || res.Tally != (client.Tally{Total: 50}) {
		t.Fatalf("propose answered %+v", res)
	}
	prop := res.Proposal
	// bank-a votes through the API.
	rec = postGovern(t, h, fmt.Sprintf("/v1/proposals/%d/votes", prop), `{"decision":"approve"}`)
	res = decodeOK[client.GovernResult](t, rec, http.StatusOK, cacheNone)
	if res.Type != "vote" || res.Proposal != prop || res.Decision != "approve" || res.ProposalStatus != "open" || res.Tally != (client.Tally{Approve: 10, Total: 50}) {
		t.Fatalf("vote answered %+v", res)
	}
	// A second vote by bank-a is the ledger's already_voted.
	rec = postGovern(t, h, fmt.Sprintf("/v1/proposals/%d/votes", prop), `{"decision":"reject"}`)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"already_voted"`) {
		t.Fatalf("second vote: %d %s", rec.Code, rec.Body)
	}
	// The others vote; bank-b rejects, three approvals more pass it.
	ctx := context.Background()
	for _, m := range []string{"bank-b", "court", "notary", "arbitration"} {
		d := ledger.Approve
		if m == "bank-b" {
			d = ledger.Reject
		}
		if _, err := f.node.govern(ctx, m, &ledger.Vote{Proposal: prop, Decision: d}); err != nil {
			t.Fatalf("%s votes: %v", m, err)
		}
	}
	var p client.Proposal
	rec = serve(t, h, http.MethodGet, fmt.Sprintf("/v1/proposals/%d", prop), nil)
	p = decodeOK[client.Proposal](t, rec, http.StatusOK, cacheNone)
	if p.Status != "passed" || p.Version == nil || *p.Version != 1 || p.Proposer != "bank-a" || p.Change != "add" || p.Member != "bank-c" ||
		p.Power == nil || *p.Power != 10 || len(p.Keys) != 1 || !slices.Equal(p.Addrs, []string{"/ip4/127.0.0.1/tcp/4001"}) || p.Reason != "董事会决议 2026-12 号" ||
		p.Tally != (client.Tally{Approve: 40, Reject: 10, Total: 50}) || len(p.Votes) != 5 || p.Decided == 0 {
		t.Fatalf("proposal %+v", p)
	}
	for _, v := range p.Votes {
		if v.Power != 10 || (v.Decision == "reject") != (v.Member == "bank-b") {
			t.Fatalf("vote %+v", v)
		}
	}
	// The arbitration vote came after the proposal passed.
	if i := slices.IndexFunc(p.Votes, func(v client.VoteInfo) bool { return v.Member == "arbitration" }); i >= 0 && p.Votes[i].Entry < p.Decided {
		t.Fatalf("arbitration voted at %d, before the deciding vote %d", p.Votes[i].Entry, p.Decided)
	}

	versions := func() client.RosterVersionsResponse {
		t.Helper()
		return decodeOK[client.RosterVersionsResponse](t, serve(t, h, http.MethodGet, "/v1/roster/versions", nil), http.StatusOK, cacheNone)
	}
	vs := versions()
	if len(vs.Versions) != 2 || vs.Latest != 1 || vs.InForce != 0 || !vs.Versions[1].Pending || vs.Versions[1].From != nil ||
		vs.Versions[1].Proposal != prop || vs.Versions[1].Entry == 0 || vs.Versions[0].Pending || !vs.Versions[0].InForce || vs.Versions[1].Power != 60 || vs.Versions[1].Members != 7 {
		t.Fatalf("versions before the checkpoint: %+v", vs)
	}
	// A co-signed checkpoint holding the roster entry puts version 1 in force.
	f.trust(t)
	vs = versions()
	if v1 := vs.Versions[1]; v1.Pending || v1.From == nil || v1.Attested == 0 || !v1.InForce || vs.InForce != 1 {
		t.Fatalf("versions after the checkpoint: %+v", vs)
	}
	v1 := decodeOK[client.RosterVersion](t, serve(t, h, http.MethodGet, "/v1/roster/versions/1", nil), http.StatusOK, cacheNone)
	i := slices.IndexFunc(v1.Seats, func(s client.Seat) bool { return s.Name == "bank-c" })
	if len(v1.Seats) != 7 || i < 0 || *v1.Seats[i].Power != 10 || !slices.Equal(v1.Seats[i].Keys[0], newKey.Public().Bytes()) || v1.Seats[i].Peer != "12D3KooWBankC" || v1.Digest != vs.Versions[1].Digest {
		t.Fatalf("version 1: %+v", v1)
	}
	// The roster files of both versions, by number and by digest.
	current := decodeOK[client.RosterResponse](t, serve(t, h, http.MethodGet, "/v1/roster", nil), http.StatusOK, cacheNone)
	r1 := decodeOK[client.RosterResponse](t, serve(t, h, http.MethodGet, "/v1/roster?version=1", nil), http.StatusOK, cacheNone)
	r0 := decodeOK[client.RosterResponse](t, serve(t, h, http.MethodGet, "/v1/roster?digest="+vs.Versions[0].Digest.String(), nil), http.StatusOK, cacheNone)
	if r1.Digest != v1.Digest || current.Digest != r1.Digest || len(r1.Roster.Members) != 7 || r0.Digest != vs.Versions[0].Digest || len(r0.Roster.Members) != 6 {
		t.Fatalf("rosters: current %s, v1 %s (%d members), v0 %s (%d members); versions %+v", current.Digest, r1.Digest, len(r1.Roster.Members), r0.Digest, len(r0.Roster.Members), vs)
	}
	if d, err := r0.Roster.Digest(); err != nil || d != r0.Digest {
		t.Fatalf("the exported genesis roster's digest %s, %v; served %s", d, err, r0.Digest)
	}
	// Lists: newest first, filtered, paged.
	if _, err := f.node.govern(ctx, "court", &ledger.Proposal{Change: ledger.RosterChange{Kind: ledger.ChangeRemove, Seat: ledger.Seat{Member: ledger.Member{Name: "arbitration"}}},
		Deadline: 1000}); err != nil {
		t.Fatal(err)
	}
	list := decodeOK[client.ProposalsResponse](t, serve(t, h, http.MethodGet, "/v1/proposals", nil), http.StatusOK, cacheNone)
	if len(list.Proposals) != 2 || list.Proposals[1].Proposal != prop || list.Proposals[0].Proposer != "court" || list.Proposals[0].Status != "open" || list.Next != 0 {
		t.Fatalf("list %+v", list)
	}
	list = decodeOK[client.ProposalsResponse](t, serve(t, h, http.MethodGet, "/v1/proposals?status=passed", nil), http.StatusOK, cacheNone)
	if len(list.Proposals) != 1 || list.Proposals[0].Proposal != prop {
		t.Fatalf("passed %+v", list)
	}
	list = decodeOK[client.ProposalsResponse](t, serve(t, h, http.MethodGet, "/v1/proposals?limit=1", nil), http.StatusOK, cacheNone)
	if len(list.Proposals) != 1 || list.Next != list.Proposals[0].Proposal {
		t.Fatalf("page 1 %+v", list)
	}
	list = decodeOK[client.ProposalsResponse](t, serve(t, h, http.MethodGet, fmt.Sprintf("/v1/proposals?limit=1&before=%d", list.Next), nil), http.StatusOK, cacheNone)
	if len(list.Proposals) != 1 || list.Proposals[0].Proposal != prop || list.Next != 0 {
		t.Fatalf("page 2 %+v", list)
	}
}

// TestGovernanceEvents checks that a proposal, its votes and the roster
// entry it makes are events of their types, with their details.
func TestGovernanceEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.node.govern(ctx, "notary", &ledger.Proposal{Change: ledger.RosterChange{Kind: ledger.ChangeSetRole,
		Seat: ledger.Seat{Member: ledger.Member{Name: "regulator", Role: ledger.RoleCourt}}}, Deadline: 900, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	prop := c.Result.Index
	for _, m := range []string{"bank-a", "bank-b", "court", "notary"} {
		if _, err := f.node.govern(ctx, m, &ledger.Vote{Proposal: prop, Decision: ledger.Approve}); err != nil {
			t.Fatal(err)
		}
	}
	for _, typ := range []string{"propose", "vote", "roster"} {
		if !slices.Contains(api.EventTypes(), typ) {
			t.Fatalf("%s is not an event type: %v", typ, api.EventTypes())
		}
	}
	f.node.mu.RLock()
	v := ledger.NewView(f.node.st)
	evs, _, _, err := api.ReadEvents(v, api.Cursor{Next: prop}, api.EventFilter{Types: []string{"propose", "vote", "roster"}}, 100)
	f.node.mu.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		data, err := json.Marshal(e.Data())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Type)
		switch e.Type {
		case "propose":
			if !strings.Contains(string(data), `"proposal":{"change":"set-role","member":"regulator","role":"court","deadline":900,"reason":"test"}`) {
				t.Errorf("propose event %s", data)
			}
		case "vote":
			if !strings.Contains(string(data), fmt.Sprintf(`"vote":{"proposal":%d,"decision":"approve"}`, prop)) {
				t.Errorf("vote event %s", data)
			}
		case "roster":
			if !strings.Contains(string(data), fmt.Sprintf(`"proposal":%d`, prop)) {
				t.Errorf("roster event %s", data)
			}
		}
	}
	// The fourth approval passes it: the roster entry follows it.
	if want := []string{"propose", "vote", "vote", "vote", "vote", "roster"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// TestGovernanceBadRequests checks that each malformed request is a 400
// (or 404) naming what is wrong, before anything is signed.
func TestGovernanceBadRequests(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)
	key := hex.EncodeToString(f.node.a.Key("bank-a").Public().Bytes())
	tests := []struct {
		name, method, target, body string
		status                     int
		field                      string
	}{
		{"not JSON", "POST", "/v1/proposals", `{`, 400, "body"},
		{"unknown field", "POST", "/v1/proposals", `{"change":"remove","member":"court","x":1}`, 400, "body"},
		{"two objects", "POST", "/v1/proposals", `{"change":"remove","member":"court"}{}`, 400, "body"},
		{"unknown change", "POST", "/v1/proposals", `{"change":"promote","member":"court"}`, 400, "change"},
		{"no member", "POST", "/v1/proposals", `{"change":"remove"}`, 400, "member"},
		{"remove with power", "POST", "/v1/proposals", `{"change":"remove","member":"court","power":1}`, 400, "power"},
		{"set-role without role", "POST", "/v1/proposals", `{"change":"set-role","member":"court"}`, 400, "role"},
		{"bad role", "POST", "/v1/proposals", `{"change":"set-role","member":"court","role":"king"}`, 400, "role"},
		{"set-power without power", "POST", "/v1/proposals", `{"change":"set-power","member":"court"}`, 400, "power"},
		{"short validator", "POST", "/v1/proposals", `{"change":"set-power","member":"court","power":5,"validator":"abcd"}`, 400, "validator"},
		{"add-key with a bad key", "POST", "/v1/proposals", `{"change":"add-key","member":"court","keys":["0102"]}`, 400, "keys"},
		{"add-key with two keys", "POST", "/v1/proposals", `{"change":"add-key","member":"court","keys":["` + key + `","` + key + `"]}`, 400, "keys"},
		{"add without node", "POST", "/v1/proposals", `{"change":"add","member":"x","role":"bank","power":0,"keys":["` + key + `"]}`, 400, "node"},
		{"negative power", "POST", "/v1/proposals", `{"change":"set-power","member":"court","power":-1}`, 400, "body"},
		{"control character in reason", "POST", "/v1/proposals", `{"change":"remove","member":"court","reason":"a\u0007b"}`, 400, "change"},
		{"deadline in the past", "POST", "/v1/proposals", `{"change":"remove","member":"court","deadline":1}`, 422, "bad_deadline"},
		{"duplicate key", "POST", "/v1/proposals", `{"change":"add-key","member":"court","keys":["` + key + `"]}`, 422, "duplicate_key"},
		{"not a member", "POST", "/v1/proposals", `{"change":"remove","member":"nobody"}`, 422, "not_member"},
		{"bad decision", "POST", "/v1/proposals/6/votes", `{"decision":"maybe"}`, 400, "decision"},
		{"vote body with extra", "POST", "/v1/proposals/6/votes", `{"decision":"approve","x":1}`, 400, "body"},
		{"vote on a non-proposal", "POST", "/v1/proposals/6/votes", `{"decision":"approve"}`, 404, "proposal"},
		{"vote on a non-index", "POST", "/v1/proposals/x/votes", `{"decision":"approve"}`, 400, "proposal"},
		{"get a non-proposal", "GET", "/v1/proposals/6", "", 404, "proposal"},
		{"bad status", "GET", "/v1/proposals?status=done", "", 400, "status"},
		{"bad before", "GET", "/v1/proposals?before=0", "", 400, "before"},
		{"version past the newest", "GET", "/v1/roster/versions/7", "", 404, "n"},
		{"bad version", "GET", "/v1/roster/versions/-1", "", 400, "n"},
		{"roster of a bad version", "GET", "/v1/roster?version=x", "", 400, "version"},
		{"roster of an unknown digest", "GET", "/v1/roster?digest=" + strings.Repeat("ab", 32), "", 404, "digest"},
		{"roster of a bad digest", "GET", "/v1/roster?digest=abc", "", 400, "digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if tt.method == "POST" {
				rec = postGovern(t, h, tt.target, tt.body)
			} else {
				rec = serve(t, h, tt.method, tt.target, nil)
			}
			var e client.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil {
				t.Fatalf("%d %s: not an error body", rec.Code, rec.Body)
			}
			got := e.Error.Field
			if tt.status == 422 {
				got = e.Error.Code
			}
			if rec.Code != tt.status || got != tt.field {
				t.Fatalf("%d %s, want %d naming %s", rec.Code, rec.Body, tt.status, tt.field)
			}
		})
	}
	// Without the govern scope: 403; without a token: 401.
	rec := postEvidence(t, h, "/v1/proposals", "Bearer another-token", `{"change":"remove","member":"court"}`)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("with a submit token: %d %s", rec.Code, rec.Body)
	}
	rec = postEvidence(t, h, "/v1/proposals/6/votes", "", `{"decision":"approve"}`)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d %s", rec.Code, rec.Body)
	}
}
