package keyfile

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/evidenced/evidenced/crypto"
)

func newKey(t *testing.T) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// onlyEntries checks that dir holds exactly names (no temporary files).
func onlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("directory holds %v, want %v", got, names)
	}
	for i := range names {
		if got[i] != names[i] {
			t.Fatalf("directory holds %v, want %v", got, names)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	tests := []struct {
		name, pass, pemType string
	}{
		{"plain", "", "PRIVATE KEY"},
		{"encrypted", "open sesame", "ENCRYPTED PRIVATE KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "member.key")
			k := newKey(t)
			if err := Save(p, k, []byte(tt.pass)); err != nil {
				t.Fatal(err)
			}
			if m := mode(t, p); m != 0o600 {
				t.Errorf("mode = %v, want 0600", m)
			}
			onlyEntries(t, dir, "member.key")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(data); b == nil || b.Type != tt.pemType {
				t.Fatalf("file PEM type = %v, want %q", b, tt.pemType)
			}
			if tt.pass != "" {
				plain, err := k.MarshalPEM(nil)
				if err != nil {
					t.Fatal(err)
				}
				der, _ := pem.Decode(plain)
				if bytes.Contains(data, plain) || bytes.Contains(data, der.Bytes) {
					t.Error("encrypted key file contains the plain PKCS#8")
				}
				if _, err := Load(p, nil); !errors.Is(err, crypto.ErrPassphraseRequired) {
					t.Errorf("Load(no passphrase) = %v, want ErrPassphraseRequired", err)
				}
				if _, err := Load(p, []byte("wrong")); !errors.Is(err, crypto.ErrWrongPassphrase) {
					t.Errorf("Load(wrong passphrase) = %v, want ErrWrongPassphrase", err)
				}
			}
			got, err := Load(p, []byte(tt.pass))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Public().Equal(k.Public()) {
				t.Fatal("loaded a different key")
			}
		})
	}
}

func TestSaveRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.pem")
	k1 := newKey(t)
	if err := Save(p, k1, nil); err != nil {
		t.Fatal(err)
	}
	err := Save(p, newKey(t), nil)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("Save over existing = %v, want ErrExists", err)
	}
	got, err := Load(p, nil)
	if err != nil || !got.Public().Equal(k1.Public()) {
		t.Fatalf("existing key changed: %v", err)
	}
	onlyEntries(t, dir, "k.pem")
}

func TestLoadInsecurePermissions(t *testing.T) {
	for _, m := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o610} {
		dir := t.TempDir()
		p := filepath.Join(dir, "k.pem")
		if err := Save(p, newKey(t), nil); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p, nil)
		if !errors.Is(err, ErrInsecurePermissions) {
			t.Fatalf("Load(mode %v) = %v, want ErrInsecurePermissions", m, err)
		}
		if want := "chmod 600 " + p; !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// 0400 is fine.
	dir := t.TempDir()
	p := filepath.Join(dir, "k.pem")
	if err := Save(p, newKey(t), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, nil); err != nil {
		t.Errorf("Load(mode 0400) = %v", err)
	}
}

func TestPublic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "member.pub")
	pub := newKey(t).Public()
	if err := SavePublic(p, pub); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, p); m != 0o644 {
		t.Errorf("mode = %v, want 0644", m)
	}
	got, err := LoadPublic(p)
	if err != nil || !got.Equal(pub) {
		t.Fatalf("LoadPublic = %v", err)
	}
	// Replacing a public key file is allowed.
	pub2 := newKey(t).Public()
	if err := SavePublic(p, pub2); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadPublic(p); err != nil || !got.Equal(pub2) {
		t.Fatalf("LoadPublic after replace = %v", err)
	}
	onlyEntries(t, dir, "member.pub")
	if _, err := LoadPublic(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPublic(missing) = %v, want os.ErrNotExist", err)
	}
}

// copyPrivate copies a testdata key into a 0600 file (git does not keep
// file modes other than the executable bit).
func copyPrivate(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadOpenSSLKey loads key files made by OpenSSL 3.0:
//
//	openssl genpkey -algorithm SM2 -out openssl-sm2.pem
//	openssl pkcs8 -topk8 -in openssl-sm2.pem -v2 aes-256-cbc -passout pass:evidenced-test -out openssl-sm2-enc.pem
//	openssl pkey -in openssl-sm2.pem -pubout -out openssl-sm2-pub.pem
func TestLoadOpenSSLKey(t *testing.T) {
	pub, err := LoadPublic(filepath.Join("testdata", "openssl-sm2-pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Load(copyPrivate(t, "openssl-sm2.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Load(copyPrivate(t, "openssl-sm2-enc.pem"), []byte("evidenced-test"))
	if err != nil {
		t.Fatal(err)
	}
	if !plain.Public().Equal(pub) || !enc.Public().Equal(pub) {
		t.Fatal("OpenSSL key files do not hold the same key as the public key file")
	}
}
