package node

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
)

// HomeSpec describes a node home to create.
type HomeSpec struct {
	Home    string
	Moniker string
	Member  string
	Role    ledger.Role
	ChainID string
	// Host is the address the node listens on and advertises (127.0.0.1 for local alliances).
	Host string
	// Ports: CometBFT p2p, CometBFT RPC, evidenced HTTP API.
	P2PPort, RPCPort, APIPort int
	// BlobPort is the libp2p port of the exchange of originals with the
	// other members; 0: this node exchanges none.
	BlobPort int
	// Passphrase encrypts the member key; nil writes it unencrypted (dev and test alliances only).
	Passphrase []byte
	// TimeoutCommit, when non-zero, overrides CometBFT's timeout_commit.
	TimeoutCommit time.Duration
}

// HomeInfo is what InitHome created: what genesis and peers need to know.
type HomeInfo struct {
	Spec          HomeSpec
	NodeID        string
	ValidatorKey  []byte // CometBFT ed25519 public key
	ValidatorAddr string
	MemberKey     *crypto.PublicKey
	MemberKeyFile string
	CometConfig   *cmtcfg.Config
	// Peer and PeerAddrs are the node's libp2p identity (derived from the
	// member key) and listen address, for the roster; empty without a BlobPort.
	Peer      string
	PeerAddrs []string
}

// P2PAddress returns id@host:port for persistent_peers.
func (h *HomeInfo) P2PAddress() string {
	return fmt.Sprintf("%s@%s:%d", h.NodeID, h.Spec.Host, h.Spec.P2PPort)
}

// ErrHomeExists is returned by InitHome when the directory already holds a node home.
var ErrHomeExists = errors.New("home already exists")

// InitHome creates a node home: CometBFT config, node key and validator
// key, the member's SM2 key and evidenced.toml. It writes no genesis (see
// WriteGenesis). It refuses a directory that already holds a home.
func InitHome(s HomeSpec) (*HomeInfo, error) {
	mk, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate member key: %w", err)
	}
	return initHome(s, mk)
}

// initHome is InitHome with the member key given.
func initHome(s HomeSpec, mk *crypto.PrivateKey) (*HomeInfo, error) {
	if _, err := os.Stat(config.File(s.Home)); err == nil {
		return nil, fmt.Errorf("%s: %w (remove it to start over, or use it with `evidenced start --home %s`)", s.Home, ErrHomeExists, s.Home)
	}
	for _, d := range []string{"config", "data", "keys"} {
		if err := os.MkdirAll(filepath.Join(s.Home, d), 0o700); err != nil {
			return nil, fmt.Errorf("create home: %w", err)
		}
	}
	cc := CometConfig(s.Home, s.Moniker, s.Host, s.P2PPort, s.RPCPort, s.TimeoutCommit)
	cmtcfg.WriteConfigFile(filepath.Join(s.Home, "config", "config.toml"), cc)

	// CometBFT's validator and node keys are derived from the member key
	// (cometkeys.go): only the member key is written, encrypted when a
	// passphrase is given.
	validator, nk, err := cometKeys(mk)
	if err != nil {
		return nil, err
	}
	pv := privval.NewFilePV(validator, cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
	pv.LastSignState.Save()
	pub := validator.PubKey()
	ec := config.Default()
	ec.Moniker, ec.Member, ec.Role, ec.ChainID = s.Moniker, s.Member, s.Role.String(), s.ChainID
	ec.Keys.CometKeys = config.CometKeysDerived
	ec.API.Listen = fmt.Sprintf("%s:%d", s.Host, s.APIPort)
	var peer string
	var peerAddrs []string
	if s.BlobPort > 0 {
		id, err := exchange.PeerID(mk)
		if err != nil {
			return nil, fmt.Errorf("derive the libp2p identity: %w", err)
		}
		peer = id.String()
		ec.Originals.Listen = fmt.Sprintf("/ip4/%s/tcp/%d", s.Host, s.BlobPort)
		peerAddrs = []string{ec.Originals.Listen}
	}
	keyPath := config.Path(s.Home, ec.Keys.MemberKey)
	if err := keyfile.Save(keyPath, mk, s.Passphrase); err != nil {
		return nil, fmt.Errorf("save member key: %w", err)
	}
	if err := ec.Save(s.Home); err != nil {
		return nil, err
	}
	return &HomeInfo{Spec: s, NodeID: string(nk.ID()), ValidatorKey: pub.Bytes(), ValidatorAddr: pub.Address().String(),
		MemberKey: mk.Public(), MemberKeyFile: keyPath, CometConfig: cc, Peer: peer, PeerAddrs: peerAddrs}, nil
}

// GenesisMember is one roster entry for WriteGenesis.
type GenesisMember struct {
	Home *HomeInfo
	// Power is the voting power (0: a full node without a vote, e.g. a regulator).
	Power int64
	// ExtraKeys are further SM2 keys of the member (client keys).
	ExtraKeys []*crypto.PublicKey
}

// WriteGenesis writes one genesis to every home: the CometBFT validator set
// and the app_state roster (each member's role, voting power and SM2 keys,
// the member key first, and its node's CometBFT node id and libp2p peer),
// and the time-stamping authorities the alliance trusts (tsas; none given:
// the genesis names none).
func WriteGenesis(chainID string, t time.Time, members []GenesisMember, tsas ...ledger.TSA) (*cmttypes.GenesisDoc, error) {
	gs := ledger.GenesisState{Params: ledger.DefaultGenesisParams()}
	for _, ts := range tsas {
		gs.TSAs = append(gs.TSAs, ledger.NewGenesisTSA(ts))
	}
	doc := &cmttypes.GenesisDoc{GenesisTime: t.UTC(), ChainID: chainID, InitialHeight: 1, ConsensusParams: ConsensusParams()}
	for _, m := range members {
		h := m.Home
		keys := []string{fmt.Sprintf("%x", h.MemberKey.Bytes())}
		for _, k := range m.ExtraKeys {
			keys = append(keys, fmt.Sprintf("%x", k.Bytes()))
		}
		gm := ledger.GenesisMember{Name: h.Spec.Member, Role: h.Spec.Role, Power: uint64(m.Power), Keys: keys,
			Peer: h.Peer, Addrs: h.PeerAddrs, NodeID: h.NodeID}
		if m.Power > 0 {
			gm.Validator = fmt.Sprintf("%x", h.ValidatorKey)
		}
		gs.Members = append(gs.Members, gm)
		if m.Power > 0 {
			if len(h.ValidatorKey) != cmted25519.PubKeySize {
				return nil, fmt.Errorf("member %s: the validator key is %d bytes, not an Ed25519 key", h.Spec.Member, len(h.ValidatorKey))
			}
			pub := cmted25519.PubKey(h.ValidatorKey)
			doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: m.Power, Name: h.Spec.Moniker})
		}
	}
	state, err := json.Marshal(gs)
	if err != nil {
		return nil, err
	}
	if _, err := ledger.ParseGenesisState(state); err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	doc.AppState = state
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	for _, m := range members {
		if err := doc.SaveAs(m.Home.CometConfig.GenesisFile()); err != nil {
			return nil, fmt.Errorf("write genesis to %s: %w", m.Home.Spec.Home, err)
		}
	}
	return doc, nil
}

