package explorer_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/explorer"
)

// FuzzParseQuery checks that the search parser never panics, that every
// reading it finds formats back to what it read, and that parsing is
// idempotent on the trimmed text.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "0", "12", "012", "12.3", "12.0", "12.65536", "1.2.3", " LOAN-1 ", "LOAN:2026:1", "-x", "bank-a",
		strings.Repeat("a", 64), strings.Repeat("A", 64), strings.Repeat("g", 64), "18446744073709551615", "18446744073709551616", "９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := explorer.ParseQuery(s)
		if q.Text != strings.TrimSpace(s) {
			t.Fatalf("text %q from %q", q.Text, s)
		}
		if q.IsNumber && strconv.FormatUint(q.Number, 10) != q.Text {
			t.Fatalf("number %d from %q", q.Number, q.Text)
		}
		if q.IsHash && !strings.EqualFold(q.Hash.String(), q.Text) {
			t.Fatalf("hash %s from %q", q.Hash, q.Text)
		}
		if q.IsRef {
			back := explorer.ParseQuery(q.Ref.ID())
			switch {
			case q.Ref.Pos == 0 && (!back.IsNumber || back.Number != q.Ref.Index):
				t.Fatalf("record %+v formats as %q, which reads back as %+v", q.Ref, q.Ref.ID(), back)
			case q.Ref.Pos != 0 && (!back.IsRef || back.Ref != q.Ref):
				t.Fatalf("record %+v formats as %q, which reads back as %+v", q.Ref, q.Ref.ID(), back)
			}
		}
		if (q.Chain || q.Name) && (len(q.Text) > 64 || strings.ContainsAny(q.Text, " /?#%<>\"'")) {
			t.Fatalf("%q read as a chain id or member name", q.Text)
		}
		if q.Name && !q.Chain {
			t.Fatalf("member name %q is not a chain id", q.Text)
		}
		if again := explorer.ParseQuery(q.Text); again != q {
			t.Fatalf("parse of %q: %+v, then %+v", s, q, again)
		}
	})
}
