package crypto

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/evidenced/evidenced/internal/testutil"
)

// runOpenSSL runs openssl with args in dir and returns its stdout.
func runOpenSSL(t *testing.T, bin, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const distID = "distid:1234567812345678"

func TestOpenSSLInterop(t *testing.T) {
	bin := testutil.RequireOpenSSL(t)
	dir := t.TempDir()
	msg := []byte("evidence chain LOAN-0001 step 3")
	writeFile(t, dir, "msg", msg)

	// (a) OpenSSL key → ParsePrivateKeyPEM.
	runOpenSSL(t, bin, dir, "genpkey", "-algorithm", "SM2", "-out", "k.pem")
	osslKey, err := ParsePrivateKeyPEM(readFile(t, dir, "k.pem"), nil)
	if err != nil {
		t.Fatalf("(a) import OpenSSL key: %v", err)
	}
	runOpenSSL(t, bin, dir, "pkey", "-in", "k.pem", "-pubout", "-out", "osslpub.pem")
	osslPub, err := ParsePublicKeyPEM(readFile(t, dir, "osslpub.pem"))
	if err != nil {
		t.Fatalf("(a) import OpenSSL public key: %v", err)
	}
	if !osslPub.Equal(osslKey.Public()) {
		t.Fatal("(a) OpenSSL public key differs from the one derived from its private key")
	}
	// SEC 1 form of the same key (`openssl ec` writes "SM2 PRIVATE KEY").
	runOpenSSL(t, bin, dir, "ec", "-in", "k.pem", "-out", "sec1.pem")
	if k, err := ParsePrivateKeyPEM(readFile(t, dir, "sec1.pem"), nil); err != nil || !k.Public().Equal(osslPub) {
		t.Fatalf("(a) import OpenSSL SEC 1 key: %v", err)
	}
	// Encrypted by OpenSSL (its default PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC), and with SM4-CBC.
	for _, cipher := range []string{"aes-256-cbc", "sm4-cbc"} {
		runOpenSSL(t, bin, dir, "pkcs8", "-topk8", "-in", "k.pem", "-v2", cipher, "-passout", "pass:s3cret", "-out", "enc.pem")
		k, err := ParsePrivateKeyPEM(readFile(t, dir, "enc.pem"), []byte("s3cret"))
		if err != nil || !k.Public().Equal(osslPub) {
			t.Fatalf("(a) import OpenSSL key encrypted with %s: %v", cipher, err)
		}
	}

	// (b) OpenSSL signs → our Verify accepts.
	runOpenSSL(t, bin, dir, "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-pkeyopt", distID, "-inkey", "k.pem", "-in", "msg", "-out", "osslsig")
	if err := osslPub.Verify(msg, readFile(t, dir, "osslsig")); err != nil {
		t.Errorf("(b) Verify(OpenSSL signature) = %v", err)
	}

	// (c) We sign → OpenSSL verifies, with our public key PEM.
	ours := newTestKey(t)
	pubPEM, err := ours.Public().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "pub.pem", pubPEM)
	for i := range 5 {
		sig, err := ours.Sign(rand.Reader, msg)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "sig", sig)
		out := runOpenSSL(t, bin, dir, "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pkeyopt", distID, "-pubin", "-inkey", "pub.pem", "-in", "msg", "-sigfile", "sig")
		if !bytes.Contains(out, []byte("Signature Verified Successfully")) {
			t.Errorf("(c) OpenSSL did not verify our signature %d: %s", i, out)
		}
	}

	// (d) OpenSSL encrypts to our key → our Decrypt recovers.
	runOpenSSL(t, bin, dir, "pkeyutl", "-encrypt", "-pubin", "-inkey", "pub.pem", "-in", "msg", "-out", "ct")
	pt, err := ours.Decrypt(readFile(t, dir, "ct"))
	if err != nil || !bytes.Equal(pt, msg) {
		t.Errorf("(d) Decrypt(OpenSSL ciphertext) = %q, %v", pt, err)
	}
	// And the reverse: OpenSSL decrypts ours.
	ct, err := osslPub.Encrypt(rand.Reader, msg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "ourct", ct)
	if out := runOpenSSL(t, bin, dir, "pkeyutl", "-decrypt", "-inkey", "k.pem", "-in", "ourct"); !bytes.Equal(out, msg) {
		t.Errorf("(d) OpenSSL decrypted our ciphertext to %q", out)
	}

	// (e) OpenSSL reads our plain and encrypted private key PEM.
	plain, err := ours.MarshalPEM(nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ours.MarshalPEM([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "plain.pem", plain)
	writeFile(t, dir, "enc.pem", enc)
	wantPub := runOpenSSL(t, bin, dir, "pkey", "-in", "pub.pem", "-pubin", "-pubout")
	for _, f := range []string{"plain.pem", "enc.pem"} {
		got := runOpenSSL(t, bin, dir, "pkey", "-in", f, "-passin", "pass:x", "-pubout")
		if !bytes.Equal(got, wantPub) {
			t.Errorf("(e) OpenSSL read %s to public key\n%s\nwant\n%s", f, got, wantPub)
		}
	}
	// OpenSSL signs with our encrypted key file; we verify.
	runOpenSSL(t, bin, dir, "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-pkeyopt", distID, "-inkey", "enc.pem", "-passin", "pass:x", "-in", "msg", "-out", "sig2")
	if err := ours.Public().Verify(msg, readFile(t, dir, "sig2")); err != nil {
		t.Errorf("(e) Verify(OpenSSL signature with our key file) = %v", err)
	}
}
