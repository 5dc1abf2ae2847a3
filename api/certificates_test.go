package api_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

func TestCertificate(t *testing.T) {
	font, err := certificate.LoadFont("")
	if err != nil {
		if os.Getenv("EVIDENCED_REQUIRE_PDFTOOLS") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	f := newFixture(t)
	f.trust(t)
	issuer := &api.Issuer{Member: "notary", Key: f.node.a.Key("notary"), Font: func() ([]byte, error) { return font, nil }, ExplorerURL: "https://explorer.example/"}
	h := f.evidenceHandler(api.Options{Issuer: issuer}, false)
	roster := f.roster(t)

	for _, lang := range []string{"", "zh", "en"} {
		target := "/v1/evidence/8.1/certificate"
		if lang != "" {
			target += "?lang=" + lang
		}
		rec := serve(t, h, http.MethodGet, target, nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/pdf" {
			t.Fatalf("%s: status %d, type %q: %s", target, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, "certificate-8-1-") {
			t.Errorf("Content-Disposition %q", cd)
		}
		rep, err := certificate.Verify(rec.Body.Bytes(), roster, receipt.VerifyOptions{})
		if err != nil || !rep.OK {
			t.Fatalf("%s: the certificate does not verify: %v %+v", target, err, rep)
		}
		c := rep.Content
		want := lang
		if want == "" {
			want = "zh"
		}
		if c.Language != want || c.Issuer != (certificate.Issuer{Member: "notary", Role: "notary"}) ||
			c.VerifyURL != "https://explorer.example/explorer/verify?id=8.1" || c.Facts.Record.Chain != "LOAN-3" {
			t.Errorf("%s: content %+v", target, c)
		}
		// Entry 9 is the notary's attestation of 6/0 and 8/1.
		if len(c.Facts.Attestations) != 1 || c.Facts.Attestations[0].Entry != 9 || c.Facts.Attestations[0].Member != "notary" {
			t.Errorf("%s: attestations %+v", target, c.Facts.Attestations)
		}
	}

	for _, tc := range []struct {
		target string
		status int
		field  string
	}{
		{"/v1/evidence/6/certificate?lang=fr", http.StatusBadRequest, "lang"},
		{"/v1/evidence/6/certificate?lang=zh&lang=en", http.StatusBadRequest, "lang"},
		{"/v1/evidence/x/certificate", http.StatusBadRequest, "id"},
		{"/v1/evidence/999/certificate", http.StatusNotFound, "id"},
		{"/v1/evidence/6/certificate?from_roster=00", http.StatusBadRequest, "from_roster"},
	} {
		rec := serve(t, h, http.MethodGet, tc.target, nil)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: status %d, body %s; want %d on field %s", tc.target, rec.Code, rec.Body, tc.status, tc.field)
		}
	}

	noIssuer := api.New(f.node, api.Options{})
	if rec := serve(t, noIssuer, http.MethodGet, "/v1/evidence/6/certificate", nil); rec.Code != http.StatusNotImplemented ||
		!strings.Contains(rec.Body.String(), certificate.FontPackage) {
		t.Errorf("without an issuer: status %d, body %s", rec.Code, rec.Body)
	}
	if got := api.VerifyURL("http://10.0.0.5:8080", ledger.RecordRef{Index: 12, Pos: 3}); got != "http://10.0.0.5:8080/explorer/verify?id=12.3" {
		t.Errorf("VerifyURL = %q", got)
	}
}
