package explorer

import (
	"fmt"
	"net/http"
	"time"
)

// Languages of the explorer; zh is the default.
const (
	langZH = "zh"
	langEN = "en"
)

// langCookie is the cookie that remembers the language.
const langCookie = "lang"

// langCookieAge is how long the language cookie lasts: a year.
const langCookieAge = 365 * 24 * time.Hour

// request is one request with its language.
type request struct {
	s    *server
	w    http.ResponseWriter
	r    *http.Request
	lang string
	msgs map[string]string // the catalog of lang
}

// newRequest picks the language: ?lang= (which also sets the cookie), the
// cookie, or Chinese.
func (s *server) newRequest(w http.ResponseWriter, r *http.Request) *request {
	rq := &request{s: s, w: w, r: r, lang: langZH}
	if l := r.URL.Query().Get("lang"); validLang(l) {
		rq.lang = l
		http.SetCookie(w, &http.Cookie{
			Name: langCookie, Value: l, Path: "/explorer/",
			MaxAge: int(langCookieAge / time.Second), Expires: s.opts.Now().Add(langCookieAge),
			HttpOnly: true, SameSite: http.SameSiteLaxMode,
		})
	} else if c, err := r.Cookie(langCookie); err == nil && validLang(c.Value) {
		rq.lang = c.Value
	}
	rq.msgs = s.cat[rq.lang]
	return rq
}

func validLang(l string) bool { return l == langZH || l == langEN }

// htmlLang is the lang attribute of a page in l.
func htmlLang(l string) string {
	if l == langEN {
		return "en"
	}
	return "zh-CN"
}

// T returns the text of key in the request's language, formatted with args
// when there are any. A key missing from the catalog shows as ⟦key⟧ (a
// test keeps the catalog complete); the empty key is the empty text.
func (rq *request) T(key string, args ...any) string {
	if key == "" {
		return ""
	}
	m, ok := rq.msgs[key]
	if !ok {
		return "⟦" + key + "⟧"
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// langLink is the header's link to the page in the other language.
type langLink struct {
	Lang  string // hreflang
	Href  string
	Label string // the other language's name, in that language
}

// switchLink is the link to this page in the other language, keeping the
// other query parameters.
func (rq *request) switchLink() langLink {
	other, label := langEN, "English"
	if rq.lang == langEN {
		other, label = langZH, "中文"
	}
	q := rq.r.URL.Query()
	q.Set("lang", other)
	return langLink{Lang: other, Href: "?" + q.Encode(), Label: label}
}

// name returns the catalog text of prefix+id, or id when the catalog has
// none (a type or role newer than the catalog).
func (rq *request) name(prefix, id string) string {
	if m, ok := rq.msgs[prefix+id]; ok {
		return m
	}
	return id
}
