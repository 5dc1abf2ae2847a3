package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/evidenced/evidenced/certificate"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
)

// view returns a view of the node's committed state (for expected values).
func (f *fixture) view() *ledger.View { return ledger.NewView(f.node.st) }

// roster returns the committed roster.
func (f *fixture) roster(t testing.TB) *ledger.Roster {
	t.Helper()
	r, err := f.view().Roster()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// errorCase is an expected error response.
type errorCase struct {
	name   string
	target string
	status int
	code   string
	field  string
}

// checkErrors requests each case with GET and checks the error response.
func checkErrors(t *testing.T, h http.Handler, cases []errorCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, http.MethodGet, tt.target, nil)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			e := decodeError(t, rec)
			if e.Code != tt.code || e.Field != tt.field {
				t.Errorf("code %q field %q, want %q %q (message %q)", e.Code, e.Field, tt.code, tt.field, e.Message)
			}
		})
	}
}

func TestReceipt(t *testing.T) {
	f := newFixture(t)
	cpHeight := f.trust(t) // covers entries 0 to 10
	// Entry 11 is committed after the trusted checkpoint.
	f.commit(t, 11, f.step3())
	h := api.New(f.node, api.Options{})
	roster := f.roster(t)
	tx7, tx8 := f.txID(t, 7), f.txID(t, 8)

	tests := []struct {
		id    string
		ref   ledger.RecordRef
		chain string
		step  uint32
	}{
		{"6", ledger.RecordRef{Index: 6}, "LOAN-1", 1},
		{"6.0", ledger.RecordRef{Index: 6}, "LOAN-1", 1},
		{"7", ledger.RecordRef{Index: 7}, "LOAN-1", 2},
		{"8.1", ledger.RecordRef{Index: 8, Pos: 1}, "LOAN-3", 1},
		{tx7.String(), ledger.RecordRef{Index: 7}, "LOAN-1", 2},
		{strings.ToUpper(tx7.String()), ledger.RecordRef{Index: 7}, "LOAN-1", 2},
		{tx8.String() + ".1", ledger.RecordRef{Index: 8, Pos: 1}, "LOAN-3", 1},
		{"10", ledger.RecordRef{Index: 10}, "LOAN-4", 1},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			rec := serve(t, h, http.MethodGet, "/v1/evidence/"+tt.id+"/receipt", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d; body %s", rec.Code, rec.Body)
			}
			checkHeaders(t, rec, cacheImmutable)
			got, err := receipt.Parse(rec.Body.Bytes())
			if err != nil {
				t.Fatalf("the response is not a receipt: %v", err)
			}
			want, err := receipt.Build(f.view(), tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if got.LeafIndex != tt.ref.Index || got.Record.Pos != tt.ref.Pos || got.Record.Chain != tt.chain || got.Record.Step != tt.step ||
				got.TreeSize != 11 || !bytes.Equal(got.Leaf, f.entryBytes(t, tt.ref.Index)) || len(got.Signatures) != 5 {
				t.Errorf("receipt of %+v: index %d pos %d chain %s step %d tree size %d, %d signatures",
					tt.ref, got.LeafIndex, got.Record.Pos, got.Record.Chain, got.Record.Step, got.TreeSize, len(got.Signatures))
			}
			if !strings.Contains(got.Checkpoint, fmt.Sprintf("\nheight %d\n", cpHeight)) {
				t.Errorf("checkpoint %q is not the one of height %d", got.Checkpoint, cpHeight)
			}
			if rep := receipt.Verify(got, roster, receipt.VerifyOptions{}); !rep.OK {
				t.Errorf("the served receipt does not verify offline: %+v", rep)
			}
		})
	}

	// The receipt of attest entry 9 proves its attestation, by index or by
	// transaction id.
	for _, id := range []string{"9", f.txID(t, 9).String()} {
		t.Run("attestation "+id, func(t *testing.T) {
			rec := serve(t, h, http.MethodGet, "/v1/evidence/"+id+"/receipt", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d; body %s", rec.Code, rec.Body)
			}
			got, err := receipt.Parse(rec.Body.Bytes())
			if err != nil {
				t.Fatalf("the response is not a receipt: %v", err)
			}
			want, err := receipt.BuildAttestation(f.view(), 9)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) || got.Attestation == nil || got.Attestation.Statement != "notarised" || got.Attestation.Signer != "notary" ||
				bytes.Contains(rec.Body.Bytes(), []byte(`"record"`)) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			rep := receipt.Verify(got, roster, receipt.VerifyOptions{})
			if !rep.OK || rep.Steps[3].Name != receipt.StepAttestation {
				t.Errorf("the served receipt does not verify offline: %+v", rep)
			}
		})
	}

	t.Run("not yet covered", func(t *testing.T) {
		rec := serve(t, h, http.MethodGet, "/v1/evidence/11/receipt", nil)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" {
			t.Fatalf("status %d Retry-After %q, want 503 and 2", rec.Code, rec.Header().Get("Retry-After"))
		}
		e := decodeError(t, rec)
		if e.Code != "unavailable" || e.Message != "no trusted checkpoint covers entry 11 yet" {
			t.Errorf("code %q message %q", e.Code, e.Message)
		}
		// Once a checkpoint covers it, the receipt is there.
		f.trust(t)
		if rec := serve(t, h, http.MethodGet, "/v1/evidence/11/receipt", nil); rec.Code != http.StatusOK {
			t.Fatalf("after a covering checkpoint: status %d; body %s", rec.Code, rec.Body)
		}
		// And the receipt of an older record still uses the earliest
		// covering checkpoint: it never changes.
		r6, err := receipt.Parse(serve(t, h, http.MethodGet, "/v1/evidence/6/receipt", nil).Body.Bytes())
		if err != nil || r6.TreeSize != 11 {
			t.Errorf("receipt of 6 after a second checkpoint: tree size %v, %v", r6, err)
		}
	})

	t.Run("from the genesis roster", func(t *testing.T) {
		d, err := roster.Digest()
		if err != nil {
			t.Fatal(err)
		}
		rec := serve(t, h, http.MethodGet, "/v1/evidence/6/receipt?from_roster="+d.String(), nil)
		got, err := receipt.Parse(rec.Body.Bytes())
		if rec.Code != http.StatusOK || err != nil {
			t.Fatalf("status %d, %v; body %s", rec.Code, err, rec.Body)
		}
		want, err := receipt.Build(f.view(), ledger.RecordRef{Index: 6})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || got.RosterPath != nil {
			t.Errorf("from the genesis roster: got %+v\nwant %+v", got, want)
		}
	})

	zero := strings.Repeat("0", 64)
	checkErrors(t, h, []errorCase{
		{"unknown roster", "/v1/evidence/6/receipt?from_roster=" + zero, 400, "bad_request", "from_roster"},
		{"not a roster digest", "/v1/evidence/6/receipt?from_roster=genesis", 400, "bad_request", "from_roster"},
		{"two roster digests", "/v1/evidence/6/receipt?from_roster=" + zero + "&from_roster=" + zero, 400, "bad_request", "from_roster"},
		{"register entry", "/v1/evidence/0/receipt", 404, "not_found", "id"},
		{"attestation entry at a position", "/v1/evidence/9.1/receipt", 404, "not_found", "id"},
		{"position beyond the batch", "/v1/evidence/8.2/receipt", 404, "not_found", "id"},
		{"unknown entry", "/v1/evidence/99/receipt", 404, "not_found", "id"},
		{"unknown tx", "/v1/evidence/" + zero + "/receipt", 404, "not_found", "id"},
		{"not a number", "/v1/evidence/abc/receipt", 400, "bad_request", "id"},
		{"leading zero", "/v1/evidence/06/receipt", 400, "bad_request", "id"},
		{"negative", "/v1/evidence/-1/receipt", 400, "bad_request", "id"},
		{"bad position", "/v1/evidence/6.x/receipt", 400, "bad_request", "id"},
		{"position too large", "/v1/evidence/6.65536/receipt", 400, "bad_request", "id"},
		{"two positions", "/v1/evidence/6.1.1/receipt", 400, "bad_request", "id"},
		{"short tx id", "/v1/evidence/" + zero[:63] + "/receipt", 400, "bad_request", "id"},
	})
}

