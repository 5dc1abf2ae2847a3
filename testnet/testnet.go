// Package testnet creates local alliances: one node home per member on
// 127.0.0.1 with distinct ports, a shared genesis holding the roster, full
// persistent peering, and a bank client key for submitting. It backs
// `evidenced testnet`, `make run`, `make testnet` and the end-to-end tests.
package testnet

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/tsa"
)

// ManifestFile is the alliance description written at the top of the output dir.
const ManifestFile = "alliance.json"

// Options describe an alliance to create.
type Options struct {
	Out     string   // output directory (created; must not hold an alliance already)
	ChainID string   // default "evidenced-local"
	Members []string // member specs "name" or "name:role"; a bare role name is its own role (bank, notary, …)
	// BasePort: member i listens on BasePort+10*i (p2p), +1 (RPC), +2 (API),
	// +3 (libp2p exchange of originals).
	BasePort int
	// APIBasePort, when set, puts member i's API on APIBasePort+i instead.
	APIBasePort   int
	TimeoutCommit time.Duration // default 500ms
	GenesisTime   time.Time     // default now
	// TSA is the kind of the development TSA made in OUT/tsa: "sm2" (the
	// default when empty), "ecdsa", or "none" for no trusted time. The
	// first member's node serves it on BasePort+9 and is the stamper.
	TSA string
}

// The development TSA of a generated alliance.
const (
	// DevTSADir is its directory under the output dir (tsa.Authority.Save:
	// key, certificates and the anchor tsa-ca.pem).
	DevTSADir = "tsa"
	// DevTSAName is its name in the roster and in [[timestamp.tsa]].
	DevTSAName = "dev-tsa"
	// DevTSAPortOffset puts it on BasePort+9, a port no member uses
	// (member i uses BasePort+10*i .. +3).
	DevTSAPortOffset = 9
	// NoTSA is the Options.TSA value for an alliance without trusted time.
	NoTSA = "none"
)

// DevTSA describes the development TSA of a generated alliance in its
// manifest.
type DevTSA struct {
	// Name is its anchor's name in the roster and in [[timestamp.tsa]].
	Name string `json:"name"`
	// URL is where the first member's node serves RFC 3161.
	URL string `json:"url"`
	// Kind is sm2 or ecdsa.
	Kind string `json:"kind"`
	// Hash is the imprint hash the stamper asks for: sm3 with sm2, sha256
	// with ecdsa (so that openssl ts -verify checks its tokens).
	Hash string `json:"hash"`
	// CertFile is the anchor (PEM), for openssl ts -verify -CAfile.
	CertFile string `json:"cert_file"`
	// Member is the member whose node serves it and stamps.
	Member string `json:"member"`
}

// Member is one node of a generated alliance.
type Member struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	Home      string `json:"home"`
	Validator bool   `json:"validator"`
	NodeID    string `json:"node_id"`
	P2P       string `json:"p2p"`
	RPC       string `json:"rpc"`
	API       string `json:"api"`
	MemberKey string `json:"member_key_id"`
	// TokensFile holds a bearer token of this member's node API, for acting
	// through the member: its scopes are every one but admin (DevScopes).
	TokensFile string `json:"tokens_file"`
}

// Alliance is the manifest of a generated alliance (alliance.json).
type Alliance struct {
	ChainID string   `json:"chain_id"`
	Dir     string   `json:"dir"`
	Members []Member `json:"members"`
	// ClientKey is a bank client key registered to ClientMember, for submitting.
	ClientKey    string `json:"client_key"`
	ClientMember string `json:"client_member"`
	// TokensFile holds a bearer token with which business systems may have
	// ClientMember's node sign evidence with ClientKey (POST /v1/evidence).
	TokensFile string `json:"tokens_file"`
	// TSA is the development TSA; nil with Options.TSA "none".
	TSA *DevTSA `json:"tsa,omitempty"`
}

// parseMember splits "name:role" (or a bare role name).
func parseMember(spec string) (string, ledger.Role, error) {
	name, roleName, ok := strings.Cut(spec, ":")
	if !ok {
		roleName = name
	}
	role, err := ledger.ParseRole(roleName)
	if err != nil {
		return "", 0, fmt.Errorf("member %q: %w (write name:role, or just the role)", spec, err)
	}
	return name, role, nil
}

