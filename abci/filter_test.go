package abci

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/store"
)

// TestPeerFilter: CometBFT's peer filter queries admit exactly the
// roster's nodes, validators and non-voting members alike, from committed
// state; everything else is refused with a code and a log line.
func TestPeerFilter(t *testing.T) {
	h := newHarness(t)
	var logs bytes.Buffer
	clock := time.Unix(1e9, 0)
	app := New(h.db, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})), Now: func() time.Time { return clock }})
	query := func(app *App, path string) *abcitypes.ResponseQuery {
		t.Helper()
		res, err := app.Query(context.Background(), &abcitypes.RequestQuery{Path: path})
		if err != nil {
			t.Fatalf("Query %s: %v", path, err)
		}
		return res
	}
	for name, p := range h.a.Parties { // five validators and the regulator
		for _, id := range []string{p.Node.String(), strings.ToUpper(p.Node.String())} {
			res := query(app, "/p2p/filter/id/"+id)
			if res.Code != 0 || !strings.Contains(res.Log, "member "+name) {
				t.Errorf("filter of %s's node %s = code %d %q, want it admitted", name, id, res.Code, res.Log)
			}
		}
	}
	outsider := crypto.SM3([]byte("an outsider's node key"))
	outsiderID := outsider.String()[:40]
	tests := []struct {
		name, path string
		code       uint32
		log        string
	}{
		{"an outsider's node", "/p2p/filter/id/" + outsiderID, QueryCodeRefused, "peer " + outsiderID + " refused: it is no member's node"},
		{"an empty id", "/p2p/filter/id/", QueryCodeBadRequest, `node id "" is not 40 hex digits`},
		{"an id of 19 bytes", "/p2p/filter/id/" + outsiderID[2:], QueryCodeBadRequest, "is not 40 hex digits"},
		{"an id with an address", "/p2p/filter/id/" + outsiderID + "@127.0.0.1:26656", QueryCodeBadRequest, "is not 40 hex digits"},
		{"not hex", "/p2p/filter/id/" + strings.Repeat("z", 40), QueryCodeBadRequest, "is not 40 hex digits"},
		{"any address", "/p2p/filter/addr/203.0.113.9:26656", 0, "the peer's node id decides"},
		{"another filter", "/p2p/filter/pubkey/" + outsiderID, QueryCodeBadRequest, "unknown query path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := query(app, tt.path)
			if res.Code != tt.code || !strings.Contains(res.Log, tt.log) {
				t.Fatalf("Query %s = code %d %q, want code %d saying %q", tt.path, res.Code, res.Log, tt.code, tt.log)
			}
			if res.Code != 0 && res.Codespace != Codespace {
				t.Fatalf("Query %s: codespace %q", tt.path, res.Codespace)
			}
		})
	}
	// The first refusal is logged; the next ones within a second are
	// counted, and the count is logged with the next warning.
	clock = clock.Add(time.Second)
	query(app, "/p2p/filter/id/"+outsiderID)
	want := `level=WARN msg="refused a CometBFT peer: its node id is no member's node in the roster" component=abci node_id=` + outsiderID + "\n" +
		`level=WARN msg="refused a CometBFT peer: its node id is no member's node in the roster" component=abci node_id=` + outsiderID + " refused_before_unlogged=4\n"
	if logs.String() != want {
		t.Errorf("refusal warnings:\n%s\nwant:\n%s", logs.String(), want)
	}

	// The roster is read from committed state: after a restart, from the
	// store alone.
	h.restart()
	court := h.a.Parties["court"].Node.String()
	if res := query(h.app, "/p2p/filter/id/"+court); res.Code != 0 {
		t.Fatalf("after a restart, the court's node is refused: %d %q", res.Code, res.Log)
	}

	// Before genesis is committed there is no roster: every node is
	// refused (fail closed).
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{ChainID: chainID})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fresh := New(db, Options{})
	if res := query(fresh, "/p2p/filter/id/"+court); res.Code != QueryCodeUnavailable || !strings.Contains(res.Log, "has not committed its genesis yet") || res.Height != -1 {
		t.Fatalf("filter before genesis = code %d %q at height %d, want the node refused", res.Code, res.Log, res.Height)
	}

	// A node joining by state sync admits, before anything is committed,
	// the nodes its operator chose to sync from (persistent_peers) beside
	// the genesis roster's, and no other.
	chosen := ledger.NodeID{0x42, 0x42}
	joining := New(db, Options{Bootstrap: []ledger.NodeID{chosen}})
	if res := query(joining, "/p2p/filter/id/"+chosen.String()); res.Code != 0 || !strings.Contains(res.Log, "persistent peer") {
		t.Fatalf("filter before genesis, bootstrap node = code %d %q, want it admitted", res.Code, res.Log)
	}
	if res := query(joining, "/p2p/filter/id/"+court); res.Code != QueryCodeUnavailable {
		t.Fatalf("filter before genesis, a node neither in genesis nor bootstrap = code %d %q, want it refused", res.Code, res.Log)
	}
}
