package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
)

// TestTokensAddList: tokens add appends a line with the new token's digest
// and scopes to a private file, printing the token once (or writing it to
// --out); list shows ids and scopes, never a token.
func TestTokensAddList(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config", "api-tokens")
	out, e, err := runCLI(t, "tokens", "add", "--file", file, "--scopes", "submit,originals", "--comment", "core banking", "-o", "json")
	if err != nil {
		t.Fatalf("add: %v %s", err, e)
	}
	var added struct {
		File, Token, ID, Scopes string
		Line                    int
	}
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatal(err)
	}
	tok := api.NewToken(added.Token, api.ScopeSubmit|api.ScopeOriginals)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 || !strings.HasPrefix(string(b), api.TokensFileHeader) ||
		!strings.HasSuffix(string(b), "\nsm3:"+tok.Digest.String()+" scopes=submit,originals  # core banking\n") ||
		strings.Contains(string(b), added.Token) || len(added.Token) != 64 || added.ID != tok.ID() || added.Line != 3 || added.Scopes != "submit,originals" {
		t.Fatalf("add printed %+v and wrote (mode %v):\n%s", added, fi.Mode(), b)
	}

	// With --out, the token goes to a new private file.
	tokenFile := filepath.Join(dir, "hooks-token")
	out, e, err = runCLI(t, "tokens", "add", "--file", file, "--scopes", "webhooks", "--out", tokenFile)
	if err != nil {
		t.Fatalf("add --out: %v %s", err, e)
	}
	second, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	secondTok := api.NewToken(strings.TrimSpace(string(second)), api.ScopeWebhooks)
	if fi, _ := os.Stat(tokenFile); fi.Mode().Perm() != 0o600 || strings.Contains(out, strings.TrimSpace(string(second))) || !strings.Contains(out, secondTok.ID()) {
		t.Fatalf("add --out printed:\n%s", out)
	}
	if _, _, err := runCLI(t, "tokens", "add", "--file", file, "--scopes", "grant", "--out", tokenFile); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("add --out over an existing file: %v", err)
	}

	out, _, err = runCLI(t, "tokens", "list", "--file", file)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string // the table's rows, cells one space apart
	for _, row := range strings.Split(out, "\n") {
		rows = append(rows, strings.Join(strings.Fields(row), " "))
	}
	for _, want := range []string{"LINE ID SCOPES NOTE", "3 " + tok.ID() + " submit,originals core banking", "4 " + secondTok.ID() + " webhooks"} {
		if !slices.Contains(rows, want) {
			t.Errorf("list does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, added.Token) {
		t.Errorf("list shows a token:\n%s", out)
	}
	t.Setenv(envHome, filepath.Join(dir, "nohome"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tokens", "add", "--file", file}, "--scopes LIST is required: some of submit, originals, grant, webhooks, govern, attest, admin"},
		{[]string{"tokens", "add", "--file", file, "--scopes", "read"}, `--scopes: unknown scope "read"`},
		{[]string{"tokens", "add", "--scopes", "submit"}, "no node home at " + filepath.Join(dir, "nohome") + " (the default: $EVIDENCED_HOME, else ~/.evidenced): pass --home DIR, set EVIDENCED_HOME, or make one with 'evidenced init' (or give --file FILE"},
		{[]string{"tokens", "list", "--file", filepath.Join(dir, "none")}, "evidenced tokens add creates it"},
	} {
		if _, _, err := runCLI(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}

// TestTokensHome: with --home, the tokens commands use the home's
// api.tokens_file, and say how to set one when it has none.
func TestTokensHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "bank")
	if _, e, err := runCLI(t, "init", "--home", home, "--moniker", "bank", "--role", "bank", "--no-passphrase"); err != nil {
		t.Fatalf("init: %v %s", err, e)
	}
	// list needs the file named: it says how.
	if _, _, err := runCLI(t, "tokens", "list", "--home", home); err == nil || !strings.Contains(err.Error(), `add tokens_file = "config/api-tokens" under [api]`) {
		t.Fatalf("list in a home without api.tokens_file: %v", err)
	}
	// add sets it up, and says so.
	if _, e, err := runCLI(t, "tokens", "add", "--home", home, "--scopes", "admin"); err != nil || !strings.Contains(e, `set tokens_file = "config/api-tokens" under [api]`) {
		t.Fatalf("add to a home without api.tokens_file: %v, stderr %q", err, e)
	}
	cfg, err := config.Load(home)
	if err != nil || cfg.API.TokensFile != "config/api-tokens" {
		t.Fatalf("api.tokens_file after add = %q (%v)", cfg.API.TokensFile, err)
	}
	if _, e, err := runCLI(t, "tokens", "add", "--home", home, "--scopes", "govern"); err != nil || strings.Contains(e, "set tokens_file") {
		t.Fatalf("second add: %v %s", err, e)
	}
	if b, err := os.ReadFile(filepath.Join(home, "config", "api-tokens")); err != nil || !strings.Contains(string(b), " scopes=admin\n") || !strings.Contains(string(b), " scopes=govern\n") {
		t.Fatalf("the home's tokens file: %v\n%s", err, b)
	}
}

// TestTokensMigrate: migrate rewrites old lines in place, privately, without
// printing a token; a second run has nothing to do.
func TestTokensMigrate(t *testing.T) {
	clear := "0123456789abcdef0123456789abcdef"
	old := crypto.SM3([]byte("an old token without scopes"))
	file := filepath.Join(t.TempDir(), "api-tokens")
	if err := os.WriteFile(file, []byte("# old file\n"+clear+"  # core banking\nsm3:"+old.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, e, err := runCLI(t, "tokens", "migrate", "--file", file, "--scopes", "submit,originals")
	if err != nil {
		t.Fatalf("migrate: %v %s", err, e)
	}
	clearTok := api.NewToken(clear, 0)
	for _, want := range []string{
		"line 2: token " + clearTok.ID() + " is now sm3:DIGEST scopes=submit,originals (it had the token in the clear; no scopes=, so full access)",
		"line 3: token " + old.String()[:16] + " is now",
		"older copies of it (backups) still do",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate does not say %q:\n%s", want, out)
		}
	}
	b, _ := os.ReadFile(file)
	want := "# old file\nsm3:" + clearTok.Digest.String() + " scopes=submit,originals  # core banking\nsm3:" + old.String() + " scopes=submit,originals\n"
	if fi, _ := os.Stat(file); string(b) != want || fi.Mode().Perm() != 0o600 || strings.Contains(out+e, clear) {
		t.Fatalf("migrated file (mode %v):\n%s\nwant:\n%s\noutput:\n%s", fi.Mode(), b, want, out)
	}
	if out, _, err := runCLI(t, "tokens", "migrate", "--file", file); err != nil || !strings.Contains(out, "Nothing to migrate") {
		t.Fatalf("migrate again: %v\n%s", err, out)
	}
}