func TestCheckpoints(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	checkErrors(t, h, []errorCase{{"none yet", "/v1/checkpoints/latest", 404, "not_found", "height"}})

	first := f.trust(t)
	roster := f.roster(t)
	check := func(t *testing.T, target string, cache string, height int64, size uint64) {
		t.Helper()
		cf := decodeOK[receipt.CheckpointFile](t, serve(t, h, http.MethodGet, target, nil), http.StatusOK, cache)
		root, err := f.view().RootAt(size)
		if err != nil {
			t.Fatal(err)
		}
		if cf.Height != height || cf.TreeSize != size || cf.Root != root || len(cf.Signatures) != 5 {
			t.Errorf("%s: height %d size %d root %s, %d signatures; want %d %d %s 5", target, cf.Height, cf.TreeSize, cf.Root, len(cf.Signatures), height, size, root)
		}
		want := string(ledger.CheckpointText("evidenced-test", size, root, height, blockTime(height)))
		if cf.Checkpoint != want {
			t.Errorf("%s: checkpoint %q, want %q", target, cf.Checkpoint, want)
		}
		cp, err := receipt.VerifyCheckpoint(&cf, roster)
		if err != nil || cp.Size != size {
			t.Errorf("%s: the checkpoint does not verify against the roster: %v", target, err)
		}
	}
	check(t, "/v1/checkpoints/latest", cacheNone, first, 11)
	check(t, fmt.Sprintf("/v1/checkpoints/%d", first), cacheImmutable, first, 11)

	f.commit(t, 11, f.step3())
	second := f.trust(t)
	check(t, "/v1/checkpoints/latest", cacheNone, second, 12)
	check(t, fmt.Sprintf("/v1/checkpoints/%d", second), cacheImmutable, second, 12)
	check(t, fmt.Sprintf("/v1/checkpoints/%d", first), cacheImmutable, first, 11)

	checkErrors(t, h, []errorCase{
		{"height without checkpoint", "/v1/checkpoints/4", 404, "not_found", "height"},
		{"height beyond the chain", "/v1/checkpoints/1000", 404, "not_found", "height"},
		{"not a height", "/v1/checkpoints/newest", 400, "bad_request", "height"},
		{"negative", "/v1/checkpoints/-1", 400, "bad_request", "height"},
		{"leading zero", "/v1/checkpoints/05", 400, "bad_request", "height"},
		{"overflow", "/v1/checkpoints/9223372036854775808", 400, "bad_request", "height"},
	})
}

