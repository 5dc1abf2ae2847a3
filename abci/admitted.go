package abci

import (
	"fmt"
	"math"

	"github.com/evidenced/evidenced/ledger"
)

// Admitted is who may connect to this node, CometBFT and libp2p peers
// alike, by committed state at a height: the nodes of the roster version
// in force and those of the version whose validators vote on the next
// block. The two differ for one block only: a version takes effect in
// block C (the node ids in state, 'N', are its nodes from C on), but the
// version before still votes on block C+1 (the validators of C+2 on are
// the new version's). A removed validator's node, or a rotated one's old
// node, stays admitted until block C+1 is committed, so that the votes on
// C+1 are not lost (a removed member may hold the power that block needs).
// The peer filter (filter.go) admits by the same rule, and the node
// disconnects the peers it no longer holds after each commit that changes
// it (Changed).
type Admitted struct {
	Height  int64                     // the committed height it was read at
	InForce *ledger.RosterVersionInfo // the roster version in force
	// Voting is the version whose validators vote on block Height+1:
	// InForce, or, in the block that put InForce in force, the one before.
	Voting *ledger.RosterVersionInfo
}

// ReadAdmitted reads who may connect at committed height h from v.
// It returns ledger.ErrNotInitialized before genesis is committed.
func ReadAdmitted(v *ledger.View, h int64) (*Admitted, error) {
	inForce, err := v.RosterAt(math.MaxInt64)
	if err != nil {
		return nil, fmt.Errorf("read the roster in force: %w", err)
	}
	voting := inForce
	if inForce.From > h+1 {
		if voting, err = v.RosterAt(h + 1); err != nil {
			return nil, fmt.Errorf("read the roster voting on block %d: %w", h+1, err)
		}
	}
	return &Admitted{Height: h, InForce: inForce, Voting: voting}, nil
}

// Changed reports whether b admits other nodes than a: another version in
// force or voting. A nil a (nothing read yet) differs from any b.
func (a *Admitted) Changed(b *Admitted) bool {
	return a == nil || a.InForce.Version != b.InForce.Version || a.Voting.Version != b.Voting.Version
}

// Seats returns the seats whose nodes are admitted: those of the version
// in force, then those of the voting version that differ (a removed
// member's, a rotated member's old one). A name may appear twice; its
// first seat is its current one. The caller must not modify them.
func (a *Admitted) Seats() []ledger.Seat {
	seats := a.InForce.Seats
	if a.Voting.Version == a.InForce.Version {
		return seats
	}
	seats = append([]ledger.Seat(nil), seats...)
	for _, s := range a.Voting.Seats {
		if cur := a.InForce.Seat(s.Name); cur == nil || cur.Node != s.Node || cur.Peer != s.Peer {
			seats = append(seats, s)
		}
	}
	return seats
}

// Node returns the member whose node has CometBFT node id id, and whether
// it is admitted.
func (a *Admitted) Node(id ledger.NodeID) (member string, ok bool) {
	for _, s := range a.Seats() {
		if s.Node == id {
			return s.Name, true
		}
	}
	return "", false
}

// Why says why node id, once member's node by before, is no longer
// admitted by a: the member was removed, or its node changed (a key
// rotation), in the version in force.
func (a *Admitted) Why(member string, id ledger.NodeID) string {
	v := a.InForce.Version
	switch s := a.InForce.Seat(member); {
	case s == nil:
		return fmt.Sprintf("member %s was removed from the roster in version %d", member, v)
	case s.Node != id:
		return fmt.Sprintf("member %s's node changed to %s in roster version %d (a key rotation)", member, s.Node, v)
	default:
		return fmt.Sprintf("node %s is no member's node in roster version %d", id, v)
	}
}
