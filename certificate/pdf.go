package certificate

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/evidenced/evidenced/crypto"
)

// Page geometry, in millimetres (A4).
const (
	margin  = 20.0
	width   = 170.0 // between the margins
	labelW  = 42.0
	lineH   = 6.0
	qrSize  = 38.0
	fontFam = "cjk"
)

// Build returns the certificate PDF of d: the facts drawn on A4 pages with
// font (a TrueType font with CJK glyphs, LoadFont), a QR code of
// d.VerifyURL, and two attachments: receipt.json (d.Receipt as is) and
// certificate.json (File: d's Content, signed by key, the issuer's member
// key).
func Build(d Data, key *crypto.PrivateKey, font []byte) ([]byte, error) {
	if d.Lang == "" {
		d.Lang = LangZH
	}
	lb, ok := labels[d.Lang]
	if !ok {
		return nil, fmt.Errorf("certificate language %q: use %s or %s", d.Lang, LangZH, LangEN)
	}
	if len(d.Receipt) == 0 || len(d.Receipt) > MaxReceiptSize {
		return nil, fmt.Errorf("certificate receipt of %d bytes: want 1 to %d", len(d.Receipt), MaxReceiptSize)
	}
	if key == nil {
		return nil, fmt.Errorf("certificate: no issuer key")
	}
	if len(font) < 4 || (string(font[:4]) != "\x00\x01\x00\x00" && string(font[:4]) != "true") {
		return nil, fmt.Errorf("certificate font: not a TrueType font (.ttf): install %s or give a .ttf CJK font", FontPackage)
	}
	d.IssuedAt = d.IssuedAt.UTC()
	content, err := d.content().Encode()
	if err != nil {
		return nil, err
	}
	sig, err := key.Sign(rand.Reader, SignedMessage(content))
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	certJSON, err := json.Marshal(&File{Content: content, Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("encode certificate.json: %w", err)
	}
	if len(certJSON) > MaxCertificateSize {
		return nil, fmt.Errorf("certificate.json of %d bytes: over the limit of %d", len(certJSON), MaxCertificateSize)
	}
	qr, err := qrcode.New(d.VerifyURL, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("QR code of %q: %w", d.VerifyURL, err)
	}

	p := fpdf.New("P", "mm", "A4", "")
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, margin)
	p.SetCreationDate(d.IssuedAt)
	p.SetModificationDate(d.IssuedAt)
	p.SetTitle(lb["title"]+" "+d.Facts.Record.Chain, true)
	p.SetAuthor(d.Issuer.Member, true)
	p.SetCreator("evidenced", true)
	p.AddUTF8FontFromBytes(fontFam, "", font)
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("certificate font: %w (give a .ttf CJK font, e.g. from %s)", err, FontPackage)
	}
	p.SetAttachments([]fpdf.Attachment{
		{Content: d.Receipt, Filename: ReceiptName, Description: "evidence receipt"},
		{Content: certJSON, Filename: CertificateName, Description: "signed certificate content"},
	})
	p.AddPage()
	draw(p, &d, lb, qr)
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("draw certificate: %w", err)
	}
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, fmt.Errorf("write certificate PDF: %w", err)
	}
	return out.Bytes(), nil
}