func TestProofs(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	v := f.view()
	root := func(size uint64) crypto.Hash {
		r, err := v.RootAt(size)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct{ from, to uint64 }{{1, 11}, {6, 11}, {7, 8}, {11, 11}} {
		t.Run(fmt.Sprintf("consistency %d-%d", c.from, c.to), func(t *testing.T) {
			target := fmt.Sprintf("/v1/proofs/consistency?from=%d&to=%d", c.from, c.to)
			rec := serve(t, h, http.MethodGet, target, nil)
			p := decodeOK[client.ConsistencyProof](t, rec, http.StatusOK, cacheImmutable)
			if p.From != c.from || p.To != c.to || p.FromRoot != root(c.from) || p.ToRoot != root(c.to) {
				t.Errorf("got %+v", p)
			}
			if err := ledger.VerifyConsistency(c.from, c.to, p.Proof, root(c.from), root(c.to)); err != nil {
				t.Errorf("proof does not verify: %v", err)
			}
			if c.from == c.to && !strings.Contains(rec.Body.String(), `"proof":[]`) {
				t.Errorf("empty proof not written as []: %s", rec.Body)
			}
		})
	}
	for _, c := range []struct{ index, size uint64 }{{0, 1}, {6, 11}, {10, 11}, {3, 7}} {
		t.Run(fmt.Sprintf("inclusion %d in %d", c.index, c.size), func(t *testing.T) {
			target := fmt.Sprintf("/v1/proofs/inclusion?index=%d&size=%d", c.index, c.size)
			p := decodeOK[client.InclusionProof](t, serve(t, h, http.MethodGet, target, nil), http.StatusOK, cacheImmutable)
			if p.Index != c.index || p.Size != c.size || p.Root != root(c.size) {
				t.Errorf("got %+v", p)
			}
			if err := ledger.VerifyInclusion(f.entryBytes(t, c.index), c.index, c.size, p.Proof, root(c.size)); err != nil {
				t.Errorf("proof does not verify: %v", err)
			}
		})
	}
	checkErrors(t, h, []errorCase{
		{"from missing", "/v1/proofs/consistency?to=5", 400, "bad_request", "from"},
		{"to missing", "/v1/proofs/consistency?from=5", 400, "bad_request", "to"},
		{"from zero", "/v1/proofs/consistency?from=0&to=5", 400, "bad_request", "from"},
		{"from after to", "/v1/proofs/consistency?from=6&to=5", 400, "bad_request", "from"},
		{"to beyond the log", "/v1/proofs/consistency?from=1&to=12", 400, "bad_request", "to"},
		{"from not a number", "/v1/proofs/consistency?from=x&to=5", 400, "bad_request", "from"},
		{"to negative", "/v1/proofs/consistency?from=1&to=-5", 400, "bad_request", "to"},
		{"bad query", "/v1/proofs/consistency?from=%zz", 400, "bad_request", "query"},
		{"index missing", "/v1/proofs/inclusion?size=5", 400, "bad_request", "index"},
		{"size missing", "/v1/proofs/inclusion?index=5", 400, "bad_request", "size"},
		{"index at size", "/v1/proofs/inclusion?index=5&size=5", 400, "bad_request", "index"},
		{"size beyond the log", "/v1/proofs/inclusion?index=5&size=12", 400, "bad_request", "size"},
		{"size not a number", "/v1/proofs/inclusion?index=5&size=1e3", 400, "bad_request", "size"},
	})
}

func TestRoster(t *testing.T) {
	f := newFixture(t)
	h := api.New(f.node, api.Options{})
	got := decodeOK[client.RosterResponse](t, serve(t, h, http.MethodGet, "/v1/roster", nil), http.StatusOK, cacheNone)
	want := f.roster(t)
	digest, err := want.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got.Roster, want) || got.Digest != digest {
		t.Errorf("got %+v digest %s\nwant %+v digest %s", got.Roster, got.Digest, want, digest)
	}
	if got.ChainID != "evidenced-test" || len(got.Members) != 6 || got.Members[1].Name != "bank-a" ||
		got.Members[1].Keys[0] != fmt.Sprintf("%x", f.node.a.Key("bank-a").Public().Bytes()) {
		t.Errorf("roster %+v", got.Roster)
	}
	// The roster part is a roster file as the offline verifier reads it.
	b, err := json.Marshal(got.Roster)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := receipt.ParseRoster(b); err != nil {
		t.Errorf("the roster does not parse as a roster file: %v", err)
	}
}

