package originals

import (
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/evidenced/evidenced/ledger"
)

// Roster is the genesis roster's libp2p side: which peer is which member,
// where to reach it, and who keeps replicas of whose originals. The roster
// is fixed at genesis, so it is read once; it is safe for concurrent use.
type Roster struct {
	byPeer map[peer.ID]string
	addr   map[string]peer.AddrInfo
	names  []string // members with a peer, by name
}

// NewRoster reads the members' peer ids and addresses from the genesis
// state. Members without a peer keep no originals and serve none.
func NewRoster(gs *ledger.GenesisState) (*Roster, error) {
	r := &Roster{byPeer: map[peer.ID]string{}, addr: map[string]peer.AddrInfo{}}
	for _, m := range gs.Members {
		if m.Peer == "" {
			continue
		}
		id, err := peer.Decode(m.Peer)
		if err != nil {
			return nil, fmt.Errorf("roster member %s: peer id %q: %w", m.Name, m.Peer, err)
		}
		info := peer.AddrInfo{ID: id}
		for _, a := range m.Addrs {
			ma, err := multiaddr.NewMultiaddr(a)
			if err != nil {
				return nil, fmt.Errorf("roster member %s: address %q: %w", m.Name, a, err)
			}
			info.Addrs = append(info.Addrs, ma)
		}
		r.byPeer[id], r.addr[m.Name] = m.Name, info
		r.names = append(r.names, m.Name)
	}
	slices.Sort(r.names)
	return r, nil
}

// Member returns the member whose node has peer id p (the lookup
// exchange.Config.Members takes).
func (r *Roster) Member(p peer.ID) (string, bool) {
	m, ok := r.byPeer[p]
	return m, ok
}

// Peer returns the peer id and addresses of member's node; false when the
// member has none.
func (r *Roster) Peer(member string) (peer.AddrInfo, bool) {
	info, ok := r.addr[member]
	return info, ok
}

// Replicas returns the k members after owner in name order (wrapping),
// among those with a peer, which keep copies of owner's originals. Every
// node computes the same.
func (r *Roster) Replicas(owner string, k int) []string {
	i, found := slices.BinarySearch(r.names, owner)
	if !found {
		i-- // start after where owner would be
	}
	var out []string
	for j := 1; j < len(r.names) && len(out) < k; j++ {
		m := r.names[(i+j+len(r.names))%len(r.names)]
		if m != owner {
			out = append(out, m)
		}
	}
	return out
}
