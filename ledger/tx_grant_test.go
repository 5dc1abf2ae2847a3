package ledger_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/evidenced/evidenced/ledger"
)

// TestGrantExpiry (F5): a grant asked to expire in 2611 was committed
// expiring the next day, UnixNano having wrapped around. Times block time
// cannot hold are refused; the ones it can hold convert exactly.
func TestGrantExpiry(t *testing.T) {
	last := time.Unix(0, math.MaxInt64)
	for _, tt := range []struct {
		t  time.Time
		ok bool
	}{
		{time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), true},
		{last, true},
		{last.Add(time.Nanosecond), false},
		{time.Date(2611, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Unix(0, 1), true},
		{time.Unix(0, 0), false},
		{time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), false},
	} {
		got, err := ledger.GrantExpiry(tt.t)
		var re *ledger.RejectError
		switch {
		case tt.ok && (err != nil || got != tt.t.UnixNano()):
			t.Errorf("GrantExpiry(%v) = %d, %v; want %d", tt.t, got, err, tt.t.UnixNano())
		case !tt.ok && (!errors.As(err, &re) || re.Code != ledger.CodeMalformed):
			t.Errorf("GrantExpiry(%v) = %d, %v; want a malformed rejection", tt.t, got, err)
		}
	}
}
