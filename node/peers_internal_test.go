package node

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/evidenced/evidenced/abci"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/originals"
)

// fakeSwitch is a CometBFT switch's peer set.
type fakeSwitch struct {
	mu      sync.Mutex
	peers   []string
	stopped []string
}

func (f *fakeSwitch) IDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peers)
}

func (f *fakeSwitch) Stop(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = slices.DeleteFunc(f.peers, func(p string) bool { return p == id })
	f.stopped = append(f.stopped, id)
}

// testSeat is a seat named name with node id and libp2p peer made from
// fresh keys.
func testSeat(t *testing.T, name string) ledger.Seat {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := exchange.PeerID(k)
	if err != nil {
		t.Fatal(err)
	}
	s := ledger.Seat{Member: ledger.Member{Name: name, Peer: p.String(), Addrs: []string{"/ip4/127.0.0.1/tcp/26660"}}}
	n := crypto.SM3(k.Public().Bytes())
	copy(s.Node[:], n[:])
	return s
}

// TestPeerGuard: after the commits that change who may connect, the guard
// disconnects the CometBFT peers of a removed member's node and a rotated
// member's old node (not before the version before has voted its last
// block), prunes their libp2p peers, moves the originals roster along, and
// logs each disconnection with its member and reason.
func TestPeerGuard(t *testing.T) {
	a, b, c, c2 := testSeat(t, "bank-a"), testSeat(t, "bank-b"), testSeat(t, "court"), testSeat(t, "court")
	outsider := testSeat(t, "outsider")
	v0 := &ledger.RosterVersionInfo{Version: 0, Seats: []ledger.Seat{a, b, c}}
	v1 := &ledger.RosterVersionInfo{Version: 1, From: 12, Seats: []ledger.Seat{a, c2}}
	var (
		logs   bytes.Buffer
		state  *abci.Admitted
		sw     = &fakeSwitch{peers: []string{b.Node.String(), c.Node.String(), outsider.Node.String()}}
		pruned []peer.ID // what Prune returns next
	)
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	roster, err := originals.NewRoster(&ledger.GenesisState{})
	if err != nil {
		t.Fatal(err)
	}
	g := newPeerGuard(log, func() (*abci.Admitted, error) { return state, nil })
	g.comet, g.roster = sw, roster
	g.prune = func() []peer.ID { p := pruned; pruned = nil; return p }
	pid := func(s ledger.Seat) peer.ID {
		id, err := peer.Decode(s.Peer)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	member := func(s ledger.Seat) string { m, _ := roster.Member(pid(s)); return m }

	// Genesis: only the outsider goes.
	state = &abci.Admitted{Height: 5, InForce: v0, Voting: v0}
	g.pass()
	if want := []string{outsider.Node.String()}; !slices.Equal(sw.stopped, want) {
		t.Fatalf("stopped %v, want the outsider %v", sw.stopped, want)
	}
	if member(b) != "bank-b" || member(c) != "court" || member(c2) != "" {
		t.Fatalf("roster at genesis: bank-b %q, court %q, court's new peer %q", member(b), member(c), member(c2))
	}
	// Block C = 11 puts version 1 in force; version 0 votes on 12.
	sw.stopped = nil
	sw.peers = append(sw.peers, c2.Node.String())
	state = &abci.Admitted{Height: 11, InForce: v1, Voting: v0}
	g.pass()
	if len(sw.stopped) != 0 {
		t.Fatalf("stopped %v in block C, while the version before still votes", sw.stopped)
	}
	if member(b) != "bank-b" || member(c) != "court" || member(c2) != "court" {
		t.Fatalf("roster in block C: bank-b %q, court %q, court's new peer %q", member(b), member(c), member(c2))
	}
	if info, ok := roster.Peer("court"); !ok || info.ID != pid(c2) {
		t.Fatalf("court is reached at %v, want its new peer %s", info, c2.Peer)
	}
	// Block C+1 committed: bank-b's node and court's old node go.
	pruned = []peer.ID{pid(b), pid(c)}
	state = &abci.Admitted{Height: 12, InForce: v1, Voting: v1}
	logs.Reset()
	g.pass()
	if want := []string{b.Node.String(), c.Node.String()}; !slices.Equal(sw.stopped, want) {
		t.Fatalf("stopped %v, want bank-b's and court's old nodes %v", sw.stopped, want)
	}
	if member(b) != "" || member(c) != "" || member(c2) != "court" || member(a) != "bank-a" {
		t.Fatalf("roster after C+1: bank-b %q, court %q, court's new peer %q, bank-a %q", member(b), member(c), member(c2), member(a))
	}
	want := strings.Join([]string{
		`level=INFO msg="the peers admitted follow a roster change" component=peers height=12 roster_version=1 voting_version=1`,
		`level=WARN msg="disconnected a CometBFT peer the roster no longer admits" component=peers node_id=` + b.Node.String() +
			` member=bank-b reason="member bank-b was removed from the roster in version 1" roster_version=1 height=12`,
		`level=WARN msg="disconnected a CometBFT peer the roster no longer admits" component=peers node_id=` + c.Node.String() +
			` member=court reason="member court's node changed to ` + c2.Node.String() + ` in roster version 1 (a key rotation)" roster_version=1 height=12`,
		`level=WARN msg="disconnected a libp2p peer of the exchange of originals the roster no longer admits" component=peers peer=` + b.Peer +
			` member=bank-b reason="member bank-b was removed from the roster in version 1" roster_version=1 height=12`,
		`level=WARN msg="disconnected a libp2p peer of the exchange of originals the roster no longer admits" component=peers peer=` + c.Peer +
			` member=court reason="member court's libp2p peer changed to ` + c2.Peer + ` in roster version 1 (a key rotation)" roster_version=1 height=12`,
	}, "\n") + "\n"
	if logs.String() != want {
		t.Errorf("logs:\n%s\nwant:\n%s", logs.String(), want)
	}
	// The next commit changes nothing: no log, no disconnection.
	sw.stopped = nil
	logs.Reset()
	state = &abci.Admitted{Height: 13, InForce: v1, Voting: v1}
	g.pass()
	if len(sw.stopped) != 0 || logs.Len() != 0 {
		t.Errorf("an unchanged roster stopped %v and logged %q", sw.stopped, logs.String())
	}
}

// TestPeerGuardRun: commits wake the guard without blocking, and it stops
// when told.
func TestPeerGuardRun(t *testing.T) {
	s := testSeat(t, "bank-a")
	v0 := &ledger.RosterVersionInfo{Seats: []ledger.Seat{s}}
	reads := make(chan struct{}, 10)
	g := newPeerGuard(slog.New(slog.DiscardHandler), func() (*abci.Admitted, error) {
		reads <- struct{}{}
		return &abci.Admitted{InForce: v0, Voting: v0}, nil
	})
	for range 100 { // never blocks, however many commits come
		g.committed()
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { g.run(stop); close(done) }()
	<-reads
	g.committed()
	<-reads
	close(stop)
	<-done
}

// TestPersistentPeerIDs: the node ids of persistent_peers, the bad entry
// left out.
func TestPersistentPeerIDs(t *testing.T) {
	a, b := "a9dd1f5e3f40d44c22c5b880b3e42391bdd79da4", "62292507dd996e5b35b4db39cc3f6c0e74e2d9f3"
	ids := persistentPeerIDs(a+"@127.0.0.1:26656, nonsense@1.2.3.4:1,"+b+"@10.0.0.2:26656,", slog.New(slog.DiscardHandler))
	if len(ids) != 2 || ids[0].String() != a || ids[1].String() != b {
		t.Fatalf("persistentPeerIDs = %v, want [%s %s]", ids, a, b)
	}
}
