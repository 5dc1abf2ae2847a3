package ledger_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// TestRetrievalRequests walks the rules of requests, refusals and grants
// answering them, in order (each row runs on the state the rows before it
// left), then the views.
func TestRetrievalRequests(t *testing.T) {
	f := newFixture(t)
	bankA, court := f.a.Key("bank-a"), f.a.Key("court")
	r1, dk1 := kept(t, bankA, "LOAN-R", 1, crypto.Hash{}, "authorisation")
	s1 := f.one(f.a.Evidence(bankA, f.now, r1))
	wantCode(t, s1, ledger.CodeOK)
	r2, dk2 := kept(t, bankA, "LOAN-R", 2, f.leafOf(s1.Index), "agreement")
	s2 := f.one(f.a.Evidence(bankA, f.now, r2))
	wantCode(t, s2, ledger.CodeOK)
	plain := f.one(f.a.Evidence(bankA, f.now, rec("LOAN-P", 1, crypto.Hash{}, "no original")))
	wantCode(t, plain, ledger.CodeOK)
	ref1, ref2 := ledger.RecordRef{Index: s1.Index}, ledger.RecordRef{Index: s2.Index}
	refPlain, refNone := ledger.RecordRef{Index: plain.Index}, ledger.RecordRef{Index: 999}
	const caseNo = "(2026)沪0115民初1234号"

	reqRec := func(ref ledger.RecordRef) ledger.Payload { return &ledger.Request{Record: &ref, Purpose: caseNo} }
	reqChain := func(c string) ledger.Payload { return &ledger.Request{Chain: c, Purpose: caseNo} }
	refuse := func(idx *uint64, reason string) func() ledger.Payload {
		return func() ledger.Payload { return &ledger.Refusal{Request: *idx, Reason: reason} }
	}
	key := func(ref ledger.RecordRef, to string, dk crypto.DataKey) ledger.GrantKey {
		return ledger.GrantKey{Ref: ref, Wrapped: wrapTo(t, f.a.Key(to), dk)}
	}
	grant := func(idx *uint64, to, chain string, keys ...func() ledger.GrantKey) func() ledger.Payload {
		return func() ledger.Payload {
			g := &ledger.Grant{Grantee: to, Purpose: caseNo, Chain: chain, Request: *idx}
			for _, k := range keys {
				g.Keys = append(g.Keys, k())
			}
			return g
		}
	}
	k1 := func(to string) func() ledger.GrantKey { return func() ledger.GrantKey { return key(ref1, to, dk1) } }
	k2 := func(to string) func() ledger.GrantKey { return func() ledger.GrantKey { return key(ref2, to, dk2) } }
	fixed := func(p ledger.Payload) func() ledger.Payload { return func() ledger.Payload { return p } }

	var recReq, chainReq, notRequest, grantIdx, refuseIdx uint64
	notRequest = s1.Index
	for _, tc := range []struct {
		name    string
		signer  string
		payload func() ledger.Payload
		want    ledger.Code
		save    *uint64
	}{
		{"a bank may not request", "bank-b", fixed(reqRec(ref1)), ledger.CodeRoleNotAllowed, nil},
		{"a notary may not request", "notary", fixed(reqRec(ref1)), ledger.CodeRoleNotAllowed, nil},
		{"a regulator may not request", "regulator", fixed(reqRec(ref1)), ledger.CodeRoleNotAllowed, nil},
		{"request for no record", "court", fixed(reqRec(refNone)), ledger.CodeUnknownTarget, nil},
		{"request for a record without an original", "court", fixed(reqRec(refPlain)), ledger.CodeNoOriginal, nil},
		{"request for no chain", "court", fixed(reqChain("LOAN-NONE")), ledger.CodeUnknownTarget, nil},
		{"court requests a record", "court", fixed(reqRec(ref1)), ledger.CodeOK, &recReq},
		{"arbitration requests a chain", "arbitration", fixed(reqChain("LOAN-R")), ledger.CodeOK, &chainReq},

		{"refusal by another bank", "bank-b", refuse(&recReq, "不是我们的"), ledger.CodeNotRequestOwner, nil},
		{"refusal by a court", "court", refuse(&recReq, "x"), ledger.CodeRoleNotAllowed, nil},
		{"refusal of an entry that is no request", "bank-a", refuse(&notRequest, "x"), ledger.CodeUnknownRequest, nil},

		{"grant answering a request, to another member", "bank-a", grant(&recReq, "notary", "", k1("notary")), ledger.CodeRequestMismatch, nil},
		{"grant answering a request, by a bank that does not own it", "bank-b", grant(&recReq, "court", "", k1("court")), ledger.CodeRequestMismatch, nil},
		{"grant answering a request, of another record", "bank-a", grant(&recReq, "court", "", k2("court")), ledger.CodeRequestMismatch, nil},
		{"grant answering a record request with the chain", "bank-a", grant(&recReq, "court", "LOAN-R", k1("court"), k2("court")), ledger.CodeRequestMismatch, nil},
		{"grant answering an entry that is no request", "bank-a", grant(&notRequest, "court", "", k1("court")), ledger.CodeUnknownRequest, nil},
		{"grant answering the record request", "bank-a", grant(&recReq, "court", "", k1("court")), ledger.CodeOK, &grantIdx},
		{"second grant answering it", "bank-a", grant(&recReq, "court", "", k1("court")), ledger.CodeRequestAnswered, nil},
		{"refusal of an answered request", "bank-a", refuse(&recReq, "晚了"), ledger.CodeRequestAnswered, nil},

		{"grant answering a chain request with one record", "bank-a", grant(&chainReq, "arbitration", "", k1("arbitration")), ledger.CodeRequestMismatch, nil},
		{"refusal of the chain request", "bank-a", refuse(&chainReq, "该链已依法移交上海分行"), ledger.CodeOK, &refuseIdx},
		{"grant answering a refused request", "bank-a", grant(&chainReq, "arbitration", "LOAN-R", k1("arbitration"), k2("arbitration")), ledger.CodeRequestAnswered, nil},
	} {
		res := f.one(f.a.Sign(f.a.Key(tc.signer), &ledger.Body{ChainID: chainID, Time: f.now, Payload: tc.payload()}))
		if res.Code != tc.want {
			t.Fatalf("%s: code %s (%s), want %s", tc.name, res.Code, res.Log, tc.want)
		}
		if tc.save != nil {
			*tc.save = res.Index
		}
	}

	// Refusal reasons are text: a control character is refused.
	bad := f.a.SignWithText(bankA, &ledger.Body{ChainID: chainID, Time: f.now, Payload: &ledger.Refusal{Request: recReq, Reason: "原因XX"}}, "XX", "\r\n")
	wantCode(t, f.one(bad), ledger.CodeControlChar)

	// The views.
	v := f.view()
	ri, err := v.Request(recReq)
	if err != nil || ri.Requester != "court" || ri.Owner != "bank-a" || ri.Status != ledger.RequestGranted || ri.Answer != grantIdx ||
		ri.Request.Record == nil || *ri.Request.Record != ref1 || ri.Request.Purpose != caseNo {
		t.Fatalf("Request(%d) = %+v, %v", recReq, ri, err)
	}
	ci, err := v.Request(chainReq)
	if err != nil || ci.Requester != "arbitration" || ci.Status != ledger.RequestRefused || ci.Answer != refuseIdx || ci.Reason != "该链已依法移交上海分行" || ci.Request.Chain != "LOAN-R" {
		t.Fatalf("Request(%d) = %+v, %v", chainReq, ci, err)
	}
	if _, err := v.Request(s1.Index); !errors.Is(err, ledger.ErrNotRequest) || !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Request(evidence entry) = %v, want ErrNotRequest and ErrNotFound", err)
	}
	if gi, err := v.Grant(grantIdx); err != nil || gi.Grantee != "court" {
		t.Fatalf("Grant(%d) = %+v, %v", grantIdx, gi, err)
	}
	_, gtx, err := v.Entry(grantIdx)
	if err != nil || gtx.Body.Payload.Details().(*ledger.GrantDetails).Request != recReq {
		t.Fatalf("grant details do not name request %d: %v", recReq, err)
	}

	open := f.one(f.a.Sign(court, &ledger.Body{ChainID: chainID, Time: f.now, Payload: reqChain("LOAN-R")}))
	wantCode(t, open, ledger.CodeOK)
	for _, tc := range []struct {
		name string
		f    ledger.RequestFilter
		want []uint64
	}{
		{"all", ledger.RequestFilter{Limit: 10}, []uint64{recReq, chainReq, open.Index}},
		{"limit", ledger.RequestFilter{Limit: 2}, []uint64{recReq, chainReq}},
		{"from", ledger.RequestFilter{From: chainReq, Limit: 10}, []uint64{chainReq, open.Index}},
		{"open", ledger.RequestFilter{Open: true, Limit: 10}, []uint64{open.Index}},
		{"to bank-a", ledger.RequestFilter{Owner: "bank-a", Limit: 10}, []uint64{recReq, chainReq, open.Index}},
		{"open to bank-a", ledger.RequestFilter{Owner: "bank-a", Open: true, Limit: 10}, []uint64{open.Index}},
		{"to bank-b", ledger.RequestFilter{Owner: "bank-b", Limit: 10}, []uint64{}},
		{"by court", ledger.RequestFilter{Requester: "court", Limit: 10}, []uint64{recReq, open.Index}},
		{"by arbitration to bank-a", ledger.RequestFilter{Requester: "arbitration", Owner: "bank-a", Limit: 10}, []uint64{chainReq}},
		{"by court, open", ledger.RequestFilter{Requester: "court", Open: true, Limit: 10}, []uint64{open.Index}},
		{"no limit", ledger.RequestFilter{}, []uint64{}},
	} {
		got, err := v.Requests(tc.f)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: Requests(%+v) = %v, %v; want %v", tc.name, tc.f, got, err, tc.want)
		}
	}
	if _, _, err := f.view().Authorize("court", ref1, f.now); err != nil {
		t.Errorf("the court may not have the original it was granted: %v", err)
	}
}

