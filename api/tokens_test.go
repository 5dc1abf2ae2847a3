package api_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/crypto"
)

func TestParseScopes(t *testing.T) {
	for _, tc := range []struct {
		list string
		want api.Scopes
		err  string
	}{
		{"submit", api.ScopeSubmit, ""},
		{"submit,originals,grant,webhooks", api.ScopeSubmit | api.ScopeOriginals | api.ScopeGrant | api.ScopeWebhooks, ""},
		{"webhooks,submit", api.ScopeSubmit | api.ScopeWebhooks, ""},
		{"admin", api.ScopeAdmin, ""},
		{"", 0, "no scope is listed"},
		{"read", 0, `unknown scope "read": the scopes are submit, originals, grant, webhooks, govern, attest, admin`},
		{"Submit", 0, `unknown scope "Submit"`},
		{"submit,,grant", 0, "single commas"},
		{"submit,", 0, "single commas"},
		{"grant,grant", 0, "grant is listed twice"},
		{"admin,submit", 0, "write scopes=admin alone"},
	} {
		got, err := api.ParseScopes(tc.list)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseScopes(%q) = %v, %v; want an error saying %q", tc.list, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseScopes(%q) = %v, %v; want %v", tc.list, got, err, tc.want)
		}
		if back, err := api.ParseScopes(got.String()); err != nil || back != got {
			t.Errorf("ParseScopes(%q.String()) = %v, %v", got, back, err)
		}
	}
	// Every scope has a name, and only admin allows what it lacks.
	if names := api.ScopeNames(); len(names) != 7 || api.Scopes(1<<(len(names)-1)) != api.ScopeAdmin {
		t.Fatalf("ScopeNames() = %v, admin is not the last", names)
	}
	for _, name := range api.ScopeNames() {
		s, err := api.ParseScopes(name)
		if err != nil || s.String() != name || !s.Allow(s) || !s.Allow(0) || !api.ScopeAdmin.Allow(s) {
			t.Errorf("scope %s: %v, %v", name, s, err)
		}
		for _, otherName := range api.ScopeNames() {
			other, _ := api.ParseScopes(otherName)
			if other != s && s != api.ScopeAdmin && s.Allow(other) {
				t.Errorf("scope %s allows %s", s, other)
			}
		}
	}
}

