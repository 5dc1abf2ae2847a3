package exchange

import (
	"log/slog"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestGater(t *testing.T) {
	const member, stranger = peer.ID("member"), peer.ID("stranger")
	g := &gater{
		members: func(p peer.ID) (string, bool) { return "bank-a", p == member },
		log:     slog.New(slog.DiscardHandler),
	}
	tests := []struct {
		p    peer.ID
		want bool
	}{
		{member, true},
		{stranger, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.p), func(t *testing.T) {
			if got := g.InterceptPeerDial(tt.p); got != tt.want {
				t.Errorf("InterceptPeerDial = %v, want %v", got, tt.want)
			}
			if got := g.InterceptAddrDial(tt.p, nil); got != tt.want {
				t.Errorf("InterceptAddrDial = %v, want %v", got, tt.want)
			}
			for _, dir := range []network.Direction{network.DirInbound, network.DirOutbound} {
				if got := g.InterceptSecured(dir, tt.p, nil); got != tt.want {
					t.Errorf("InterceptSecured(%v) = %v, want %v", dir, got, tt.want)
				}
			}
		})
	}
}
