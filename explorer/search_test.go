package explorer_test

import (
	"strings"
	"testing"

	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

func TestSearch(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{})
	tx6 := f.txID[6].String()
	tests := []struct {
		name     string
		q        string
		redirect string   // exactly one match
		results  []string // several: their links, in order
	}{
		{"height and entry", "3", "", []string{`href="/explorer/blocks/3">3</a>`, `href="/explorer/entries/3">3</a>`}},
		{"entry only", "13", "/explorer/entries/13", nil},
		{"spaces trimmed", "  13 ", "/explorer/entries/13", nil},
		{"tx id", tx6, "/explorer/txs/" + tx6, nil},
		{"tx id upper case", strings.ToUpper(tx6), "/explorer/txs/" + tx6, nil},
		{"commitment of one record", ledgertest.Commitment("loan1-step1").String(), "/explorer/evidence/6", nil},
		{"commitment of two records", ledgertest.Commitment("shared").String(), "", []string{`href="/explorer/evidence/8">8</a>`, `href="/explorer/evidence/10">10</a>`}},
		{"record id", "8.1", "/explorer/evidence/8.1", nil},
		{"chain id", "LOAN-1", "/explorer/chains/LOAN-1", nil},
		{"member", "notary", "/explorer/members/notary", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, h, "/explorer/search?q="+strings.ReplaceAll(tt.q, " ", "+"))
			if tt.redirect != "" {
				if r.status != 303 || r.header.Get("Location") != tt.redirect {
					t.Fatalf("status %d Location %q, want 303 to %s:\n%s", r.status, r.header.Get("Location"), tt.redirect, r.body)
				}
				return
			}
			if r.status != 200 || r.dataPage() != "search" {
				t.Fatalf("status %d page %q, want a result list", r.status, r.dataPage())
			}
			wantInOrder(t, r.text(), append([]string{"匹配多项", `<ul id="search-results"`}, tt.results...)...)
			if n := strings.Count(r.body, "<li><span class=\"tag\">"); n != len(tt.results) {
				t.Errorf("%d results, want %d:\n%s", n, len(tt.results), r.body)
			}
		})
	}

	for _, q := range []string{"nothing-here", "99999", "9.9", strings.Repeat("ab", 32), "<script>", strings.Repeat("x", 300)} {
		r := get(t, h, "/explorer/search?q="+q)
		if r.status != 200 || !strings.Contains(r.body, `id="search-none"`) || !strings.Contains(r.body, `<ul id="search-accepts">`) {
			t.Errorf("%.20q: status %d, want the nothing-found page:\n%s", q, r.status, r.body)
		}
		if strings.Contains(r.body, "<script>") {
			t.Errorf("%q is not escaped", q)
		}
	}
	r := get(t, h, "/explorer/search")
	if r.status != 200 || strings.Contains(r.body, `id="search-none"`) || !strings.Contains(r.body, `<ul id="search-accepts">`) {
		t.Errorf("empty search: status %d:\n%s", r.status, r.body)
	}
	// The box on every page keeps the query.
	r = get(t, h, "/explorer/search?q=nothing-here")
	if !strings.Contains(r.body, `<form id="search" action="/explorer/search" method="get" role="search">`) || !strings.Contains(r.body, `name="q" type="search" value="nothing-here"`) {
		t.Errorf("search form:\n%s", r.body)
	}
}