// TestParseTokens: an API tokens file holds sm3: digests with their scopes;
// older lines without scopes, or with the token in the clear, still give
// full access, and are reported. Errors name the line and say what to
// write, and never quote a token.
func TestParseTokens(t *testing.T) {
	token := "0123456789abcdef0123456789abcdef"
	d := crypto.SM3([]byte(token))
	other := crypto.SM3([]byte("another token, long enough"))
	colliding := d
	colliding[31] ^= 1 // same id, another digest
	type want struct {
		digest   crypto.Hash
		scopes   api.Scopes
		line     int
		inClear  bool
		unscoped bool
		comment  string
	}
	for _, tc := range []struct {
		name, file string
		want       []want
		err        string
	}{
		{"scoped digest", "# comment\n\nsm3:" + d.String() + " scopes=submit,originals\n",
			[]want{{d, api.ScopeSubmit | api.ScopeOriginals, 3, false, false, ""}}, ""},
		{"trailing comment", "sm3:" + d.String() + "\tscopes=grant   # court liaison, #2\n",
			[]want{{d, api.ScopeGrant, 1, false, false, "court liaison, #2"}}, ""},
		{"upper-case digest", "  sm3:" + strings.ToUpper(d.String()) + " scopes=admin",
			[]want{{d, api.ScopeAdmin, 1, false, false, ""}}, ""},
		{"CRLF", "sm3:" + d.String() + " scopes=webhooks\r\n",
			[]want{{d, api.ScopeWebhooks, 1, false, false, ""}}, ""},
		{"old digest line: admin", "sm3:" + d.String() + "\n",
			[]want{{d, api.ScopeAdmin, 1, false, true, ""}}, ""},
		{"old token in the clear: admin", token + "  # old\n",
			[]want{{d, api.ScopeAdmin, 1, true, true, "old"}}, ""},
		{"token in the clear with scopes", token + " scopes=submit",
			[]want{{d, api.ScopeSubmit, 1, true, false, ""}}, ""},
		{"a # inside a token in the clear", "0123456789abcdef#0123 scopes=submit",
			[]want{{crypto.SM3([]byte("0123456789abcdef#0123")), api.ScopeSubmit, 1, true, false, ""}}, ""},
		{"two tokens", "sm3:" + d.String() + " scopes=submit\nsm3:" + other.String() + " scopes=admin\n",
			[]want{{d, api.ScopeSubmit, 1, false, false, ""}, {other, api.ScopeAdmin, 2, false, false, ""}}, ""},
		{"only comments", "# nothing yet\n\n", nil, ""},

		{"short digest", "sm3:abcd scopes=submit", nil, "line 1: what follows sm3: is not 64 hex digits (4 characters)"},
		{"short token", "\nshort-secret", nil, "line 2: a token is shorter than 16"},
		{"unknown scope", "sm3:" + d.String() + " scopes=submit,read", nil, `line 1: unknown scope "read"`},
		{"empty scopes", "sm3:" + d.String() + " scopes=", nil, "line 1: no scope is listed"},
		{"scopes without scopes=", "sm3:" + d.String() + " submit,originals", nil, "line 1: after the token comes something other than scopes=: write the line as sm3:HEX scopes=submit,originals"},
		{"spaces in the list", "sm3:" + d.String() + " scopes=submit, originals", nil, "no spaces"},
		{"comment without #", "sm3:" + d.String() + " scopes=submit the bank", nil, "start a comment with #"},
		{"token twice", "sm3:" + d.String() + " scopes=submit\n" + token + " scopes=grant", nil, "line 2: the token of line 1 again: keep one line"},
		{"ids collide", "sm3:" + d.String() + " scopes=submit\nsm3:" + colliding.String() + " scopes=grant", nil, "line 2: its token has the id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := api.ParseTokens([]byte(tc.file))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "short-secret") {
					t.Fatalf("the error quotes a token: %v", err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("ParseTokens = %+v, %v; want %+v", got, err, tc.want)
			}
			for i, g := range got {
				w := tc.want[i]
				if g.Digest != w.digest || g.Scopes != w.scopes || g.Line != w.line || g.InClear != w.inClear || g.Unscoped != w.unscoped || g.Comment != w.comment {
					t.Errorf("token %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestMigrateTokens: migrating gives every old line its digest and explicit
// scopes, keeps comments and scoped lines as they are, and is idempotent.
func TestMigrateTokens(t *testing.T) {
	token := "0123456789abcdef0123456789abcdef"
	d := crypto.SM3([]byte(token))
	other := crypto.SM3([]byte("another token, long enough"))
	third := crypto.SM3([]byte("a third token, long enough"))
	file := "# tokens of the bank's node\n" +
		token + "  # core banking\n" +
		"sm3:" + other.String() + "\n" +
		"sm3:" + third.String() + " scopes=grant # legal\n"
	out, changed, err := api.MigrateTokens([]byte(file), api.ScopeAdmin)
	if err != nil {
		t.Fatal(err)
	}
	want := "# tokens of the bank's node\n" +
		"sm3:" + d.String() + " scopes=admin  # core banking\n" +
		"sm3:" + other.String() + " scopes=admin\n" +
		"sm3:" + third.String() + " scopes=grant # legal\n"
	if string(out) != want {
		t.Fatalf("migrated:\n%s\nwant:\n%s", out, want)
	}
	if len(changed) != 2 || changed[0].Line != 2 || !changed[0].InClear || changed[1].Line != 3 || changed[1].Scopes != api.ScopeAdmin {
		t.Errorf("changed = %+v", changed)
	}
	if again, changed, err := api.MigrateTokens(out, api.ScopeAdmin); err != nil || len(changed) != 0 || !bytes.Equal(again, out) {
		t.Errorf("migrating again = %d changes, %v:\n%s", len(changed), err, again)
	}
	// Narrower scopes for the old lines.
	out, _, err = api.MigrateTokens([]byte(file), api.ScopeSubmit|api.ScopeOriginals)
	if err != nil || !strings.Contains(string(out), "sm3:"+other.String()+" scopes=submit,originals\n") {
		t.Errorf("with submit,originals: %v\n%s", err, out)
	}
	if _, _, err := api.MigrateTokens([]byte("short\n"), api.ScopeAdmin); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a bad file migrates: %v", err)
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add([]byte("sm3:" + crypto.SM3([]byte("x")).String() + " scopes=submit,grant # c"))
	f.Add([]byte("0123456789abcdef0123\n# c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := api.ParseTokens(b)
		if err != nil {
			return
		}
		// Each token formats to a line that parses back to it, and a
		// migrated file has no old line left.
		for _, l := range lines {
			back, err := api.ParseTokens([]byte(api.FormatTokenLine(l.Token, l.Comment)))
			if err != nil || len(back) != 1 || back[0].Token != l.Token || back[0].InClear || back[0].Unscoped {
				t.Fatalf("line %d %+v formats to %q, which parses to %+v, %v", l.Line, l, api.FormatTokenLine(l.Token, l.Comment), back, err)
			}
		}
		out, _, err := api.MigrateTokens(b, api.ScopeAdmin)
		if err != nil {
			t.Fatalf("a file that parses does not migrate: %v", err)
		}
		migrated, err := api.ParseTokens(out)
		if err != nil || len(migrated) != len(lines) {
			t.Fatalf("the migrated file parses to %d tokens, %v; want %d", len(migrated), err, len(lines))
		}
		for i, l := range migrated {
			if l.InClear || l.Unscoped || l.Digest != lines[i].Digest {
				t.Fatalf("migrated line %d = %+v, from %+v", l.Line, l, lines[i])
			}
		}
	})
}
