// Package testutil holds helpers shared by tests of several packages:
// finding free loopback ports, requiring OpenSSL with SM2, and streaming
// large deterministic inputs (GenReader). It is
// imported only from _test.go files.
package testutil

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireOpenSSL returns the openssl binary, skipping the test when it is
// missing or lacks SM2 — unless EVIDENCED_REQUIRE_OPENSSL=1 (as in CI),
// when that is a failure.
func RequireOpenSSL(t testing.TB) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("EVIDENCED_REQUIRE_OPENSSL") == "1" {
		fail = t.Fatalf
	}
	bin, err := exec.LookPath("openssl")
	if err != nil {
		fail("openssl not found: %v", err)
		return ""
	}
	if out, err := exec.Command(bin, "genpkey", "-algorithm", "SM2", "-out", filepath.Join(t.TempDir(), "probe.pem")).CombinedOutput(); err != nil {
		fail("openssl has no SM2: %v\n%s", err, out)
		return ""
	}
	return bin
}

// FreePortBase returns a port p in [lo, lo+span*10) such that p .. p+n-1
// are all free on 127.0.0.1 right now.
func FreePortBase(t testing.TB, lo, span, n int) int {
	t.Helper()
	for range 50 {
		base := lo + rand.IntN(span)*10
		if portsFree(base, n) {
			return base
		}
	}
	t.Fatalf("no %d free consecutive ports on 127.0.0.1 from %d", n, lo)
	return 0
}

func portsFree(base, n int) bool {
	for i := range n {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

// GenReader yields n deterministic pseudo-random-looking bytes without
// holding them: large originals for upload and store tests.
type GenReader struct{ N, i int64 }

// NewGenReader returns a GenReader of n bytes.
func NewGenReader(n int64) *GenReader { return &GenReader{N: n} }

// Read implements io.Reader.
func (g *GenReader) Read(p []byte) (int, error) {
	if g.i >= g.N {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.N-g.i)]
	for j := range p {
		x := uint64(g.i + int64(j))
		p[j] = byte(x*0x9e3779b97f4a7c15>>56) ^ byte(x)
	}
	g.i += int64(len(p))
	return len(p), nil
}

// SSEEvent is one event of a text/event-stream.
type SSEEvent struct{ ID, Event, Data string }

// NextSSE reads from sc up to the next complete Server-Sent Event (one
// with an id or an event name; keep-alive comments are skipped). ok is
// false when the stream ends first.
func NextSSE(sc *bufio.Scanner) (ev SSEEvent, ok bool) {
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.ID != "" || ev.Event != "" {
				return ev, true
			}
			ev = SSEEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.Data = line[6:]
		}
	}
	return SSEEvent{}, false
}