func draw(p *fpdf.Fpdf, d *Data, lb map[string]string, qr *qrcode.QRCode) {
	f := &d.Facts
	r := &f.Record
	p.SetFont(fontFam, "", 20)
	p.CellFormat(width, 12, lb["title"], "", 1, "C", false, 0, "")
	p.SetFont(fontFam, "", 10)
	p.CellFormat(width, 6, lb["subtitle"], "", 1, "C", false, 0, "")
	p.Ln(4)

	heading(p, lb["record"])
	row(p, lb["chain"], r.Chain)
	row(p, lb["step"], strconv.FormatUint(uint64(r.Step), 10))
	row(p, lb["kind"], r.Kind)
	row(p, lb["commitment"], r.Commitment.String())
	row(p, lb["size"], strconv.FormatUint(r.Size, 10)+" "+lb["bytes"])
	row(p, lb["submitter"], r.Submitter)
	row(p, lb["position"], recordID(r.Index, r.Pos))
	row(p, lb["tx"], r.TxID.String())
	row(p, lb["height"], strconv.FormatInt(r.Height, 10))
	row(p, lb["block_time"], formatTime(r.Time))
	if t := f.TrustedTime; t != nil {
		row(p, lb["tsa_time"], formatTime(t.Time)+" ("+t.TSA+")")
	} else {
		row(p, lb["tsa_time"], lb["no_tsa"])
	}
	row(p, lb["chain_id"], f.ChainID)
	row(p, lb["tree_size"], strconv.FormatUint(f.TreeSize, 10))
	row(p, lb["cosigners"], orNone(strings.Join(f.Cosigners, ", "), lb))

	heading(p, lb["attestations"])
	if len(f.Attestations) == 0 {
		row(p, "", lb["none"])
	}
	for _, a := range f.Attestations {
		v := a.Member + " · " + a.Statement
		if a.Note != "" {
			v += " · " + a.Note
		}
		row(p, "#"+strconv.FormatUint(a.Entry, 10), v+"\n"+formatTime(a.Time))
	}
	heading(p, lb["custody"])
	if len(f.Custody) == 0 {
		row(p, "", lb["none"])
	}
	for _, c := range f.Custody {
		v := c.Type + " · " + c.Member
		if c.Detail != "" {
			v += " " + c.Detail
		}
		row(p, "#"+strconv.FormatUint(c.Entry, 10), v+"\n"+formatTime(c.Time))
	}

	heading(p, lb["issuer"])
	row(p, lb["issuer"], d.Issuer.Member+" ("+roleLabel(lb, d.Issuer.Role)+")")
	row(p, lb["issued_at"], formatTime(d.IssuedAt))

	// The QR code, drawn module by module, with the URL beside it.
	if p.GetY()+qrSize+8 > 297-margin {
		p.AddPage()
	}
	p.Ln(4)
	y := p.GetY()
	bm := qr.Bitmap()
	mod := qrSize / float64(len(bm))
	p.SetFillColor(0, 0, 0)
	for i, line := range bm {
		for j, dark := range line {
			if dark {
				p.Rect(margin+float64(j)*mod, y+float64(i)*mod, mod, mod, "F")
			}
		}
	}
	colX, colW := margin+qrSize+6, width-qrSize-6
	p.SetXY(colX, y+2)
	p.SetFont(fontFam, "", 10)
	p.MultiCell(colW, lineH, lb["verify"], "", "L", false)
	p.SetX(colX)
	codeFont(p, d.VerifyURL, 8)
	p.MultiCell(colW, 5, d.VerifyURL, "", "L", false)
	p.Ln(2)
	p.SetX(colX)
	p.SetFont(fontFam, "", 8)
	p.MultiCell(colW, 4.5, lb["attachments"], "", "L", false)
	p.SetX(colX)
	codeFont(p, lb["verify_cmd"], 8)
	p.MultiCell(colW, 4.5, lb["verify_cmd"], "", "L", false)
	if p.GetY() < y+qrSize {
		p.SetY(y + qrSize)
	}
}

// codeFont sets Courier (a PDF core font: ASCII hyphens that print as
// typed) for s when it is printable ASCII, else the CJK font.
func codeFont(p *fpdf.Fpdf, s string, size float64) {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			p.SetFont(fontFam, "", size)
			return
		}
	}
	p.SetFont("Courier", "", size)
}

func heading(p *fpdf.Fpdf, s string) {
	p.Ln(2)
	p.SetFont(fontFam, "", 13)
	p.CellFormat(width, 8, s, "B", 1, "L", false, 0, "")
	p.Ln(1)
}

func row(p *fpdf.Fpdf, label, value string) {
	p.SetFont(fontFam, "", 10)
	p.CellFormat(labelW, lineH, label, "", 0, "L", false, 0, "")
	if len(value) >= 64 && !strings.ContainsAny(value, " \n") {
		p.SetFont(fontFam, "", 8.5) // a hash on one line
	}
	p.MultiCell(width-labelW, lineH, value, "", "L", false)
}

func orNone(s string, lb map[string]string) string {
	if s == "" {
		return lb["none"]
	}
	return s
}

func recordID(index uint64, pos uint16) string {
	s := strconv.FormatUint(index, 10)
	if pos != 0 {
		s += "." + strconv.FormatUint(uint64(pos), 10)
	}
	return s
}

func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
