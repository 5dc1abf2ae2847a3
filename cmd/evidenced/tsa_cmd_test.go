package main

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/tsa"
)

func TestTSAOpenAndCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tsa")
	cmd := newTSACmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	a, err := openAuthority(cmd, dir, "ecdsa", "Test TSA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Made a ecdsa time-stamping authority "Test TSA"`, tsa.KeyFile, "anchor SM3 fingerprint", "anchor SHA-256 fingerprint"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, tsa.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	// Later runs load it; another kind is refused.
	b, err := openAuthority(cmd, dir, "", "ignored", time.Hour)
	if err != nil || b.Name() != "Test TSA" || !bytes.Equal(b.Certificate(), a.Certificate()) {
		t.Fatalf("reload: %v", err)
	}
	if _, err := openAuthority(cmd, dir, "sm2", "", time.Hour); err == nil || !strings.Contains(err.Error(), "is ecdsa, not sm2") {
		t.Fatalf("kind mismatch: %v", err)
	}
	// tsa cert prints the anchor.
	root := newRootCmd()
	out.Reset()
	root.SetOut(&out)
	root.SetArgs([]string{"tsa", "cert", "--dir", dir})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(out.Bytes())
	if blk == nil || !bytes.Equal(blk.Bytes, a.Certificate()) {
		t.Fatalf("tsa cert printed %q", out.String())
	}
}
