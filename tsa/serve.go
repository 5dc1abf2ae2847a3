package tsa

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/evidenced/evidenced/internal/httplimit"
)

// Bounds of the server Serve makes: what strangers can make a development
// TSA hold.
const (
	MaxServeConns       = 64 // connections open at once
	MaxServeClientConns = 8  // from one client address
)

// Server returns an HTTP server of the authority's Handler, bounded in
// time (headers, bodies, writes, idle connections) and header size, whose
// errors go to log at WARN. Serve it on a listener from Listen.
func (a *Authority) Server(log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Listen listens on addr (host:port) for the authority's server, admitting
// at most MaxServeConns connections at once and MaxServeClientConns from
// one client address; others get a 503 and are closed.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return httplimit.NewListener(ln, httplimit.ListenerConfig{MaxConns: MaxServeConns, MaxClientConns: MaxServeClientConns, RetryAfter: time.Second}), nil
}

// ValidAt returns an error wrapping ErrExpired when the signing
// certificate is not valid at now: tokens signed then would not verify.
func (a *Authority) ValidAt(now time.Time) error {
	if now.Before(a.leaf.NotBefore) || now.After(a.leaf.NotAfter) {
		return fmt.Errorf("%w: the signing certificate of %q is valid from %s to %s, not at %s: make a new authority in another directory and trust it",
			ErrExpired, a.Name(), a.leaf.NotBefore.UTC().Format(time.RFC3339), a.leaf.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}
