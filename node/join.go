package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/ledger"
)

// Joining a running alliance: JoinHome makes the home of a member's node
// from the alliance's published genesis, with the other members' nodes as
// peers and, when Trust is given, CometBFT state sync on: the node then
// restores a snapshot its peers serve (package snapshots), checked
// against the app hash its light client verifies from the trusted block,
// instead of replaying every block from genesis. FetchTrust finds that
// block: one the members' CometBFT RPC servers agree on.

// DefaultTrustPeriod is how long a trusted block stays trusted by the
// light client of a joining node (CometBFT's default trust_period).
const DefaultTrustPeriod = 168 * time.Hour

// Directory is the alliance's published list of its members' nodes: where
// each listens for CometBFT peers and serves CometBFT RPC.
// `evidenced testnet`'s alliance.json is one (its other fields are
// ignored).
type Directory struct {
	ChainID string          `json:"chain_id"`
	Members []DirectoryNode `json:"members"`
}

// DirectoryNode is one member's node in a Directory.
type DirectoryNode struct {
	Name   string `json:"name"`
	NodeID string `json:"node_id"`
	// P2P is host:port of its CometBFT p2p listener.
	P2P string `json:"p2p"`
	// RPC is the URL of its CometBFT RPC server ("http://host:port"),
	// empty when it serves none to other members.
	RPC string `json:"rpc"`
}

// maxDirectoryBytes bounds a directory file.
const maxDirectoryBytes = 4 << 20

// ParseDirectory parses a directory of member nodes.
func ParseDirectory(b []byte) (*Directory, error) {
	if len(b) > maxDirectoryBytes {
		return nil, fmt.Errorf("node directory of %d bytes: at most %d", len(b), maxDirectoryBytes)
	}
	var d Directory
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("node directory: %w", err)
	}
	for i, m := range d.Members {
		if m.Name == "" {
			return nil, fmt.Errorf("node directory: member %d has no name", i)
		}
		if _, err := ledger.ParseNodeID(m.NodeID); err != nil {
			return nil, fmt.Errorf("node directory: member %s: %w", m.Name, err)
		}
	}
	return &d, nil
}

// Peers returns the persistent_peers entries (id@host:port) of every
// member's node but except's.
func (d *Directory) Peers(except string) []string {
	var out []string
	for _, m := range d.Members {
		if m.Name != except && m.P2P != "" {
			out = append(out, strings.ToLower(m.NodeID)+"@"+m.P2P)
		}
	}
	return out
}

// RPCServers returns the CometBFT RPC servers of every member's node but
// except's.
func (d *Directory) RPCServers(except string) []string {
	var out []string
	for _, m := range d.Members {
		if m.Name != except && m.RPC != "" {
			out = append(out, m.RPC)
		}
	}
	return out
}

// Trust is the block a joining node's light client starts from: its
// height and header hash, as the members' RPC servers served it.
type Trust struct {
	Height int64
	// Hash is the block's header hash, upper-case hex as CometBFT writes it.
	Hash   string
	Period time.Duration
	// RPCServers are the servers that served it alike: the light client's
	// primary and witnesses (at least two).
	RPCServers []string
	// GenesisPower and SignedPower are, when the block is signed by the
	// genesis validator set, that set's voting power and the power whose
	// signatures of the block checked out (more than 2/3 of it); 0 when
	// the validator set changed since genesis.
	GenesisPower, SignedPower int64
	// Answers are what each server said, in the order given.
	Answers []TrustAnswer
}

// TrustAnswer is what one RPC server said.
type TrustAnswer struct {
	Server string
	// Latest is its latest height; Hash its header hash of the trusted
	// height. Err says why it did not answer.
	Latest int64
	Hash   string
	Err    error
	// Admits says whether its app admits the joining node as a peer now
	// (its peer filter over its committed roster); AdmitLog is why.
	Admits   bool
	AdmitLog string
}

var (
	// ErrTrustUnavailable is returned by FetchTrust when fewer than two
	// RPC servers answered: the node cannot state sync (its light client
	// needs a primary and a witness) and block-syncs from genesis instead.
	ErrTrustUnavailable = errors.New("fewer than two members' RPC servers answered")
	// ErrTrustDisagree is returned by FetchTrust when the servers serve
	// different blocks at the same height, or another chain: do not join
	// until the alliance has found out why.
	ErrTrustDisagree = errors.New("the members' RPC servers disagree")
)

