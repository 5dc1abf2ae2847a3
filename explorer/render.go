package explorer

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/ledger"
)

// templatesFS holds the page templates: layout.html and one file per page
// kind, each defining "content" (and optionally "scripts").
//
//go:embed templates
var templatesFS embed.FS

// pageKinds are the page templates; each is the data-page of its <body>.
func pageKinds() []string {
	return []string{"home", "block", "tx", "evidence", "chain", "member", "alliance", "governance", "proposal", "roster", "custody", "search", "verify", "error"}
}

// parsePages parses the layout with each page's template.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"utc":         formatUTC,
		"iso":         formatISO,
		"beijing":     formatBeijing,
		"short":       shortHex,
		"blockURL":    blockURL,
		"entryURL":    entryURL,
		"txURL":       func(id fmt.Stringer) string { return "/explorer/txs/" + id.String() },
		"chainURL":    chainURL,
		"memberURL":   memberURL,
		"proposalURL": proposalURL,
		"rosterURL":   rosterURL,
		"join":        strings.Join,
	}
	out := map[string]*template.Template{}
	for _, k := range pageKinds() {
		t, err := template.New(k).Funcs(funcs).ParseFS(templatesFS, "templates/layout.html", "templates/"+k+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", k, err)
		}
		out[k] = t
	}
	return out, nil
}

// timeLayout is how pages show times: ISO-like, always UTC, saying so.
const timeLayout = "2006-01-02 15:04:05 UTC"

func formatUTC(t time.Time) string { return t.UTC().Format(timeLayout) }