// Generate creates the alliance and returns its manifest.
func Generate(o Options) (*Alliance, error) {
	if o.ChainID == "" {
		o.ChainID = "evidenced-local"
	}
	if o.BasePort == 0 {
		o.BasePort = 26600
	}
	if o.TimeoutCommit == 0 {
		o.TimeoutCommit = 500 * time.Millisecond
	}
	if o.GenesisTime.IsZero() {
		o.GenesisTime = time.Now()
	}
	var tsaKind tsa.KeyKind
	if o.TSA != NoTSA {
		k := o.TSA
		if k == "" {
			k = string(tsa.SM2)
		}
		var err error
		if tsaKind, err = tsa.ParseKeyKind(k); err != nil {
			return nil, fmt.Errorf("--tsa %q: want sm2, ecdsa or none", o.TSA)
		}
	}
	if len(o.Members) == 0 {
		return nil, errors.New("no members: list them, e.g. --members bank,notary,court,arbitration")
	}
	if _, err := os.Stat(filepath.Join(o.Out, ManifestFile)); err == nil {
		return nil, fmt.Errorf("%s already holds an alliance: remove it or choose another --out", o.Out)
	}
	if err := os.MkdirAll(o.Out, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Out, err)
	}
	abs, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	a := &Alliance{ChainID: o.ChainID, Dir: abs}
	var homes []*node.HomeInfo
	seen := map[string]bool{}
	for i, spec := range o.Members {
		name, role, err := parseMember(strings.TrimSpace(spec))
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("member %q is listed twice", name)
		}
		seen[name] = true
		port := o.BasePort + 10*i
		apiPort := port + 2
		if o.APIBasePort != 0 {
			apiPort = o.APIBasePort + i
		}
		h, err := node.InitHome(node.HomeSpec{
			Home: filepath.Join(abs, name), Moniker: name, Member: name, Role: role, ChainID: o.ChainID,
			Host: "127.0.0.1", P2PPort: port, RPCPort: port + 1, APIPort: apiPort, BlobPort: port + 3, TimeoutCommit: o.TimeoutCommit,
		})
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", name, err)
		}
		homes = append(homes, h)
		a.Members = append(a.Members, Member{
			Name: name, Role: role.String(), Home: h.Spec.Home, Validator: role != ledger.RoleRegulator, NodeID: h.NodeID,
			P2P: fmt.Sprintf("127.0.0.1:%d", port), RPC: fmt.Sprintf("http://127.0.0.1:%d", port+1),
			API: fmt.Sprintf("http://127.0.0.1:%d", apiPort), MemberKey: h.MemberKey.ID().String(),
		})
	}
	// One bank client key, registered as a second key of the first bank.
	var gms []node.GenesisMember
	for i, h := range homes {
		gm := node.GenesisMember{Home: h}
		if a.Members[i].Validator {
			gm.Power = 10
		}
		if a.ClientMember == "" && h.Spec.Role == ledger.RoleBank {
			ck, err := crypto.GenerateKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			a.ClientKey = filepath.Join(abs, "client", h.Spec.Member+"-client.pem")
			if err := os.MkdirAll(filepath.Dir(a.ClientKey), 0o700); err != nil {
				return nil, err
			}
			if err := keyfile.Save(a.ClientKey, ck, nil); err != nil {
				return nil, fmt.Errorf("save client key: %w", err)
			}
			a.ClientMember = h.Spec.Member
			gm.ExtraKeys = []*crypto.PublicKey{ck.Public()}
		}
		ck := ""
		if a.ClientMember == h.Spec.Member {
			ck = a.ClientKey
		}
		if a.Members[i].TokensFile, err = enableTokens(h.Spec.Home, filepath.Join(abs, "client"), h.Spec.Member, ck); err != nil {
			return nil, err
		}
		if ck != "" {
			a.TokensFile = a.Members[i].TokensFile
		}
		gms = append(gms, gm)
	}
	// The development TSA, before the genesis: the genesis trusts its anchor.
	var trusted []ledger.TSA
	if tsaKind != "" {
		if a.TSA, err = makeDevTSA(abs, tsaKind, o.GenesisTime, o.BasePort+DevTSAPortOffset, a.Members[0]); err != nil {
			return nil, err
		}
		an, err := devTSAAnchor(abs)
		if err != nil {
			return nil, err
		}
		a.TSA.Name = an.Name
		t := ledger.TSA{Name: an.Name, Cert: an.Cert}
		for _, h := range an.Hashes {
			t.Hashes = append(t.Hashes, string(h))
		}
		slices.Sort(t.Hashes)
		trusted = append(trusted, t)
	}
	if _, err := node.WriteGenesis(o.ChainID, o.GenesisTime, gms, trusted...); err != nil {
		return nil, err
	}
	for i, h := range homes {
		var peers []string
		for j, p := range homes {
			if i != j {
				peers = append(peers, p.P2PAddress())
			}
		}
		node.SetPersistentPeers(h, strings.Join(peers, ","))
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(abs, ManifestFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return a, nil
}

// makeDevTSA makes the development TSA in OUT/tsa and configures the
// first member's node (m) to serve it on port and to stamp with it.
func makeDevTSA(out string, kind tsa.KeyKind, genesis time.Time, port int, m Member) (*DevTSA, error) {
	dir := filepath.Join(out, DevTSADir)
	// Valid from an hour before the genesis (clocks differ), for ten years.
	a, err := tsa.NewAuthority(kind, "evidenced dev TSA", genesis.Add(-time.Hour), 10*365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("make the development TSA: %w", err)
	}
	if err := a.Save(dir); err != nil {
		return nil, err
	}
	d := &DevTSA{Name: DevTSAName, URL: fmt.Sprintf("http://127.0.0.1:%d/", port), Kind: string(kind),
		Hash: string(tsa.SM3), CertFile: filepath.Join(dir, tsa.CAFile), Member: m.Name}
	if kind == tsa.ECDSAP256 {
		d.Hash = string(tsa.SHA256)
	}
	cfg, err := config.Load(m.Home)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(m.Home, dir)
	if err != nil {
		return nil, err
	}
	cfg.Timestamp.Stamp = true
	cfg.Timestamp.TSAs = []config.TimestampTSA{{Name: DevTSAName, URL: d.URL, Hash: d.Hash}}
	cfg.Timestamp.DevTSADir, cfg.Timestamp.DevTSAListen = rel, fmt.Sprintf("127.0.0.1:%d", port)
	if err := cfg.Save(m.Home); err != nil {
		return nil, err
	}
	return d, nil
}

// devTSAAnchor returns the anchor of the development TSA in OUT/tsa, named
// DevTSAName, trusted for SM3 and SHA-256 imprints: what the genesis's
// tsas hold for it (node.WriteGenesis's trusted TSAs).
func devTSAAnchor(out string) (tsa.Anchor, error) {
	a, err := tsa.LoadAuthority(filepath.Join(out, DevTSADir))
	if err != nil {
		return tsa.Anchor{}, err
	}
	an := a.Anchor()
	an.Name = DevTSAName
	return an, nil
}

// Load reads the manifest of an alliance directory.
func Load(dir string) (*Alliance, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("read alliance manifest: %w (create one with `evidenced testnet`)", err)
	}
	var a Alliance
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &a, nil
}

