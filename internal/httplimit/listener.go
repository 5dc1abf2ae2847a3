// Package httplimit bounds what clients can hold of an HTTP server:
// connections, in all and per client address (Listener), and time, in that
// a request body must keep a minimum pace and every write of a response
// must be taken within a timeout (Handler). A client over a bound is
// refused cheaply, and each refusal is reported to a callback (metrics).
package httplimit

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// Reasons for a refusal, as Listener and Handler report them.
const (
	// RefusedConnections: the server holds its most connections.
	RefusedConnections = "connections"
	// RefusedClientConnections: the client's address holds its most.
	RefusedClientConnections = "client_connections"
	// RefusedSlowBody: a request body arrived slower than the minimum pace.
	RefusedSlowBody = "slow_body"
)

// ListenerConfig configures a Listener.
type ListenerConfig struct {
	// MaxConns bounds the connections open at once; at least 1.
	MaxConns int
	// MaxClientConns bounds the connections open at once from one client
	// address (ClientKey); at least 1.
	MaxClientConns int
	// RetryAfter is the Retry-After of the 503 a refused connection gets,
	// in whole seconds rounded up; at least one second.
	RetryAfter time.Duration
	// OnRefuse, when set, is called with the reason for each refused
	// connection (RefusedConnections or RefusedClientConnections). It runs
	// on the accepting goroutine and must be quick.
	OnRefuse func(reason string)
}

// refuseWriteTimeout bounds the write of a refusal. It goes into the
// empty send buffer of a new connection, so it only fails on a broken one.
const refuseWriteTimeout = 100 * time.Millisecond

// Listener is a net.Listener that admits a connection only while its
// caps hold. It answers any other with a fixed 503 response (Retry-After,
// Connection: close, the API's JSON error shape) and closes it without
// reading it, so a refusal costs one write and a close, and no goroutine.
// (A client that sent its request before the close may see a reset rather
// than the 503.) Closing an admitted connection frees its place.
type Listener struct {
	net.Listener
	cfg     ListenerConfig
	refusal map[string][]byte // the 503 response, by reason

	mu       sync.Mutex
	open     int
	byClient map[string]int // open connections by ClientKey; no zero counts
}

// NewListener returns a Listener that admits connections from inner
// within cfg's caps. It panics if a cap is below 1 (a wiring bug).
func NewListener(inner net.Listener, cfg ListenerConfig) *Listener {
	if cfg.MaxConns < 1 || cfg.MaxClientConns < 1 {
		panic(fmt.Sprintf("httplimit.NewListener: caps %d and %d, want at least 1", cfg.MaxConns, cfg.MaxClientConns))
	}
	secs := max(1, int64((cfg.RetryAfter+time.Second-1)/time.Second))
	l := &Listener{Listener: inner, cfg: cfg, byClient: map[string]int{}, refusal: map[string][]byte{}}
	for reason, msg := range map[string]string{
		RefusedConnections:       fmt.Sprintf("the node serves %d connections, its most: retry later", cfg.MaxConns),
		RefusedClientConnections: fmt.Sprintf("your address holds %d connections to the node, its most: retry later", cfg.MaxClientConns),
	} {
		body := `{"error":{"status":503,"code":"unavailable","message":` + strconv.Quote(msg) +
			`,"hint":"close idle connections, or retry after the Retry-After header's seconds"}}` + "\n"
		l.refusal[reason] = []byte("HTTP/1.1 503 Service Unavailable\r\n" +
			"Content-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n" +
			"Retry-After: " + strconv.FormatInt(secs, 10) + "\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	return l
}

// Accept waits for the next connection within the caps, refusing the
// others it receives meanwhile.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := ClientKey(c.RemoteAddr())
		reason := l.admit(client)
		if reason == "" {
			return &conn{Conn: c, l: l, client: client}, nil
		}
		_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
		_, _ = c.Write(l.refusal[reason])
		_ = c.Close()
		if l.cfg.OnRefuse != nil {
			l.cfg.OnRefuse(reason)
		}
	}
}

// Open returns the number of admitted connections not yet closed.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// admit takes a place for a connection of client, or returns the reason
// there is none.
func (l *Listener) admit(client string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.open >= l.cfg.MaxConns:
		return RefusedConnections
	case l.byClient[client] >= l.cfg.MaxClientConns:
		return RefusedClientConnections
	}
	l.open++
	l.byClient[client]++
	return ""
}

// release frees the place of a connection of client.
func (l *Listener) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byClient[client]--; l.byClient[client] == 0 {
		delete(l.byClient, client)
	}
}

// ClientKey is what a Listener counts a connection's client by: the IP
// address of a TCP peer, or its /64 network for IPv6 (a subscriber's usual
// allocation, all of which one client may use); the address's text for
// other networks.
func ClientKey(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ip4 := tcp.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return tcp.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// conn is an admitted connection; closing it frees its place.
type conn struct {
	net.Conn
	l      *Listener
	client string
	once   sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.client) })
	return err
}

// CloseWrite shuts down the writing side when the connection can, as
// net/http does before closing a connection whose client may still be
// sending (so that its last response is not lost to a reset).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
