package api

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
)

// tokenKey is the request context key of the caller's Token.
type tokenKey struct{}

// callerToken returns the token an endpoint with a scope was called with.
func callerToken(r *http.Request) Token {
	t, _ := r.Context().Value(tokenKey{}).(Token)
	return t
}

// authorized wraps rt's handler with the check of its scope: the request
// must carry one of the node's bearer tokens, and the token must have the
// scope. The handler finds the token with callerToken.
func (s *server) authorized(rt route) handlerFunc {
	if rt.scope == 0 {
		return rt.h
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := s.authenticate(w, r)
		if err != nil {
			return err
		}
		if !tok.Scopes.Allow(rt.scope) {
			has := "only " + tok.Scopes.String()
			if tok.Scopes == 0 {
				has = "none"
			}
			e := newError(http.StatusForbidden, client.CodeForbidden, "Authorization",
				"token %s may not %s %s: that needs the %s scope, and the token has %s", tok.ID(), rt.method, rt.pattern, rt.scope, has)
			e.body.Hint = "ask the node's operator for a token with the " + rt.scope.String() + " scope (api.tokens_file: sm3:HEX scopes=" + rt.scope.String() + ",…)"
			return e
		}
		return rt.h(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
	}
}

// authenticate returns the node's token that the request carries as
// "Authorization: Bearer TOKEN".
func (s *server) authenticate(w http.ResponseWriter, r *http.Request) (Token, error) {
	if len(s.tokens) == 0 {
		e := newError(http.StatusForbidden, client.CodeForbidden, "", "this node has no API tokens, so nobody may act through its member")
		e.body.Hint = "ask the node's operator to configure api.tokens_file"
		return Token{}, e
	}
	unauthorized := func(msg string) (Token, error) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="evidenced"`)
		e := newError(http.StatusUnauthorized, client.CodeUnauthorized, "Authorization", "%s", msg)
		e.body.Hint = "send the header \"Authorization: Bearer <token>\" with a token the node's operator gave you"
		return Token{}, e
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return unauthorized("the request has no Authorization header")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return unauthorized("the Authorization header is not \"Bearer <token>\"")
	}
	// Compare digests, so that neither the length nor the content of a
	// configured token leaks through timing; check every token, and pick
	// the scopes of the one that matches without branching on it.
	sum := crypto.SM3([]byte(token))
	match, scopes := 0, 0
	for _, t := range s.tokens {
		eq := subtle.ConstantTimeCompare(sum[:], t.Digest[:])
		scopes = subtle.ConstantTimeSelect(eq, int(t.Scopes), scopes)
		match |= eq
	}
	if match != 1 {
		return unauthorized("the bearer token is not one this node accepts")
	}
	return Token{Digest: sum, Scopes: Scopes(scopes)}, nil
}

// hasToken reports whether r carries one of the node's bearer tokens, for
// an endpoint open to everyone that serves token holders more (event
// streams count against a smaller cap without one): a missing or wrong
// token is no error there, and nothing is written to w.
func (s *server) hasToken(r *http.Request) bool {
	if len(s.tokens) == 0 || r.Header.Get("Authorization") == "" {
		return false
	}
	_, err := s.authenticate(discardHeader{}, r)
	return err == nil
}

// discardHeader is a ResponseWriter whose header writes go nowhere: for
// authenticate when no answer is sent.
type discardHeader struct{}

func (discardHeader) Header() http.Header         { return http.Header{} }
func (discardHeader) Write(b []byte) (int, error) { return len(b), nil }
func (discardHeader) WriteHeader(int)             {}