// DevScopes are the scopes of the API token each member of a generated
// alliance gets: what the README's commands and the end-to-end tests use
// (uploads and evidence signed by the node, retrievals of originals,
// grants, webhooks, proposals and votes, attestations: the ledger lets
// only notaries, arbitration centres and courts attest), but not admin. A
// member without a client key gets them without submit, which its node
// could not serve.
const DevScopes = api.ScopeSubmit | api.ScopeOriginals | api.ScopeGrant | api.ScopeWebhooks | api.ScopeGovern | api.ScopeAttest

// enableTokens draws a fresh random API token for member's node: the
// token goes to CLIENTDIR/MEMBER-api-token (0600), for the CLI and
// business systems; the node's HOME/config/api-tokens (0600) holds only its
// SM3 digest and its scopes (DevScopes). With a client key, the node also
// signs evidence with it for holders of the token. It returns the token
// file.
func enableTokens(home, clientDir, member, clientKey string) (string, error) {
	token, err := api.GenerateToken(rand.Reader)
	if err != nil {
		return "", err
	}
	scopes := DevScopes
	if clientKey == "" {
		scopes &^= api.ScopeSubmit
	}
	if err := os.MkdirAll(clientDir, 0o700); err != nil {
		return "", err
	}
	tokenFile := filepath.Join(clientDir, member+"-api-token")
	if err := atomicfile.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write API token: %w", err)
	}
	content := api.TokensFileHeader + api.FormatTokenLine(api.NewToken(token, scopes), "from evidenced testnet: client/"+filepath.Base(tokenFile)) + "\n"
	if err := atomicfile.WriteFile(filepath.Join(home, "config", "api-tokens"), []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("write API tokens: %w", err)
	}
	cfg, err := config.Load(home)
	if err != nil {
		return "", err
	}
	if clientKey != "" {
		cfg.Keys.ClientKey = clientKey
	}
	cfg.API.TokensFile = "config/api-tokens"
	if err := cfg.Save(home); err != nil {
		return "", err
	}
	return tokenFile, nil
}
