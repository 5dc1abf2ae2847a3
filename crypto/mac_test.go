package crypto

import (
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/internal/testutil"
)

// TestMACMatchesOpenSSL checks HMAC-SM3 against OpenSSL 3's.
func TestMACMatchesOpenSSL(t *testing.T) {
	bin := testutil.RequireOpenSSL(t)
	key, msg := "webhook secret", "1764230400.{\"index\":12}"
	cmd := exec.Command(bin, "dgst", "-sm3", "-hmac", key)
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl dgst -sm3 -hmac: %v", err)
	}
	f := strings.Fields(string(out))
	want := f[len(f)-1]
	got := MAC([]byte(key), []byte(msg[:10]), []byte(msg[10:]))
	if hex.EncodeToString(got[:]) != want {
		t.Fatalf("MAC = %x, OpenSSL says %s", got, want)
	}
	if !MACEqual(got[:], []byte(key), []byte(msg)) || MACEqual(got[:], []byte("other"), []byte(msg)) {
		t.Fatal("MACEqual does not agree with MAC")
	}
}
