package api_test

import (
	"bytes"
	"encoding/json"
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
	if scoped != 13 {
		t.Errorf("%d endpoints need a scope, want 13: update this test and docs/API.md", scoped)
	}
}

// TestWebhookOwners: a subscription belongs to the token that made it:
// another token neither sees nor deletes it (403); its owner and admin
// tokens do. Subscriptions owned by admin (configured, or made before
// owners were recorded) are admin's alone.
func TestWebhookOwners(t *testing.T) {
	f := newFixture(t)
	alice, bob, root := "alice-token-0123456789", "bob-token-0123456789", "root-token-0123456789"
	h := f.evidenceHandler(api.Options{Tokens: []api.Token{
		api.NewToken(alice, api.ScopeWebhooks), api.NewToken(bob, api.ScopeWebhooks|api.ScopeSubmit), api.NewToken(root, api.ScopeAdmin),
	}}, false)
	call := func(method, target, token string, body any) *httptest.ResponseRecorder {
		t.Helper()
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req := httptest.NewRequest(method, target, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	names := func(token string) []string {
		t.Helper()
		list := decodeOK[struct{ Webhooks []client.Webhook }](t, call(http.MethodGet, "/v1/webhooks", token, nil), http.StatusOK, cacheNone)
		var out []string
		for _, wh := range list.Webhooks {
			out = append(out, wh.Name+"@"+wh.Owner)
		}
		slices.Sort(out)
		return out
	}
	aliceID, bobID := api.NewToken(alice, 0).ID(), api.NewToken(bob, 0).ID()
	for _, sub := range []struct{ name, token string }{{"a-hook", alice}, {"b-hook", bob}} {
		body := map[string]any{"name": sub.name, "url": "https://core.bank.example/hooks", "secret": "0123456789abcdef0123"}
		wh := decodeOK[client.Webhook](t, call(http.MethodPost, "/v1/webhooks", sub.token, body), http.StatusCreated, cacheNone)
		if want := api.NewToken(sub.token, 0).ID(); wh.Owner != want {
			t.Errorf("%s: owner %q, want %q", sub.name, wh.Owner, want)
		}
	}
	// An owner in the body is refused: the caller's token is the owner.
	rec := call(http.MethodPost, "/v1/webhooks", alice, map[string]any{"name": "c", "url": "https://x.example", "secret": "0123456789abcdef0123", "owner": bobID})
	if rec.Code != http.StatusBadRequest {
		t.Errorf("subscribe naming an owner: %d, want 400", rec.Code)
	}
	f.node.mu.Lock()
	f.node.hooks["legacy"] = client.Webhook{Name: "legacy", URL: "https://old.example", Source: "api", Owner: api.OwnerAdmin}
	f.node.mu.Unlock()

	if got, want := names(alice), []string{"a-hook@" + aliceID}; !slices.Equal(got, want) {
		t.Errorf("alice lists %v, want %v", got, want)
	}
	if got, want := names(root), []string{"a-hook@" + aliceID, "b-hook@" + bobID, "legacy@admin"}; !slices.Equal(got, want) {
		t.Errorf("admin lists %v, want %v", got, want)
	}
	for _, tc := range []struct{ name, token string }{{"a-hook", bob}, {"b-hook", alice}, {"legacy", alice}} {
		rec := call(http.MethodDelete, "/v1/webhooks/"+tc.name, tc.token, nil)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("DELETE %s by another token: %d %s, want 403", tc.name, rec.Code, rec.Body)
		}
		if e := decodeError(t, rec); e.Code != client.CodeForbidden || e.Field != "name" || !strings.Contains(e.Message, "another API token") || !strings.Contains(e.Message, "admin scope") {
			t.Errorf("DELETE %s by another token: %+v", tc.name, e)
		}
	}
	for _, tc := range []struct{ name, token string }{{"a-hook", alice}, {"b-hook", root}, {"legacy", root}} {
		if rec := call(http.MethodDelete, "/v1/webhooks/"+tc.name, tc.token, nil); rec.Code != http.StatusOK {
			t.Errorf("DELETE %s by its owner or admin: %d %s", tc.name, rec.Code, rec.Body)
		}
	}
	if got := names(root); len(got) != 0 {
		t.Errorf("left after the deletes: %v", got)
	}
}
