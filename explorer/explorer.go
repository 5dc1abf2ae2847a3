package explorer

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// Source is what the node provides to the explorer; the node's api.Backend
// has both methods. They must be safe for concurrent use.
//
// If a Source also implements api.Notifier, the live stream
// (/explorer/live) wakes at each commit; otherwise it polls the committed
// height every api.EventsPoll.
type Source interface {
	// Snapshot returns a consistent read-only view of committed state, the
	// height it was committed at, and a release func, as api.Backend
	// documents it: when err is nil the caller calls release exactly once.
	// api.ErrOverloaded or ledger.ErrNotInitialized mean the node cannot
	// answer yet (503); any other error is a failure (500).
	Snapshot() (view *ledger.View, height int64, release func(), err error)
	// Status reports the node's view of the chain (the home page shows its
	// member).
	Status(ctx context.Context) (*client.Status, error)
}

// DefaultOnlineWindow is the default Options.OnlineWindow: a validator
// that co-signed no trusted checkpoint of the last 10 heights is lagging.
const DefaultOnlineWindow = 10

// Options configure the explorer. The zero value is usable.
type Options struct {
	// Logger receives an Error record for each 500 and recovered panic and
	// a Warn record when a live stream fails. Nil discards.
	Logger *slog.Logger
	// OnlineWindow is how many heights before the latest trusted checkpoint
	// a validator's last co-signature may be and still count as online on
	// the alliance page; 0 means DefaultOnlineWindow.
	OnlineWindow int64
	// StaleAfter is how old the latest block may be before the alliance
	// page warns that consensus may have halted (or too many validators are
	// offline) and stops calling validators online; 0 means
	// DefaultStaleAfter. A trusted checkpoint older than it under fresh
	// blocks only marks the alliance idle: checkpoints move when records
	// arrive.
	StaleAfter time.Duration
	// Now is the clock of the language cookie's expiry, of the "page
	// generated at" footer and of StaleAfter; nil means time.Now. Everything
	// about the chain is shown in block time.
	Now func() time.Time
	// Streams caps the live streams (/explorer/live), which are all
	// anonymous; a node shares it with its API. Nil means a cap of
	// api.DefaultMaxStreams and api.DefaultMaxAnonymousStreams of the
	// explorer's own.
	Streams *api.Streams
}

// DefaultStaleAfter is the default Options.StaleAfter. Blocks come every
// second or so while the alliance is up.
const DefaultStaleAfter = 2 * time.Minute

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnlineWindow <= 0 {
		o.OnlineWindow = DefaultOnlineWindow
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Streams == nil {
		o.Streams = api.NewStreams(api.DefaultMaxStreams, api.DefaultMaxAnonymousStreams, nil)
	}
	return o
}

// Limits of what one page reads.
const (
	// pageSize is how many rows a paged list shows (block entries, chain
	// steps, member entries, custody events).
	pageSize = 100
	// latestBlocks and latestCheckpoints are the rows of the home page's
	// two tables (live.js keeps the same numbers).
	latestBlocks      = 20
	latestCheckpoints = 10
	// blockScan bounds the blocks the home page looks at for its rows
	// (runs of empty blocks are one row each).
	blockScan = 2000
	// latestRecords and evidenceScan: the home page lists the newest
	// evidence records among the last evidenceScan log entries.
	latestRecords = 10
	evidenceScan  = 1000
	// checkpointScan is how many heights below the latest trusted
	// checkpoint the home and alliance pages look at for checkpoints.
	checkpointScan = 200
	// listAttestations bounds the attestations shown on a record's page.
	listAttestations = 100
	// searchMatches bounds the records one commitment search lists.
	searchMatches = 50
)

// retryAfter is the Retry-After of a 503 page, in seconds.
const retryAfter = "1"

// server holds the explorer's dependencies; nothing in it changes after New.
type server struct {
	src    Source
	opts   Options
	log    *slog.Logger
	cat    catalog
	pages  map[string]*template.Template // by page kind
	assets map[string]*asset             // by path under assets/
}

// New returns the explorer's handler for the paths under /explorer/. It
// panics if src is nil or the embedded templates do not parse (bugs). The
// handler is safe for concurrent use.
func New(src Source, opts Options) http.Handler { return newHandler(src, opts, assetsFS) }

// newHandler is New serving the files under assets/ in fsys.
func newHandler(src Source, opts Options, fsys fs.FS) http.Handler {
	if src == nil {
		panic("explorer.New: nil Source")
	}
	opts = opts.withDefaults()
	s := &server{src: src, opts: opts, log: opts.Logger, cat: newCatalog()}
	var err error
	if s.pages, err = parsePages(); err != nil {
		panic("explorer.New: " + err.Error())
	}
	if s.assets, err = loadAssets(fsys); err != nil {
		panic("explorer.New: " + err.Error())
	}
	mux := http.NewServeMux()
	for _, rt := range []struct {
		pattern string
		h       pageFunc
	}{
		{"/explorer/{$}", s.home},
		{"/explorer/blocks/{height}", s.block},
		{"/explorer/txs/{txid}", s.txByID},
		{"/explorer/entries/{index}", s.entryByIndex},
		{"/explorer/evidence/{id}", s.evidence},
		{"/explorer/evidence/{id}/custody", s.custody},
		{"/explorer/chains/{chain}", s.chain},
		{"/explorer/members/{name}", s.member},
		{"/explorer/alliance", s.alliance},
		{"/explorer/governance", s.governance},
		{"/explorer/proposals/{index}", s.proposal},
		{"/explorer/rosters/{version}", s.roster},
		{"/explorer/search", s.search},
		{"/explorer/verify", s.verify},
		{"/explorer/", s.notFoundPage},
	} {
		mux.Handle("GET "+rt.pattern, s.page(rt.h))
	}
	mux.Handle("GET /explorer/live", s.page(s.live))
	mux.Handle("GET /explorer/assets/{path...}", s.page(s.asset))
	return s.middleware(mux)
}

