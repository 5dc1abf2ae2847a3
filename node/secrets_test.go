//go:build unix

package node_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/node"
)

// TestLoadHomeSecretFiles (F8): the passphrase file and the webhook secret
// files get the permission check the key and token files get, and a FIFO
// given as any of them is refused at once instead of blocking the start.
func TestLoadHomeSecretFiles(t *testing.T) {
	a := generate(t, "evidenced-secret-files")
	home := a.Members[0].Home
	orig, err := os.ReadFile(config.File(home))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "readable-by-others")
	if err := os.WriteFile(open, []byte("0123456789abcdef0123456789abcdef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hook := func(secret string) func(*config.Config) {
		return func(c *config.Config) {
			c.Webhooks = []config.Webhook{{Name: "core", URL: "https://core.bank.example/hooks", SecretFile: secret}}
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*config.Config)
		want []string
	}{
		{"passphrase file readable by others", func(c *config.Config) { c.Keys.PassphraseFile = open }, []string{"keys.passphrase_file", "chmod 600 " + open}},
		{"webhook secret readable by others", hook(open), []string{"webhook core", "chmod 600 " + open}},
		{"tokens file readable by others", func(c *config.Config) { c.API.TokensFile = open }, []string{"api.tokens_file", "chmod 600 " + open}},
		{"member key FIFO", func(c *config.Config) { c.Keys.MemberKey = fifo }, []string{"member key", "FIFO"}},
		{"client key FIFO", func(c *config.Config) { c.Keys.ClientKey = fifo }, []string{"client key", "FIFO"}},
		{"passphrase file FIFO", func(c *config.Config) { c.Keys.PassphraseFile = fifo }, []string{"keys.passphrase_file", "FIFO"}},
		{"tokens file FIFO", func(c *config.Config) { c.API.TokensFile = fifo }, []string{"api.tokens_file", "FIFO"}},
		{"webhook secret FIFO", hook(fifo), []string{"webhook core", "FIFO"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(home)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(cfg)
			if err := cfg.Save(home); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.WriteFile(config.File(home), orig, 0o644) })
			done := make(chan error, 1)
			go func() {
				h, err := node.LoadHome(home, slog.New(slog.DiscardHandler))
				if err == nil {
					h.Close()
				}
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("LoadHome blocked")
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("LoadHome = %v, want an error saying %q", err, w)
				}
			}
		})
	}
}