// testToken is the admin bearer token of evidenceHandler.
const testToken = "s3cret-token"

// testTokens are evidenceHandler's tokens: testToken with the admin scope
// and another one.
var testTokens = []api.Token{api.NewToken(testToken, api.ScopeAdmin), api.NewToken("another-token", api.ScopeSubmit)}

// evidenceHandler returns an API whose POST /v1/evidence signs with
// bank-a's key (unless opts has a Signer, or noSigner) at the fixture's
// genesis time.
func (f *fixture) evidenceHandler(opts api.Options, noSigner bool) http.Handler {
	key := f.node.a.Key("bank-a")
	if opts.Signer == nil && !noSigner {
		opts.Signer = func(_ context.Context, b *ledger.Body) ([]byte, error) { return ledger.SignTx(key, rand.Reader, b) }
	}
	if opts.Tokens == nil {
		opts.Tokens = testTokens
	}
	opts.Now = func() time.Time { return time.Unix(0, ledgertest.GenesisTime) }
	if opts.Issuer == nil {
		if font, err := certificate.LoadFont(""); err == nil {
			opts.Issuer = &api.Issuer{Member: "notary", Key: f.node.a.Key("notary"), Font: func() ([]byte, error) { return font, nil }, ExplorerURL: "http://explorer.example:8080"}
		}
	}
	return api.New(f.node, opts)
}

