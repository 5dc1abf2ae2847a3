package node

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
)

// TestLoadTokens: the node reads the tokens with their scopes, warns of
// each line in an older form (no scopes: full access; in the clear) with
// the line to write instead, and never logs a token.
func TestLoadTokens(t *testing.T) {
	clear := "0123456789abcdef0123456789abcdef"
	old := crypto.SM3([]byte("an old token without scopes"))
	scoped := crypto.SM3([]byte("a scoped token"))
	home := t.TempDir()
	cfg := &config.Config{API: config.API{TokensFile: "api-tokens"}}
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(home, "api-tokens"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# tokens\n" + clear + "  # core banking\nsm3:" + old.String() + "\nsm3:" + scoped.String() + " scopes=submit,grant\n")
	var logs bytes.Buffer
	tokens, err := loadTokens(home, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Token{
		{Digest: crypto.SM3([]byte(clear)), Scopes: api.ScopeAdmin},
		{Digest: old, Scopes: api.ScopeAdmin},
		{Digest: scoped, Scopes: api.ScopeSubmit | api.ScopeGrant},
	}
	if len(tokens) != len(want) {
		t.Fatalf("tokens %+v, want %+v", tokens, want)
	}
	for i := range want {
		if tokens[i] != want[i] {
			t.Errorf("token %d = %+v, want %+v", i, tokens[i], want[i])
		}
	}
	out := logs.String()
	if strings.Contains(out, clear) {
		t.Fatalf("the log holds a token:\n%s", out)
	}
	for _, w := range []string{
		"level=WARN msg=\"api.tokens_file holds a token in the clear and without scopes, so it keeps full access (admin)",
		"line=2 token=" + want[0].ID() + " write=\"sm3:" + want[0].Digest.String() + " scopes=admin  # core banking\"",
		"line=3 token=" + want[1].ID() + " write=\"sm3:" + old.String() + " scopes=admin\"",
		"evidenced tokens migrate",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the log does not say %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "level=WARN") != 2 {
		t.Errorf("want a warning for each of the 2 old lines:\n%s", out)
	}

	for _, tc := range []struct{ file, err string }{
		{"# none yet\n", "holds no token: add one with `evidenced tokens add"},
		{"sm3:" + scoped.String() + " scopes=read\n", `api-tokens: line 1: unknown scope "read"`},
	} {
		write(tc.file)
		if _, err := loadTokens(home, cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: err = %v, want one saying %q", tc.file, err, tc.err)
		}
	}
}
