package api

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/evidenced/evidenced/client"
)

// Default caps of Streams.
const (
	// DefaultMaxStreams is the default cap on event streams served at once.
	DefaultMaxStreams = 256
	// DefaultMaxAnonymousStreams is the default cap on those without a
	// valid bearer token.
	DefaultMaxAnonymousStreams = 64
	// StreamRetryAfter is the Retry-After of a stream refused for a cap.
	StreamRetryAfter = 5 * time.Second
)

// The caps a stream is refused by, as Streams reports them.
const (
	// RefusedStreams: the node serves its most event streams.
	RefusedStreams = "event_streams"
	// RefusedAnonymousStreams: it serves its most streams without a token.
	RefusedAnonymousStreams = "anonymous_event_streams"
)

// ErrTooManyStreams is wrapped by the error of Streams.Acquire when a cap
// is reached. It wraps ErrOverloaded: the API and the explorer answer 503
// with Retry-After.
var ErrTooManyStreams = fmt.Errorf("%w: too many event streams", ErrOverloaded)

// Streams bounds the Server-Sent Events streams a node serves at once
// (GET /v1/events and the explorer's live stream): every stream holds a
// connection, a goroutine and a buffer, and reads the log at each commit.
// It caps them in all and, more tightly, those of anonymous clients (no
// valid bearer token), so that unauthenticated clients cannot take every
// stream. It is safe for concurrent use; one Streams is shared by the
// API and the explorer.
type Streams struct {
	max, maxAnonymous int
	onRefuse          func(reason string)

	mu              sync.Mutex
	open, anonymous int
}

// NewStreams returns a cap of max streams, maxAnonymous of them
// anonymous. onRefuse, when not nil, is called with RefusedStreams or
// RefusedAnonymousStreams for each refusal. It panics unless
// 0 ≤ maxAnonymous ≤ max and 1 ≤ max (a wiring bug; the config checks).
func NewStreams(max, maxAnonymous int, onRefuse func(reason string)) *Streams {
	if max < 1 || maxAnonymous < 0 || maxAnonymous > max {
		panic(fmt.Sprintf("api.NewStreams(%d, %d): want 0 ≤ anonymous ≤ max, max ≥ 1", max, maxAnonymous))
	}
	return &Streams{max: max, maxAnonymous: maxAnonymous, onRefuse: onRefuse}
}

// Acquire takes a place for one stream, anonymous or not, and returns the
// func that frees it (call it once, when the stream ends). At a cap it
// returns an error wrapping ErrTooManyStreams.
func (s *Streams) Acquire(anonymous bool) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.open >= s.max:
		err = fmt.Errorf("%w: the node serves %d, its most; retry later", ErrTooManyStreams, s.max)
		s.refused(RefusedStreams)
		return nil, err
	case anonymous && s.anonymous >= s.maxAnonymous:
		err = fmt.Errorf("%w: the node serves %d to clients without a bearer token, its most; retry later, or present a token", ErrTooManyStreams, s.maxAnonymous)
		s.refused(RefusedAnonymousStreams)
		return nil, err
	}
	s.open++
	if anonymous {
		s.anonymous++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.open--
			if anonymous {
				s.anonymous--
			}
		})
	}, nil
}

func (s *Streams) refused(reason string) {
	if s.onRefuse != nil {
		s.onRefuse(reason)
	}
}

// Open returns the streams served now, in all and anonymous.
func (s *Streams) Open() (all, anonymous int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open, s.anonymous
}

// refuseStream is the 503 of a stream refused for a cap. It closes the
// connection, so that the client's next try, after Retry-After, comes on
// a new one, and it is logged at Debug only: the node's metrics count it.
func refuseStream(w http.ResponseWriter, err error) *httpError {
	w.Header().Set("Connection", "close")
	e := newError(http.StatusServiceUnavailable, client.CodeUnavailable, "", "%v", err)
	e.body.Hint = "retry after the number of seconds in the Retry-After header"
	e.cause, e.retryAfter, e.quiet = err, StreamRetryAfter, true
	return e
}
