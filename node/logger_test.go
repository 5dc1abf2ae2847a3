package node

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
)

// TestCometErrorLevel: what a healthy alliance does every day is not an
// ERROR; anything else CometBFT logs as an error stays one.
func TestCometErrorLevel(t *testing.T) {
	refused := fmt.Errorf("dial tcp 127.0.0.1:26656: connect: %w", syscall.ECONNREFUSED)
	for _, tc := range []struct {
		msg  string
		kv   []any
		want slog.Level
	}{
		{"Error dialing peer", []any{"err", refused}, slog.LevelInfo},
		{"Error dialing peer", []any{"err", errors.New("auth failure: secret conn failed: EOF")}, slog.LevelWarn},
		{"Error dialing peer", []any{"err", errors.New("duplicate ID<ab12>")}, slog.LevelDebug},
		{"Stopping peer for error", []any{"peer", "Peer{…}", "err", io.EOF}, slog.LevelWarn},
		{"SendTimeout", []any{"peer", "ab12", "reason", "peer did not send us anything"}, slog.LevelWarn},
		{"Failed to reconnect to peer. Beginning exponential backoff", []any{"addr", "x"}, slog.LevelWarn},
		{"Won't start a peer - switch is not running", []any{"peer", "x"}, slog.LevelDebug},
		{"Stopped accept routine, as transport is closed", nil, slog.LevelDebug},
		{"error stopping peer", []any{"err", errors.New("already stopped")}, slog.LevelDebug},
		{"Failed to add block", []any{"err", errors.New("wrong app hash")}, slog.LevelError},
		{"CONSENSUS FAILURE!!!", []any{"err", "boom"}, slog.LevelError},
		{"Failed to reconnect to peer. Giving up", []any{"addr", "x"}, slog.LevelError},
	} {
		if got := cometErrorLevel(tc.msg, tc.kv); got != tc.want {
			t.Errorf("%q %v: level %v, want %v", tc.msg, tc.kv, got, tc.want)
		}
	}
}
