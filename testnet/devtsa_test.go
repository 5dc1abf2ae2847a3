package testnet

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/tsa"
)

// TestGenerateDevTSA: evidenced testnet makes OUT/tsa (an SM2 or ECDSA
// development TSA), names it in alliance.json, makes the first member's
// node its server (on BasePort+9) and the stamper, and devTSAAnchor gives
// the anchor the genesis trusts; --tsa none makes none.
func TestGenerateDevTSA(t *testing.T) {
	for _, tc := range []struct{ kind, wantKind, hash string }{{"", "sm2", "sm3"}, {"ecdsa", "ecdsa", "sha256"}} {
		t.Run("kind "+tc.wantKind, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "alliance")
			a, err := Generate(Options{Out: out, ChainID: "evidenced-tsa", Members: []string{"bank", "notary"}, BasePort: 31000, TSA: tc.kind})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(a.Dir, DevTSADir)
			want := &DevTSA{Name: DevTSAName, URL: "http://127.0.0.1:31009/", Kind: tc.wantKind, Hash: tc.hash,
				CertFile: filepath.Join(dir, tsa.CAFile), Member: "bank"}
			if !reflect.DeepEqual(a.TSA, want) {
				t.Fatalf("manifest tsa = %+v, want %+v", a.TSA, want)
			}
			loaded, err := Load(out)
			if err != nil || !reflect.DeepEqual(loaded.TSA, want) {
				t.Fatalf("alliance.json tsa = %+v, %v", loaded.TSA, err)
			}
			b, err := os.ReadFile(filepath.Join(out, ManifestFile))
			if err != nil || !bytes.Contains(b, []byte(`"cert_file": "`+want.CertFile+`"`)) {
				t.Fatalf("alliance.json lacks the tsa cert_file:\n%s", b)
			}
			if fi, err := os.Stat(filepath.Join(dir, tsa.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("TSA key file: %v, %v", fi, err)
			}

			auth, err := tsa.LoadAuthority(dir)
			if err != nil {
				t.Fatal(err)
			}
			if string(auth.Kind()) != tc.wantKind {
				t.Fatalf("authority kind %s, want %s", auth.Kind(), tc.wantKind)
			}
			an, err := devTSAAnchor(out)
			if err != nil {
				t.Fatal(err)
			}
			if an.Name != DevTSAName || !bytes.Equal(an.Cert, auth.Certificate()) || !reflect.DeepEqual(an.Hashes, auth.Anchor().Hashes) {
				t.Fatalf("anchor = %s %x %v, want %s, the CA certificate, %v", an.Name, an.Cert[:8], an.Hashes, DevTSAName, auth.Anchor().Hashes)
			}
			pemBytes, err := os.ReadFile(want.CertFile)
			if err != nil {
				t.Fatal(err)
			}
			if blk, _ := pem.Decode(pemBytes); blk == nil || blk.Type != "CERTIFICATE" || !bytes.Equal(blk.Bytes, an.Cert) {
				t.Fatalf("%s does not hold the anchor", want.CertFile)
			}

			bank, err := config.Load(a.Members[0].Home)
			if err != nil {
				t.Fatal(err)
			}
			wantTS := config.Timestamp{Stamp: true, Interval: config.Duration(5 * time.Second), Timeout: config.Duration(10 * time.Second),
				TSAs:      []config.TimestampTSA{{Name: DevTSAName, URL: want.URL, Hash: tc.hash}},
				DevTSADir: filepath.Join("..", DevTSADir), DevTSAListen: "127.0.0.1:31009"}
			if !reflect.DeepEqual(bank.Timestamp, wantTS) {
				t.Fatalf("bank [timestamp] = %+v, want %+v", bank.Timestamp, wantTS)
			}
			notary, err := config.Load(a.Members[1].Home)
			if err != nil {
				t.Fatal(err)
			}
			if notary.Timestamp.Stamp || notary.Timestamp.DevTSADir != "" || len(notary.Timestamp.TSAs) != 0 {
				t.Fatalf("notary [timestamp] = %+v, want no stamping", notary.Timestamp)
			}

			// The home loads the TSA, whose tokens verify against the anchor.
			h, err := node.LoadHome(a.Members[0].Home, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if h.DevTSA == nil || !bytes.Equal(h.DevTSA.Certificate(), an.Cert) {
				t.Fatal("LoadHome did not load the development TSA")
			}
			srv := httptest.NewServer(h.DevTSA.Handler())
			defer srv.Close()
			msg := []byte("evidenced/evidenced-tsa\n1\n...\n")
			tok, err := tsa.Request(context.Background(), srv.Client(), srv.URL, tsa.HashAlg(tc.hash), msg)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := tok.Verify([]tsa.Anchor{an}, msg); err != nil || st.TSA != DevTSAName {
				t.Fatalf("a dev token against the anchor: %+v, %v", st, err)
			}
		})
	}

	t.Run("none", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "alliance")
		a, err := Generate(Options{Out: out, ChainID: "evidenced-notsa", Members: []string{"bank"}, BasePort: 31100, TSA: NoTSA})
		if err != nil {
			t.Fatal(err)
		}
		if a.TSA != nil {
			t.Fatalf("manifest tsa = %+v, want none", a.TSA)
		}
		if _, err := os.Stat(filepath.Join(out, DevTSADir)); !os.IsNotExist(err) {
			t.Fatalf("OUT/tsa with --tsa none: %v", err)
		}
		b, _ := os.ReadFile(filepath.Join(out, ManifestFile))
		if bytes.Contains(b, []byte(`"tsa"`)) {
			t.Fatalf("alliance.json names a TSA:\n%s", b)
		}
		c, err := config.Load(a.Members[0].Home)
		if err != nil || c.Timestamp.Stamp || c.Timestamp.DevTSADir != "" {
			t.Fatalf("[timestamp] with --tsa none: %+v, %v", c.Timestamp, err)
		}
	})

	t.Run("bad kind", func(t *testing.T) {
		_, err := Generate(Options{Out: filepath.Join(t.TempDir(), "x"), Members: []string{"bank"}, TSA: "rsa"})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("--tsa %q: want sm2, ecdsa or none", "rsa")) {
			t.Fatalf("Generate with --tsa rsa = %v", err)
		}
	})
}