// TestGrantRequestEncoding: a grant answering no request keeps the older
// encoding (no request field); one answering a request carries its entry
// after the keys; a present zero is not canonical.
func TestGrantRequestEncoding(t *testing.T) {
	g := ledger.Grant{Grantee: "court", Purpose: "case 1", Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 3}, Wrapped: []byte{1}}}}
	plain, err := ledger.EncodeBody(&ledger.Body{ChainID: chainID, Time: 1, Payload: &g})
	if err != nil {
		t.Fatal(err)
	}
	g.Request = 9
	answering, err := ledger.EncodeBody(&ledger.Body{ChainID: chainID, Time: 1, Payload: &g})
	if err != nil {
		t.Fatal(err)
	}
	if want := append(slices.Clone(plain), 0, 0, 0, 0, 0, 0, 0, 9); !slices.Equal(answering, want) {
		t.Fatalf("grant answering request 9 encodes as %x, want %x", answering, want)
	}
	if b, err := ledger.DecodeBody(answering); err != nil || b.Payload.(*ledger.Grant).Request != 9 {
		t.Fatalf("DecodeBody = %+v, %v", b, err)
	}
	for name, body := range map[string][]byte{
		"present zero": append(slices.Clone(plain), 0, 0, 0, 0, 0, 0, 0, 0),
		"truncated":    append(slices.Clone(plain), 0, 9),
	} {
		var re *ledger.RejectError
		if _, err := ledger.DecodeBody(body); !errors.As(err, &re) || re.Code != ledger.CodeMalformed {
			t.Errorf("%s: DecodeBody = %v, want malformed", name, err)
		}
	}
}

