package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/evidenced/evidenced/ledger"
)

// Notifier is implemented by a Backend that can say when a block commits,
// so GET /v1/events follows the log without polling. Changed returns a
// channel that is closed at the next commit.
type Notifier interface {
	Changed() <-chan struct{}
}

// eventsBatch bounds the entries read under one snapshot.
const eventsBatch = 256

// events is GET /v1/events?from=N&type=evidence,grant&chain=ID&kind=K: a
// Server-Sent Events stream of the event log (eventlog.go), in commit
// order, each event's id its entry index or checkpoint-HEIGHT, so a client
// resumes after a disconnect with the Last-Event-ID header (or from=N, an
// entry index). Without either it starts at the next block to commit. The
// log is the durable outbox: nothing is lost.
func (s *server) events(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	var types []string
	if t := q.Get("type"); t != "" {
		types = strings.Split(t, ",")
	}
	filter, err := NewEventFilter(types, q.Get("chain"), q.Get("kind"))
	if err != nil {
		return badRequest("type", "%v (comma-separated)", err)
	}
	release, err := s.opts.Streams.Acquire(!s.hasToken(r))
	if err != nil {
		return refuseStream(w, err)
	}
	defer release()
	var cur Cursor
	if err := s.withHeight(func(v *ledger.View, height int64) error {
		var err error
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			if cur, err = CursorAfter(v, height, id); errors.Is(err, ErrBadFilter) {
				return badRequest("Last-Event-ID", "%v", err)
			} else if errors.Is(err, ledger.ErrNotFound) {
				return notFound("Last-Event-ID", "Last-Event-ID %q names no committed event", id)
			}
			return err
		}
		if f := q.Get("from"); f != "" {
			i, perr := strconv.ParseUint(f, 10, 64)
			if perr != nil {
				return badRequest("from", "from %q is not an entry index", f)
			}
			cur, err = CursorAt(v, height, i)
			return err
		}
		cur, err = CursorHead(v, height)
		return err
	}); err != nil {
		return err
	}
	err = ServeEvents(w, r, s.b, func(buf *bytes.Buffer) (more bool, err error) {
		err = s.withHeight(func(v *ledger.View, _ int64) error {
			var evs []Event
			var err error
			evs, cur, more, err = ReadEvents(v, cur, filter, eventsBatch)
			if err != nil {
				return err
			}
			for _, e := range evs {
				data, err := json.Marshal(e.Data())
				if err != nil {
					return err
				}
				fmt.Fprintf(buf, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
			}
			return nil
		})
		return more, err
	})
	if err != nil {
		// The stream has started: end it; the client resumes from its
		// last event id.
		s.log.Warn("events stream ended", "cursor", cur.String(), "err", err)
	}
	return nil
}