// FetchTrust asks the CometBFT RPC servers of several members for a block
// to trust: the latest height all that answer have (or height, when
// positive), and its header hash from each; they must agree and be of the
// genesis's chain. When the block's validators are the genesis validators,
// its commit must also carry the signatures of more than 2/3 of their
// power. nodeID, when set, is the joining node's CometBFT id: each server's
// app is asked whether it admits it (the answer is information, not a
// condition). It fails with ErrTrustUnavailable when fewer than two
// servers answer and ErrTrustDisagree when they do not agree.
func FetchTrust(ctx context.Context, genesis *cmttypes.GenesisDoc, servers []string, height int64, nodeID string) (*Trust, error) {
	t := &Trust{Period: DefaultTrustPeriod}
	clients := make([]*rpchttp.HTTP, len(servers))
	latest := int64(0)
	for i, s := range servers {
		a := TrustAnswer{Server: s}
		c, err := rpchttp.NewWithClient(s, "/websocket", &http.Client{Timeout: 10 * time.Second})
		if err == nil {
			a.Latest, a.Err = statusOf(ctx, c, genesis.ChainID)
		} else {
			a.Err = err
		}
		if a.Err == nil {
			clients[i] = c
			if latest == 0 || a.Latest < latest {
				latest = a.Latest
			}
		}
		t.Answers = append(t.Answers, a)
	}
	if err := wrongChain(t.Answers); err != nil {
		return t, err
	}
	if err := twoAnswered(t.Answers); err != nil {
		return t, err
	}
	t.Height = latest
	if height > 0 {
		t.Height = height
	}
	var header *cmttypes.SignedHeader
	for i, c := range clients {
		if c == nil {
			continue
		}
		a := &t.Answers[i]
		res, err := c.Commit(ctx, &t.Height)
		if err == nil {
			err = res.SignedHeader.ValidateBasic(genesis.ChainID)
		}
		if err != nil {
			a.Err = fmt.Errorf("block %d: %w", t.Height, err)
			continue
		}
		a.Hash = strings.ToUpper(hex.EncodeToString(res.SignedHeader.Hash()))
		if header == nil {
			header = &res.SignedHeader
		}
		if nodeID != "" {
			q, err := c.ABCIQuery(ctx, "/p2p/filter/id/"+nodeID, nil)
			if err == nil {
				a.Admits, a.AdmitLog = q.Response.Code == 0, q.Response.Log
			} else {
				a.AdmitLog = err.Error()
			}
		}
	}
	if err := twoAnswered(t.Answers); err != nil {
		return t, err
	}
	for _, a := range t.Answers {
		if a.Err != nil {
			continue
		}
		if t.Hash == "" {
			t.Hash = a.Hash
		}
		if a.Hash != t.Hash {
			return t, fmt.Errorf("%w on block %d: %s", ErrTrustDisagree, t.Height, describeAnswers(t.Answers))
		}
		t.RPCServers = append(t.RPCServers, a.Server)
	}
	if err := t.checkGenesisSignatures(genesis, header); err != nil {
		return t, err
	}
	return t, nil
}