// TestOwnRequest: a member that owns a chain and later becomes a court (a
// roster change) may not request its own originals.
func TestOwnRequest(t *testing.T) {
	f := newFixture(t)
	bankB := f.a.Key("bank-b")
	r, _ := kept(t, bankB, "LOAN-OWN", 1, crypto.Hash{}, "contract")
	s := f.one(f.a.Evidence(bankB, f.now, r))
	wantCode(t, s, ledger.CodeOK)
	p := f.propose("notary", ledger.RosterChange{Kind: ledger.ChangeSetRole, Seat: ledger.Seat{Member: ledger.Member{Name: "bank-b", Role: ledger.RoleCourt}}}, 50)
	wantCode(t, p, ledger.CodeOK)
	f.vote(p.Index, ledger.Approve, "bank-a", "bank-b", "notary", "court")
	f.attest(nil)
	f.block()
	f.block()
	if m, err := f.view().Member("bank-b"); err != nil || m.Role != ledger.RoleCourt {
		t.Fatalf("bank-b after the change: %+v, %v", m, err)
	}
	ref := ledger.RecordRef{Index: s.Index}
	for _, p := range []*ledger.Request{{Record: &ref, Purpose: "(2026)沪0115民初1号"}, {Chain: "LOAN-OWN", Purpose: "(2026)沪0115民初1号"}} {
		wantCode(t, f.one(f.a.Sign(bankB, &ledger.Body{ChainID: chainID, Time: f.now, Payload: p})), ledger.CodeOwnRequest)
	}
	wantCode(t, f.one(f.a.Sign(f.a.Key("court"), &ledger.Body{ChainID: chainID, Time: f.now, Payload: &ledger.Request{Record: &ref, Purpose: "x"}})), ledger.CodeOK)
}
