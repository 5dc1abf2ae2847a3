package node

import (
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
)

// TestParseTokens: an API tokens file holds SM3
// digests ("sm3:" and hex) or, in older files, the tokens themselves.
func TestParseTokens(t *testing.T) {
	token := "0123456789abcdef0123456789abcdef"
	d := crypto.SM3([]byte(token))
	for _, tc := range []struct {
		name, file string
		want       []crypto.Hash
		inClear    int
		err        string
	}{
		{"digest", "# comment\n\nsm3:" + d.String() + "\n", []crypto.Hash{d}, 0, ""},
		{"upper-case digest", "sm3:" + strings.ToUpper(d.String()), []crypto.Hash{d}, 0, ""},
		{"token in the clear", token + "\n", []crypto.Hash{d}, 1, ""},
		{"both", token + "\nsm3:" + d.String(), []crypto.Hash{d, d}, 1, ""},
		{"short digest", "sm3:abcd", nil, 0, "line 1"},
		{"short token", "\nshort", nil, 0, "line 2: a token is shorter than 16"},
		{"empty", "# nothing\n", nil, 0, "holds no token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, inClear, err := parseTokens([]byte(tc.file))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || inClear != tc.inClear || len(got) != len(tc.want) {
				t.Fatalf("parseTokens = %v, %d, %v; want %v, %d", got, inClear, err, tc.want, tc.inClear)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("digest %d = %s, want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add([]byte("sm3:" + crypto.SM3([]byte("x")).String()))
	f.Add([]byte("0123456789abcdef0123\n# c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, inClear, err := parseTokens(b)
		if err == nil && (len(ds) == 0 || inClear > len(ds)) {
			t.Fatalf("parseTokens(%q) = %d digests, %d in the clear, no error", b, len(ds), inClear)
		}
	})
}