// SetPersistentPeers rewrites a home's CometBFT config with the given peers.
func SetPersistentPeers(h *HomeInfo, peers string) {
	h.CometConfig.P2P.PersistentPeers = peers
	cmtcfg.WriteConfigFile(filepath.Join(h.Spec.Home, "config", "config.toml"), h.CometConfig)
}

// CometConfig returns the CometBFT configuration of a generated home:
// CometBFT's defaults with the node's ports, peers filtered by the app
// and no peer exchange, a bounded mempool and no tx index. The kvstore
// baseline of bench/ uses it too, so both systems run with the same
// settings (its app admits every peer).
func CometConfig(home, moniker, host string, p2pPort, rpcPort int, timeoutCommit time.Duration) *cmtcfg.Config {
	cc := cmtcfg.DefaultConfig()
	cc.SetRoot(home)
	cc.Moniker = moniker
	cc.P2P.ListenAddress = fmt.Sprintf("tcp://%s:%d", host, p2pPort)
	cc.RPC.ListenAddress = fmt.Sprintf("tcp://%s:%d", host, rpcPort)
	cc.P2P.ExternalAddress = fmt.Sprintf("%s:%d", host, p2pPort)
	// A closed alliance. Only the roster's nodes are CometBFT peers: the
	// app's peer filter (abci/filter.go) admits a peer only when its
	// authenticated node id is a current member's node in committed
	// state, so no other node key can sync a block, gossip a transaction
	// or take a peer slot. No peer exchange: every member knows every
	// other member's node from the alliance (persistent_peers), so
	// learning addresses from peers adds nothing but dials the roster did
	// not ask for, and this node's address book is never handed out.
	cc.FilterPeers = true
	cc.P2P.PexReactor = false
	if host == "127.0.0.1" || host == "localhost" {
		cc.P2P.AddrBookStrict = false
		cc.P2P.AllowDuplicateIP = true
	}
	// A bounded mempool: a few full blocks. Every transaction in it is
	// gossiped to every peer and rechecked after every block, so an
	// unbounded backlog (CometBFT's default is 1 GB) starves block gossip
	// and stalls consensus under load, and a long one makes each recheck
	// cost more than the block (4 MiB is about 16,000 signed records or 37
	// batches of 1,000); beyond the bound CheckTx is refused with "mempool
	// is full" and the API answers 503 with Retry-After.
	cc.Mempool.MaxTxsBytes = 4 << 20
	cc.Mempool.Size = 5000 // CometBFT's default: every pending tx is rechecked after each block
	// The app indexes its own log; CometBFT's tx index would duplicate it.
	cc.TxIndex.Indexer = "null"
	// Every transaction's result is in the app's own log entry and served
	// by the API; CometBFT's stored FinalizeBlock responses (its
	// /block_results) would keep a second copy of each block's results for
	// ever. CometBFT still keeps the last one, which crash recovery needs.
	cc.Storage.DiscardABCIResponses = true
	if timeoutCommit > 0 {
		cc.Consensus.TimeoutCommit = timeoutCommit
	}
	return cc
}

// ConsensusParams returns the consensus parameters of generated genesis
// files (shared with the kvstore baseline of bench/).
func ConsensusParams() *cmttypes.ConsensusParams {
	params := cmttypes.DefaultConsensusParams()
	// Validators co-sign checkpoints through vote extensions from the first block.
	params.ABCI.VoteExtensionsEnableHeight = 1
	// Blocks of at most 8 MiB: a full block (ledger.MaxBlockWrites) applies
	// and commits in about a second on a small machine.
	params.Block.MaxBytes = 8 << 20
	return params
}
