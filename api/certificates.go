package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Issuer issues evidence certificates (GET /v1/evidence/{id}/certificate)
// in the name of the node's member.
type Issuer struct {
	Member string             // the node's member: the issuer
	Key    *crypto.PrivateKey // its member key, which signs the certificate's content
	// Font returns a TrueType font with CJK glyphs (certificate.LoadFont);
	// an error wrapping certificate.ErrNoFont when none is installed (the
	// endpoint then answers 501 saying what to install).
	Font func() ([]byte, error)
	// ExplorerURL is the base URL (scheme and host, no path) at which people
	// reach the node's explorer: the certificate's QR code opens
	// ExplorerURL/explorer/verify?id=ID.
	ExplorerURL string
}

// VerifyURL returns the explorer's verify page of record ref under base.
func VerifyURL(base string, ref ledger.RecordRef) string {
	return strings.TrimRight(base, "/") + "/explorer/verify?id=" + ref.String()
}

// certificateLang reads ?lang=zh|en (zh when absent).
func certificateLang(r *http.Request) (string, error) {
	raw, ok := r.URL.Query()["lang"]
	if !ok {
		return certificate.LangZH, nil
	}
	if len(raw) == 1 && (raw[0] == certificate.LangZH || raw[0] == certificate.LangEN) {
		return raw[0], nil
	}
	return "", badRequest("lang", "lang %q is not a certificate language: use zh or en", strings.Join(raw, ","))
}

// certificate is GET /v1/evidence/{id}/certificate[?lang=zh|en][&from_roster=DIGEST]:
// the evidence certificate of a record, a PDF signed by the node's member.
func (s *server) certificate(w http.ResponseWriter, r *http.Request) error {
	is := s.opts.Issuer
	var font []byte
	var err error
	if is != nil {
		font, err = is.Font()
	}
	if is == nil || errors.Is(err, certificate.ErrNoFont) {
		return newError(http.StatusNotImplemented, "not_implemented", "",
			"this node issues no certificates: it has no CJK font (install %s, or set api.certificate_font in its evidenced.toml)", certificate.FontPackage)
	}
	if err != nil {
		return fmt.Errorf("the certificate font: %w", err)
	}
	id, err := recordParam(r.PathValue("id"))
	if err != nil {
		return err
	}
	lang, err := certificateLang(r)
	if err != nil {
		return err
	}
	from, err := fromRosterParam(r)
	if err != nil {
		return err
	}
	var d certificate.Data
	if err := s.withView(func(v *ledger.View) error {
		rc, err := s.buildReceipt(v, id, from)
		if err != nil {
			return err
		}
		if rc.Attestation != nil {
			e := notFound("id", "entry %d is an attestation: evidence certificates are issued for evidence records", rc.LeafIndex)
			e.body.Hint = "ask for the certificate of an attested record (it lists its attestations), or for this attestation's receipt"
			return e
		}
		rj, err := json.MarshalIndent(rc, "", "  ")
		if err != nil {
			return fmt.Errorf("encode receipt: %w", err)
		}
		facts, err := certificate.Collect(v, rc)
		if err != nil {
			return err
		}
		m, err := v.Member(is.Member)
		if err != nil {
			return fmt.Errorf("issuer %s: %w", is.Member, err)
		}
		ref := ledger.RecordRef{Index: rc.LeafIndex, Pos: rc.Record.Pos}
		d = certificate.Data{Facts: *facts, Issuer: certificate.Issuer{Member: m.Name, Role: m.Role.String()},
			IssuedAt: s.opts.Now().UTC().Truncate(time.Second), Lang: lang, VerifyURL: VerifyURL(is.ExplorerURL, ref),
			Receipt: append(rj, '\n')}
		return nil
	}); err != nil {
		return err
	}
	pdf, err := certificate.Build(d, is.Key, font)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Cache-Control", cacheNone)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="certificate-`+strings.ReplaceAll(id.String(), ".", "-")+"-"+lang+`.pdf"`)
	h.Set("Content-Length", strconv.Itoa(len(pdf)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pdf)
	return nil
}
