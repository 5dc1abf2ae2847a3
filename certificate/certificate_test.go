package certificate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/certificate/certtest"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

func TestBuildExtractVerify(t *testing.T) {
	f := certtest.New(t)
	for _, lang := range []string{certificate.LangZH, certificate.LangEN} {
		t.Run(lang, func(t *testing.T) {
			pdf, d := f.Build(t, lang)
			rj, cj, err := certificate.Extract(pdf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rj, d.Receipt) {
				t.Fatal("extracted receipt.json differs from the one embedded")
			}
			file, err := certificate.ParseFile(cj)
			if err != nil {
				t.Fatal(err)
			}
			c, err := certificate.ParseContent(file.Content)
			if err != nil {
				t.Fatal(err)
			}
			if c.ReceiptSM3 != crypto.SM3(d.Receipt) || c.Issuer.Member != "notary" || c.Language != lang {
				t.Fatalf("content = %+v", c)
			}
			if n := len(c.Facts.Attestations); n != 1 || c.Facts.Attestations[0].Note != "(2026)沪东证字第1234号" || c.Facts.Attestations[0].Member != "notary" {
				t.Fatalf("attestations = %+v", c.Facts.Attestations)
			}
			if tt := c.Facts.TrustedTime; tt == nil || tt.TSA != "tsa-sm2" || !tt.Time.Equal(f.TrustedTime(t)) {
				t.Errorf("trusted time %+v, want tsa-sm2 at %s", tt, f.TrustedTime(t))
			}
			wantCustody := []certificate.CustodyEvent{
				{Entry: 8, Type: "grant", Member: "bank-a", Detail: "→ court: case-2026-0115"},
				{Entry: 9, Type: "access", Member: "court", Detail: "via grant 8"},
			}
			if len(c.Facts.Custody) != len(wantCustody) {
				t.Fatalf("custody %+v", c.Facts.Custody)
			}
			for i, w := range wantCustody {
				got := c.Facts.Custody[i]
				got.Time = w.Time
				if got != w {
					t.Errorf("custody[%d] = %+v, want %+v", i, got, w)
				}
			}
			rep, err := certificate.Verify(pdf, f.Roster(t), receipt.VerifyOptions{File: bytes.NewReader(f.Original), Salt: f.Salt})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK {
				t.Fatalf("report = %+v", rep)
			}
			want := certificate.Steps()
			if len(rep.Steps) != len(want) {
				t.Fatalf("%d steps, want %d", len(rep.Steps), len(want))
			}
			for i, s := range rep.Steps {
				if s.Name != want[i] {
					t.Errorf("step %d = %s, want %s", i, s.Name, want[i])
				}
				if (s.Name == receipt.StepFile || s.Name == receipt.StepTime) && !s.OK {
					t.Errorf("file step = %+v", s)
				}
			}
		})
	}
}

func TestVerifyTampered(t *testing.T) {
	f := certtest.New(t)
	pdf, d := f.Build(t, certificate.LangZH)
	roster := f.Roster(t)
	rj, cj, err := certificate.Extract(pdf)
	if err != nil {
		t.Fatal(err)
	}
	_ = rj
	// rebuild re-embeds receipt.json and certificate.json as given, by
	// building an unsigned-looking PDF with the same layout.
	resign := func(t *testing.T, mutate func(*certificate.Data)) []byte {
		d2 := d
		mutate(&d2)
		font, _ := certificate.LoadFont("")
		out, err := certificate.Build(d2, f.A.Key("notary"), font)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		pdf    func(t *testing.T) []byte
		step   string
		reason string
	}{
		{"one byte of the PDF's embedded receipt", func(t *testing.T) []byte {
			return replaceAttachment(t, pdf, certificate.ReceiptName, flipJSONByte(t, d.Receipt, "\"leaf\": \""))
		}, certificate.StepReceipt, certificate.ReasonReceiptDigest},
		{"one byte of the signed content", func(t *testing.T) []byte {
			return replaceAttachment(t, pdf, certificate.CertificateName, bytes.Replace(cj, []byte("LOAN-2026-000001"), []byte("LOAN-2026-000002"), 1))
		}, certificate.StepSignature, certificate.ReasonSignature},
		{"the signature", func(t *testing.T) []byte {
			var file certificate.File
			if err := json.Unmarshal(cj, &file); err != nil {
				t.Fatal(err)
			}
			file.Signature[len(file.Signature)-1] ^= 1
			b, _ := json.Marshal(&file)
			return replaceAttachment(t, pdf, certificate.CertificateName, b)
		}, certificate.StepSignature, certificate.ReasonSignature},
		{"facts signed that the receipt does not state", func(t *testing.T) []byte {
			return resign(t, func(d *certificate.Data) { d.Facts.Record.Size++ })
		}, certificate.StepReceipt, certificate.ReasonFacts},
		{"a trusted time misstated", func(t *testing.T) []byte {
			return resign(t, func(d *certificate.Data) {
				tt := *d.Facts.TrustedTime
				tt.Time = tt.Time.Add(-time.Hour)
				d.Facts.TrustedTime = &tt
			})
		}, certificate.StepReceipt, certificate.ReasonFacts},
		{"a receipt changed and re-signed", func(t *testing.T) []byte {
			return resign(t, func(d *certificate.Data) { d.Receipt = flipJSONByte(t, d.Receipt, "\"leaf\": \"") })
		}, receipt.StepRecord, ""},
		{"an issuer outside the roster", func(t *testing.T) []byte {
			return resign(t, func(d *certificate.Data) { d.Issuer.Member = "notary-b" })
		}, certificate.StepSignature, certificate.ReasonUnknownIssuer},
		{"an issuer's role misstated", func(t *testing.T) []byte {
			return resign(t, func(d *certificate.Data) { d.Issuer.Role = "court" })
		}, certificate.StepSignature, certificate.ReasonIssuerRole},
		{"not a certificate", func(t *testing.T) []byte { return []byte("%PDF-1.3\n%%EOF\n") },
			certificate.StepCertificate, certificate.ReasonNotCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := certificate.Verify(tc.pdf(t), roster, receipt.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FailedStep != tc.step {
				t.Fatalf("failed step %q, want %q: %s", rep.FailedStep, tc.step, firstFailure(rep))
			}
			for _, s := range rep.Steps {
				if s.Name == tc.step && tc.reason != "" && s.Reason != tc.reason {
					t.Errorf("reason %q, want %q (%s)", s.Reason, tc.reason, s.Detail)
				}
			}
			if n := len(rep.Steps); n != len(certificate.Steps()) {
				t.Errorf("%d steps, want %d", n, len(certificate.Steps()))
			}
		})
	}
}

