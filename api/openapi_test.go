package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/tsa"
)

// openAPIDoc fetches and decodes GET /v1/openapi.json.
func openAPIDoc(t *testing.T, h http.Handler) map[string]any {
	t.Helper()
	rec := serve(t, h, http.MethodGet, "/v1/openapi.json", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: status %d", rec.Code)
	}
	checkHeaders(t, rec, cacheNone)
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	return doc
}

// resolve follows a local $ref ("#/components/...") in doc.
func resolve(doc map[string]any, ref string) (map[string]any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, part)
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q is not an object", ref)
	}
	return m, nil
}

// deref resolves o if it is a $ref.
func deref(doc, o map[string]any) (map[string]any, error) {
	for range 10 {
		ref, ok := o["$ref"].(string)
		if !ok {
			return o, nil
		}
		var err error
		if o, err = resolve(doc, ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// validate checks v against schema and returns what does not match, with
// the JSON path of each problem: types, required properties, no
// undocumented properties where additionalProperties is false, enums,
// patterns, base64 of format byte, oneOf and allOf.
func validate(doc, schema map[string]any, v any, path string) []string {
	schema, err := deref(doc, schema)
	if err != nil {
		return []string{path + ": " + err.Error()}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if all, ok := schema["allOf"].([]any); ok {
		for _, s := range all {
			errs = append(errs, validate(doc, s.(map[string]any), v, path)...)
		}
	}
	if one, ok := schema["oneOf"].([]any); ok {
		matches := 0
		for _, s := range one {
			if len(validate(doc, s.(map[string]any), v, path)) == 0 {
				matches++
			}
		}
		if matches != 1 {
			fail("matches %d of the oneOf schemas, want exactly 1", matches)
		}
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || fmt.Sprint(e) == fmt.Sprint(v)
		}
		if !found {
			fail("%v is not one of %v", v, enum)
		}
	}
	switch schema["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			fail("%T is not an object", v)
			return errs
		}
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asSlice(schema["required"]) {
			if _, ok := m[r.(string)]; !ok {
				fail("required property %q is missing", r)
			}
		}
		for k, pv := range m {
			ps, ok := props[k].(map[string]any)
			switch {
			case ok:
				errs = append(errs, validate(doc, ps, pv, path+"."+k)...)
			case schema["additionalProperties"] == false:
				fail("property %q is not in the document", k)
			default:
				if as, ok := schema["additionalProperties"].(map[string]any); ok {
					errs = append(errs, validate(doc, as, pv, path+"."+k)...)
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			fail("%T is not an array", v)
			return errs
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range a {
				errs = append(errs, validate(doc, items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			fail("%T is not a string", v)
			return errs
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
			fail("%q does not match %s", s, p)
		}
		if schema["format"] == "byte" {
			if _, err := base64.StdEncoding.Strict().DecodeString(s); err != nil {
				fail("%q is not standard base64", s)
			}
		}
	case "integer":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			if _, err := strconv.ParseUint(string(n), 10, 64); !ok || err != nil {
				fail("%v is not an integer", v)
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("%T is not a boolean", v)
		}
	}
	return errs
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestOpenAPI walks the OpenAPI document and checks it against the real
// handler: every documented operation exists, answers only documented
// statuses, and its 200 bodies match the documented schema; it documents
// the scope its token needs; every registered endpoint is documented.
func TestOpenAPI(t *testing.T) {
	f := newFixture(t)
	cpHeight := f.trust(t)
	f.stamp(t, cpHeight)
	h := f.evidenceHandler(api.Options{}, false)
	doc := openAPIDoc(t, h)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Fatalf("openapi %q, want 3.0.x", v)
	}
	// Every $ref in the document resolves.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := resolve(doc, ref); err != nil {
					t.Error(err)
				}
				if len(v) != 1 {
					t.Errorf("$ref %s has siblings, which OpenAPI 3.0 ignores", ref)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)

	// Values that must name things in the fixture; others come from the
	// document's examples.
	// A proposal to vote on, and the genesis roster's digest.
	prop, err := f.node.govern(context.Background(), "court", &ledger.Proposal{Change: ledger.RosterChange{Kind: ledger.ChangeSetPower,
		Seat: ledger.Seat{Member: ledger.Member{Name: "court", Power: 5}}}, Deadline: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// A retrieval request of the court for a chain of bank-a's, which the
	// node (as bank-a) may refuse.
	req, err := f.node.Govern(context.Background(), &ledger.Request{Chain: "LOAN-1", Purpose: "(2026)沪0115民初1234号"})
	if err != nil {
		t.Fatal(err)
	}
	v0, err := ledger.NewView(f.node.st).RosterVersion(0)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{
		"txid":       f.txID(t, 7).String(),
		"commitment": ledgertest.Commitment("shared").String(),
		"height":     strconv.FormatInt(cpHeight, 10),
		"from_roster": func() string {
			d, err := f.roster(t).Digest()
			if err != nil {
				t.Fatal(err)
			}
			return d.String()
		}(),
		"proposal": strconv.FormatUint(prop.Result.Index, 10),
		"request":  strconv.FormatUint(req.Result.Index, 10),
		"digest":   v0.Digest.String(),
	}
	paths := doc["paths"].(map[string]any)
	documented := map[string]bool{}
	scopes := api.RouteScopes()
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item := paths[p].(map[string]any)
		for _, method := range slices.Sorted(maps.Keys(item)) {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			method = strings.ToUpper(method)
			documented[method+" "+p] = true
			t.Run(method+" "+p, func(t *testing.T) {
				responses := op["responses"].(map[string]any)
				if op["operationId"] == nil || op["summary"] == nil || len(responses) == 0 {
					t.Errorf("operation without operationId, summary or responses")
				}
				// The scope a token needs is the routes table's.
				scope, _ := op["x-evidenced-scope"].(string)
				if need := scopes[method+" "+p]; scope != need.String() || (op["security"] != nil) != (need != 0) || need != 0 && responses["403"] == nil {
					t.Errorf("x-evidenced-scope %q, security %v, 403 %v; the endpoint needs scope %q", scope, op["security"], responses["403"], need)
				}
				good, bad := buildRequests(t, doc, p, op, values)
				if p == "/v1/events" {
					good = "" // a stream that does not end: TestEvents reads it
				}
				for i, target := range []string{good, bad} {
					if target == "" {
						continue
					}
					var body []byte
					switch {
					case method == http.MethodPost && p == "/v1/txs":
						body = f.step3()
					case method == http.MethodPost && p == "/v1/bundles":
						body = f.newBundle(t, fmt.Sprint("OPENAPI-", i))
					case method == http.MethodPost && op["requestBody"] != nil:
						body = requestExample(t, doc, op)
					}
					req := httptest.NewRequest(method, target, bytes.NewReader(body))
					if op["security"] != nil {
						req.Header.Set("Authorization", "Bearer "+testToken)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if p == "/v1/evidence/{id}/original" && i == 0 {
						// The one binary response: the original's bytes and trailers.
						if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/octet-stream" || rec.Result().Trailer.Get(api.VerifiedTrailer) != "ok" {
							t.Errorf("%s: status %d, type %q, trailers %v", target, rec.Code, rec.Header().Get("Content-Type"), rec.Result().Trailer)
						}
						continue
					}
					if p == "/v1/evidence/{id}/certificate" && i == 0 {
						// A PDF, which verifies offline (TestCertificate checks more).
						if rec.Code == http.StatusNotImplemented && os.Getenv("EVIDENCED_REQUIRE_PDFTOOLS") == "" {
							continue // no CJK font on this machine
						}
						if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/pdf" {
							t.Errorf("%s: status %d, type %q", target, rec.Code, rec.Header().Get("Content-Type"))
						}
						continue
					}
					if p == "/v1/checkpoints/{height}/timestamp/token" && i == 0 {
						// The token's DER, as openssl ts -verify -token_in reads it.
						if _, err := tsa.ParseToken(rec.Body.Bytes()); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/octet-stream" || err != nil {
							t.Errorf("%s: status %d, type %q, token: %v", target, rec.Code, rec.Header().Get("Content-Type"), err)
						}
						continue
					}
					checkResponse(t, doc, responses, target, rec, i == 0)
				}
			})
		}
	}
	for _, pattern := range api.RoutePatterns() {
		if !documented[pattern] {
			t.Errorf("endpoint %s is not in the OpenAPI document", pattern)
		}
	}
}

// buildRequests returns the target of a request built from the document's
// parameters (values overriding examples), and one with every parameter
// replaced by a value that does not decode ("" when there are none).
func buildRequests(t *testing.T, doc map[string]any, path string, op map[string]any, values map[string]string) (good, bad string) {
	t.Helper()
	goodPath, badPath := path, path
	gq, bq := url.Values{}, url.Values{}
	for _, pv := range asSlice(op["parameters"]) {
		param, err := deref(doc, pv.(map[string]any))
		if err != nil {
			t.Fatal(err)
		}
		name := param["name"].(string)
		v, ok := values[name]
		if !ok {
			ex, has := param["example"]
			if !has {
				t.Errorf("parameter %s has no example", name)
			}
			v = fmt.Sprint(ex)
		}
		switch param["in"] {
		case "path":
			goodPath = strings.ReplaceAll(goodPath, "{"+name+"}", url.PathEscape(v))
			badPath = strings.ReplaceAll(badPath, "{"+name+"}", "not-a-"+name)
		case "query":
			gq.Set(name, v)
			bq.Set(name, "not-a-"+name)
		default:
			t.Errorf("parameter %s is in %v", name, param["in"])
		}
	}
	if strings.Contains(goodPath, "{") {
		t.Fatalf("path %s has undocumented parameters", goodPath)
	}
	good = goodPath
	if len(gq) > 0 {
		good += "?" + gq.Encode()
	}
	if badPath != path || len(bq) > 0 {
		bad = badPath
		if len(bq) > 0 {
			bad += "?" + bq.Encode()
		}
	}
	return good, bad
}

// requestExample returns the JSON example of an operation's request body.
func requestExample(t *testing.T, doc map[string]any, op map[string]any) []byte {
	t.Helper()
	rb, err := deref(doc, op["requestBody"].(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	media := rb["content"].(map[string]any)["application/json"].(map[string]any)
	ex, ok := media["example"]
	if !ok {
		t.Fatalf("request body without an example")
	}
	if errs := validate(doc, media["schema"].(map[string]any), ex, "example"); len(errs) > 0 {
		t.Errorf("the request example does not match its schema: %v", errs)
	}
	b, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkResponse checks rec against the documented responses; wantOK asks
// for a 2xx (the request built from valid values).
func checkResponse(t *testing.T, doc map[string]any, responses map[string]any, target string, rec *httptest.ResponseRecorder, wantOK bool) {
	t.Helper()
	var body any
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Errorf("%s: status %d body is not JSON: %v", target, rec.Code, err)
		return
	}
	if rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "no endpoint") {
		t.Errorf("%s: the route does not exist: %s", target, rec.Body)
		return
	}
	if wantOK && (rec.Code < 200 || rec.Code > 299) {
		t.Errorf("%s: status %d, want 2xx from the example values; body %s", target, rec.Code, rec.Body)
	}
	rv, ok := responses[strconv.Itoa(rec.Code)]
	if !ok {
		t.Errorf("%s: status %d is not documented; body %s", target, rec.Code, rec.Body)
		return
	}
	resp, err := deref(doc, rv.(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	if resp["description"] == nil {
		t.Errorf("%s: response %d has no description", target, rec.Code)
	}
	media, ok := resp["content"].(map[string]any)["application/json"].(map[string]any)
	if !ok {
		t.Errorf("%s: response %d has no application/json content", target, rec.Code)
		return
	}
	if errs := validate(doc, media["schema"].(map[string]any), body, "body"); len(errs) > 0 {
		t.Errorf("%s: status %d body does not match the documented schema:\n%s\n%s", target, rec.Code, strings.Join(errs, "\n"), rec.Body)
	}
}
