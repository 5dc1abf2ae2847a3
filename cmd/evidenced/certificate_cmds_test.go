package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/certificate/certtest"
)

func TestVerifyCertificateCommand(t *testing.T) {
	f := certtest.New(t)
	pdf, d := f.Build(t, certificate.LangZH)
	dir := t.TempDir()
	certPath := filepath.Join(dir, "cert.pdf")
	if err := os.WriteFile(certPath, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	rj, err := json.Marshal(f.Roster(t))
	if err != nil {
		t.Fatal(err)
	}
	rosterPath := writeFile(t, dir, "roster.json", string(rj))
	original := writeFile(t, dir, "contract.txt", string(f.Original))
	salt := hex.EncodeToString(f.Salt)
	// One byte of the embedded receipt, and one of the signed content.
	tamperedReceipt := writeTampered(t, dir, "receipt.pdf", pdf, certificate.ReceiptName, func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"leaf_index": 6`), []byte(`"leaf_index": 7`), 1)
	})
	tamperedContent := writeTampered(t, dir, "content.pdf", pdf, certificate.CertificateName, func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"kind":"loan-contract"`), []byte(`"kind":"loan-contracT"`), 1)
	})

	tests := []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"certificate", []string{"--certificate", certPath, "--roster", rosterPath}, 0, []string{
			"certificate of record 6 (loan-contract \"LOAN-2026-000001\" step 1) issued by notary (notary)",
			"✓ certificate ", "✓ certificate_signature the certificate content is signed (SM2) by notary (notary)",
			"✓ certificate_receipt", "✓ signatures", "– file", "VERIFIED: record 6.0 was accepted by the alliance in block 1",
			"ATTESTED (as the issuer states): notary notarised"}},
		{"with the original", []string{"--certificate", certPath, "--roster", rosterPath, "--file", original, "--salt", salt}, 0, []string{"✓ file", "VERIFIED"}},
		{"another original", []string{"--certificate", certPath, "--roster", rosterPath, "--file", rosterPath, "--salt", salt}, 3, []string{"✗ file", "NOT VERIFIED: the file step failed"}},
		{"receipt changed", []string{"--certificate", tamperedReceipt, "--roster", rosterPath}, 3, []string{"✗ certificate_receipt", "SM3 of the embedded receipt.json", "– roster", "NOT VERIFIED: the certificate_receipt step failed"}},
		{"content changed", []string{"--certificate", tamperedContent, "--roster", rosterPath}, 3, []string{"✗ certificate_signature", "does not verify", "NOT VERIFIED: the certificate_signature step failed"}},
		{"not a certificate", []string{"--certificate", rosterPath, "--roster", rosterPath}, 3, []string{"✗ certificate ", "not an evidenced certificate PDF"}},
		{"both inputs", []string{"--certificate", certPath, "--receipt", certPath, "--roster", rosterPath}, 1, nil},
		{"missing", []string{"--certificate", filepath.Join(dir, "none.pdf"), "--roster", rosterPath}, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCLI(t, append([]string{"verify"}, tc.args...)...)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d, want %d: %v\n%s", got, tc.code, err, out)
			}
			for _, p := range tc.out {
				if !strings.Contains(out, p) {
					t.Errorf("output does not say %q:\n%s", p, out)
				}
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		out, _, err := runCLI(t, "verify", "--certificate", tamperedContent, "--roster", rosterPath, "-o", "json")
		if exitCode(err) != 3 {
			t.Fatalf("exit %d: %v", exitCode(err), err)
		}
		var rep certificate.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.OK || rep.FailedStep != certificate.StepSignature || len(rep.Steps) != len(certificate.Steps()) || rep.Steps[1].Reason != certificate.ReasonSignature {
			t.Errorf("report %+v", rep)
		}
	})

	// The receipt a PDF tool extracts verifies on its own.
	t.Run("pdfdetach", func(t *testing.T) {
		if _, err := exec.LookPath("pdfdetach"); err != nil {
			if os.Getenv("EVIDENCED_REQUIRE_PDFTOOLS") != "" {
				t.Fatal("pdfdetach is missing: apt-get install poppler-utils")
			}
			t.Skip("pdfdetach is missing: apt-get install poppler-utils")
		}
		out := t.TempDir()
		if b, err := exec.Command("pdfdetach", "-saveall", "-o", out, certPath).CombinedOutput(); err != nil {
			t.Fatalf("pdfdetach: %v\n%s", err, b)
		}
		got, _, err := runCLI(t, "verify", "--receipt", filepath.Join(out, certificate.ReceiptName), "--roster", rosterPath, "--file", original, "--salt", salt)
		if err != nil || !strings.Contains(got, "VERIFIED: record 6.0") {
			t.Fatalf("%v\n%s", err, got)
		}
	})

	// evidenced certificate fetches the PDF and writes it.
	t.Run("fetch", func(t *testing.T) {
		var gotQuery string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/evidence/6/certificate" {
				http.NotFound(w, r)
				return
			}
			gotQuery = r.URL.RawQuery
			w.Header().Set("Content-Type", "application/pdf")
			w.Write(pdf)
		}))
		defer srv.Close()
		out := filepath.Join(dir, "fetched.pdf")
		stdout, _, err := runCLI(t, "certificate", "6", "--out", out, "--lang", "en", "--node", srv.URL)
		if err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		if gotQuery != "lang=en" {
			t.Errorf("query %q", gotQuery)
		}
		for _, want := range []string{"certificate of record 6 (loan-contract \"LOAN-2026-000001\" step 1) written to " + out,
			"issued by notary (notary)", d.Facts.Record.Commitment.String(), "evidenced verify --certificate " + out} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output does not say %q:\n%s", want, stdout)
			}
		}
		if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, pdf) {
			t.Errorf("written %d bytes, %v", len(b), err)
		}
		if _, _, err := runCLI(t, "certificate", "6", "--out", out, "--lang", "fr", "--node", srv.URL); err == nil || !strings.Contains(err.Error(), "--lang") {
			t.Errorf("--lang fr: %v", err)
		}
		if _, _, err := runCLI(t, "certificate", "6", "--node", srv.URL); err == nil || !strings.Contains(err.Error(), "--out") {
			t.Errorf("no --out: %v", err)
		}
		if _, _, err := runCLI(t, "certificate", "7", "--out", out, "--node", srv.URL); err == nil {
			t.Error("a 404 wrote a certificate")
		}
	})
}

// writeTampered writes pdf with attachment name changed by change.
func writeTampered(t *testing.T, dir, file string, pdf []byte, name string, change func([]byte) []byte) string {
	t.Helper()
	rj, cj, err := certificate.Extract(pdf)
	if err != nil {
		t.Fatal(err)
	}
	old := rj
	if name == certificate.CertificateName {
		old = cj
	}
	changed := change(old)
	if bytes.Equal(changed, old) {
		t.Fatalf("the change left %s as it was", name)
	}
	out, err := certtest.ReplaceAttachment(pdf, name, changed)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
