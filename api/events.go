package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// Notifier is implemented by a Backend that can say when a block commits,
// so GET /v1/events follows the log without polling. Changed returns a
// channel that is closed at the next commit.
type Notifier interface {
	Changed() <-chan struct{}
}

// EventsKeepAlive is how often GET /v1/events sends a comment line while
// nothing commits, so proxies and clients see the stream is alive.
const EventsKeepAlive = 15 * time.Second

// eventsBatch bounds the entries read under one snapshot.
const eventsBatch = 256

// events is GET /v1/events?from=N&type=evidence,grant&chain=ID: a
// Server-Sent Events stream of the log's entries, in commit order, each
// event's id its entry index, so a client resumes after a disconnect with
// the Last-Event-ID header (or from=N). Without either it starts at the
// next entry to commit. The log is the durable outbox: nothing is lost.
func (s *server) events(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	var types []string
	if t := q.Get("type"); t != "" {
		for _, x := range strings.Split(t, ",") {
			switch x {
			case "evidence", "batch", "attest", "register", "grant", "revoke", "access":
				types = append(types, x)
			default:
				return badRequest("type", "type %q is not an entry type: use evidence, batch, attest, register, grant, revoke or access (comma-separated)", x)
			}
		}
	}
	chain := q.Get("chain")
	next, start := uint64(0), false
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		i, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return badRequest("Last-Event-ID", "Last-Event-ID %q is not an entry index", id)
		}
		next, start = i+1, true
	} else if f := q.Get("from"); f != "" {
		i, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return badRequest("from", "from %q is not an entry index", f)
		}
		next, start = i, true
	}
	if !start {
		if err := s.withView(func(v *ledger.View) error {
			h, err := v.Head()
			next = h.Size
			return err
		}); err != nil {
			return err
		}
	}
	notifier, _ := s.b.(Notifier)

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", cacheNone)
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil // the client is gone, or the writer cannot stream
	}
	for {
		var changed <-chan struct{}
		if notifier != nil {
			changed = notifier.Changed() // before reading, so no commit slips by
		}
		var size uint64
		err := s.withView(func(v *ledger.View) error {
			h, err := v.Head()
			if err != nil {
				return err
			}
			size = h.Size
			for n := 0; next < size && n < eventsBatch; n++ {
				e, err := loadEntry(v, next)
				if err != nil {
					return err
				}
				if EntryMatches(e, types, chain) {
					data, err := json.Marshal(e)
					if err != nil {
						return err
					}
					if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Index, e.Type, data); err != nil {
						return err
					}
				}
				next++
			}
			return nil
		})
		if err != nil {
			// The stream has started: end it; the client resumes from its
			// last event id.
			s.log.Warn("events stream ended", "next", next, "err", err)
			return nil
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		if next < size {
			continue
		}
		keepAlive := time.NewTimer(EventsKeepAlive)
		select {
		case <-r.Context().Done():
			keepAlive.Stop()
			return nil
		case <-changed:
		case <-keepAlive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		}
		keepAlive.Stop()
	}
}

// EntryMatches reports whether an entry passes the filters of an event
// stream or a webhook: one of types (all when empty), and a record of the
// evidence chain or a grant of it (all when empty).
func EntryMatches(e *client.Entry, types []string, chain string) bool {
	if len(types) > 0 && !slices.Contains(types, e.Type) {
		return false
	}
	if chain == "" {
		return true
	}
	for _, r := range e.Records {
		if r.Chain == chain {
			return true
		}
	}
	return e.Custody != nil && e.Custody.Chain == chain
}
