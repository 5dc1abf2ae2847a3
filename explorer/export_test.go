package explorer

import (
	"io/fs"
	"net/http"
	"net/http/httptest"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// Internals for the tests of package explorer_test.

// Catalog returns the UI strings by language and key.
func Catalog() map[string]map[string]string { return newCatalog() }

// TemplatesFS holds the page templates.
var TemplatesFS fs.FS = templatesFS

// VerifyKeys are the keys of the verify page's i18n JSON.
func VerifyKeys() []string { return verifyKeys() }

// NewWithAssets is New serving the files under assets/ in fsys.
func NewWithAssets(src Source, opts Options, fsys fs.FS) http.Handler {
	return newHandler(src, opts, fsys)
}

// Query is a parsed search text.
type Query = query

// RecordRef is a record named by entry index and position.
type RecordRef = recordRef

// ParseQuery reads a search text.
func ParseQuery(s string) Query { return parseQuery(s) }

// NewestEntries returns up to n entries of member name below before,
// newest first, and whether there are older ones.
func NewestEntries(v *ledger.View, name string, before uint64, n int) ([]uint64, bool, error) {
	return newestEntries(v, name, before, n)
}

// RenderEntry renders entry e as the explorer shows it in lang: its row in
// entry lists (the row's detail text) and its page.
func RenderEntry(lang string, e *client.Entry) (detail, html string, err error) {
	pages, err := parsePages()
	if err != nil {
		return "", "", err
	}
	s := &server{opts: Options{}.withDefaults(), cat: newCatalog(), pages: pages}
	s.log = s.opts.Logger
	w := httptest.NewRecorder()
	rq := s.newRequest(w, httptest.NewRequest(http.MethodGet, "/explorer/entries/3?lang="+lang, nil))
	d := &txData{Index: e.Index, Height: e.Height, Time: e.Time, TxID: e.TxID, LeafHash: e.LeafHash, Type: e.Type,
		Signer: e.Signer, SignerKey: e.SignerKey, ClientTime: e.ClientTime, Details: rq.details(e)}
	rq.render(http.StatusOK, "tx", rq.T("tx.title", e.Index), d)
	return rq.entryRow(e).Detail, w.Body.String(), nil
}

// FormatBeijing and LoadBeijing show times in Beijing time.
var (
	FormatBeijing = formatBeijing
	LoadBeijing   = loadBeijing
)
