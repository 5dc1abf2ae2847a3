package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCustodyCommandsRefuseBadInput(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("# node tokens\n0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	digestFile := filepath.Join(t.TempDir(), "api-tokens")
	if err := os.WriteFile(digestFile, []byte("sm3:"+strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	node := "http://127.0.0.1:1" // nothing listens: only input errors may be reached
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"grant without record or chain", []string{"grant", "--to", "court", "--purpose", "x", "--token-file", tokenFile}, "one record (ID) or one evidence chain"},
		{"grant with both", []string{"grant", "12", "--chain", "LOAN-1", "--to", "court", "--purpose", "x", "--token-file", tokenFile}, "not both"},
		{"grant without grantee", []string{"grant", "12", "--purpose", "x", "--token-file", tokenFile}, "--to MEMBER and --purpose TEXT are required"},
		{"grant with a past expiry", []string{"grant", "12", "--to", "court", "--purpose", "x", "--expires", "-1h", "--token-file", tokenFile}, "not in the future"},
		{"grant with a bad expiry", []string{"grant", "12", "--to", "court", "--purpose", "x", "--expires", "soon", "--token-file", tokenFile}, "neither a duration"},
		// F5: a time past what int64 nanoseconds hold was wrapped to the next day.
		{"grant expiring in 2611", []string{"grant", "12", "--to", "court", "--purpose", "x", "--expires", "2611-01-01T00:00:00Z", "--token-file", tokenFile}, "outside what block times can hold"},
		{"grant expiring in 290 years", []string{"grant", "12", "--to", "court", "--purpose", "x", "--expires", "2540400h", "--token-file", tokenFile}, "outside what block times can hold"},
		{"grant without a token", []string{"grant", "12", "--to", "court", "--purpose", "x"}, "needs its API token"},
		{"revoke of a non-index", []string{"revoke", "twelve", "--token-file", tokenFile}, "not an entry index"},
		{"fetch without --out", []string{"fetch", "12", "--token-file", tokenFile}, "--out FILE is required"},
		{"fetch with an unreadable token file", []string{"fetch", "12", "--out", "x", "--token-file", filepath.Join(t.TempDir(), "none")}, "--token-file"},
		{"fetch from no node", []string{"fetch", "12", "--out", filepath.Join(t.TempDir(), "x"), "--token-file", tokenFile}, "cannot reach the node"},
		{"a node's digest file as token file", []string{"revoke", "12", "--token-file", digestFile}, "holds a token's SM3 digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envToken, "")
			_, _, err := runCLI(t, append(tt.args, "--node", node)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	if got, err := parseExpiry("720h", now); err != nil || !got.Equal(now.Add(720*time.Hour)) {
		t.Fatalf("720h = %v, %v", got, err)
	}
	if got, err := parseExpiry("2027-01-31T00:00:00+08:00", now); err != nil || got.UTC() != time.Date(2027, 1, 30, 16, 0, 0, 0, time.UTC) {
		t.Fatalf("RFC 3339 = %v, %v", got, err)
	}
	if got, err := parseExpiry("2262-04-11T23:47:16Z", now); err != nil || got.UnixNano() <= 0 {
		t.Fatalf("the last second block times hold = %v, %v", got, err)
	}
	if got, err := parseExpiry("2262-04-11T23:47:17Z", now); err == nil {
		t.Fatalf("one second later = %v, accepted", got)
	}
}
