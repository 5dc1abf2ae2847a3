package explorer

import (
	"io/fs"
	"net/http"

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
