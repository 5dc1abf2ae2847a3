package api

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/evidenced/evidenced/crypto"
)

// Scopes is a set of the permissions an API token carries. Every endpoint
// that acts through the node's member or its keys needs one scope (the
// routes table names it); the others need no token.
type Scopes uint8

// The scopes, in the order of scopeNames.
const (
	// ScopeSubmit allows POST /v1/evidence and POST /v1/originals: the
	// node signs evidence with its client key, and keeps an uploaded
	// original encrypted.
	ScopeSubmit Scopes = 1 << iota
	// ScopeOriginals allows GET /v1/evidence/{id}/original: the node logs
	// an access on chain with the member key and hands over the decrypted
	// original.
	ScopeOriginals
	// ScopeGrant allows POST /v1/grants and POST /v1/grants/{index}/revoke:
	// the member grants another member access to its originals, or revokes
	// a grant.
	ScopeGrant
	// ScopeWebhooks allows POST, GET and DELETE /v1/webhooks on the
	// token's own subscriptions.
	ScopeWebhooks
	// ScopeGovern allows POST /v1/proposals and POST
	// /v1/proposals/{index}/votes: the node proposes roster changes and
	// votes on them with its member key.
	ScopeGovern
	// ScopeAttest allows POST /v1/attestations: the node's member (a
	// notary, arbitration centre or court) attests records with its
	// member key.
	ScopeAttest
	// ScopeAdmin implies every other scope, and lists and deletes every
	// webhook subscription, whoever made it.
	ScopeAdmin
)

// scopeNames are the names of the scopes in a tokens file, bit i naming
// 1<<i.
var scopeNames = [...]string{"submit", "originals", "grant", "webhooks", "govern", "attest", "admin"}

// ScopeNames returns the names of every scope, in order (a copy).
func ScopeNames() []string { return slices.Clone(scopeNames[:]) }

