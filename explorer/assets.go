package explorer

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/evidenced/evidenced/crypto"
)

// assetsFS holds the files served under /explorer/assets/: the stylesheet,
// live.js, and the verifier (verify.js, wasm_exec.js, verify.wasm.gz).
//
//go:embed assets
var assetsFS embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	data  []byte
	ctype string
	etag  string
	gzip  bool // data is gzip-compressed WebAssembly
}

// loadAssets reads every file under assets/ in fsys.
func loadAssets(fsys fs.FS) (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(fsys, "assets", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		a := &asset{data: data, ctype: contentType(name)}
		if strings.HasSuffix(name, ".wasm.gz") {
			a.ctype, a.gzip = "application/wasm", true
		}
		sum := crypto.SM3(data)
		a.etag = `"` + sum.String()[:32] + `"`
		out[name] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded assets: %w", err)
	}
	return out, nil
}

// contentType is the media type of an asset by its extension.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".json":
		return "application/json"
	case ".wasm":
		return "application/wasm"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// asset serves an embedded file. A request for NAME.wasm is answered with
// NAME.wasm.gz when only that is embedded; compressed WebAssembly goes out
// with Content-Encoding gzip, or decompressed to a client that does not
// accept gzip.
func (s *server) asset(rq *request) error {
	name := rq.r.PathValue("path")
	a, ok := s.assets[name]
	if !ok && strings.HasSuffix(name, ".wasm") {
		a, ok = s.assets[name+".gz"]
	}
	if !ok {
		return notFound("err.no_asset", name)
	}
	h := rq.w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	etag := a.etag
	body := a.data
	if a.gzip {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(rq.r) {
			h.Set("Content-Encoding", "gzip")
		} else {
			zr, err := gzip.NewReader(bytes.NewReader(a.data))
			if err != nil {
				return fmt.Errorf("embedded asset %s is not gzip: %w", name, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("embedded asset %s: %w", name, err)
			}
			etag = etag[:len(etag)-1] + `-identity"` // another representation
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(rq.w, rq.r, "", time.Time{}, bytes.NewReader(body))
	return nil
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok && strings.Trim(q, "0.") == "" {
			return false // q=0: not acceptable
		}
		return true
	}
	return false
}
