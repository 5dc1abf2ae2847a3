package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
)

// Cache-Control values.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNone      = "no-store"
)

// handlerFunc is an endpoint. It writes a success response itself and
// returns an error for everything else; handle turns the error into the JSON
// error shape (an *httpError as is, anything else as a 500).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to http.Handler.
func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, backendError(err, crypto.Hash{}))
		}
	})
}

// statusWriter records what a handler wrote, for the request log and the
// panic handler.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	cause  error  // why a 5xx was sent (logged, never sent)
	stack  []byte // the stack of a recovered panic
	quiet  bool   // a refusal counted in metrics: logged at Debug
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware recovers panics into a 500, answers CONNECT with a 405 and
// non-canonical paths with a 404 (the mux would redirect with an HTML body),
// and logs every request.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				sw.stack = debug.Stack()
				if sw.status == 0 {
					s.writeError(sw, internal(fmt.Errorf("panic: %v", v)))
				} else {
					sw.cause = fmt.Errorf("panic after the response started: %v", v)
				}
			}
			s.logRequest(r, sw, time.Since(start))
		}()
		if r.Method == http.MethodConnect {
			e := newError(http.StatusMethodNotAllowed, client.CodeBadRequest, "method", "method CONNECT is not allowed")
			e.body.Hint = "use GET or POST as docs/API.md lists"
			s.writeError(sw, e)
			return
		}
		if p := r.URL.EscapedPath(); CleanPath(p) != p {
			e := notFound("", "no endpoint at the path %q", p)
			e.body.Hint = "use the canonical path " + CleanPath(p)
			s.writeError(sw, e)
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// CleanPath is the canonical form of a request path as http.ServeMux
// computes it: rooted, no . or .. elements, no repeated slashes, trailing
// slash kept. The mux redirects a request whose escaped path is not
// canonical; the API, the explorer and the node answer it with a 404.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np
}

func (s *server) logRequest(r *http.Request, sw *statusWriter, d time.Duration) {
	level := slog.LevelDebug
	switch {
	case sw.stack != nil, sw.status >= 500 && sw.status != http.StatusServiceUnavailable:
		level = slog.LevelError
	case sw.status == http.StatusServiceUnavailable && !sw.quiet:
		// Overloaded or not ready: expected under load, and the client is
		// told to retry; a warning, not an error.
		level = slog.LevelWarn
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", sw.status),
		slog.Int64("bytes", sw.bytes),
		slog.Duration("duration", d),
		slog.String("remote", r.RemoteAddr),
	}
	if sw.cause != nil {
		attrs = append(attrs, slog.String("error", sw.cause.Error()))
	}
	if sw.stack != nil {
		attrs = append(attrs, slog.String("stack", string(sw.stack)))
	}
	s.log.LogAttrs(r.Context(), level, "http request", attrs...)
}

// writeJSON writes v as the response body with the given status and
// Cache-Control.
func (s *server) writeJSON(w http.ResponseWriter, status int, cache string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, internal(fmt.Errorf("encode %T response: %w", v, err)))
		return
	}
	writeBody(w, status, cache, b)
}

// writeError writes e in the error shape of the API.
func (s *server) writeError(w http.ResponseWriter, e *httpError) {
	if e.body.Status >= 500 {
		if sw, ok := w.(*statusWriter); ok {
			sw.cause, sw.quiet = e, e.quiet
		}
	}
	if e.body.Status == http.StatusServiceUnavailable {
		ra := s.opts.RetryAfter
		if e.retryAfter > 0 {
			ra = e.retryAfter
		}
		secs := int64((ra + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	b, err := json.Marshal(client.ErrorResponse{Error: &e.body})
	if err != nil { // a client.Error holds only strings and numbers
		panic(fmt.Sprintf("api: encode error response: %v", err))
	}
	writeBody(w, e.body.Status, cacheNone, b)
}

func writeBody(w http.ResponseWriter, status int, cache string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	// Two writes rather than append(b, '\n'), which copies a large body.
	// A failed write means the client went away.
	if _, err := w.Write(b); err == nil {
		_, _ = io.WriteString(w, "\n")
	}
}

// methodNotAllowed answers a known path asked with a wrong method.
func methodNotAllowed(allow string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		e := newError(http.StatusMethodNotAllowed, client.CodeBadRequest, "method",
			"method %s is not allowed on %s", r.Method, r.URL.Path)
		e.body.Hint = "use " + allow
		return e
	}
}

// notFoundRoute answers every path that is not an endpoint.
func notFoundRoute(_ http.ResponseWriter, r *http.Request) error {
	e := notFound("", "no endpoint at %s %s", r.Method, r.URL.Path)
	e.body.Hint = "the endpoints of the API v1 are listed in docs/API.md"
	return e
}