// String returns the names of the scopes in s, comma-separated, as a
// tokens file writes them ("" for none).
func (s Scopes) String() string {
	var names []string
	for i, name := range scopeNames {
		if s&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}

// Allow reports whether a token with scopes s may use an endpoint that
// needs scope need: admin allows everything, and no scope needs no token.
func (s Scopes) Allow(need Scopes) bool {
	return need == 0 || s&ScopeAdmin != 0 || s&need == need
}

// ParseScopes parses a comma-separated list of scope names
// ("submit,originals"), as String writes it. It refuses an empty list, an
// unknown or repeated name, and admin beside other scopes (it implies
// them).
func ParseScopes(list string) (Scopes, error) {
	if list == "" {
		return 0, fmt.Errorf("no scope is listed: name at least one of %s (to withdraw a token, delete its line)", strings.Join(scopeNames[:], ", "))
	}
	var s Scopes
	for name := range strings.SplitSeq(list, ",") {
		bit := Scopes(0)
		for i, n := range scopeNames {
			if n == name {
				bit = 1 << i
			}
		}
		switch {
		case name == "":
			return 0, fmt.Errorf("scopes=%s has an empty name: separate the names by single commas, e.g. scopes=submit,originals", list)
		case bit == 0:
			return 0, fmt.Errorf("unknown scope %q: the scopes are %s", name, strings.Join(scopeNames[:], ", "))
		case s&bit != 0:
			return 0, fmt.Errorf("scope %s is listed twice", name)
		}
		s |= bit
	}
	if s&ScopeAdmin != 0 && s != ScopeAdmin {
		return 0, fmt.Errorf("admin implies every other scope: write scopes=admin alone")
	}
	return s, nil
}

// Token is an API bearer token as the node knows it: the SM3 digest of
// the token (never the token itself) and its scopes.
type Token struct {
	Digest crypto.Hash
	Scopes Scopes
}

// NewToken returns the Token of the bearer token secret with scopes.
func NewToken(secret string, scopes Scopes) Token {
	return Token{Digest: crypto.SM3([]byte(secret)), Scopes: scopes}
}

// TokenIDLen is the length of a token id in hex digits.
const TokenIDLen = 16

// ID returns the token's id: the first 16 hex digits of its digest. It
// names the token in logs, in webhook owners and in `evidenced tokens
// list` without revealing it (grep the tokens file for sm3:ID).
func (t Token) ID() string { return t.Digest.String()[:TokenIDLen] }

// GenerateToken draws a new bearer token from r (crypto/rand.Reader): 32
// random bytes in hex.
func GenerateToken(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("draw an API token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// TokenDigestPrefix begins the token of a tokens file line that holds the
// token's SM3 digest (hex) instead of the token.
const TokenDigestPrefix = "sm3:"

// scopesPrefix begins the scopes of a tokens file line.
const scopesPrefix = "scopes="

// minClearToken is the shortest token an older file may hold in the clear.
const minClearToken = 16

// TokenLine is one token of an API tokens file, as ParseTokens reads it.
type TokenLine struct {
	Token
	Line int // 1-based line number
	// InClear is set when the line holds the token itself (older files)
	// rather than sm3: and its digest.
	InClear bool
	// Unscoped is set when the line names no scopes (older files): the
	// token keeps the full access it had, Scopes is ScopeAdmin.
	Unscoped bool
	// Comment is the line's comment, after its #, trimmed.
	Comment string
}

// ParseTokens reads an API tokens file (api.tokens_file). Each line is
//
//	sm3:HEX scopes=NAME[,NAME…]  # optional comment
//
// where HEX is the 64 hex digits of the token's SM3 digest and the names
// are those of ScopeNames; empty lines and lines starting with # are
// skipped. Older files are still read: a line without scopes= gives its
// token full access (admin, Unscoped), and a line may hold the token
// itself instead of sm3:HEX (at least 16 characters, no spaces; InClear).
// MigrateTokens rewrites both. Errors name the line and never quote a
// token; a token given twice is refused. A file without tokens yields
// none and no error.
func ParseTokens(b []byte) ([]TokenLine, error) {
	var out []TokenLine
	seen := map[string]int{} // line by token id
	for i, line := range strings.Split(string(b), "\n") {
		tl, ok, err := parseTokenLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if !ok {
			continue
		}
		tl.Line = i + 1
		if prev, dup := seen[tl.ID()]; dup {
			if out[prev].Digest == tl.Digest {
				return nil, fmt.Errorf("line %d: the token of line %d again: keep one line, with every scope the token needs", tl.Line, out[prev].Line)
			}
			return nil, fmt.Errorf("line %d: its token has the id (first %d hex digits) of line %d's: draw a new token (evidenced tokens add)", tl.Line, TokenIDLen, out[prev].Line)
		}
		seen[tl.ID()] = len(out)
		out = append(out, tl)
	}
	return out, nil
}

// parseTokenLine parses one line of a tokens file; ok is false for an
// empty or comment line.
func parseTokenLine(line string) (tl TokenLine, ok bool, err error) {
	text := line
	// A comment starts with a # at the start of the line or after a space,
	// so that a token in the clear may hold a #.
	for i := range len(line) {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			text, tl.Comment = line[:i], strings.TrimSpace(line[i+1:])
			break
		}
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return TokenLine{}, false, nil
	}
	if hexDigest, isDigest := strings.CutPrefix(fields[0], TokenDigestPrefix); isDigest {
		if err := tl.Digest.UnmarshalText([]byte(strings.ToLower(hexDigest))); err != nil {
			return TokenLine{}, false, fmt.Errorf("what follows sm3: is not 64 hex digits (%d characters): write sm3: and the hex SM3 digest of the token (`printf %%s TOKEN | openssl dgst -sm3`), or let `evidenced tokens add` write the line", len(hexDigest))
		}
	} else {
		if len(fields[0]) < minClearToken {
			return TokenLine{}, false, fmt.Errorf("a token is shorter than %d characters; use long random tokens (evidenced tokens add draws one)", minClearToken)
		}
		tl.Digest, tl.InClear = crypto.SM3([]byte(fields[0])), true
	}
	switch {
	case len(fields) == 1:
		tl.Scopes, tl.Unscoped = ScopeAdmin, true
	case len(fields) > 2 || !strings.HasPrefix(fields[1], scopesPrefix):
		return TokenLine{}, false, fmt.Errorf("after the token comes something other than scopes=: write the line as sm3:HEX scopes=%s (names comma-separated, no spaces), and start a comment with #", (ScopeSubmit | ScopeOriginals).String())
	default:
		if tl.Scopes, err = ParseScopes(strings.TrimPrefix(fields[1], scopesPrefix)); err != nil {
			return TokenLine{}, false, err
		}
	}
	return tl, true, nil
}

// TokensFileHeader is the comment a new tokens file begins with.
const TokensFileHeader = "# The bearer tokens of this node's API: sm3: and the SM3 digest of each, and what it may do\n" +
	"# (docs/API.md, \"Tokens and scopes\"; `evidenced tokens add` appends one)\n"

// FormatTokenLine returns the line of a tokens file (without newline) for
// t, with comment (none if empty) after a #.
func FormatTokenLine(t Token, comment string) string {
	line := TokenDigestPrefix + t.Digest.String() + " " + scopesPrefix + t.Scopes.String()
	if comment = strings.TrimSpace(comment); comment != "" {
		line += "  # " + comment
	}
	return line
}

// MigrateTokens rewrites a tokens file in the current form: each line
// holding a token in the clear gets its digest instead, and each line
// without scopes gets scopes (ScopeAdmin keeps the full access such lines
// give). Comments and every other line are kept as they are. changed
// lists the rewritten lines with their new scopes; when it is empty, out
// is b.
func MigrateTokens(b []byte, scopes Scopes) (out []byte, changed []TokenLine, err error) {
	if scopes == 0 {
		return nil, nil, errors.New("migrate tokens: no scopes to give the lines without scopes=")
	}
	tokens, err := ParseTokens(b)
	if err != nil {
		return nil, nil, err
	}
	lines := strings.Split(string(b), "\n")
	for _, tl := range tokens {
		if !tl.InClear && !tl.Unscoped {
			continue
		}
		if tl.Unscoped {
			tl.Scopes = scopes
		}
		lines[tl.Line-1] = FormatTokenLine(tl.Token, tl.Comment)
		changed = append(changed, tl)
	}
	if len(changed) == 0 {
		return b, nil, nil
	}
	return []byte(strings.Join(lines, "\n")), changed, nil
}
