package httplimit_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/internal/httplimit"
)

// refusals counts what a Listener or Handler reports.
type refusals struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *refusals) add(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[reason]++
}

func (r *refusals) get(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[reason]
}

// serve runs an HTTP server of h on a Listener of cfg (nil: a plain
// listener) on 127.0.0.1 until the test ends.
func serve(t *testing.T, h http.Handler, cfg *httplimit.ListenerConfig) (addr string, ln *httplimit.Listener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener = inner
	if cfg != nil {
		ln = httplimit.NewListener(inner, *cfg)
		l = ln
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return inner.Addr().String(), ln
}

// dialFrom opens a TCP connection to addr from the local address ip.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends GET path on c and reads the response.
func get(t *testing.T, c net.Conn, path string) (*http.Response, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: node\r\n\r\n", path); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	resp.Header.Set("X-Body", string(body))
	return resp, nil
}

// eventually polls f until it holds or 5 s pass.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func TestListenerCaps(t *testing.T) {
	var got refusals
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	addr, ln := serve(t, ok, &httplimit.ListenerConfig{MaxConns: 3, MaxClientConns: 2, RetryAfter: 1500 * time.Millisecond, OnRefuse: got.add})

	// Two connections from 127.0.0.2 are admitted (and answer), the third
	// is refused with the 503.
	a1, a2 := dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)
	for _, c := range []net.Conn{a1, a2} {
		if resp, err := get(t, c, "/"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("an admitted connection: %v, %v", resp, err)
		}
	}
	resp, err := get(t, dialFrom(t, "127.0.0.2", addr), "/")
	if err != nil {
		t.Fatalf("the refused connection: %v (want the 503 before the close)", err)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || !resp.Close ||
		!strings.Contains(resp.Header.Get("X-Body"), `"code":"unavailable"`) || !strings.Contains(resp.Header.Get("X-Body"), "your address holds 2 connections") {
		t.Fatalf("refusal: %d %v", resp.StatusCode, resp.Header)
	}
	eventually(t, "a client_connections refusal counted", func() bool { return got.get(httplimit.RefusedClientConnections) == 1 })

	// Another address gets the third place; a fourth connection, from a
	// third address, finds the node full.
	b1 := dialFrom(t, "127.0.0.3", addr)
	if resp, err := get(t, b1, "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("another address: %v, %v", resp, err)
	}
	if resp, err := get(t, dialFrom(t, "127.0.0.4", addr), "/"); err != nil || resp.StatusCode != 503 || !strings.Contains(resp.Header.Get("X-Body"), "serves 3 connections") {
		t.Fatalf("over the node's cap: %v, %v", resp, err)
	}
	eventually(t, "a connections refusal counted", func() bool { return got.get(httplimit.RefusedConnections) == 1 })
	if ln.Open() != 3 {
		t.Fatalf("Open() = %d, want 3", ln.Open())
	}

	// Closing a connection frees its place.
	a1.Close()
	eventually(t, "a closed connection frees its place", func() bool { return ln.Open() == 2 })
	if resp, err := get(t, dialFrom(t, "127.0.0.2", addr), "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a close: %v, %v", resp, err)
	}
}

func TestClientKey(t *testing.T) {
	for _, tt := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 1}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::1"), Port: 9}, "2001:db8:1:2::/64"},
		{&net.UnixAddr{Name: "/run/evidenced.sock", Net: "unix"}, "/run/evidenced.sock"},
	} {
		if got := httplimit.ClientKey(tt.addr); got != tt.want {
			t.Errorf("ClientKey(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// readAll is a handler that reads the body and says how it went.
func readAll(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	switch {
	case errors.Is(err, httplimit.ErrSlowBody):
		w.WriteHeader(http.StatusRequestTimeout)
		fmt.Fprintf(w, "slow after %d bytes: %v", n, err)
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
	default:
		fmt.Fprintf(w, "read %d bytes", n)
	}
}

func TestSlowBodyIsCut(t *testing.T) {
	var got refusals
	h := httplimit.Handler(http.HandlerFunc(readAll), httplimit.Timeouts{Body: 400 * time.Millisecond, MinBodyRate: 20, Write: time.Second, OnRefuse: got.add})
	addr, _ := serve(t, h, nil)
	c := dialFrom(t, "127.0.0.1", addr)
	start := time.Now()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: node\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// A byte every 100 ms: 4 per window, fewer than the 8 (20/s) needed;
	// until the write fails (the node cut it, or the test closed it).
	go func() {
		for {
			time.Sleep(100 * time.Millisecond) // the client's pace
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	lived := time.Since(start)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "fewer than 8 bytes in 400ms; send it at 20 bytes/s or faster") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if lived > time.Second {
		t.Errorf("the slow body lived %s, want about 400ms", lived)
	}
	if got.get(httplimit.RefusedSlowBody) != 1 {
		t.Errorf("slow bodies counted: %d, want 1", got.get(httplimit.RefusedSlowBody))
	}
	// The connection is not reused: the server closes it.
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Errorf("after the answer: %v, want the server's close", err)
	}
}

func TestSteadyBodyStreams(t *testing.T) {
	var got refusals
	h := httplimit.Handler(http.HandlerFunc(readAll), httplimit.Timeouts{Body: 300 * time.Millisecond, MinBodyRate: 100, Write: time.Second, OnRefuse: got.add})
	addr, _ := serve(t, h, nil)
	// 1.2 s of body, 10 bytes every 20 ms (500/s): four windows and more.
	pr, pw := io.Pipe()
	go func() {
		for range 60 {
			time.Sleep(20 * time.Millisecond) // the client's pace
			if _, err := pw.Write(make([]byte, 10)); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 600
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "read 600 bytes" || got.get(httplimit.RefusedSlowBody) != 0 {
		t.Fatalf("status %d: %s (slow bodies %d)", resp.StatusCode, body, got.get(httplimit.RefusedSlowBody))
	}
}

// TestLongRequestsKeepTheirConnection: a request without a body, or whose
// body has been read, may wait far longer than the body timeout (a commit
// wait, an event stream) without its context ending; a response written
// a little at a time lasts far longer than the write timeout.
func TestLongRequestsKeepTheirConnection(t *testing.T) {
	const body, write = 200 * time.Millisecond, 200 * time.Millisecond
	h := httplimit.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(4 * body): // a commit wait
		}
		rc := http.NewResponseController(w)
		for i := range 8 { // 8 × 100 ms: four write timeouts
			fmt.Fprintf(w, "event %d\n", i)
			if err := rc.Flush(); err != nil {
				return
			}
			time.Sleep(write / 2)
		}
	}), httplimit.Timeouts{Body: body, MinBodyRate: 1, Write: write})
	addr, _ := serve(t, h, nil)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, err := http.NewRequest(method, "http://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if method == http.MethodPost {
			req.Body, req.ContentLength = io.NopCloser(strings.NewReader("tx")), 2
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || strings.Count(string(got), "event") != 8 {
			t.Errorf("%s: %q, %v; want 8 events", method, got, err)
		}
	}
}

// TestStalledReaderIsCut: a client that stops reading a stream has the
// server's writes fail once the socket buffers are full and the write
// timeout passes.
func TestStalledReaderIsCut(t *testing.T) {
	ended := make(chan error, 1)
	h := httplimit.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				ended <- err
				return
			}
		}
	}), httplimit.Timeouts{Body: time.Second, Write: 300 * time.Millisecond})
	addr, _ := serve(t, h, nil)
	c := dialFrom(t, "127.0.0.1", addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: node\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "timeout") {
			t.Logf("the write failed with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still writes to a client that reads nothing")
	}
}
