package tsa

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeBounded: the development TSA's listener admits at most
// MaxServeClientConns connections from one address (the next gets a 503),
// and its server answers a time-stamp request over an admitted one.
func TestServeBounded(t *testing.T) {
	now := time.Now()
	a, err := NewAuthority(ECDSAP256, "serve test", now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := a.Server(slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range MaxServeClientConns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The listener counts a connection when it accepts it: poll until the
	// next one is refused.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.Contains(line, "503") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d from one address was not refused: %q", MaxServeClientConns+1, line)
		}
		time.Sleep(20 * time.Millisecond) // polling the accept loop
	}

	// Free one place: a request is answered with a token.
	held[0].Close()
	held = held[1:]
	req := makeRequest(t, SHA256, []byte("checkpoint"), big.NewInt(1), true)
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err = http.Post("http://"+ln.Addr().String()+"/", "application/timestamp-query", bytes.NewReader(req))
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("a request after a place was freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling the freed place
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/timestamp-reply" {
		t.Fatalf("content type %q", ct)
	}
}

func TestValidAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, err := NewAuthority(SM2, "validity test", t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ValidAt(t0.Add(time.Hour)); err != nil {
		t.Fatalf("within validity: %v", err)
	}
	err = a.ValidAt(t0.Add(48 * time.Hour))
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "make a new authority") {
		t.Fatalf("after validity: %v", err)
	}
}