// postEvidence sends body to POST target with the given Authorization
// header ("" for none).
func postEvidence(t *testing.T, h http.Handler, target, auth, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSubmitEvidence(t *testing.T) {
	f := newFixture(t)
	h := f.evidenceHandler(api.Options{}, false)
	bearer := "Bearer " + testToken
	c9, c10 := ledgertest.Commitment("loan9"), ledgertest.Commitment("loan10")
	cipher := ledgertest.Commitment("cipher")

	// A new chain, with labels and a cipher.
	body := fmt.Sprintf(`{"kind": "loan-contract", "chain": "LOAN-9", "step": 1, "commitment": %q, "size": 5,
		"cipher": %q, "labels": {"product": "consumer-loan", "channel": "app"}}`, strings.ToUpper(c9.String()), cipher)
	res := decodeOK[client.SubmitResult](t, postEvidence(t, h, "/v1/evidence", bearer, body), http.StatusOK, cacheNone)
	if res.Status != "committed" || res.Index != 11 || res.Signer != "bank-a" || res.Type != "evidence" || !reflect.DeepEqual(res.Chains, []string{"LOAN-9"}) {
		t.Fatalf("result %+v", res)
	}
	e := decodeOK[client.Entry](t, serve(t, h, http.MethodGet, "/v1/entries/11", nil), http.StatusOK, cacheImmutable)
	wantRec := []client.Record{{Kind: "loan-contract", Chain: "LOAN-9", Step: 1, Commitment: c9, Size: 5, Cipher: &cipher,
		Labels: map[string]string{"channel": "app", "product": "consumer-loan"}}}
	if !reflect.DeepEqual(e.Records, wantRec) || e.TxID != res.TxID || e.SignerKey != f.node.a.Key("bank-a").Public().ID() ||
		!e.ClientTime.Equal(time.Unix(0, ledgertest.GenesisTime)) || e.ChainID != "evidenced-test" {
		t.Errorf("entry %+v", e)
	}

	// A later step without prev: the node fills in the chain's head.
	body = fmt.Sprintf(`{"kind": "disbursement", "chain": "LOAN-1", "step": 3, "commitment": %q, "size": 7}`, c10)
	res = decodeOK[client.SubmitResult](t, postEvidence(t, h, "/v1/evidence?wait=commit&timeout=5s", "bearer "+testToken, body), http.StatusOK, cacheNone)
	e = decodeOK[client.Entry](t, serve(t, h, http.MethodGet, fmt.Sprintf("/v1/entries/%d", res.Index), nil), http.StatusOK, cacheImmutable)
	if res.Index != 12 || e.Records[0].Prev != f.leaf(t, 7) || e.Records[0].Step != 3 {
		t.Errorf("step 3: index %d prev %s, want 12 and the leaf hash of entry 7 %s", res.Index, e.Records[0].Prev, f.leaf(t, 7))
	}

	// A batch: one with prev given, one filled in.
	body = fmt.Sprintf(`{"records": [
		{"kind": "repayment", "chain": "LOAN-1", "step": 4, "prev": %q, "commitment": %q, "size": 1},
		{"kind": "repayment", "chain": "LOAN-9", "step": 2, "commitment": %q, "size": 2}]}`, f.leaf(t, 12), c10, c9)
	res = decodeOK[client.SubmitResult](t, postEvidence(t, h, "/v1/evidence", bearer, body), http.StatusOK, cacheNone)
	e = decodeOK[client.Entry](t, serve(t, h, http.MethodGet, fmt.Sprintf("/v1/entries/%d", res.Index), nil), http.StatusOK, cacheImmutable)
	if res.Type != "batch" || !reflect.DeepEqual(res.Chains, []string{"LOAN-1", "LOAN-9"}) || len(e.Records) != 2 ||
		e.Records[0].Prev != f.leaf(t, 12) || e.Records[1].Prev != f.leaf(t, 11) {
		t.Errorf("batch: result %+v records %+v", res, e.Records)
	}

	// wait=sync answers 202 with the tx id.
	body = fmt.Sprintf(`{"kind": "loan-contract", "chain": "LOAN-20", "step": 1, "commitment": %q, "size": 0}`, c9)
	res = decodeOK[client.SubmitResult](t, postEvidence(t, h, "/v1/evidence?wait=sync", bearer, body), http.StatusAccepted, cacheNone)
	if res.Status != "pending" || res.TxID == (crypto.Hash{}) {
		t.Errorf("sync: %+v", res)
	}
}

func TestSubmitEvidenceErrors(t *testing.T) {
	c := ledgertest.Commitment("c").String()
	rec := func(fields string) string {
		return `{"kind": "loan-contract", "chain": "LOAN-50", "step": 1, "commitment": "` + c + `", "size": 1` + fields + `}`
	}
	labels := make([]string, 17)
	for i := range labels {
		labels[i] = fmt.Sprintf(`"k%d": "v"`, i)
	}
	bearer := "Bearer " + testToken
	tests := []struct {
		name   string
		opts   api.Options
		target string
		auth   string
		body   string
		knob   func(n *memNode)
		status int
		code   string
		field  string
		header string
	}{
		{name: "no signer", opts: api.Options{Tokens: testTokens}, auth: bearer, body: rec(""), status: 403, code: "forbidden"},
		{name: "no tokens", opts: api.Options{Tokens: []api.Token{}}, auth: bearer, body: rec(""), status: 403, code: "forbidden"},
		{name: "no Authorization", body: rec(""), status: 401, code: "unauthorized", field: "Authorization", header: `WWW-Authenticate: Bearer realm="evidenced"`},
		{name: "basic auth", auth: "Basic czNjcmV0", body: rec(""), status: 401, code: "unauthorized", field: "Authorization"},
		{name: "wrong token", auth: "Bearer s3cret", body: rec(""), status: 401, code: "unauthorized", field: "Authorization"},
		{name: "token prefix", auth: bearer + "x", body: rec(""), status: 401, code: "unauthorized", field: "Authorization"},
		{name: "empty token", auth: "Bearer", body: rec(""), status: 401, code: "unauthorized", field: "Authorization"},

		{name: "empty body", auth: bearer, body: "", status: 400, code: "bad_request", field: "body"},
		{name: "not JSON", auth: bearer, body: "kind=loan", status: 400, code: "bad_request", field: "body"},
		{name: "truncated", auth: bearer, body: `{"kind": "loan-contract"`, status: 400, code: "bad_request", field: "body"},
		{name: "array", auth: bearer, body: `[]`, status: 400, code: "bad_request", field: "body"},
		{name: "two objects", auth: bearer, body: rec("") + rec(""), status: 400, code: "bad_request", field: "body"},
		{name: "unknown field", auth: bearer, body: rec(`, "salt": "00"`), status: 400, code: "bad_request", field: "salt"},
		{name: "kind missing", auth: bearer, body: `{"chain": "LOAN-50", "step": 1, "commitment": "` + c + `", "size": 1}`, status: 400, code: "bad_request", field: "kind"},
		{name: "bad kind", auth: bearer, body: strings.Replace(rec(""), "loan-contract", "Loan Contract", 1), status: 400, code: "bad_request", field: "kind"},
		{name: "bad chain", auth: bearer, body: strings.Replace(rec(""), "LOAN-50", "-LOAN", 1), status: 400, code: "bad_request", field: "chain"},
		{name: "chain a number", auth: bearer, body: strings.Replace(rec(""), `"LOAN-50"`, "50", 1), status: 400, code: "bad_request", field: "chain"},
		{name: "step 0", auth: bearer, body: strings.Replace(rec(""), `"step": 1`, `"step": 0`, 1), status: 400, code: "bad_request", field: "step"},
		{name: "step negative", auth: bearer, body: strings.Replace(rec(""), `"step": 1`, `"step": -1`, 1), status: 400, code: "bad_request", field: "step"},
		{name: "step a string", auth: bearer, body: strings.Replace(rec(""), `"step": 1`, `"step": "1"`, 1), status: 400, code: "bad_request", field: "step"},
		{name: "step too large", auth: bearer, body: strings.Replace(rec(""), `"step": 1`, `"step": 4294967296`, 1), status: 400, code: "bad_request", field: "step"},
		{name: "commitment short", auth: bearer, body: strings.Replace(rec(""), c, c[:62], 1), status: 400, code: "bad_request", field: "commitment"},
		{name: "commitment zero", auth: bearer, body: strings.Replace(rec(""), c, strings.Repeat("0", 64), 1), status: 400, code: "bad_request", field: "commitment"},
		{name: "commitment missing", auth: bearer, body: `{"kind": "k", "chain": "C", "step": 1, "size": 1}`, status: 400, code: "bad_request", field: "commitment"},
		{name: "size missing", auth: bearer, body: `{"kind": "k", "chain": "C", "step": 1, "commitment": "` + c + `"}`, status: 400, code: "bad_request", field: "size"},
		{name: "size fraction", auth: bearer, body: strings.Replace(rec(""), `"size": 1`, `"size": 1.5`, 1), status: 400, code: "bad_request", field: "size"},
		{name: "prev on step 1", auth: bearer, body: rec(`, "prev": "` + c + `"`), status: 400, code: "bad_request", field: "prev"},
		{name: "prev not hex", auth: bearer, body: strings.Replace(rec(`, "prev": "xyz"`), `"step": 1`, `"step": 2`, 1), status: 400, code: "bad_request", field: "prev"},
		{name: "cipher not hex", auth: bearer, body: rec(`, "cipher": "xyz"`), status: 400, code: "bad_request", field: "cipher"},
		{name: "too many labels", auth: bearer, body: rec(`, "labels": {` + strings.Join(labels, ",") + `}`), status: 400, code: "bad_request", field: "labels"},
		{name: "bad label key", auth: bearer, body: rec(`, "labels": {"Name": "x"}`), status: 400, code: "bad_request", field: "labels"},
		{name: "control character in a label value", auth: bearer, body: rec(`, "labels": {"name": "a\u0007b"}`), status: 400, code: "bad_request", field: "labels"},
		{name: "bidi override in a label value", auth: bearer, body: rec(`, "labels": {"name": "\u202eab"}`), status: 400, code: "bad_request", field: "labels"},
		{name: "label value not a string", auth: bearer, body: rec(`, "labels": {"n": 1}`), status: 400, code: "bad_request", field: "labels"},
		{name: "empty batch", auth: bearer, body: `{"records": []}`, status: 400, code: "bad_request", field: "records"},
		{name: "batch with a top-level field", auth: bearer, body: `{"kind": "k", "records": [` + rec("") + `]}`, status: 400, code: "bad_request", field: "kind"},
		{name: "batch record field missing", auth: bearer, body: `{"records": [` + rec("") + `, {"kind": "k", "chain": "C", "commitment": "` + c + `", "size": 1}]}`,
			status: 400, code: "bad_request", field: "records[1].step"},
		{name: "batch record field type", auth: bearer, body: `{"records": [{"step": "x"}]}`, status: 400, code: "bad_request", field: "records.step"},
		{name: "records not an array", auth: bearer, body: `{"records": {}}`, status: 400, code: "bad_request", field: "records"},
		{name: "body too large", opts: api.Options{MaxBodyBytes: 64}, auth: bearer, body: rec(""), status: 413, code: "too_large", field: "body"},
		{name: "bad wait", target: "/v1/evidence?wait=later", auth: bearer, body: rec(""), status: 400, code: "bad_request", field: "wait"},

		{name: "later step of an unknown chain", auth: bearer, body: strings.Replace(rec(""), `"step": 1`, `"step": 2`, 1), status: 422, code: "chain_step", field: "step"},
		{name: "batch: later step of an unknown chain", auth: bearer,
			body:   `{"records": [` + rec("") + `, ` + strings.Replace(strings.Replace(rec(""), `"step": 1`, `"step": 2`, 1), "LOAN-50", "LOAN-51", 1) + `]}`,
			status: 422, code: "chain_step", field: "records[1].step"},
		{name: "step out of order", auth: bearer, body: strings.Replace(strings.Replace(rec(""), `"step": 1`, `"step": 5`, 1), "LOAN-50", "LOAN-1", 1),
			status: 422, code: "chain_step", field: "step"},
		{name: "batch repeats a chain", auth: bearer, body: `{"records": [` + rec("") + `, ` + rec("") + `]}`, status: 422, code: "batch_chain_repeat", field: "records"},
		{name: "step 1 of an existing chain", auth: bearer, body: strings.Replace(rec(""), "LOAN-50", "LOAN-1", 1), status: 422, code: "chain_step", field: "step"},
		{name: "signer fails", opts: api.Options{Signer: func(context.Context, *ledger.Body) ([]byte, error) { return nil, errors.New("HSM offline") }},
			auth: bearer, body: rec(""), status: 500, code: "internal"},
		{name: "signer returns garbage", opts: api.Options{Signer: func(context.Context, *ledger.Body) ([]byte, error) { return []byte("tx"), nil }},
			auth: bearer, body: rec(""), status: 500, code: "internal"},
		{name: "overloaded", auth: bearer, body: rec(""), knob: func(n *memNode) { n.overloaded = true }, status: 503, code: "unavailable", header: "Retry-After: 1"},
		{name: "commit timeout", target: "/v1/evidence?timeout=10ms", auth: bearer, body: rec(""), knob: func(n *memNode) { n.hang = true }, status: 504, code: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.knob != nil {
				tt.knob(f.node)
			}
			h := f.evidenceHandler(tt.opts, tt.name == "no signer")
			target := tt.target
			if target == "" {
				target = "/v1/evidence"
			}
			rec := postEvidence(t, h, target, tt.auth, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			e := decodeError(t, rec)
			if e.Code != tt.code || e.Field != tt.field {
				t.Errorf("code %q field %q, want %q %q (message %q)", e.Code, e.Field, tt.code, tt.field, e.Message)
			}
			if tt.header != "" {
				name, value, _ := strings.Cut(tt.header, ": ")
				if got := rec.Header().Get(name); got != value {
					t.Errorf("%s: %q, want %q", name, got, value)
				}
			}
			if f.node.height != 5 && tt.status != 200 {
				t.Errorf("a rejected request committed a block (height %d)", f.node.height)
			}
		})
	}
}

// TestClientReceipts drives the new endpoints with package client over
// real HTTP.
func TestClientReceipts(t *testing.T) {
	f := newFixture(t)
	cpHeight := f.trust(t)
	srv := httptest.NewServer(f.evidenceHandler(api.Options{}, false))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	r, err := c.Receipt(ctx, "8.1")
	if err != nil || r.LeafIndex != 8 || r.Record.Chain != "LOAN-3" {
		t.Fatalf("receipt: %+v, %v", r, err)
	}
	roster, digest, err := c.Roster(ctx)
	if err != nil || digest != r.RosterDigest {
		t.Fatalf("roster: digest %s, %v; receipt says %s", digest, err, r.RosterDigest)
	}
	if rep := receipt.Verify(r, roster, receipt.VerifyOptions{}); !rep.OK {
		t.Errorf("receipt does not verify: %+v", rep)
	}
	latest, err := c.LatestCheckpoint(ctx)
	if err != nil || latest.Height != cpHeight {
		t.Fatalf("latest checkpoint: %+v, %v", latest, err)
	}
	byHeight, err := c.Checkpoint(ctx, cpHeight)
	if err != nil || !reflect.DeepEqual(byHeight, latest) {
		t.Fatalf("checkpoint %d: %+v, %v", cpHeight, byHeight, err)
	}
	ip, err := c.InclusionProof(ctx, 8, latest.TreeSize)
	if err != nil || ip.Root != latest.Root || ledger.VerifyInclusion(r.Leaf, 8, ip.Size, ip.Proof, latest.Root) != nil {
		t.Fatalf("inclusion proof: %+v, %v", ip, err)
	}

	res, err := c.SubmitEvidence(ctx, testToken, client.EvidenceRequest{EvidenceRecord: client.EvidenceRecord{
		Kind: "loan-contract", Chain: "LOAN-1", Step: 3, Commitment: ledgertest.Commitment("3"), Size: 3}})
	if err != nil || res.Index != 11 {
		t.Fatalf("submit evidence: %+v, %v", res, err)
	}
	res, err = c.SubmitEvidence(ctx, testToken, client.EvidenceRequest{Records: []client.EvidenceRecord{
		{Kind: "loan-contract", Chain: "LOAN-1", Step: 4, Commitment: ledgertest.Commitment("4"), Size: 4, Labels: map[string]string{"a": "b"}},
		{Kind: "loan-contract", Chain: "LOAN-8", Step: 1, Commitment: ledgertest.Commitment("8"), Size: 0},
	}})
	if err != nil || res.Index != 12 || res.Type != "batch" {
		t.Fatalf("submit batch: %+v, %v", res, err)
	}
	second := f.trust(t)
	cp, err := c.ConsistencyProof(ctx, latest.TreeSize, 13)
	if err != nil || cp.FromRoot != latest.Root || ledger.VerifyConsistency(cp.From, cp.To, cp.Proof, latest.Root, cp.ToRoot) != nil {
		t.Fatalf("consistency proof: %+v, %v", cp, err)
	}
	newer, err := c.LatestCheckpoint(ctx)
	if err != nil || newer.Height != second || newer.Root != cp.ToRoot {
		t.Fatalf("latest after a second checkpoint: %+v, %v", newer, err)
	}
	if err := receipt.VerifyConsistency(latest, newer, cp.Proof, roster); err != nil {
		t.Errorf("the newer checkpoint does not extend the older one: %v", err)
	}

	_, err = c.SubmitEvidence(ctx, "wrong", client.EvidenceRequest{EvidenceRecord: client.EvidenceRecord{
		Kind: "k", Chain: "C-1", Step: 1, Commitment: ledgertest.Commitment("x")}})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 401 || ce.Code != client.CodeUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
	if ar, err := c.Receipt(ctx, "9"); err != nil || ar.Attestation == nil || ar.LeafIndex != 9 {
		t.Errorf("receipt of an attestation: %+v, %v", ar, err)
	}
	_, err = c.Receipt(ctx, "9.1")
	if !errors.As(err, &ce) || ce.Status != 404 || ce.Field != "id" {
		t.Errorf("receipt of an attestation's position 1: %v", err)
	}
}
