package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/tmhash"
	"github.com/cometbft/cometbft/p2p"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
)

// TestJoinHome: a home joining the alliance from its published genesis
// and node directory, for a member of the genesis roster (its key checked
// against the roster) and for one the roster does not hold yet.
func TestJoinHome(t *testing.T) {
	dir := t.TempDir()
	a, err := testnet.Generate(testnet.Options{Out: filepath.Join(dir, "alliance"), ChainID: "evidenced-join", Members: []string{"bank", "notary", "court"}, BasePort: freeBase(t)})
	if err != nil {
		t.Fatal(err)
	}
	genesis, err := os.ReadFile(filepath.Join(a.Members[0].Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(a.Dir, testnet.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	d, err := node.ParseDirectory(manifest)
	if err != nil {
		t.Fatal(err)
	}
	court := a.Members[2]
	if peers := d.Peers("court"); len(peers) != 2 || !strings.Contains(peers[0], a.Members[0].NodeID+"@") {
		t.Fatalf("the directory's peers but court's: %v", peers)
	}
	if rpcs := d.RPCServers("court"); len(rpcs) != 2 || rpcs[1] != a.Members[1].RPC {
		t.Fatalf("the directory's RPC servers but court's: %v", rpcs)
	}
	courtKey, err := keyfile.Load(filepath.Join(court.Home, "keys", "member.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := func(home, member string) node.JoinSpec {
		return node.JoinSpec{Home: filepath.Join(dir, home), Moniker: member, Member: member, Genesis: genesis, Host: "127.0.0.1",
			P2PPort: 1, RPCPort: 2, APIPort: 3, Peers: d.Peers(member)}
	}

	s := spec("court-joined", "court")
	s.MemberKey = courtKey
	s.Trust = &node.Trust{Height: 120, Hash: strings.Repeat("AB", 32), Period: node.DefaultTrustPeriod, RPCServers: d.RPCServers("court")}
	info, err := node.JoinHome(s)
	if err != nil {
		t.Fatal(err)
	}
	if !info.InRoster || info.NodeID != court.NodeID || info.Power != 10 || info.Spec.Role != ledger.RoleCourt {
		t.Fatalf("JoinHome for court: in roster %v, node %s (want %s), power %d, role %s", info.InRoster, info.NodeID, court.NodeID, info.Power, info.Spec.Role)
	}
	seatData, err := os.ReadFile(filepath.Join(s.Home, node.SeatFile))
	if err != nil {
		t.Fatal(err)
	}
	seat, err := client.ParseSeat(seatData)
	if err != nil || info.SeatFile != filepath.Join(s.Home, node.SeatFile) || seat.Name != "court" || seat.Role != ledger.RoleCourt ||
		!bytes.Equal(seat.Keys[0], courtKey.Public().Bytes()) || seat.Node != court.NodeID || len(seat.Validator) != 32 || !strings.HasPrefix(seat.Peer, "12D3KooW") {
		t.Fatalf("seat file %s: %+v, %v", info.SeatFile, seat, err)
	}
	if got, err := os.ReadFile(filepath.Join(s.Home, "config", "genesis.json")); err != nil || !bytes.Equal(got, genesis) {
		t.Fatalf("the joined home's genesis is not the published bytes (%v)", err)
	}
	cc, err := node.LoadCometConfig(s.Home)
	if err != nil {
		t.Fatal(err)
	}
	ss := cc.StateSync
	if !ss.Enable || ss.TrustHeight != 120 || ss.TrustHash != s.Trust.Hash || len(ss.RPCServers) != 2 || ss.TrustPeriod != node.DefaultTrustPeriod {
		t.Fatalf("the joined home's [statesync]: %+v", ss)
	}
	if cc.P2P.PersistentPeers != strings.Join(d.Peers("court"), ",") || !cc.FilterPeers || cc.P2P.PexReactor {
		t.Fatalf("the joined home's p2p: peers %q, filter %v, pex %v", cc.P2P.PersistentPeers, cc.FilterPeers, cc.P2P.PexReactor)
	}
	h, err := node.LoadHome(s.Home, nil)
	if err != nil {
		t.Fatalf("LoadHome of the joined home: %v", err)
	}
	if h.Config.ChainID != "evidenced-join" || h.Config.StateSync.SnapshotInterval != config.Default().StateSync.SnapshotInterval {
		t.Fatalf("the joined home's evidenced.toml: %+v", h.Config)
	}
	orig, err := config.Load(court.Home)
	if err != nil {
		t.Fatal(err)
	}
	if h.Config.Originals.Listen != orig.Originals.Listen || orig.Originals.Listen == "" {
		t.Fatalf("the joined home exchanges originals on %q, the roster's peer of court is on %q", h.Config.Originals.Listen, orig.Originals.Listen)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, member, want string
		key                bool
	}{
		{"a roster member without its key", "notary", "give its member key", false},
		{"a roster member with another's key", "notary", "is not member notary's in the genesis roster", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := spec("x-"+tc.member, tc.member)
			if tc.key {
				s.MemberKey = courtKey
			}
			if _, err := node.JoinHome(s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("JoinHome: %v, want an error saying %q", err, tc.want)
			}
		})
	}

	// A member that governance is to add: a new key, block sync.
	s = spec("newcomer", "bank-b")
	s.Role = ledger.RoleBank
	info, err = node.JoinHome(s)
	if err != nil {
		t.Fatal(err)
	}
	if info.InRoster || info.NodeID == "" {
		t.Fatalf("JoinHome for a member the roster lacks: in roster %v, node %q", info.InRoster, info.NodeID)
	}
	if cc, err := node.LoadCometConfig(s.Home); err != nil || cc.StateSync.Enable {
		t.Fatalf("a home without trust has state sync on (%v)", err)
	}
}

// rpcChain is a fake CometBFT RPC server of a chain: status, commit and
// the peer filter's abci_query.
type rpcChain struct {
	chainID string
	latest  int64
	sh      cmttypes.SignedHeader
	admits  bool
}

func (c *rpcChain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req rpctypes.RPCRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var res any
	switch req.Method {
	case "status":
		res = &ctypes.ResultStatus{NodeInfo: p2p.DefaultNodeInfo{Network: c.chainID}, SyncInfo: ctypes.SyncInfo{LatestBlockHeight: c.latest}}
	case "commit":
		res = &ctypes.ResultCommit{SignedHeader: c.sh, CanonicalCommit: true}
	case "abci_query":
		code := uint32(4)
		if c.admits {
			code = 0
		}
		res = &ctypes.ResultABCIQuery{Response: abcitypes.ResponseQuery{Code: code, Log: "filter says"}}
	default:
		http.Error(w, "unknown method "+req.Method, 404)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rpctypes.NewRPCSuccessResponse(req.ID, res))
}

// signedHeader is a header at height of chainID whose validators are
// those of valset, with a commit signed by signers.
func signedHeader(t *testing.T, chainID string, height int64, valset *cmttypes.ValidatorSet, signers []cmttypes.PrivValidator, salt string) cmttypes.SignedHeader {
	t.Helper()
	h := &cmttypes.Header{ChainID: chainID, Height: height, Time: time.Unix(1_800_000_000, 0).UTC(),
		ValidatorsHash: valset.Hash(), NextValidatorsHash: valset.Hash(), AppHash: tmhash.Sum([]byte(salt)),
		ProposerAddress: valset.Validators[0].Address}
	h.Version.Block = 11
	id := cmttypes.BlockID{Hash: h.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: tmhash.Sum([]byte("parts"))}}
	votes := cmttypes.NewVoteSet(chainID, height, 0, cmtproto.PrecommitType, valset)
	ec, err := cmttypes.MakeExtCommit(id, height, 0, votes, signers, h.Time, false)
	if err != nil {
		t.Fatal(err)
	}
	return cmttypes.SignedHeader{Header: h, Commit: ec.ToCommit()}
}

func TestFetchTrust(t *testing.T) {
	const chainID = "evidenced-trust"
	pv := cmttypes.NewMockPV()
	pub, err := pv.GetPubKey()
	if err != nil {
		t.Fatal(err)
	}
	genesis := &cmttypes.GenesisDoc{ChainID: chainID, Validators: []cmttypes.GenesisValidator{{Address: pub.Address(), PubKey: pub, Power: 10}}}
	valset := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(pub, 10)})
	good := signedHeader(t, chainID, 40, valset, []cmttypes.PrivValidator{pv}, "state")
	serve := func(c *rpcChain) string {
		s := httptest.NewServer(c)
		t.Cleanup(s.Close)
		return s.URL
	}
	ctx := context.Background()

	a := serve(&rpcChain{chainID: chainID, latest: 41, sh: good, admits: true})
	b := serve(&rpcChain{chainID: chainID, latest: 40, sh: good})
	tr, err := node.FetchTrust(ctx, genesis, []string{a, b}, 0, strings.Repeat("ab", 20))
	if err != nil {
		t.Fatal(err)
	}
	wantHash := strings.ToUpper(good.Hash().String())
	if tr.Height != 40 || tr.Hash != wantHash || len(tr.RPCServers) != 2 || tr.GenesisPower != 10 || tr.SignedPower != 10 {
		t.Fatalf("trust = height %d hash %s servers %v power %d/%d; want height 40 (the lower latest), hash %s, both servers, 10/10",
			tr.Height, tr.Hash, tr.RPCServers, tr.SignedPower, tr.GenesisPower, wantHash)
	}
	if !tr.Answers[0].Admits || tr.Answers[1].Admits {
		t.Fatalf("admissions %v, %v; want the first server to admit the node and not the second", tr.Answers[0].Admits, tr.Answers[1].Admits)
	}

	other := signedHeader(t, chainID, 40, valset, []cmttypes.PrivValidator{pv}, "another state")
	intruder := cmttypes.NewMockPV()
	ipub, _ := intruder.GetPubKey()
	forgedSet := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(ipub, 10)})
	forged := signedHeader(t, chainID, 40, forgedSet, []cmttypes.PrivValidator{intruder}, "state")
	forged.ValidatorsHash = valset.Hash() // claims the genesis validators, signed by another key
	forged.Commit.BlockID.Hash = forged.Hash()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	cases := []struct {
		name    string
		servers []string
		want    error
		says    string
	}{
		{"servers that disagree", []string{a, serve(&rpcChain{chainID: chainID, latest: 40, sh: other})}, node.ErrTrustDisagree, "disagree on block 40"},
		{"a server of another chain", []string{a, serve(&rpcChain{chainID: "other", latest: 40, sh: good})}, node.ErrTrustDisagree, "it serves chain other"},
		{"one server down", []string{a, down.URL}, node.ErrTrustUnavailable, "(1 of 2)"},
		{"a single server", []string{a}, node.ErrTrustUnavailable, "(1 of 1)"},
		{"a block the genesis validators did not sign", []string{serve(&rpcChain{chainID: chainID, latest: 40, sh: forged}), serve(&rpcChain{chainID: chainID, latest: 40, sh: forged})},
			node.ErrTrustDisagree, "not signed by more than 2/3 of the genesis validators"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := node.FetchTrust(ctx, genesis, tc.servers, 0, "")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("FetchTrust: %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
}
