package certificate_test

import (
	"bytes"
	"testing"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/certificate/certtest"
)

// FuzzExtract feeds Extract arbitrary bytes seeded with a real certificate:
// it never panics, and what it returns stays within the limits.
func FuzzExtract(f *testing.F) {
	fx := certtest.New(f)
	font, err := certificate.LoadFont("")
	if err == nil {
		pdf, err := certificate.Build(fx.Data(f, certificate.LangEN), fx.A.Key("notary"), font)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pdf)
		// Just the attachments: most of a PDF is the font.
		end := bytes.Index(pdf, []byte("\n6 0 obj"))
		if end > 0 {
			f.Add(pdf[:end])
		}
	}
	f.Add([]byte("%PDF-1.3\n/Type /Filespec /F () /UF (receipt.json) /EF << /F 3 0 R >>\n3 0 obj\n<< /Type /EmbeddedFile /Length 0 /Filter /FlateDecode /Params << /CheckSum <00000000000000000000000000000000> /Size 0 >> >>\nstream\n\nendstream"))
	f.Fuzz(func(t *testing.T, pdf []byte) {
		rj, cj, err := certificate.Extract(pdf)
		if err != nil {
			return
		}
		if len(rj) > certificate.MaxReceiptSize || len(cj) > certificate.MaxCertificateSize {
			t.Fatalf("attachments of %d and %d bytes", len(rj), len(cj))
		}
	})
}

// FuzzParseFile feeds certificate.json's decoders arbitrary bytes: content
// that parses re-encodes to the same bytes.
func FuzzParseFile(f *testing.F) {
	fx := certtest.New(f)
	d := fx.Data(f, certificate.LangZH)
	f.Add([]byte(`{"content":{"version":1},"signature":"AA=="}`))
	f.Add(d.Receipt)
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := certificate.ParseFile(b)
		if err != nil {
			return
		}
		c, err := certificate.ParseContent(file.Content)
		if err != nil {
			return
		}
		again, err := c.Encode()
		if err != nil || !bytes.Equal(again, file.Content) {
			t.Fatalf("content does not round-trip: %v", err)
		}
	})
}