// middleware sets the security headers of every response, answers paths
// that are not canonical with 404 and methods other than GET and HEAD with
// 405, and turns a panic into a 500 page.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("explorer panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !sw.wrote {
				s.newRequest(sw, r).fail(errors.New("panic"))
			}
		}()
		// A path the mux would clean and redirect (//, /./, /../) names no
		// page: 404, as the API answers.
		if p := r.URL.EscapedPath(); api.CleanPath(p) != p {
			s.newRequest(sw, r).fail(notFound("err.no_page", p))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			rq := s.newRequest(sw, r)
			rq.fail(&pageError{status: http.StatusMethodNotAllowed, key: "err.method", args: []any{r.Method}})
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// contentSecurityPolicy allows only the explorer's own files: no inline
// script or style, WebAssembly for the verify page.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"

// statusWriter notes whether the response has started, so a panic after
// it does not write a second header.
type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(status int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush
// for the live stream).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// pageFunc answers one request. It writes a success response itself and
// returns an error for everything else, which page renders as an error
// page.
type pageFunc func(rq *request) error

// page adapts h to http.Handler.
func (s *server) page(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := s.newRequest(w, r)
		if err := h(rq); err != nil {
			rq.fail(err)
		}
	})
}

// withView runs f over a snapshot of committed state and releases it.
func (s *server) withView(f func(v *ledger.View, height int64) error) error {
	v, h, release, err := s.src.Snapshot()
	if err != nil {
		return err
	}
	defer release()
	return f(v, h)
}

// pageError is an error page: its status and a catalog message.
type pageError struct {
	status int
	key    string // catalog key of the message, a format for args
	args   []any
	// link, when set, is a page that helps (the entry of a record that is
	// not evidence, say), shown with the catalog text linkKey.
	link, linkKey string
}

func (e *pageError) Error() string { return fmt.Sprintf("%d %s %v", e.status, e.key, e.args) }

func notFound(key string, args ...any) *pageError {
	return &pageError{status: http.StatusNotFound, key: key, args: args}
}

func badRequest(key string, args ...any) *pageError {
	return &pageError{status: http.StatusBadRequest, key: key, args: args}
}

// unavailable reports whether err means the node cannot answer yet.
func unavailable(err error) bool {
	return errors.Is(err, api.ErrOverloaded) || errors.Is(err, ledger.ErrNotInitialized)
}

// fail writes the error page of err: a *pageError as it says, 503 when the
// node is not ready, 500 (logged) otherwise.
func (rq *request) fail(err error) {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
	case errors.Is(err, api.ErrTooManyStreams):
		// The cap on live streams: come back later, on a new connection.
		pe = &pageError{status: http.StatusServiceUnavailable, key: "err.unavailable"}
		rq.w.Header().Set("Retry-After", strconv.Itoa(int(api.StreamRetryAfter/time.Second)))
		rq.w.Header().Set("Connection", "close")
	case unavailable(err):
		pe = &pageError{status: http.StatusServiceUnavailable, key: "err.unavailable"}
		rq.w.Header().Set("Retry-After", retryAfter)
	case errors.Is(err, context.Canceled):
		return // the client went away
	default:
		rq.s.log.Error("explorer page failed", "path", rq.r.URL.Path, "err", err)
		pe = &pageError{status: http.StatusInternalServerError, key: "err.internal"}
	}
	args := make([]any, len(pe.args))
	for i, a := range pe.args {
		args[i] = a
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	rq.render(pe.status, "error", rq.T("err.title."+statusKey(pe.status)), &errorData{
		Message:  rq.T(pe.key, args...),
		Link:     pe.link,
		LinkText: rq.T(pe.linkKey),
		NotFound: pe.status == http.StatusNotFound,
	})
}

// clipLen bounds what an error page repeats of its input.
const clipLen = 100

// clip shortens s to clipLen runes for an error message.
func clip(s string) string {
	r := []rune(s)
	if len(r) <= clipLen {
		return s
	}
	return string(r[:clipLen]) + "…"
}

// statusKey names the error titles in the catalog.
func statusKey(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "400"
	case http.StatusNotFound:
		return "404"
	case http.StatusMethodNotAllowed:
		return "405"
	case http.StatusServiceUnavailable:
		return "503"
	}
	return "500"
}

// errorData is the content of an error page.
type errorData struct {
	Message  string
	Link     string
	LinkText string
	NotFound bool // show how to search
}

// notFoundPage answers every path under /explorer/ that is no page.
func (s *server) notFoundPage(rq *request) error {
	return notFound("err.no_page", rq.r.URL.Path)
}
