package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// badgerLogger adapts badger.Logger to a slog.Logger.
type badgerLogger struct {
	l *slog.Logger
}

var _ badger.Logger = badgerLogger{}

// newBadgerLogger returns l, tagged component=badger, as a badger.Logger.
func newBadgerLogger(l *slog.Logger) badgerLogger {
	return badgerLogger{l: l.With("component", "badger")}
}

func (b badgerLogger) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !b.l.Enabled(ctx, level) {
		return
	}
	b.l.Log(ctx, level, strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Errorf implements badger.Logger at slog.LevelError.
func (b badgerLogger) Errorf(format string, args ...any) { b.log(slog.LevelError, format, args) }

// Warningf implements badger.Logger at slog.LevelWarn.
func (b badgerLogger) Warningf(format string, args ...any) { b.log(slog.LevelWarn, format, args) }

// Infof implements badger.Logger at slog.LevelDebug: Badger's info lines
// (replays, compactions) are operational detail, not news for an operator.
func (b badgerLogger) Infof(format string, args ...any) { b.log(slog.LevelDebug, format, args) }

// Debugf implements badger.Logger at slog.LevelDebug.
func (b badgerLogger) Debugf(format string, args ...any) { b.log(slog.LevelDebug, format, args) }
