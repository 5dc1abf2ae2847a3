package node

import (
	"context"
	"log/slog"
	"strings"

	cmtlog "github.com/cometbft/cometbft/libs/log"
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
func (c cmtLogger) Error(msg string, kv ...any) {
	level := slog.LevelError
	if shutdownNoise(msg, kv) {
		level = slog.LevelDebug
	}
	c.log(level, msg, kv)
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
