// Package testutil holds helpers shared by tests of several packages:
// finding free loopback ports and requiring OpenSSL with SM2. It is
// imported only from _test.go files.
package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
