package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/keyfile"
)

// copyPrivate copies a keyfile testdata key to a 0600 temp file.
func copyPrivate(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "keyfile", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func showJSON(t *testing.T, args ...string) keyInfo {
	t.Helper()
	out, e, err := runCLI(t, append(args, "-o", "json")...)
	if err != nil {
		t.Fatalf("%v: %v %s", args, err, e)
	}
	var k keyInfo
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	return k
}

func TestKeysGenerateShow(t *testing.T) {
	const pass = "s3cret passphrase"
	t.Setenv(envPassphrase, "")
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(pass+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plain, enc := filepath.Join(dir, "plain.key"), filepath.Join(dir, "enc.key")

	gen := showJSON(t, "keys", "generate", "--out", plain, "--no-passphrase")
	if gen.Encrypted || !gen.Private || gen.ShortID != gen.KeyID.Short() || len(gen.PublicKey) != 65 {
		t.Errorf("generate = %+v", gen)
	}
	if shown := showJSON(t, "keys", "show", plain); !reflect.DeepEqual(shown, gen) {
		t.Errorf("show = %+v, want %+v", shown, gen)
	}

	out, e, err := runCLI(t, "keys", "generate", "--out", enc, "--passphrase-file", passFile)
	if err != nil {
		t.Fatalf("generate encrypted: %v %s", err, e)
	}
	if strings.Contains(out+e, pass) {
		t.Errorf("passphrase printed: %q %q", out, e)
	}
	if fi, _ := os.Stat(enc); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v", fi.Mode().Perm())
	}
	k, err := keyfile.Load(enc, []byte(pass))
	if err != nil {
		t.Fatalf("load generated key with the passphrase: %v", err)
	}
	shown := showJSON(t, "keys", "show", "--passphrase-file", passFile, enc)
	if !shown.Encrypted || shown.KeyID != k.Public().ID() {
		t.Errorf("show encrypted = %+v", shown)
	}
	if _, _, err := runCLI(t, "keys", "show", enc); err == nil || !strings.Contains(err.Error(), "--passphrase-file") {
		t.Errorf("show encrypted without passphrase: err = %v", err)
	}

	// A public PEM shows the same id.
	pubPath := filepath.Join(dir, "k.pub.pem")
	if err := keyfile.SavePublic(pubPath, k.Public()); err != nil {
		t.Fatal(err)
	}
	pub := showJSON(t, "keys", "show", pubPath)
	if pub.Private || pub.KeyID != shown.KeyID || pub.PublicPEM != shown.PublicPEM {
		t.Errorf("show public = %+v", pub)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"exists", []string{"--out", plain, "--no-passphrase"}, "already exists"},
		{"no-passphrase-choice", []string{"--out", filepath.Join(dir, "x.key")}, "pass --passphrase-file FILE, set EVIDENCED_PASSPHRASE, or pass --no-passphrase"},
		{"contradiction", []string{"--out", filepath.Join(dir, "y.key"), "--no-passphrase", "--passphrase-file", passFile}, "contradict"},
		{"no-out", nil, "--out FILE is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, append([]string{"keys", "generate"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.key")); !os.IsNotExist(err) {
		t.Errorf("a key was written without a passphrase decision")
	}
}

func TestKeysImportOpenSSL(t *testing.T) {
	t.Setenv(envPassphrase, "")
	dir := t.TempDir()
	inPass := filepath.Join(dir, "in-pass")
	if err := os.WriteFile(inPass, []byte("evidenced-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	newPass := filepath.Join(dir, "new-pass")
	if err := os.WriteFile(newPass, []byte("new passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plainIn := copyPrivate(t, "openssl-sm2.pem")
	want := showJSON(t, "keys", "show", plainIn)

	out1 := filepath.Join(dir, "imported.key")
	got := showJSON(t, "keys", "import", "--in", plainIn, "--out", out1, "--passphrase-file", newPass)
	if got.KeyID != want.KeyID || !got.Encrypted {
		t.Errorf("import = %+v, want key %s encrypted", got, want.KeyID)
	}
	if k, err := keyfile.Load(out1, []byte("new passphrase")); err != nil || k.Public().ID() != want.KeyID {
		t.Errorf("imported key does not load with the new passphrase: %v", err)
	}

	encIn := copyPrivate(t, "openssl-sm2-enc.pem")
	out2 := filepath.Join(dir, "imported2.key")
	if _, _, err := runCLI(t, "keys", "import", "--in", encIn, "--out", out2, "--no-passphrase"); err == nil || !strings.Contains(err.Error(), "--in-passphrase-file") {
		t.Errorf("encrypted input without passphrase: err = %v", err)
	}
	got2 := showJSON(t, "keys", "import", "--in", encIn, "--in-passphrase-file", inPass, "--out", out2, "--no-passphrase")
	if got2.KeyID != want.KeyID || got2.Encrypted {
		t.Errorf("import encrypted = %+v, want key %s unencrypted", got2, want.KeyID)
	}

	// A world-readable input is refused with the fix.
	loose := filepath.Join(dir, "loose.pem")
	data, _ := os.ReadFile(plainIn)
	if err := os.WriteFile(loose, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "keys", "import", "--in", loose, "--out", filepath.Join(dir, "z.key"), "--no-passphrase"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("loose input: err = %v", err)
	}
}
