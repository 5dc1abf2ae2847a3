package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/evidenced/evidenced/ledger"
)

// DefaultReadyMaxBlockAge is how old the last committed block may be for
// GET /readyz to answer ready. CometBFT makes empty blocks, so an alliance
// with a quorum commits every few seconds; a minute without a block means
// the node has lost the alliance (or the alliance its quorum).
const DefaultReadyMaxBlockAge = time.Minute

// Health is the body of GET /healthz and GET /readyz.
type Health struct {
	// Status is "ok" (alive, or ready) or "not_ready".
	Status string `json:"status"`
	// Reason says why the node is not ready: not_initialized, unavailable,
	// catching_up, no_block or stale_block; empty when ready.
	Reason string `json:"reason,omitempty"`
	// Message says the same in words, with what to look at.
	Message string `json:"message,omitempty"`
	// Height and BlockTime are those of the last committed block, when known.
	Height    int64     `json:"height,omitempty"`
	BlockTime time.Time `json:"block_time,omitzero"`
}

// healthz is GET /healthz: the process is up and serving HTTP.
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) error {
	s.writeJSON(w, http.StatusOK, cacheNone, Health{Status: "ok"})
	return nil
}

// readyz is GET /readyz: 200 when the node can serve (CometBFT runs and is
// not catching up, the store is open, the last block is recent enough),
// else 503 with the reason.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	h := s.readiness(r)
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", fmt.Sprint(int((s.opts.RetryAfter+time.Second-1)/time.Second)))
	}
	s.writeJSON(w, status, cacheNone, h)
	return nil
}

// readiness checks the backend's status.
func (s *server) readiness(r *http.Request) Health {
	st, err := s.b.Status(r.Context())
	switch {
	case errors.Is(err, ledger.ErrNotInitialized):
		return Health{Status: "not_ready", Reason: "not_initialized", Message: "the node's state is not initialised yet (starting, or restoring a snapshot)"}
	case err != nil:
		s.log.Debug("readyz: node status", "err", err)
		return Health{Status: "not_ready", Reason: "unavailable", Message: "the node cannot report its status (CometBFT or the store is not running): see the node's log"}
	case st == nil:
		return Health{Status: "not_ready", Reason: "unavailable", Message: "the node reported no status"}
	}
	h := Health{Status: "not_ready", Height: st.Height}
	if !st.BlockTime.IsZero() {
		h.BlockTime = st.BlockTime.UTC()
	}
	age := s.opts.Now().Sub(st.BlockTime)
	switch {
	case st.CatchingUp:
		h.Reason, h.Message = "catching_up", fmt.Sprintf("the node is catching up with the alliance (at height %d)", st.Height)
	case st.Height == 0 || st.BlockTime.IsZero():
		h.Reason, h.Message = "no_block", "no block is committed yet"
	case age > s.opts.ReadyMaxBlockAge:
		h.Reason, h.Message = "stale_block", fmt.Sprintf("the last block (height %d) is %s old, more than %s: are the alliance's validators reachable, with more than 2/3 of the power?",
			st.Height, age.Truncate(time.Second), s.opts.ReadyMaxBlockAge)
	default:
		h.Status = "ok"
	}
	return h
}
