package originals

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/evidenced/evidenced/ledger"
)

// Roster is the roster's libp2p side: which peer is which member, where to
// reach it, and who keeps replicas of whose originals. It starts from the
// genesis roster (NewRoster) or committed state, and follows the roster
// in force: the node calls Set with the admitted seats after each commit
// that changes them. It is safe for concurrent use.
type Roster struct {
	cur atomic.Pointer[rosterSet]
}

// rosterSet is one immutable roster.
type rosterSet struct {
	byPeer map[peer.ID]string
	addr   map[string]peer.AddrInfo
	names  []string // members with a peer, by name
}

// NewRoster reads the members' peer ids and addresses from the genesis
// state. Members without a peer keep no originals and serve none.
func NewRoster(gs *ledger.GenesisState) (*Roster, error) {
	ms := make([]ledger.Member, len(gs.Members))
	for i, m := range gs.Members {
		ms[i] = ledger.Member{Name: m.Name, Peer: m.Peer, Addrs: m.Addrs}
	}
	r := &Roster{}
	if err := r.set(ms); err != nil {
		return nil, err
	}
	return r, nil
}

// Set replaces the roster with seats (abci.Admitted.Seats: the roster in
// force, and the nodes of the version before while it still votes). A
// member may have two seats: the first is where it is reached, and both
// peers are admitted (its node before and after a key rotation). On an
// error the roster is unchanged.
func (r *Roster) Set(seats []ledger.Seat) error {
	ms := make([]ledger.Member, len(seats))
	for i := range seats {
		ms[i] = seats[i].Member
	}
	return r.set(ms)
}

func (r *Roster) set(ms []ledger.Member) error {
	s := &rosterSet{byPeer: map[peer.ID]string{}, addr: map[string]peer.AddrInfo{}}
	for _, m := range ms {
		if m.Peer == "" {
			continue
		}
		id, err := peer.Decode(m.Peer)
		if err != nil {
			return fmt.Errorf("roster member %s: peer id %q: %w", m.Name, m.Peer, err)
		}
		info := peer.AddrInfo{ID: id}
		for _, a := range m.Addrs {
			ma, err := multiaddr.NewMultiaddr(a)
			if err != nil {
				return fmt.Errorf("roster member %s: address %q: %w", m.Name, a, err)
			}
			info.Addrs = append(info.Addrs, ma)
		}
		s.byPeer[id] = m.Name
		if _, ok := s.addr[m.Name]; !ok {
			s.addr[m.Name] = info
			s.names = append(s.names, m.Name)
		}
	}
	slices.Sort(s.names)
	r.cur.Store(s)
	return nil
}

// Member returns the member whose node has peer id p (the lookup
// exchange.Config.Members takes).
func (r *Roster) Member(p peer.ID) (string, bool) {
	m, ok := r.cur.Load().byPeer[p]
	return m, ok
}

// Peer returns the peer id and addresses of member's node; false when the
// member has none.
func (r *Roster) Peer(member string) (peer.AddrInfo, bool) {
	info, ok := r.cur.Load().addr[member]
	return info, ok
}

// Replicas returns the k members after owner in name order (wrapping),
// among those with a peer, which keep copies of owner's originals. Every
// node computes the same from the same roster.
func (r *Roster) Replicas(owner string, k int) []string {
	names := r.cur.Load().names
	i, found := slices.BinarySearch(names, owner)
	if !found {
		i-- // start after where owner would be
	}
	var out []string
	for j := 1; j < len(names) && len(out) < k; j++ {
		m := names[(i+j+len(names))%len(names)]
		if m != owner {
			out = append(out, m)
		}
	}
	return out
}
