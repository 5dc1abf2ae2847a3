//go:build unix

package keyfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs read and fails the test unless it returns within a few
// seconds: a read that blocks on a FIFO would hang the node's start.
func within(t *testing.T, read func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- read() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the read blocked")
		return nil
	}
}

// TestSecretFIFO (F8): a FIFO given as a key, passphrase or other secret
// file is refused at once, never read; so is a device or a directory.
func TestSecretFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		read func(path string) error
	}{
		{"Load", func(p string) error { _, err := Load(p, nil); return err }},
		{"ReadPassphrase", func(p string) error { _, err := ReadPassphrase(p); return err }},
		{"ReadSecret", func(p string) error { _, err := ReadSecret(p, 1024); return err }},
	} {
		for _, path := range []string{fifo, os.DevNull, dir} {
			err := within(t, func() error { return tc.read(path) })
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s(%s) = %v, want ErrNotRegular", tc.name, path, err)
			}
		}
	}
	err := within(t, func() error { _, err := ReadSecret(fifo, 1024); return err })
	if !strings.Contains(err.Error(), "it is a FIFO") {
		t.Errorf("error %q does not say the file is a FIFO", err)
	}
}

// TestSecretFIFOAfterCheck (F8): the open itself never blocks either, and
// checks what it opened, so a FIFO put in place between the check and the
// open is refused too.
func TestSecretFIFOAfterCheck(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	err := within(t, func() error {
		f, err := openSecretFile(fifo) // past the check before opening
		if err == nil {
			f.Close()
		}
		return err
	})
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("open and check of a FIFO = %v, want ErrNotRegular", err)
	}
}

// TestReadPassphrasePermissions (F8): a passphrase file (and so a webhook
// secret) readable by group or others is refused like a key file; a
// private one, also through a symbolic link, is read.
func TestReadPassphrasePermissions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pass")
	if err := os.WriteFile(p, []byte("open sesame\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p, link} {
		if got, err := ReadPassphrase(path); err != nil || string(got) != "open sesame" {
			t.Fatalf("ReadPassphrase(%s) = %q, %v", path, got, err)
		}
	}
	for _, m := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
		_, err := ReadPassphrase(p)
		if !errors.Is(err, ErrInsecurePermissions) || !strings.Contains(err.Error(), "chmod 600 "+p) {
			t.Errorf("ReadPassphrase(mode %v) = %v, want ErrInsecurePermissions saying chmod 600", m, err)
		}
	}
}
