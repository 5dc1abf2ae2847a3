package explorer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
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

// TestKindNames: Chinese pages name common evidence kinds and keep the
// raw kind; an unknown kind shows as it is.
func TestKindNames(t *testing.T) {
	n := newNode(t)
	a := n.a
	for i, kind := range []string{"disbursement", "loan-agreement", "custom-kind"} {
		chain := "KIND-" + kind
		n.block(t, a.Evidence(a.Key("bank-a"), n.next(), ledger.Record{Kind: kind, Chain: chain, Step: 1, Size: uint64(i + 1),
			Commitment: ledgertest.Commitment(chain)}))
	}
	r := get(t, explorer.New(n, explorer.Options{}), "/explorer/")
	wantInOrder(t, r.body, `<table id="latest-evidence" data-step-format="第 %d 步" data-kind-names="{`, `&#34;disbursement&#34;:&#34;放款凭证&#34;`, `<td><code>custom-kind</code></td>`,
		`<td><span class="kind-name">借款协议</span> <code>loan-agreement</code></td>`, `<td><span class="kind-name">放款凭证</span> <code>disbursement</code></td>`)
	en := get(t, explorer.New(n, explorer.Options{}), "/explorer/?lang=en")
	if strings.Contains(en.body, "kind-name") || !strings.Contains(en.body, `<table id="latest-evidence" data-step-format="step %d">`) {
		t.Errorf("an English page names a kind in Chinese")
	}
}
