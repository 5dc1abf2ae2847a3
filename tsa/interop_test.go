package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/evidenced/evidenced/internal/testutil"
)

func runOpenSSL(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("openssl %s\n%s", strings.Join(args, " "), out)
	return string(out)
}

func postQuery(t *testing.T, url string, q []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, QueryType, bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := readAll(resp)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST: %d %v", resp.StatusCode, err)
	}
	return b
}

// TestOpenSSLInterop: an OpenSSL query to our ECDSA handler gets a reply that
// openssl ts -verify accepts, by data, by digest and as a bare token from our
// client; OpenSSL's SM3 query gets an SM2 token we verify.
func TestOpenSSLInterop(t *testing.T) {
	bin := testutil.RequireOpenSSL(t)
	dir := t.TempDir()
	data := []byte("evidenced checkpoint\n1234\nq83vEjRWeJA=\n")
	if err := os.WriteFile(filepath.Join(dir, "data"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second) // openssl checks nothing against the clock, but keep it real
	a, err := NewAuthority(ECDSAP256, "OpenSSL interop TSA", now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a.SetClock(func() time.Time { return now })
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	runOpenSSL(t, bin, dir, "ts", "-query", "-data", "data", "-sha256", "-cert", "-no_nonce", "-out", "q.tsq")
	q, _ := os.ReadFile(filepath.Join(dir, "q.tsq"))
	reply := postQuery(t, srv.URL, q)
	if err := os.WriteFile(filepath.Join(dir, "reply.tsr"), reply, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ts", "-verify", "-data", "data", "-in", "reply.tsr", "-CAfile", CAFile},
		{"ts", "-verify", "-digest", hex.EncodeToString(SHA256.Sum(data)), "-in", "reply.tsr", "-CAfile", CAFile},
	} {
		if out := runOpenSSL(t, bin, dir, args...); !strings.Contains(out, "Verification: OK") {
			t.Fatalf("openssl did not verify: %s", out)
		}
	}
	tok, err := ParseResponse(reply)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := tok.Verify([]Anchor{a.Anchor()}, data); err != nil || st.Nonce != nil || !st.GenTime.Equal(now.UTC()) {
		t.Fatalf("Verify = %+v, %v", st, err)
	}

	// Our client (with a nonce), the bare token to openssl -token_in.
	tok, err = Request(context.Background(), srv.Client(), srv.URL, SHA256, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token.der"), tok.Raw(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := runOpenSSL(t, bin, dir, "ts", "-verify", "-data", "data", "-in", "token.der", "-token_in", "-CAfile", CAFile)
	if !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl did not verify the token: %s", out)
	}
	// A token over other data fails there too.
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("other"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "ts", "-verify", "-data", "other", "-in", "token.der", "-token_in", "-CAfile", CAFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "FAILED") {
		t.Fatalf("openssl verified a token over other data: %v %s", err, out)
	}

	// SM2: an OpenSSL SM3 query (with nonce) to an SM2 handler; we verify the
	// token. OpenSSL 3.0 cannot verify it (see the package doc), but it checks
	// the certificate chain when told the SM2 distinguishing ID.
	sdir := filepath.Join(dir, "sm2")
	s, err := NewAuthority(SM2, "OpenSSL interop SM2 TSA", now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return now })
	if err := s.Save(sdir); err != nil {
		t.Fatal(err)
	}
	ssrv := httptest.NewServer(s.Handler())
	defer ssrv.Close()
	runOpenSSL(t, bin, dir, "ts", "-query", "-data", "data", "-sm3", "-cert", "-out", "q-sm3.tsq")
	q, _ = os.ReadFile(filepath.Join(dir, "q-sm3.tsq"))
	stok, err := ParseResponse(postQuery(t, ssrv.URL, q))
	if err != nil {
		t.Fatal(err)
	}
	st, err := stok.Verify([]Anchor{s.Anchor()}, data)
	if err != nil || st.Hash != SM3 || st.Nonce == nil {
		t.Fatalf("SM2 Verify = %+v, %v", st, err)
	}
	out = runOpenSSL(t, bin, sdir, "verify", "-vfyopt", "distid:1234567812345678", "-purpose", "timestampsign",
		"-CAfile", CAFile, CertFile)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify of the SM2 signing certificate: %s", out)
	}
}

// TestDigitorus: our ECDSA tokens parse (and their signature checks) with
// digitorus/timestamp; a token digitorus makes verifies with ours.
func TestDigitorus(t *testing.T) {
	msg := []byte("checkpoint for digitorus")
	now := time.Now().UTC().Truncate(time.Second) // digitorus checks the signing-time attribute against the certificate
	a, err := NewAuthority(ECDSAP256, "digitorus interop", now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Sign(makeRequest(t, SHA256, msg, big.NewInt(99), true), now)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := timestamp.ParseResponse(resp)
	if err != nil {
		t.Fatalf("digitorus ParseResponse of our token: %v", err)
	}
	if !bytes.Equal(ts.HashedMessage, SHA256.Sum(msg)) || ts.HashAlgorithm != crypto.SHA256 || !ts.Time.Equal(now) ||
		ts.Nonce.Int64() != 99 || ts.Policy.String() != "1.2.3.4.1" || len(ts.Certificates) != 2 || ts.Accuracy != time.Second {
		t.Fatalf("digitorus read %+v", ts)
	}

	// Conversely: digitorus makes a token with our authority's key and certificates.
	leaf, err := x509.ParseCertificate(a.SigningCertificate())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(a.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	q, err := timestamp.CreateRequest(bytes.NewReader(msg), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true, Nonce: big.NewInt(5)})
	if err != nil {
		t.Fatal(err)
	}
	req, err := timestamp.ParseRequest(q)
	if err != nil {
		t.Fatal(err)
	}
	gen := now.Add(-10 * time.Minute)
	dt := timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: gen, Nonce: req.Nonce,
		Policy: oidDevPolicy, Accuracy: 2 * time.Second, AddTSACertificate: true, Certificates: []*x509.Certificate{ca},
	}
	dresp, err := dt.CreateResponseWithOpts(leaf, a.key.(*ecdsa.PrivateKey), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseResponse(dresp)
	if err != nil {
		t.Fatalf("our ParseResponse of a digitorus token: %v", err)
	}
	st, err := tok.Verify([]Anchor{a.Anchor()}, msg)
	if err != nil {
		t.Fatalf("our Verify of a digitorus token: %v", err)
	}
	if !st.GenTime.Equal(gen) || st.Nonce.Int64() != 5 || st.Accuracy != 2*time.Second || st.Hash != SHA256 || st.TSA != a.Name() {
		t.Fatalf("stamp of a digitorus token: %+v", st)
	}
	if _, err := tok.Verify([]Anchor{a.Anchor()}, []byte("other")); !errors.Is(err, ErrImprint) {
		t.Fatalf("digitorus token over other message: %v", err)
	}
}
