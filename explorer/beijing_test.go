package explorer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/evidenced/evidenced/explorer"
)

// TestBeijingTime: times are shown in Asia/Shanghai (UTC+8), across the
// UTC date line, with the fixed zone standing in when tzdata is missing.
func TestBeijingTime(t *testing.T) {
	for _, tt := range []struct {
		utc  time.Time
		want string
	}{
		{time.Date(2026, 12, 3, 4, 5, 6, 0, time.UTC), "2026-12-03 12:05:06"},
		{time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), "2027-01-01 00:00:00"},
		{time.Date(2026, 7, 1, 23, 59, 59, 999, time.UTC), "2026-07-02 07:59:59"},
	} {
		if got := explorer.FormatBeijing(tt.utc); got != tt.want {
			t.Errorf("FormatBeijing(%s) = %q, want %q", tt.utc, got, tt.want)
		}
	}
	missing := func(string) (*time.Location, error) { return nil, errors.New("unknown time zone Asia/Shanghai") }
	loc := explorer.LoadBeijing(missing)
	if name, off := time.Date(2026, 12, 3, 4, 5, 6, 0, time.UTC).In(loc).Zone(); name != "CST" || off != 8*3600 {
		t.Errorf("fallback zone %s %+d, want CST +28800", name, off)
	}
	if loc := explorer.LoadBeijing(time.LoadLocation); loc.String() != "Asia/Shanghai" && loc.String() != "CST" {
		t.Errorf("loaded zone %s", loc)
	}
}
