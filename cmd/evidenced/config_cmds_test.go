package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/config"
)

// freeAddr returns a 127.0.0.1 address nothing listens on (as far as can
// be known).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func setListen(t *testing.T, home, addr string) {
	cfg, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.API.Listen = addr
	if err := cfg.Save(home); err != nil {
		t.Fatal(err)
	}
}

func TestConfigShow(t *testing.T) {
	home := filepath.Join(t.TempDir(), "bank")
	if _, e, err := runCLI(t, "init", "--home", home, "--moniker", "bank", "--role", "bank", "--no-passphrase"); err != nil {
		t.Fatalf("init: %v %s", err, e)
	}
	setListen(t, home, "127.0.0.1:18299")
	t.Setenv(envHome, home)
	out, e, err := runCLI(t, "config", "show")
	if err != nil {
		t.Fatalf("config show: %v %s", err, e)
	}
	// The defaults the file leaves out are there.
	for _, want := range []string{`moniker = "bank"`, `listen = "127.0.0.1:18299"`, `max_header_bytes = 65536`, `member_key = "keys/member.pem"`} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
	// Validate refuses credentials in URLs; show hides them all the same.
	for in, want := range map[string]string{"https://user:secret@tsa.example/ts": "https://REDACTED@tsa.example/ts", "http://tsa.example/": "http://tsa.example/", "": ""} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
	out, _, err = runCLI(t, "config", "show", "-o", "json")
	var m map[string]any
	if err != nil || json.Unmarshal([]byte(out), &m) != nil || m["api"].(map[string]any)["listen"] != "127.0.0.1:18299" {
		t.Fatalf("config show -o json: %v\n%s", err, out)
	}
}

func TestConfigValidate(t *testing.T) {
	home := filepath.Join(t.TempDir(), "bank")
	// CometBFT's ports on free ports: other nodes may run on this machine.
	port := func() string { _, p, _ := net.SplitHostPort(freeAddr(t)); return p }
	if _, e, err := runCLI(t, "init", "--home", home, "--moniker", "bank", "--role", "bank", "--no-passphrase", "--p2p-port", port(), "--rpc-port", port()); err != nil {
		t.Fatalf("init: %v %s", err, e)
	}
	addr := freeAddr(t)
	setListen(t, home, addr)
	out, e, err := runCLI(t, "config", "validate", "--home", home)
	if err != nil || !strings.Contains(out, "member key") || !strings.Contains(out, addr+" is free") || !strings.Contains(out, "ok    cometbft config") {
		t.Fatalf("config validate: %v %s\n%s", err, e, out)
	}
	// A key others may read fails, with the command that fixes it.
	key := filepath.Join(home, "keys", "member.pem")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "config", "validate", "--home", home)
	if exitCode(err) != 1 || !strings.Contains(out, "FAIL  member key") || !strings.Contains(out, "chmod 600 "+key) {
		t.Fatalf("config validate, key 0644: %v\n%s", err, out)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	// A port taken by something other than the node fails.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	out, _, err = runCLI(t, "config", "validate", "--home", home, "-o", "json")
	ln.Close()
	var r configReport
	jerr := json.Unmarshal([]byte(out), &r)
	taken := slices.ContainsFunc(r.Checks, func(c configCheck) bool {
		return c.Check == "api listen" && !c.OK && strings.Contains(c.Detail, "is not free")
	})
	if exitCode(err) != 1 || jerr != nil || r.Valid || r.Running || !taken {
		t.Fatalf("config validate, port taken: %v\n%s", err, out)
	}
	// A running node (its API answers /healthz) is not a port conflict.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	setListen(t, home, srv.Listener.Addr().String())
	out, _, err = runCLI(t, "config", "validate", "--home", home)
	if err != nil || !strings.Contains(out, "the node is running") {
		t.Fatalf("config validate, node running: %v\n%s", err, out)
	}
	// A broken file fails at the first check.
	if err := os.WriteFile(config.File(home), []byte("moniker = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "config", "validate", "--home", home)
	if exitCode(err) != 1 || !strings.Contains(out, "FAIL  settings") {
		t.Fatalf("config validate, bad file: %v\n%s", err, out)
	}
}
