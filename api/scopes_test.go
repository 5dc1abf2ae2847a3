package api_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
)

// scopedRequest sends a request with token as bearer ("" for none) and an
// empty body.
func scopedRequest(h http.Handler, method, target, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestScopesPerEndpoint: every endpoint with a scope answers a token with
// that scope, and admin, past authorisation; a token with every other
// scope gets 403 forbidden naming the scope, and no token 401.
func TestScopesPerEndpoint(t *testing.T) {
	all := api.ScopeSubmit | api.ScopeOriginals | api.ScopeGrant | api.ScopeWebhooks
	routes := api.RouteScopes()
	scoped := 0
	for _, pattern := range slices.Sorted(maps.Keys(routes)) {
		need := routes[pattern]
		if need == 0 {
			continue
		}
		scoped++
		t.Run(pattern, func(t *testing.T) {
			method, path, _ := strings.Cut(pattern, " ")
			path = regexp.MustCompile(`\{[a-z]+\}`).ReplaceAllString(path, "x")
			with, without, admin := "token-with-the-scope", "token-with-the-others", "token-with-admin"
			f := newFixture(t)
			h := f.evidenceHandler(api.Options{Tokens: []api.Token{
				api.NewToken(with, need), api.NewToken(without, all&^need), api.NewToken(admin, api.ScopeAdmin),
			}}, false)
			for _, tok := range []string{with, admin} {
				rec := scopedRequest(h, method, path, tok)
				if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden && decodeError(t, rec).Code == client.CodeForbidden {
					t.Errorf("%s: %d %s, want past authorisation", tok, rec.Code, rec.Body)
				}
			}
			rec := scopedRequest(h, method, path, without)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("without the scope: %d %s, want 403", rec.Code, rec.Body)
			}
			e := decodeError(t, rec)
			if id := api.NewToken(without, 0).ID(); e.Code != client.CodeForbidden || e.Field != "Authorization" ||
				!strings.Contains(e.Message, "needs the "+need.String()+" scope") || !strings.Contains(e.Message, id) || !strings.Contains(e.Hint, "scopes="+need.String()) {
				t.Errorf("without the scope: %+v", e)
			}
			if rec := scopedRequest(h, method, path, ""); rec.Code != http.StatusUnauthorized {
				t.Errorf("without a token: %d, want 401", rec.Code)
			}
		})
	}
	if scoped != 8 {
		t.Errorf("%d endpoints need a scope, want 8: update this test and docs/API.md", scoped)
	}
}
