package abci

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"

	"github.com/evidenced/evidenced/ledger"
)

// The peer filter. With p2p.filter_peers, CometBFT asks the app about
// every peer before adding it, inbound and outbound alike: first
// "/p2p/filter/addr/HOST:PORT" for the connection, then, after the secret
// handshake has authenticated the peer's node key,
// "/p2p/filter/id/NODEID"; a non-zero code refuses the peer, which then
// gets no block, vote, transaction or address from this node.
//
// A peer is admitted only when its node id is a current member's node in
// committed state (ledger.View.MemberByNode: the genesis roster's
// members[].node_id, then the roster version in force), validators and
// non-voting members alike, or, in the one block after a roster version
// takes effect, a node of the version before, whose validators still vote
// on that block (Admitted). So the roster decides, and a change to the
// roster in state changes who may connect, without a restart; the node
// disconnects the peers a change no longer admits (package node). The address says nothing about who is
// behind it: every address passes, and the id decides.
//
// Before anything is committed there is no roster in state. CometBFT runs
// InitChain in its handshake with the app, before its switch starts, so a
// node starting from genesis never asks then. A node joining by state
// sync does: it restores a snapshot from its peers before it has any
// state. Until then it admits the nodes of the genesis roster
// (Options.Genesis), the alliance its operator joined, and the nodes its
// operator chose to sync from (Options.Bootstrap: persistent_peers), and
// refuses every other (fail closed); what it restores is checked against the app hash
// the light client trusts (package snapshots), and once the snapshot is
// committed, committed state decides again. Without a genesis roster,
// every peer is refused.
const (
	filterIDPath   = "/p2p/filter/id/"
	filterAddrPath = "/p2p/filter/addr/"
)

// refusalLogInterval spaces the warnings about refused peers: a refused
// node may redial at once, and an outsider can make new node keys as fast
// as it can handshake, so only the first refusal in each interval is
// logged, with the count of those that were not.
const refusalLogInterval = time.Second

// refusals rations the refusal warnings (see refusalLogInterval).
type refusals struct {
	mu      sync.Mutex
	last    time.Time // when the last warning was logged
	skipped int       // refusals since then that were not logged
}

// note counts a refusal at now and reports whether to log it, with the
// number of earlier refusals that were not logged.
func (r *refusals) note(now time.Time) (log bool, unlogged int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < refusalLogInterval {
		r.skipped++
		return false, 0
	}
	unlogged, r.skipped, r.last = r.skipped, 0, now
	return true, unlogged
}

// refuse logs a refusal as a warning (rationed) and returns the answer.
func (a *App) refuse(code uint32, why string, err error, attrs ...any) *abcitypes.ResponseQuery {
	if ok, unlogged := a.refused.note(a.now()); ok {
		if unlogged > 0 {
			attrs = append(attrs, "refused_before_unlogged", unlogged)
		}
		a.log.Warn("refused a CometBFT peer: "+why, attrs...)
	}
	return queryFailure(code, err)
}

// filterPeer answers a peer-filter query from committed state v at
// height h, and returns nil for any other path.
func (a *App) filterPeer(v *ledger.View, h int64, path string) *abcitypes.ResponseQuery {
	if strings.HasPrefix(path, filterAddrPath) {
		return &abcitypes.ResponseQuery{Log: "every address may connect: the peer's node id decides"}
	}
	raw, ok := strings.CutPrefix(path, filterIDPath)
	if !ok {
		return nil
	}
	id, err := ledger.ParseNodeID(raw)
	if err != nil {
		return a.refuse(QueryCodeBadRequest, "malformed node id", fmt.Errorf("peer refused: %w", err), "node_id", raw)
	}
	m, err := v.MemberByNode(id)
	switch {
	case err == nil:
		a.log.Debug("admitted a CometBFT peer", "node_id", id.String(), "member", m.Name)
		return &abcitypes.ResponseQuery{Log: "peer admitted: the node of member " + m.Name}
	case errors.Is(err, ledger.ErrNotFound):
		// Not a node of the roster in force: still admitted in the one
		// block where the version before votes (Admitted).
		ad, aerr := ReadAdmitted(v, h)
		if aerr != nil {
			a.log.Error("refused a CometBFT peer: cannot read the roster", "node_id", id.String(), "err", aerr)
			return queryFailure(QueryCodeUnavailable, fmt.Errorf("peer %s refused: this node cannot read its roster: %w", id, aerr))
		}
		if member, ok := ad.Node(id); ok {
			a.log.Debug("admitted a CometBFT peer of the roster version that votes on the next block", "node_id", id.String(), "member", member,
				"voting_version", ad.Voting.Version, "version_in_force", ad.InForce.Version)
			return &abcitypes.ResponseQuery{Log: fmt.Sprintf("peer admitted: the node of member %s in roster version %d, whose validators vote on the next block", member, ad.Voting.Version)}
		}
		return a.refuse(QueryCodeRefused, "its node id is no member's node in the roster",
			fmt.Errorf("peer %s refused: it is no member's node in the alliance roster (app_state members[].node_id)", id), "node_id", id.String())
	case errors.Is(err, ledger.ErrNotInitialized):
		if member, ok := a.genesisNodes[id]; ok {
			a.log.Debug("admitted a CometBFT peer by the genesis roster or persistent_peers: nothing is committed yet (state sync)", "node_id", id.String(), "member", member)
			if member == bootstrapMember {
				return &abcitypes.ResponseQuery{Log: "peer admitted as " + member + " (nothing is committed yet)"}
			}
			return &abcitypes.ResponseQuery{Log: "peer admitted by the genesis roster (nothing is committed yet): the node of member " + member}
		}
		return a.refuse(QueryCodeUnavailable, "no genesis is committed yet, so there is no roster to admit it by",
			fmt.Errorf("peer %s refused: this node has not committed its genesis yet, and admits only the roster's nodes", id), "node_id", id.String())
	default:
		a.log.Error("refused a CometBFT peer: cannot read the roster", "node_id", id.String(), "err", err)
		return queryFailure(QueryCodeUnavailable, fmt.Errorf("peer %s refused: this node cannot read its roster: %w", id, err))
	}
}

// genesisNodes maps the node ids of a genesis roster to their members,
// and the bootstrap nodes (Options.Bootstrap) not among them to "a
// persistent peer". Ids that do not parse are left out: they admit no one.
func genesisNodes(gs *ledger.GenesisState, bootstrap []ledger.NodeID) map[ledger.NodeID]string {
	nodes := map[ledger.NodeID]string{}
	if gs != nil {
		for _, m := range gs.Members {
			if id, err := ledger.ParseNodeID(m.NodeID); err == nil {
				nodes[id] = m.Name
			}
		}
	}
	for _, id := range bootstrap {
		if _, ok := nodes[id]; !ok {
			nodes[id] = bootstrapMember
		}
	}
	return nodes
}

// bootstrapMember is what the filter logs as the member of a bootstrap
// node: the operator named the node, the roster does not (yet).
const bootstrapMember = "(a persistent peer of this node's config.toml)"
