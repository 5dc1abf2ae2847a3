package node

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/cometbft/cometbft/p2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/evidenced/evidenced/abci"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/originals"
)

// The closed network follows the roster (docs/ARCHITECTURE.md, "The
// closed network"). The peer filters admit by committed state when a peer
// connects: CometBFT's asks the app (abci/filter.go), the exchange's
// connection gater asks the originals roster. A peer that is already
// connected when a roster change removes its node is not asked again, so
// after each commit the peer guard reads who may connect (abci.Admitted),
// hands it to the originals roster, and disconnects the CometBFT and
// libp2p peers it no longer admits. It runs on its own goroutine, woken
// by the commits: the consensus goroutine only signals it.

// cometPeers is what the guard needs of CometBFT's switch.
type cometPeers interface {
	// IDs returns the node ids of the connected peers.
	IDs() []string
	// Stop disconnects peer id without redialling it (it may redial).
	Stop(id string)
}

// switchPeers adapts CometBFT's switch to cometPeers.
type switchPeers struct{ sw p2p.Switcher }

func (s switchPeers) IDs() []string {
	ps := s.sw.Peers().Copy()
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = string(p.ID())
	}
	return ids
}

func (s switchPeers) Stop(id string) {
	if p := s.sw.Peers().Get(p2p.ID(id)); p != nil {
		// Gracefully: StopPeerForError would redial a persistent peer.
		s.sw.StopPeerGracefully(p)
	}
}

// peerGuard disconnects the peers a roster change no longer admits.
type peerGuard struct {
	log  *slog.Logger
	read func() (*abci.Admitted, error) // who may connect, by committed state
	wake chan struct{}                  // a commit happened (coalesced)

	// Set before run; each may be nil (no CometBFT switch in tests; no
	// exchange of originals).
	comet  cometPeers
	roster *originals.Roster
	prune  func() []peer.ID // the exchange's Host.Prune

	last *abci.Admitted // what the last pass read; nil before the first
}

func newPeerGuard(log *slog.Logger, read func() (*abci.Admitted, error)) *peerGuard {
	return &peerGuard{log: log.With("component", "peers"), read: read, wake: make(chan struct{}, 1)}
}

// committed signals a commit; it never blocks.
func (g *peerGuard) committed() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// run makes a pass after each signalled commit until stop is closed.
func (g *peerGuard) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-g.wake:
			g.pass()
		}
	}
}

// pass reads who may connect and disconnects the peers it does not admit.
// Every pass sweeps, not only those after a change: a peer the filter
// admitted by the state just before a change, while this pass ran, is
// caught by the next one.
func (g *peerGuard) pass() {
	cur, err := g.read()
	if errors.Is(err, ledger.ErrNotInitialized) {
		return // state sync has not restored a snapshot yet: the filter answers by the genesis roster
	}
	if err != nil {
		g.log.Error("cannot read the roster to check the connected peers", "err", err)
		return
	}
	prev := g.last
	changed := prev.Changed(cur)
	if changed {
		if g.roster != nil {
			if err := g.roster.Set(cur.Seats()); err != nil {
				g.log.Error("the exchange of originals keeps its earlier roster: the committed roster does not parse", "roster_version", cur.InForce.Version, "err", err)
			}
		}
		if prev != nil {
			g.log.Info("the peers admitted follow a roster change", "height", cur.Height,
				"roster_version", cur.InForce.Version, "voting_version", cur.Voting.Version)
		}
		g.last = cur
	}
	if g.comet != nil {
		for _, raw := range g.comet.IDs() {
			id, err := ledger.ParseNodeID(raw)
			if err == nil {
				if _, ok := cur.Node(id); ok {
					continue
				}
			}
			member := ""
			if prev != nil {
				member, _ = prev.Node(id)
			}
			g.log.Warn("disconnected a CometBFT peer the roster no longer admits", "node_id", raw, "member", member,
				"reason", cur.Why(member, id), "roster_version", cur.InForce.Version, "height", cur.Height)
			g.comet.Stop(raw)
		}
	}
	if g.prune != nil {
		for _, p := range g.prune() {
			member := ""
			if prev != nil {
				member = seatOfPeer(prev.Seats(), p)
			}
			g.log.Warn("disconnected a libp2p peer of the exchange of originals the roster no longer admits", "peer", p.String(), "member", member,
				"reason", whyPeer(cur, member, p), "roster_version", cur.InForce.Version, "height", cur.Height)
		}
	}
}

// seatOfPeer returns the member whose seat has libp2p peer p, or "".
func seatOfPeer(seats []ledger.Seat, p peer.ID) string {
	for _, s := range seats {
		if s.Peer == p.String() {
			return s.Name
		}
	}
	return ""
}

// whyPeer says why libp2p peer p, once member's, is no longer admitted.
func whyPeer(a *abci.Admitted, member string, p peer.ID) string {
	switch s := a.InForce.Seat(member); {
	case member != "" && s == nil:
		return a.Why(member, ledger.NodeID{})
	case s != nil && s.Peer != p.String():
		return fmt.Sprintf("member %s's libp2p peer changed to %s in roster version %d (a key rotation)", member, s.Peer, a.InForce.Version)
	default:
		return fmt.Sprintf("peer %s is no member's peer in roster version %d", p, a.InForce.Version)
	}
}

// persistentPeerIDs returns the node ids of config.toml's persistent_peers
// (ID@HOST:PORT,…), which the peer filter admits while nothing is
// committed (abci.Options.Bootstrap). An entry that does not parse is
// logged and left out: it admits no one.
func persistentPeerIDs(peers string, log *slog.Logger) []ledger.NodeID {
	var ids []ledger.NodeID
	for _, p := range strings.Split(peers, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		raw, _, _ := strings.Cut(p, "@")
		id, err := ledger.ParseNodeID(raw)
		if err != nil {
			log.Warn("a persistent peer in config.toml has no valid node id: write it as NODEID@HOST:PORT", "peer", p, "err", err)
			continue
		}
		ids = append(ids, id)
	}
	return ids
}