// statusOf returns a server's latest height after checking its chain.
func statusOf(ctx context.Context, c *rpchttp.HTTP, chainID string) (int64, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	if st.NodeInfo.Network != chainID {
		return 0, fmt.Errorf("%w: it serves chain %s, the genesis is of chain %s", ErrTrustDisagree, st.NodeInfo.Network, chainID)
	}
	if st.SyncInfo.LatestBlockHeight < 1 {
		return 0, fmt.Errorf("it has committed no block yet")
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// wrongChain returns the first answer's error that says a server is of
// another chain.
func wrongChain(answers []TrustAnswer) error {
	for _, a := range answers {
		if errors.Is(a.Err, ErrTrustDisagree) {
			return fmt.Errorf("%s: %w", a.Server, a.Err)
		}
	}
	return nil
}

// twoAnswered returns ErrTrustUnavailable unless two answers hold no error.
func twoAnswered(answers []TrustAnswer) error {
	n := 0
	for _, a := range answers {
		if a.Err == nil {
			n++
		}
	}
	if n >= 2 {
		return nil
	}
	return fmt.Errorf("%w (%d of %d): %s", ErrTrustUnavailable, n, len(answers), describeAnswers(answers))
}

// describeAnswers says what each server said.
func describeAnswers(answers []TrustAnswer) string {
	parts := make([]string, len(answers))
	for i, a := range answers {
		switch {
		case a.Err != nil:
			parts[i] = fmt.Sprintf("%s: %v", a.Server, a.Err)
		case a.Hash != "":
			parts[i] = fmt.Sprintf("%s: %s", a.Server, a.Hash)
		default:
			parts[i] = fmt.Sprintf("%s: at height %d", a.Server, a.Latest)
		}
	}
	return strings.Join(parts, "; ")
}

// checkGenesisSignatures checks the commit of the trusted block against
// the genesis validators when they are the block's validators.
func (t *Trust) checkGenesisSignatures(genesis *cmttypes.GenesisDoc, h *cmttypes.SignedHeader) error {
	vals := make([]*cmttypes.Validator, len(genesis.Validators))
	for i, v := range genesis.Validators {
		vals[i] = cmttypes.NewValidator(v.PubKey, v.Power)
	}
	set := cmttypes.NewValidatorSet(vals)
	if !bytes.Equal(h.ValidatorsHash, set.Hash()) {
		return nil // the validator set changed since genesis: the servers' agreement is the trust
	}
	if err := set.VerifyCommitLight(genesis.ChainID, h.Commit.BlockID, h.Height, h.Commit); err != nil {
		return fmt.Errorf("%w: block %d is not signed by more than 2/3 of the genesis validators: %v", ErrTrustDisagree, h.Height, err)
	}
	t.GenesisPower = set.TotalVotingPower()
	for i, sig := range h.Commit.Signatures {
		if sig.BlockIDFlag == cmttypes.BlockIDFlagCommit && i < len(set.Validators) {
			t.SignedPower += set.Validators[i].VotingPower
		}
	}
	return nil
}

// JoinSpec describes the home of a member's node that joins a running
// alliance.
type JoinSpec struct {
	// Home is the directory to create; Moniker names the node.
	Home, Moniker string
	// Member is the member's name in the roster.
	Member string
	// Role is the member's role when the genesis roster does not hold it
	// (governance is to add it); the roster's role otherwise.
	Role ledger.Role
	// Genesis is the alliance's genesis.json, exactly as published; it is
	// written as is.
	Genesis []byte
	// MemberKey is the member's SM2 key: the one the genesis roster names
	// when it holds the member. nil draws a new key, for a member the
	// roster does not hold yet.
	MemberKey *crypto.PrivateKey
	// Passphrase encrypts the member key; nil writes it unencrypted (tests).
	Passphrase []byte
	// Host and the ports are those of InitHome (HomeSpec). With BlobPort
	// 0, a member of the genesis roster exchanges originals on the
	// roster's address of its peer.
	Host                                string
	P2PPort, RPCPort, APIPort, BlobPort int
	TimeoutCommit                       time.Duration
	// Peers are the other members' nodes, id@host:port (persistent_peers).
	Peers []string
	// Trust turns CometBFT state sync on from that block; nil: the node
	// replays every block from genesis (block sync).
	Trust *Trust
}

// JoinInfo is what JoinHome made.
type JoinInfo struct {
	*HomeInfo
	Genesis *cmttypes.GenesisDoc
	// InRoster says whether the genesis roster holds the member (then its
	// key, node id and validator key were checked against it).
	InRoster bool
	Power    uint64
	// Seat is what a proposal to add the member needs (power aside),
	// written to SeatFile (HOME/seat.json).
	Seat     *client.Seat
	SeatFile string
}

// JoinHome makes the home of a member's node joining a running alliance
// from its genesis: keys, evidenced.toml, the genesis as published, and
// CometBFT's config.toml with the peers, and state sync from Trust when
// given. When the genesis roster holds the member, its member key must be
// the roster's (so are then the node id and validator key derived from
// it); otherwise a new key is drawn unless given, and the node is admitted
// by the members once a governance change puts its node id in the roster.
func JoinHome(s JoinSpec) (*JoinInfo, error) {
	doc, err := cmttypes.GenesisDocFromJSON(s.Genesis)
	if err != nil {
		return nil, fmt.Errorf("the alliance's genesis: %w", err)
	}
	gs, err := ledger.ParseGenesisState(doc.AppState)
	if err != nil {
		return nil, fmt.Errorf("the alliance's genesis app_state: %w", err)
	}
	i := slices.IndexFunc(gs.Members, func(m ledger.GenesisMember) bool { return m.Name == s.Member })
	info := &JoinInfo{Genesis: doc, InRoster: i >= 0}
	role := s.Role
	mk := s.MemberKey
	if info.InRoster {
		gm := gs.Members[i]
		role, info.Power = gm.Role, gm.Power
		if mk == nil {
			return nil, fmt.Errorf("the genesis roster holds member %s: give its member key (the key whose public key is the roster's first for %s); a new key would not be the roster's", s.Member, s.Member)
		}
		if err := checkRosterKeys(gm, mk); err != nil {
			return nil, err
		}
	} else if mk == nil {
		if mk, err = crypto.GenerateKey(rand.Reader); err != nil {
			return nil, fmt.Errorf("generate member key: %w", err)
		}
	}
	h, err := initHome(HomeSpec{Home: s.Home, Moniker: s.Moniker, Member: s.Member, Role: role, ChainID: doc.ChainID, Host: s.Host,
		P2PPort: s.P2PPort, RPCPort: s.RPCPort, APIPort: s.APIPort, BlobPort: s.BlobPort, Passphrase: s.Passphrase, TimeoutCommit: s.TimeoutCommit}, mk)
	if err != nil {
		return nil, err
	}
	info.HomeInfo = h
	if s.BlobPort == 0 && info.InRoster && len(gs.Members[i].Addrs) > 0 {
		// The exchange of originals listens where the roster says the
		// member's peer is.
		ec, err := config.Load(s.Home)
		if err != nil {
			return nil, err
		}
		ec.Originals.Listen = gs.Members[i].Addrs[0]
		if err := ec.Save(s.Home); err != nil {
			return nil, err
		}
		h.Peer, h.PeerAddrs = gs.Members[i].Peer, gs.Members[i].Addrs
	}
	if err := atomicfile.WriteNew(h.CometConfig.GenesisFile(), s.Genesis, 0o644); err != nil {
		return nil, fmt.Errorf("write the genesis: %w", err)
	}
	cc := h.CometConfig
	cc.P2P.PersistentPeers = strings.Join(s.Peers, ",")
	if t := s.Trust; t != nil {
		cc.StateSync.Enable = true
		cc.StateSync.RPCServers = t.RPCServers
		cc.StateSync.TrustHeight = t.Height
		cc.StateSync.TrustHash = t.Hash
		cc.StateSync.TrustPeriod = t.Period
		// The chunks wait on disk under the home, not in a temporary
		// file system that may be small or in memory.
		cc.StateSync.TempDir = filepath.Join(cc.RootDir, "data")
		if err := cc.StateSync.ValidateBasic(); err != nil {
			return nil, fmt.Errorf("state sync settings: %w", err)
		}
	}
	cmtcfg.WriteConfigFile(filepath.Join(s.Home, "config", "config.toml"), cc)
	if info.Seat, err = SeatOf(s.Member, role, mk, h.PeerAddrs); err != nil {
		return nil, err
	}
	info.SeatFile = filepath.Join(s.Home, SeatFile)
	if err := SaveSeat(info.SeatFile, info.Seat); err != nil {
		return nil, err
	}
	return info, nil
}

// checkRosterKeys checks a member key, and the CometBFT node id and
// validator key derived from it, against the member's genesis roster entry.
func checkRosterKeys(gm ledger.GenesisMember, mk *crypto.PrivateKey) error {
	if len(gm.Keys) == 0 || !strings.EqualFold(gm.Keys[0], hex.EncodeToString(mk.Public().Bytes())) {
		return fmt.Errorf("the member key given is not member %s's in the genesis roster (key id %s): give the key its roster entry names first", gm.Name, mk.Public().ID().Short())
	}
	validator, nk, err := cometKeys(mk)
	if err != nil {
		return err
	}
	if !strings.EqualFold(gm.NodeID, string(nk.ID())) {
		return fmt.Errorf("the roster names node %s for member %s, but this key derives node %s: the member's node was made with CometBFT key files (keys.comet_keys = \"files\"); copy that home instead of joining", gm.NodeID, gm.Name, nk.ID())
	}
	if gm.Validator != "" && !strings.EqualFold(gm.Validator, hex.EncodeToString(validator.PubKey().Bytes())) {
		return fmt.Errorf("the roster names another validator key for member %s than this key derives: the member's node was made with CometBFT key files; copy that home instead of joining", gm.Name)
	}
	return nil
}
