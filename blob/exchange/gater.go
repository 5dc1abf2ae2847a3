package exchange

import (
	"log/slog"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// gater admits only roster peers, on dials and on accepted connections once
// the security handshake has authenticated the remote peer ID.
type gater struct {
	members func(peer.ID) (string, bool)
	log     *slog.Logger
}

var _ connmgr.ConnectionGater = (*gater)(nil)

func (g *gater) allowed(p peer.ID, dir string) bool {
	if _, ok := g.members(p); ok {
		return true
	}
	// Debug: anyone can make these, so they must not flood the log.
	g.log.Debug("blob exchange: refused non-member peer", "peer", p, "direction", dir)
	return false
}

// InterceptPeerDial refuses to dial a non-member.
func (g *gater) InterceptPeerDial(p peer.ID) bool { return g.allowed(p, "dial") }

// InterceptAddrDial refuses to dial a non-member at any address.
func (g *gater) InterceptAddrDial(p peer.ID, _ multiaddr.Multiaddr) bool {
	return g.allowed(p, "dial")
}

// InterceptAccept admits every inbound connection to the handshake: the
// peer is not known before it.
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses an authenticated connection with a non-member,
// in either direction.
func (g *gater) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.allowed(p, dir.String())
}

// InterceptUpgraded refuses a non-member again, in case the roster changed
// during the upgrade.
func (g *gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return g.allowed(c.RemotePeer(), c.Stat().Direction.String()), 0
}
