package ledger_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/evidenced/evidenced/ledger"
)

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		max  int
		want ledger.Code // CodeOK: accepted
	}{
		{"empty", "", 8, ledger.CodeOK},
		{"printable ASCII", "case 2026-1 (A) ~", 64, ledger.CodeOK},
		{"case number", "(2026)沪0115民初1234号", 64, ledger.CodeOK},
		{"notarial certificate number", "（2026）沪东证经字第123号", 64, ledger.CodeOK},
		{"NFC accent", "caf\u00e9", 8, ledger.CodeOK},
		{"NFD accent", "cafe\u0301", 8, ledger.CodeTextNotNFC},
		{"compatibility form kept (NFC, not NFKC)", "ｆｕｌｌ", 64, ledger.CodeOK},
		{"CJK compatibility ideograph (NFC changes it)", "\uf900", 8, ledger.CodeTextNotNFC},
		{"exactly max bytes", "沪沪", 6, ledger.CodeOK},
		{"one byte over", "沪沪", 5, ledger.CodeTooLarge},
		{"newline", "line\nbreak", 64, ledger.CodeControlChar},
		{"tab", "a\tb", 64, ledger.CodeControlChar},
		{"NUL", "a\x00", 64, ledger.CodeControlChar},
		{"DEL", "a\x7f", 64, ledger.CodeControlChar},
		{"C1 NEL", "a\u0085", 64, ledger.CodeControlChar},
		{"line separator", "a\u2028b", 64, ledger.CodeControlChar},
		{"paragraph separator", "a\u2029b", 64, ledger.CodeControlChar},
		{"right-to-left override", "abc\u202egpj.exe", 64, ledger.CodeControlChar},
		{"left-to-right embedding", "\u202aabc", 64, ledger.CodeControlChar},
		{"first strong isolate", "\u2068abc", 64, ledger.CodeControlChar},
		{"pop directional isolate", "abc\u2069", 64, ledger.CodeControlChar},
		{"zero width joiner is not a control", "a\u200db", 64, ledger.CodeOK},
		{"invalid byte", "a\xffb", 64, ledger.CodeBadUTF8},
		{"truncated sequence", "沪"[:2], 64, ledger.CodeBadUTF8},
		{"overlong encoding", "\xc0\xaf", 64, ledger.CodeBadUTF8},
		{"surrogate", "\xed\xa0\x80", 64, ledger.CodeBadUTF8},
		{"encoded U+FFFD is valid", "\uFFFD", 64, ledger.CodeOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ledger.CheckText("purpose", tc.s, tc.max)
			if tc.want == ledger.CodeOK {
				if err != nil {
					t.Fatalf("CheckText(%q) = %v, want accepted", tc.s, err)
				}
				return
			}
			var re *ledger.RejectError
			if !errors.As(err, &re) || re.Code != tc.want {
				t.Fatalf("CheckText(%q) = %v, want code %s", tc.s, err, tc.want)
			}
			if !strings.HasPrefix(re.Msg, "purpose ") {
				t.Errorf("message %q does not name the field", re.Msg)
			}
		})
	}
	if got := ledger.NormalizeText("cafe\u0301"); got != "caf\u00e9" {
		t.Errorf("NormalizeText = %q", got)
	}
}

// FuzzCheckText checks that accepted text is valid NFC UTF-8 within the
// bound and free of C0/C1 controls, and that NormalizeText of valid text
// without controls is accepted.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"", "case 1", "(2026)沪0115民初1234号", "cafe\u0301", "a\u202eb", "\xff", "a\nb", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const max = 128
		err := ledger.CheckText("text", s, max)
		if err != nil {
			var re *ledger.RejectError
			if !errors.As(err, &re) || re.Code == ledger.CodeOK {
				t.Fatalf("refusal without a code: %v", err)
			}
			if utf8.ValidString(s) && len(s) <= max && re.Code == ledger.CodeTextNotNFC {
				if n := ledger.NormalizeText(s); len(n) <= max && ledger.CheckText("text", n, max) != nil {
					t.Fatalf("normalised %q is still refused: %v", n, ledger.CheckText("text", n, max))
				}
			}
			return
		}
		if len(s) > max || !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
			t.Fatalf("accepted %q: too long, invalid UTF-8 or not NFC", s)
		}
		for _, r := range s {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("accepted %q holding U+%04X", s, r)
			}
		}
	})
}