func formatISO(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// beijingLayout is how record and block pages show Beijing time beside
// UTC; the page adds the zone's name (北京时间).
const beijingLayout = "2006-01-02 15:04:05"

// beijing is Asia/Shanghai (UTC+8, no daylight saving since 1991); the
// fixed zone stands in where the system has no tzdata.
var beijing = loadBeijing(time.LoadLocation)

// loadBeijing loads Asia/Shanghai with load, or returns UTC+8 named CST.
func loadBeijing(load func(name string) (*time.Location, error)) *time.Location {
	if loc, err := load("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

func formatBeijing(t time.Time) string { return t.In(beijing).Format(beijingLayout) }

// unixTime converts block or client time (Unix ns) to UTC.
func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// shortHex shortens a hash for tables: the first 8 and last 4 hex digits.
// Templates put the full value in the title attribute.
func shortHex(v fmt.Stringer) string {
	s := v.String()
	if len(s) <= 16 {
		return s
	}
	return s[:8] + "…" + s[len(s)-4:]
}

func blockURL(h int64) string   { return "/explorer/blocks/" + strconv.FormatInt(h, 10) }
func entryURL(i uint64) string  { return "/explorer/entries/" + strconv.FormatUint(i, 10) }
func chainURL(c string) string  { return "/explorer/chains/" + url.PathEscape(c) }
func memberURL(m string) string { return "/explorer/members/" + url.PathEscape(m) }

// recordRef names one evidence record in page data.
type recordRef struct {
	Index uint64
	Pos   uint16
}

func refOf(r ledger.RecordRef) recordRef { return recordRef{Index: r.Index, Pos: r.Pos} }

func (r recordRef) ledger() ledger.RecordRef { return ledger.RecordRef{Index: r.Index, Pos: r.Pos} }

// ID is the record id pages and the API use: INDEX, or INDEX.POS when
// the position is not 0.
func (r recordRef) ID() string {
	s := strconv.FormatUint(r.Index, 10)
	if r.Pos != 0 {
		s += "." + strconv.FormatUint(uint64(r.Pos), 10)
	}
	return s
}

// URL is the record's page.
func (r recordRef) URL() string { return "/explorer/evidence/" + r.ID() }

// CustodyURL is the record's custody page.
func (r recordRef) CustodyURL() string { return r.URL() + "/custody" }

// ReceiptURL is the record's JSON receipt in the API.
func (r recordRef) ReceiptURL() string { return "/v1/evidence/" + r.ID() + "/receipt" }

// CertificateURL is the record's evidence certificate (a PDF the node's
// member signs) in the API, in language lang.
func (r recordRef) CertificateURL(lang string) string {
	return "/v1/evidence/" + r.ID() + "/certificate?lang=" + lang
}

// VerifyURL is the verify page, offering this record's receipt.
func (r recordRef) VerifyURL() string { return "/explorer/verify?id=" + r.ID() }

// page is what the layout renders; D is the page kind's own data.
type page struct {
	rq        *request
	Kind      string // <body data-page>
	Status    int    // non-zero on error pages
	Title     string // <title> and <h1>
	HTMLLang  string
	Switch    langLink
	Query     string // the search box's value
	Generated time.Time
	D         any
}

// Lang is the page's language: zh or en.
func (p *page) Lang() string { return p.rq.lang }

// T returns the catalog text of key in the page's language.
func (p *page) T(key string, args ...any) string { return p.rq.T(key, args...) }

// sub is what a shared template ("entry-row", "pager") renders: the page
// (for its language) and one value.
type sub struct {
	P *page
	X any
}

// Sub pairs the page with x for a shared template.
func (p *page) Sub(x any) sub { return sub{P: p, X: x} }

// Type names an entry type (ledger.TxType.String) in the page language;
// a type the catalog does not know shows as it is.
func (p *page) Type(t string) string { return p.rq.name("type.", t) }

// Change names a roster change kind (ledger.ChangeKind.String) in the
// page language.
func (p *page) Change(k string) string { return p.rq.name("change.", k) }

// Status names a proposal status (ledger.ProposalStatus.String) in the
// page language.
func (p *page) StatusName(s string) string { return p.rq.name("status.", s) }

// Decision names a vote's decision (ledger.Decision.String) in the page
// language.
func (p *page) Decision(d string) string { return p.rq.name("decision.", d) }

// KindName is the Chinese display name of evidence kind k on Chinese
// pages; "" on English pages and for a kind it does not know (pages show
// the raw kind beside it, or alone).
func (p *page) KindName(k string) string {
	if p.rq.lang != "zh" {
		return ""
	}
	return kindNamesZH[k]
}

// KindNames is KindName's table as JSON for live.js on Chinese pages; ""
// on English pages.
func (p *page) KindNames() string {
	if p.rq.lang != "zh" {
		return ""
	}
	b, err := json.Marshal(kindNamesZH)
	if err != nil {
		return ""
	}
	return string(b)
}

// Role names a member role in the page language.
func (p *page) Role(r ledger.Role) string { return p.rq.name("role.", r.String()) }

// render executes the template of kind with data and writes it with status.
func (rq *request) render(status int, kind, title string, data any) {
	p := &page{rq: rq, Kind: kind, Title: title, HTMLLang: htmlLang(rq.lang), Switch: rq.switchLink(),
		Query: rq.r.URL.Query().Get("q"), Generated: rq.s.opts.Now().UTC(), D: data}
	if status != http.StatusOK {
		p.Status = status
	}
	var buf bytes.Buffer
	if err := rq.s.pages[kind].ExecuteTemplate(&buf, "layout", p); err != nil {
		rq.s.log.Error("explorer template failed", "page", kind, "err", err)
		if kind == "error" {
			http.Error(rq.w, "internal error", http.StatusInternalServerError)
			return
		}
		rq.fail(err)
		return
	}
	h := rq.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", htmlLang(rq.lang))
	h.Add("Vary", "Cookie")
	if status == http.StatusOK {
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Cache-Control", "no-store")
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	rq.w.WriteHeader(status)
	_, _ = rq.w.Write(buf.Bytes()) // a failed write means the client went away
}

// pager links the pages of a long list; empty links are not shown.
type pager struct {
	Prev, Next string
}
