package explorer_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/evidenced/evidenced/explorer"
)

func TestAssets(t *testing.T) {
	n := newNode(t)
	h := explorer.New(n, explorer.Options{})
	for _, tt := range []struct{ path, ctype, has string }{
		{"/explorer/assets/style.css", "text/css; charset=utf-8", "overflow-wrap: anywhere"},
		{"/explorer/assets/live.js", "text/javascript; charset=utf-8", `new EventSource(url)`},
	} {
		r := get(t, h, tt.path)
		if r.status != 200 || r.header.Get("Content-Type") != tt.ctype || !strings.Contains(r.body, tt.has) || r.header.Get("ETag") == "" {
			t.Errorf("%s: %d %v", tt.path, r.status, r.header)
		}
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		req.Header.Set("If-None-Match", r.header.Get("ETag"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", tt.path, rec.Code)
		}
	}
}

// TestEmbeddedVerifier serves the verifier the node embeds, when it is
// built (explorer/verifywasm).
func TestEmbeddedVerifier(t *testing.T) {
	h := explorer.New(newNode(t), explorer.Options{})
	req := httptest.NewRequest(http.MethodGet, "/explorer/assets/verify.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code == http.StatusNotFound {
		t.Skip("assets/verify.wasm.gz is not built")
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatalf("verify.wasm: %d %v: %v", rec.Code, rec.Result().Header, err)
	}
	magic := make([]byte, 4)
	if _, err := io.ReadFull(zr, magic); err != nil || string(magic) != "\x00asm" || rec.Result().Header.Get("Content-Type") != "application/wasm" {
		t.Errorf("verify.wasm: %q %v %v", magic, err, rec.Result().Header)
	}
}

func TestWasmGzip(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00 pretend this is a verifier")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(wasm)
	zw.Close()
	h := explorer.NewWithAssets(newNode(t), explorer.Options{}, fstest.MapFS{
		"assets/verify.wasm.gz": {Data: gz.Bytes()},
		"assets/verify.js":      {Data: []byte("// verifier")},
	})
	for _, tt := range []struct {
		path, accept string
		gzip         bool
	}{
		{"/explorer/assets/verify.wasm", "gzip, deflate, br", true},
		{"/explorer/assets/verify.wasm.gz", "gzip", true},
		{"/explorer/assets/verify.wasm", "", false},
		{"/explorer/assets/verify.wasm", "br, gzip;q=0", false},
	} {
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		if tt.accept != "" {
			req.Header.Set("Accept-Encoding", tt.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if rec.Code != 200 || res.Header.Get("Content-Type") != "application/wasm" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("%s (%q): %d %v", tt.path, tt.accept, rec.Code, res.Header)
		}
		want, enc := wasm, ""
		if tt.gzip {
			want, enc = gz.Bytes(), "gzip"
		}
		if res.Header.Get("Content-Encoding") != enc || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("%s (%q): encoding %q, %d bytes; want %q, %d bytes", tt.path, tt.accept, res.Header.Get("Content-Encoding"), rec.Body.Len(), enc, len(want))
		}
	}
	if r := get(t, h, "/explorer/assets/verify.js"); r.status != 200 || r.body != "// verifier" {
		t.Errorf("verify.js: %d %q", r.status, r.body)
	}
	if r := get(t, h, "/explorer/assets/"); r.status != 404 {
		t.Errorf("assets directory: %d, want 404", r.status)
	}
}
