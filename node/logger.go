package node

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"syscall"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
)

// cmtLogger adapts CometBFT's logger to slog. CometBFT's Info lines (one
// per step of every block) are logged at Debug so that a node's terminal
// shows evidenced's own plain-words lines; its warnings and errors keep
// their level.
type cmtLogger struct{ l *slog.Logger }

var _ cmtlog.Logger = cmtLogger{}

// NewCometLogger returns CometBFT's logger interface over l, with attribute
// component=cometbft. The kvstore baseline of bench/ uses it too, so both
// systems log alike.
func NewCometLogger(l *slog.Logger) cmtlog.Logger { return cmtLogger{l.With("component", "cometbft")} }

func (c cmtLogger) Debug(msg string, kv ...any) { c.log(slog.LevelDebug, msg, kv) }
func (c cmtLogger) Info(msg string, kv ...any)  { c.log(slog.LevelDebug, msg, kv) }
func (c cmtLogger) Warn(msg string, kv ...any)  { c.log(slog.LevelWarn, msg, kv) }
func (c cmtLogger) Error(msg string, kv ...any) { c.log(cometErrorLevel(msg, kv), msg, kv) }

// cometErrorLevel is the level of a CometBFT error line. CometBFT logs at
// ERROR what a healthy alliance does every day: members dialling each
// other before all are up (connection refused, then redialled), two
// members dialling each other at once (the second connection is refused as
// a duplicate ID), a member stopping (its peers' connections end), a slow
// peer during blocksync, and its own clean stop. A healthy node logs no
// ERROR, so those are logged lower: a peer going away or not keeping up
// at WARN (an operator may want to know), the rest at INFO or DEBUG.
// Anything else stays ERROR.
func cometErrorLevel(msg string, kv []any) slog.Level {
	if shutdownNoise(msg, kv) {
		return slog.LevelDebug
	}
	err := kvError(kv)
	switch msg {
	case "Won't start a peer - switch is not running", "Error starting peer ":
		return slog.LevelDebug // stopping, or a peer that already failed and is being removed
	case "Error dialing peer":
		var rej p2p.ErrRejected
		switch {
		case errors.As(err, &rej) && rej.IsDuplicate(), err != nil && strings.Contains(err.Error(), "duplicate ID<"):
			return slog.LevelDebug // both sides dialled at once: one connection stays
		case errors.Is(err, syscall.ECONNREFUSED) || (err != nil && strings.Contains(err.Error(), "connection refused")):
			return slog.LevelInfo // the peer is not up yet; CometBFT redials
		}
		return slog.LevelWarn
	case "Stopping peer for error", "SendTimeout", "Failed to reconnect to peer. Beginning exponential backoff":
		return slog.LevelWarn
	}
	return slog.LevelError
}

// kvError returns the first error value of a key/value list, or nil.
func kvError(kv []any) error {
	for i := 1; i < len(kv); i += 2 {
		if err, ok := kv[i].(error); ok {
			return err
		}
	}
	return nil
}

// shutdownNoise reports whether an error line is CometBFT noticing its own
// clean stop (closed listeners, services already stopped).
func shutdownNoise(msg string, kv []any) bool {
	if msg == "Stopped accept routine, as transport is closed" {
		return true
	}
	for i := 1; i < len(kv); i += 2 {
		if err, ok := kv[i].(error); ok && (strings.Contains(err.Error(), "use of closed network connection") || strings.Contains(err.Error(), "already stopped")) {
			return true
		}
	}
	return false
}

func (c cmtLogger) With(kv ...any) cmtlog.Logger { return cmtLogger{c.l.With(fixKV(kv)...)} }

func (c cmtLogger) log(level slog.Level, msg string, kv []any) {
	if !c.l.Enabled(context.Background(), level) {
		return
	}
	c.l.Log(context.Background(), level, msg, fixKV(kv)...)
}

// fixKV turns CometBFT's alternating key/value list into slog arguments,
// stringifying non-string keys and padding an odd list.
func fixKV(kv []any) []any {
	out := make([]any, 0, len(kv)+1)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			k = "key"
		}
		var v any = "(missing)"
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		out = append(out, slog.Any(k, v))
	}
	return out
}
