package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/config"
)

func TestDefaultHome(t *testing.T) {
	user := t.TempDir()
	t.Setenv("HOME", user)
	for _, tc := range []struct {
		env, flag, want string
	}{
		{"", "", filepath.Join(user, ".evidenced")},
		{"/srv/evidenced", "", "/srv/evidenced"},
		{"/srv/evidenced", "./bank", "./bank"},
		{"", "./bank", "./bank"},
	} {
		t.Setenv(envHome, tc.env)
		if got, err := newHome(tc.flag); err != nil || got != tc.want {
			t.Errorf("EVIDENCED_HOME=%q --home=%q: home %q (%v), want %q", tc.env, tc.flag, got, err, tc.want)
		}
	}
	// A default home must exist for the commands that read one.
	t.Setenv(envHome, "")
	if _, err := nodeHome(""); err == nil || !strings.Contains(err.Error(), "no node home at "+filepath.Join(user, ".evidenced")) {
		t.Fatalf("nodeHome without a home: %v", err)
	}
	if err := os.Mkdir(filepath.Join(user, ".evidenced"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got, err := nodeHome(""); err != nil || got != filepath.Join(user, ".evidenced") {
		t.Fatalf("nodeHome = %q, %v", got, err)
	}
	// An explicit --home is taken as given, even when missing: the command says what is wrong with it.
	if got, err := nodeHome("/nonexistent"); err != nil || got != "/nonexistent" {
		t.Fatalf("nodeHome(--home) = %q, %v", got, err)
	}
}

// TestHomeFromEnv: init, tokens and roster export use EVIDENCED_HOME
// without --home, and an explicit --home wins.
func TestHomeFromEnv(t *testing.T) {
	dir := t.TempDir()
	envH, flagH := filepath.Join(dir, "env"), filepath.Join(dir, "flag")
	t.Setenv(envHome, envH)
	if _, e, err := runCLI(t, "init", "--moniker", "bank", "--role", "bank", "--no-passphrase", "--api-port", "8181"); err != nil {
		t.Fatalf("init without --home: %v %s", err, e)
	}
	if _, e, err := runCLI(t, "init", "--home", flagH, "--moniker", "court", "--role", "court", "--no-passphrase", "--api-port", "8182"); err != nil {
		t.Fatalf("init --home: %v %s", err, e)
	}
	for h, moniker := range map[string]string{envH: "bank", flagH: "court"} {
		if cfg, err := config.Load(h); err != nil || cfg.Moniker != moniker {
			t.Fatalf("home %s: %v", h, err)
		}
	}
	if out, e, err := runCLI(t, "tokens", "add", "--scopes", "submit", "-o", "json"); err != nil || !strings.Contains(out, `"id"`) {
		t.Fatalf("tokens add without --home: %v %s %s", err, out, e)
	}
	if _, err := os.Stat(filepath.Join(envH, "config", "api-tokens")); err != nil {
		t.Fatalf("tokens add did not use EVIDENCED_HOME: %v", err)
	}
	if _, err := os.Stat(filepath.Join(flagH, "config", "api-tokens")); err == nil {
		t.Fatal("tokens add wrote to the other home")
	}
	out, e, err := runCLI(t, "roster", "export")
	if err != nil || !strings.Contains(out, `"name": "bank"`) {
		t.Fatalf("roster export without --home: %v %s\n%s", err, e, out)
	}
	out, e, err = runCLI(t, "roster", "export", "--home", flagH)
	if err != nil || !strings.Contains(out, `"name": "court"`) {
		t.Fatalf("roster export --home: %v %s\n%s", err, e, out)
	}
	if _, _, err := runCLI(t, "roster", "export", "--home", flagH, "--node", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("roster export --home --node: %v", err)
	}
}
