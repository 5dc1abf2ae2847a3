package httplimit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Timeouts configures Handler.
type Timeouts struct {
	// Body and MinBodyRate bound how slowly a request body may arrive:
	// every Body it must bring at least MinBodyRate bytes per second of
	// Body (and at least one byte). A body slower than that has its next
	// read fail with an error wrapping ErrSlowBody, and its connection is
	// not reused. Body must be positive.
	Body        time.Duration
	MinBodyRate int64
	// Write bounds each write of a response (and each flush): a client
	// that does not take the bytes within it has the write fail and its
	// connection closed. Every write gets the whole of it anew, so a
	// response may stream for as long as the client keeps reading. Write
	// must be positive.
	Write time.Duration
	// OnRefuse, when set, is called with RefusedSlowBody for each request
	// body cut for its pace.
	OnRefuse func(reason string)
}

// ErrSlowBody is wrapped (with os.ErrDeadlineExceeded) by the error of a
// read from a request body that arrived slower than Timeouts allow.
var ErrSlowBody = errors.New("the request body arrived too slowly")

// Handler serves next within t. It sets the connection's read deadline
// from the pace of the request body as the handler reads it (a request
// without a body gets none, so that the server sees a client hang up at
// any time), and the write deadline before each write of the response.
// It must be the outermost handler, with the server's ReadTimeout and
// WriteTimeout unset (both would be absolute, and cut event streams, long
// uploads and downloads).
func Handler(next http.Handler, t Timeouts) http.Handler {
	if t.Body <= 0 || t.Write <= 0 {
		panic(fmt.Sprintf("httplimit.Handler: timeouts %s and %s, want both positive", t.Body, t.Write))
	}
	need := max(1, t.MinBodyRate*t.Body.Milliseconds()/1000)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		ww := &writer{ResponseWriter: w, rc: rc, timeout: t.Write}
		ww.extend() // for a response written only after the handler returns
		defer ww.extend()
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(time.Now().Add(t.Body))
			r.Body = &body{ReadCloser: r.Body, rc: rc, t: t, need: need}
		}
		next.ServeHTTP(ww, r)
	})
}

// body is a request body whose pace sets the connection's read deadline:
// each time it has brought need bytes, the deadline moves to Body from
// now. Once the body has ended (EOF or an error) it never touches the
// deadline again: net/http then reads the connection in the background,
// with no deadline, to notice a client that hangs up.
type body struct {
	io.ReadCloser
	rc   *http.ResponseController
	t    Timeouts
	need int64 // bytes per window
	got  int64 // bytes in this window
	done bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.done {
		return n, err
	}
	if err != nil {
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if b.t.OnRefuse != nil {
				b.t.OnRefuse(RefusedSlowBody)
			}
			// os.ErrDeadlineExceeded rather than err, which names the
			// node's socket.
			err = fmt.Errorf("%w: fewer than %d bytes in %s; send it at %d bytes/s or faster (%w)",
				ErrSlowBody, b.need, b.t.Body, b.t.MinBodyRate, os.ErrDeadlineExceeded)
		}
		return n, err
	}
	if b.got += int64(n); b.got >= b.need {
		b.got = 0
		_ = b.rc.SetReadDeadline(time.Now().Add(b.t.Body))
	}
	return n, nil
}

// writer sets the connection's write deadline before each write.
type writer struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *writer) extend() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) }

func (w *writer) WriteHeader(status int) {
	w.extend()
	w.ResponseWriter.WriteHeader(status)
}

func (w *writer) Write(b []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(b)
}

// FlushError flushes the response, within the write timeout
// (http.ResponseController.Flush calls it).
func (w *writer) FlushError() error {
	w.extend()
	return w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
