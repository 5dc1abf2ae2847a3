package certificate_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/certificate/certtest"
)

// outDir keeps the certificates and page images the tools test makes (a
// test artefact, gitignored like test-output/explorer).
const outDir = "../test-output/certificate"

// needTool returns the path of a command-line tool, skipping the test when
// it is missing, unless EVIDENCED_REQUIRE_PDFTOOLS is set (CI: .ci/run
// installs poppler-utils, zbar-tools and fonts-arphic-gbsn00lp), where it
// fails.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " is missing: apt-get install " + pkg
		if os.Getenv("EVIDENCED_REQUIRE_PDFTOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestCertificateTools checks certificates from outside the code: poppler's
// pdftotext finds the labels and the commitment, pdftoppm renders page 1,
// zbarimg decodes the QR code on it to the verify URL, and pdfdetach
// extracts the receipt byte for byte.
func TestCertificateTools(t *testing.T) {
	if _, err := certificate.LoadFont(""); err != nil {
		if os.Getenv("EVIDENCED_REQUIRE_PDFTOOLS") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	pdftotext := needTool(t, "pdftotext", "poppler-utils")
	pdftoppm := needTool(t, "pdftoppm", "poppler-utils")
	pdfdetach := needTool(t, "pdfdetach", "poppler-utils")
	zbarimg := needTool(t, "zbarimg", "zbar-tools")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := certtest.New(t)
	for _, tc := range []struct {
		lang   string
		labels []string
	}{
		{certificate.LangZH, []string{"存证证书", "保全号", "存证哈希", "区块高度", "共同签名成员", "公证与司法声明", "出证方", "(2026)沪东证字第1234号", "可信时间", "(tsa-sm2)", "原件调取记录", "case-2026-0115", "notary (公证处)"}},
		{certificate.LangEN, []string{"Evidence Certificate", "Evidence chain", "Commitment (SM3)", "Block height", "Co-signing members", "Attestations", "Issued by", "Trusted time", "(tsa-sm2)", "Custody of the original", "case-2026-0115", "notary (notary)"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			pdf, d := f.Build(t, tc.lang)
			base := filepath.Join(outDir, "certificate-"+tc.lang)
			if err := os.WriteFile(base+".pdf", pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			text := string(run(t, pdftotext, "-layout", base+".pdf", "-"))
			for _, want := range append(tc.labels, "LOAN-2026-000001", d.Facts.Record.Commitment.String(), "notary") {
				if !strings.Contains(text, want) {
					t.Errorf("pdftotext output lacks %q:\n%s", want, text)
				}
			}
			run(t, pdftoppm, "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", base+".pdf", base+"-page1")
			png := base + "-page1.png"
			if st, err := os.Stat(png); err != nil || st.Size() < 10000 {
				t.Fatalf("page 1 was not rendered to %s: %v", png, err)
			}
			qr := strings.TrimSpace(string(run(t, zbarimg, "--raw", "-q", png)))
			if qr != d.VerifyURL {
				t.Errorf("zbarimg decoded %q, want the verify URL %q", qr, d.VerifyURL)
			}
			dir := t.TempDir()
			run(t, pdfdetach, "-saveall", "-o", dir, base+".pdf")
			got, err := os.ReadFile(filepath.Join(dir, certificate.ReceiptName))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, d.Receipt) {
				t.Error("pdfdetach's receipt.json differs from the receipt embedded")
			}
			if _, err := os.ReadFile(filepath.Join(dir, certificate.CertificateName)); err != nil {
				t.Error(err)
			}
		})
	}
}