// flipJSONByte flips one character after the first occurrence of after in
// a JSON document, keeping it valid base64.
func flipJSONByte(t *testing.T, b []byte, after string) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(after))
	if i < 0 {
		t.Fatalf("%q not in the receipt", after)
	}
	out := bytes.Clone(b)
	j := i + len(after) + 20
	if out[j] == 'A' {
		out[j] = 'B'
	} else {
		out[j] = 'A'
	}
	return out
}

// replaceAttachment returns pdf with the named attachment's content
// replaced, re-compressed as fpdf writes it (object lengths and the xref
// are not fixed up: Extract does not read them).
func replaceAttachment(t *testing.T, pdf []byte, name string, content []byte) []byte {
	t.Helper()
	out, err := certtest.ReplaceAttachment(pdf, name, content)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExtractRefuses(t *testing.T) {
	f := certtest.New(t)
	pdf, _ := f.Build(t, certificate.LangEN)
	for _, tc := range []struct {
		name string
		pdf  []byte
	}{
		{"empty", nil},
		{"not a PDF", []byte("hello")},
		{"truncated in the first attachment", pdf[:bytes.Index(pdf, []byte("endstream"))-10]},
		{"no attachments", []byte("%PDF-1.3\n1 0 obj\n<< >>\nendobj\n")},
		{"oversized size claim", bytes.Replace(pdf, []byte("/Size "), []byte("/Size 99999999"), 1)},
		{"stream length beyond the end", bytes.Replace(pdf, []byte("/Type /EmbeddedFile /Length "), []byte("/Type /EmbeddedFile /Length 9999999"), 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := certificate.Extract(tc.pdf)
			if !errors.Is(err, certificate.ErrNotCertificate) {
				t.Fatalf("err = %v, want ErrNotCertificate", err)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	f := certtest.New(t)
	d := f.Data(t, "fr")
	if _, err := certificate.Build(d, f.A.Key("notary"), []byte("x")); err == nil || !strings.Contains(err.Error(), "language") {
		t.Fatalf("err = %v", err)
	}
	d.Lang = certificate.LangZH
	if _, err := certificate.Build(d, f.A.Key("notary"), []byte("not a font")); err == nil {
		t.Fatal("a broken font was accepted")
	}
	if _, err := certificate.LoadFont("/nonexistent/font.ttf"); !errors.Is(err, certificate.ErrNoFont) || !strings.Contains(err.Error(), certificate.FontPackage) {
		t.Fatalf("err = %v", err)
	}
	_ = ledger.RecordRef{}
}

func firstFailure(rep *certificate.Report) string {
	for _, s := range rep.Steps {
		if !s.OK && !s.Skipped {
			return s.Name + ": " + s.Detail
		}
	}
	return "none"
}

// TestBuildLong: a record with the most attestations a certificate lists,
// and long notes, flows onto more pages and still verifies.
func TestBuildLong(t *testing.T) {
	f := certtest.New(t)
	d := f.Data(t, certificate.LangZH)
	for i := range certificate.MaxListed {
		d.Facts.Attestations = append(d.Facts.Attestations, certificate.Attestation{Entry: uint64(100 + i), Member: "court",
			Statement: "admitted", Note: strings.Repeat("（2026）沪0115民初1234号 证据目录第"+strconv.Itoa(i)+"项；", 4), Time: d.IssuedAt})
	}
	font, err := certificate.LoadFont("")
	if err != nil {
		t.Skip(err)
	}
	pdf, err := certificate.Build(d, f.A.Key("notary"), font)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(pdf, []byte("/Type /Page\n")); n < 5 {
		t.Errorf("%d pages, want the attestations to flow onto more", n)
	}
	rep, err := certificate.Verify(pdf, f.Roster(t), receipt.VerifyOptions{})
	if err != nil || !rep.OK || len(rep.Content.Facts.Attestations) != certificate.MaxListed+1 {
		t.Fatalf("%v %s", err, firstFailure(rep))
	}
}
