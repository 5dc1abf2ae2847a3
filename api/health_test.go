package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/ledger"
)

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	f.node.statusErr = errors.New("CometBFT is down") // liveness does not ask the node
	rec := serve(t, api.New(f.node, api.Options{}), http.MethodGet, "/healthz", nil)
	if rec.Code != http.StatusOK || rec.Body.String() != "{\"status\":\"ok\"}\n" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /healthz: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	// No token needed, and a wrong method is a 405.
	if rec := serve(t, api.New(f.node, api.Options{}), http.MethodPost, "/healthz", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz: %d", rec.Code)
	}
}

func TestReadyz(t *testing.T) {
	f := newFixture(t)
	last := time.Unix(0, blockTime(f.node.height)).UTC()
	for _, tc := range []struct {
		name   string
		knob   func(n *memNode)
		now    time.Time
		maxAge time.Duration
		code   int
		reason string
	}{
		{name: "ready", now: last.Add(10 * time.Second), code: http.StatusOK},
		{name: "at the limit", now: last.Add(api.DefaultReadyMaxBlockAge), code: http.StatusOK},
		{name: "stale", now: last.Add(api.DefaultReadyMaxBlockAge + time.Second), code: http.StatusServiceUnavailable, reason: "stale_block"},
		{name: "stale, own limit", now: last.Add(20 * time.Second), maxAge: 10 * time.Second, code: http.StatusServiceUnavailable, reason: "stale_block"},
		{name: "catching up", knob: func(n *memNode) { n.catchingUp = true }, now: last, code: http.StatusServiceUnavailable, reason: "catching_up"},
		{name: "not initialised", knob: func(n *memNode) { n.statusErr = ledger.ErrNotInitialized }, now: last, code: http.StatusServiceUnavailable, reason: "not_initialized"},
		{name: "CometBFT down", knob: func(n *memNode) { n.statusErr = errors.New("CometBFT status: rpc down") }, now: last, code: http.StatusServiceUnavailable, reason: "unavailable"},
		{name: "overloaded", knob: func(n *memNode) { n.statusErr = api.ErrOverloaded }, now: last, code: http.StatusServiceUnavailable, reason: "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.node.statusErr, f.node.catchingUp = nil, false
			if tc.knob != nil {
				tc.knob(f.node)
			}
			h := api.New(f.node, api.Options{Now: func() time.Time { return tc.now }, ReadyMaxBlockAge: tc.maxAge, RetryAfter: 3 * time.Second})
			rec := serve(t, h, http.MethodGet, "/readyz", nil)
			var got api.Health
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tc.code || got.Reason != tc.reason {
				t.Fatalf("GET /readyz: %d %+v, want %d reason %q", rec.Code, got, tc.code, tc.reason)
			}
			switch {
			case tc.code == http.StatusOK:
				if got.Status != "ok" || got.Height != f.node.height || !got.BlockTime.Equal(last) || got.Message != "" {
					t.Fatalf("ready body %+v", got)
				}
			case got.Status != "not_ready" || got.Message == "" || rec.Header().Get("Retry-After") != "3":
				t.Fatalf("not ready: body %+v, Retry-After %q", got, rec.Header().Get("Retry-After"))
			}
		})
	}
}
