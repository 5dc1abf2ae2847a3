package explorer_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// genesisOnly is an explorer.Source over a chain that has committed its
// genesis and nothing else.
type genesisOnly struct{ st *ledgertest.MemStore }

func (g genesisOnly) Snapshot() (*ledger.View, int64, func(), error) {
	return ledger.NewView(g.st), 0, func() {}, nil
}

func (g genesisOnly) Status(context.Context) (*client.Status, error) {
	return &client.Status{ChainID: "evidenced-demo", Member: "bank-a"}, nil
}

// The node mounts the explorer on its API server under /explorer/.
func ExampleNew() {
	a, err := ledgertest.NewAlliance(rand.Reader, "evidenced-demo")
	if err != nil {
		panic(err)
	}
	st := ledgertest.NewMemStore()
	out, err := ledger.New(ledger.Options{}).InitChain(st, a.Genesis)
	if err != nil {
		panic(err)
	}
	st.Commit(out.Changes)

	mux := http.NewServeMux()
	mux.Handle("/explorer/", explorer.New(genesisOnly{st}, explorer.Options{}))
	for _, path := range []string{"/explorer/", "/explorer/blocks/0?lang=en", "/explorer/blocks/1", "/explorer/search?q=notary"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("Content-Language")+rec.Header().Get("Location"))
	}
	// Output:
	// /explorer/ 200 zh-CN
	// /explorer/blocks/0?lang=en 200 en
	// /explorer/blocks/1 404 zh-CN
	// /explorer/search?q=notary 303 /explorer/members/notary
}
