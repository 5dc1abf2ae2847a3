package api

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// EventsKeepAlive is how often an event stream sends a comment line while
// nothing commits, so proxies and clients see the stream is alive.
const EventsKeepAlive = 15 * time.Second

// EventsPoll is how often an event stream looks for new commits when its
// source is not a Notifier.
const EventsPoll = time.Second

// ServeEvents serves a Server-Sent Events stream (GET /v1/events, the
// explorer's live stream) until the client goes or next fails. next
// writes the events available now to buf, under whatever view of the
// store it takes, and says whether more are ready at once; ServeEvents
// then writes and flushes them outside that view. Between calls it waits
// for the next commit (src's Notifier, or every EventsPoll when src is
// not one), sending a keep-alive comment every EventsKeepAlive. A HEAD
// request gets the headers only. When next fails, what it wrote in that
// call is not sent and its error is returned: the stream has started, so
// the caller can only log it; the client resumes from its last event id.
func ServeEvents(w http.ResponseWriter, r *http.Request, src any, next func(buf *bytes.Buffer) (more bool, err error)) error {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", cacheNone)
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil // the client is gone, or the writer cannot stream
	}
	notifier, _ := src.(Notifier)
	var tick <-chan time.Time
	if notifier == nil {
		poll := time.NewTicker(EventsPoll)
		defer poll.Stop()
		tick = poll.C
	}
	keepAlive := time.NewTimer(EventsKeepAlive)
	defer keepAlive.Stop()
	var buf bytes.Buffer
	for {
		var changed <-chan struct{}
		if notifier != nil {
			changed = notifier.Changed() // before reading, so no commit slips by
		}
		buf.Reset()
		more, err := next(&buf)
		if err != nil {
			return err
		}
		if buf.Len() > 0 {
			if _, werr := w.Write(buf.Bytes()); werr != nil || rc.Flush() != nil {
				return nil
			}
			keepAlive.Reset(EventsKeepAlive)
		}
		if more {
			continue
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-changed:
		case <-tick:
		case <-keepAlive.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
			keepAlive.Reset(EventsKeepAlive)
		}
	}
}
