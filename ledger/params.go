package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// Params are the chain's consensus parameters, fixed in genesis. Every rule
// that decides acceptance reads them from state, never from local config.
type Params struct {
	ChainID         string // the CometBFT chain id; bodies must name it
	GenesisTime     int64  // Unix ns; the time of the genesis entries
	TimeWindow      int64  // ns; a body's client time must lie within ±TimeWindow of block time
	MaxBatchRecords uint32 // most records in one batch transaction
	MaxTxBytes      uint32 // largest transaction accepted
}

// Default parameter values for a new chain.
const (
	DefaultTimeWindow      = int64(15 * time.Minute)
	DefaultMaxBatchRecords = 4096
	DefaultMaxTxBytes      = 1 << 20
)

const paramsFormat = 1

func (p *Params) validate() error {
	if err := checkIdent("chain id", p.ChainID, MaxChainIDLen, identChain); err != nil {
		return err
	}
	if p.TimeWindow <= 0 {
		return fmt.Errorf("time_window must be positive, got %v", time.Duration(p.TimeWindow))
	}
	if p.MaxBatchRecords == 0 || p.MaxBatchRecords > MaxBatchRecords {
		return fmt.Errorf("max_batch_records must be 1..%d, got %d", MaxBatchRecords, p.MaxBatchRecords)
	}
	if p.MaxTxBytes < 1024 {
		return fmt.Errorf("max_tx_bytes must be at least 1024, got %d", p.MaxTxBytes)
	}
	return nil
}

func (p *Params) encode() []byte {
	var b cryptobyte.Builder
	b.AddUint8(paramsFormat)
	addString8(&b, p.ChainID)
	b.AddUint64(uint64(p.GenesisTime))
	b.AddUint64(uint64(p.TimeWindow))
	b.AddUint32(p.MaxBatchRecords)
	b.AddUint32(p.MaxTxBytes)
	return b.BytesOrPanic()
}

func decodeParams(v []byte) (*Params, error) {
	s := cryptobyte.String(v)
	p := &Params{}
	var f uint8
	var gt, tw uint64
	if !s.ReadUint8(&f) || f != paramsFormat || !readString8(&s, &p.ChainID) || !s.ReadUint64(&gt) ||
		!s.ReadUint64(&tw) || !s.ReadUint32(&p.MaxBatchRecords) || !s.ReadUint32(&p.MaxTxBytes) || !s.Empty() {
		return nil, fmt.Errorf("%w: params record does not decode", ErrStoreCorrupt)
	}
	p.GenesisTime, p.TimeWindow = int64(gt), int64(tw)
	return p, nil
}

// Genesis is everything InitChain needs: the chain id and time from the
// CometBFT genesis document, and the app state (roster and parameters).
type Genesis struct {
	ChainID string
	Time    int64 // Unix ns
	State   GenesisState
	// Validators is the consensus engine's genesis validator set. When it
	// is not nil, InitChain checks that it is exactly the roster's members
	// with voting power: each one's consensus key (GenesisMember.Validator)
	// with its power, and no other validator.
	Validators []ConsensusValidator
}

// ConsensusValidator is one validator of the consensus engine: its Ed25519
// public key and voting power.
type ConsensusValidator struct {
	PubKey []byte
	Power  uint64
}

// ConsensusKeySize is the size of a consensus (CometBFT Ed25519) public key.
const ConsensusKeySize = 32

// NodeIDSize is the size of a consensus node id: CometBFT's is the
// address of the node's Ed25519 peer-to-peer key (the first 20 bytes of
// its SHA-256).
const NodeIDSize = 20

// NodeID is the id of a member's consensus node, the identity its
// peer-to-peer links are authenticated with. Only the nodes of current
// members may connect to a member's node (the peer filter asks
// View.MemberByNode).
type NodeID [NodeIDSize]byte

// ErrNoNodeID is wrapped by ParseGenesisState (and InitChain) when a
// member of the genesis roster has no node_id, as in a genesis made before
// the roster recorded them.
var ErrNoNodeID = errors.New("no node_id")

// ParseNodeID parses a node id written as CometBFT writes it: 40 hex
// digits (either case; CometBFT writes lower case).
func ParseNodeID(s string) (NodeID, error) {
	var id NodeID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != NodeIDSize {
		return id, fmt.Errorf("node id %q is not %d hex digits (a CometBFT node id, as `evidenced init` prints it)", s, 2*NodeIDSize)
	}
	copy(id[:], b)
	return id, nil
}

// String returns the id as CometBFT writes it: 40 lower-case hex digits.
func (id NodeID) String() string { return hex.EncodeToString(id[:]) }

// GenesisState is the app_state of the CometBFT genesis document.
type GenesisState struct {
	Params  GenesisParams   `json:"params"`
	Members []GenesisMember `json:"members"`
	// TSAs are the time-stamping authorities the alliance trusts from the
	// start (roster version 0); proposals of kind add-tsa and remove-tsa
	// change them later.
	TSAs []GenesisTSA `json:"tsas,omitempty"`
}

// GenesisTSA is the JSON form of a trusted TSA in the genesis roster.
type GenesisTSA struct {
	Name string `json:"name"`
	// Cert is the TSA's certificate (its signing certificate or the CA
	// certificate that issued it): the standard base64 of its DER, or a
	// PEM CERTIFICATE block.
	Cert   string   `json:"cert"`
	Hashes []string `json:"hashes"` // "sm3", "sha256" or both
}

// NewGenesisTSA returns the genesis form of t (its certificate in base64).
func NewGenesisTSA(t TSA) GenesisTSA {
	return GenesisTSA{Name: t.Name, Cert: base64.StdEncoding.EncodeToString(t.Cert), Hashes: slices.Clone(t.Hashes)}
}

// GenesisParams is the JSON form of the chain parameters.
type GenesisParams struct {
	TimeWindow      Duration `json:"time_window"`
	MaxBatchRecords uint32   `json:"max_batch_records"`
	MaxTxBytes      uint32   `json:"max_tx_bytes"`
}

// GenesisMember is the JSON form of a member in the genesis roster. Keys are
// hex-encoded uncompressed SM2 public keys; the first is the member key that
// co-signs checkpoints.
type GenesisMember struct {
	Name  string   `json:"name"`
	Role  Role     `json:"role"`
	Power uint64   `json:"power"`
	Keys  []string `json:"keys"`
	Peer  string   `json:"peer,omitempty"`  // libp2p peer id of the member's node
	Addrs []string `json:"addrs,omitempty"` // its libp2p multiaddrs
	// Validator is the hex of the member node's consensus key (the 32-byte
	// Ed25519 public key of its CometBFT validator): required with voting
	// power, absent without. It binds the consensus engine's validators
	// to the roster (see Genesis.Validators).
	Validator string `json:"validator,omitempty"`
	// NodeID is the member node's consensus node id (NodeID: the 40-hex
	// CometBFT node id of its peer-to-peer key), required for every
	// member, voting or not, since every member runs a node. Nodes admit
	// only members' nodes as peers (View.MemberByNode).
	NodeID string `json:"node_id"`
}

// Duration is a time.Duration written in JSON as a Go duration string ("15m").
type Duration int64

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"15m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// DefaultGenesisParams returns the parameters a new chain starts with.
func DefaultGenesisParams() GenesisParams {
	return GenesisParams{TimeWindow: Duration(DefaultTimeWindow), MaxBatchRecords: DefaultMaxBatchRecords, MaxTxBytes: DefaultMaxTxBytes}
}

// ParseGenesisState decodes and checks app_state JSON. Unknown fields are
// rejected so a typo in a roster cannot pass unnoticed.
func ParseGenesisState(data []byte) (*GenesisState, error) {
	var gs GenesisState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&gs); err != nil {
		return nil, fmt.Errorf("genesis app_state: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("genesis app_state: trailing data after the JSON object")
	}
	if _, _, err := gs.members(); err != nil {
		return nil, err
	}
	if _, err := gs.tsas(); err != nil {
		return nil, err
	}
	return &gs, nil
}

// members converts and checks the roster: names, keys, peers, validators
// and node ids unique, at least one member with voting power. nodes[i] is
// the node id of members[i].
func (gs *GenesisState) members() ([]*Member, []NodeID, error) {
	if len(gs.Members) == 0 {
		return nil, nil, fmt.Errorf("genesis app_state: the roster has no members")
	}
	names := map[string]bool{}
	peers := map[string]string{}
	validators := map[string]string{}
	nodeOf := map[NodeID]string{}
	keys := map[crypto.KeyID]string{}
	var power uint64
	out := make([]*Member, 0, len(gs.Members))
	nodes := make([]NodeID, 0, len(gs.Members))
	for i, gm := range gs.Members {
		m := &Member{Name: gm.Name, Role: gm.Role, Power: gm.Power, Peer: gm.Peer, Addrs: gm.Addrs}
		for j, hexKey := range gm.Keys {
			kb, err := hex.DecodeString(hexKey)
			if err != nil {
				return nil, nil, fmt.Errorf("genesis member %d (%s) key %d: %w", i, gm.Name, j, err)
			}
			k, err := crypto.ParsePublicKey(kb)
			if err != nil {
				return nil, nil, fmt.Errorf("genesis member %d (%s) key %d: %w", i, gm.Name, j, err)
			}
			if other, dup := keys[k.ID()]; dup {
				return nil, nil, fmt.Errorf("genesis member %s key %d is also a key of %s: every key belongs to one member", gm.Name, j, other)
			}
			keys[k.ID()] = gm.Name
			m.Keys = append(m.Keys, k)
		}
		if err := m.validate(); err != nil {
			return nil, nil, fmt.Errorf("genesis member %d: %w", i, err)
		}
		if names[m.Name] {
			return nil, nil, fmt.Errorf("genesis member name %q appears twice", m.Name)
		}
		if other, dup := peers[m.Peer]; m.Peer != "" && dup {
			return nil, nil, fmt.Errorf("genesis member %s has the peer id of %s: every member node has its own", m.Name, other)
		}
		peers[m.Peer] = m.Name
		switch vk, err := hex.DecodeString(gm.Validator); {
		case m.Power > 0 && (err != nil || len(vk) != ConsensusKeySize):
			return nil, nil, fmt.Errorf("genesis member %s has voting power but its validator %q is not the hex of a %d-byte Ed25519 consensus key", m.Name, gm.Validator, ConsensusKeySize)
		case m.Power == 0 && gm.Validator != "":
			return nil, nil, fmt.Errorf("genesis member %s has a validator key but no voting power: give it power, or remove the key", m.Name)
		}
		// Hex is case-insensitive: compare keys, not their spelling.
		vkey := strings.ToLower(gm.Validator)
		if other, dup := validators[vkey]; vkey != "" && dup {
			return nil, nil, fmt.Errorf("genesis member %s has the validator key of %s: every member runs its own validator", m.Name, other)
		}
		validators[vkey] = m.Name
		if gm.NodeID == "" {
			return nil, nil, fmt.Errorf("genesis member %s: %w: every member runs a node, and only the nodes the roster names may connect; give the CometBFT node id of its node, as `evidenced init` prints it", m.Name, ErrNoNodeID)
		}
		node, err := ParseNodeID(gm.NodeID)
		if err != nil {
			return nil, nil, fmt.Errorf("genesis member %s: %w", m.Name, err)
		}
		if other, dup := nodeOf[node]; dup {
			return nil, nil, fmt.Errorf("genesis member %s has the node id of %s: every member runs its own node", m.Name, other)
		}
		nodeOf[node] = m.Name
		names[m.Name] = true
		if power+m.Power < power {
			return nil, nil, fmt.Errorf("genesis voting power overflows")
		}
		power += m.Power
		out = append(out, m)
		nodes = append(nodes, node)
	}
	if power == 0 {
		return nil, nil, fmt.Errorf("genesis app_state: no member has voting power")
	}
	return out, nodes, nil
}

// tsas converts and checks the genesis TSAs: each valid, names and
// certificates unique. They come back sorted by name, each one's hash
// names sorted.
func (gs *GenesisState) tsas() ([]TSA, error) {
	if len(gs.TSAs) > MaxTSAs {
		return nil, fmt.Errorf("genesis app_state names %d TSAs, more than %d", len(gs.TSAs), MaxTSAs)
	}
	var out []TSA
	for i, g := range gs.TSAs {
		var der []byte
		if strings.HasPrefix(strings.TrimSpace(g.Cert), "-----BEGIN") {
			b, err := ParseTSACert([]byte(g.Cert))
			if err != nil {
				return nil, fmt.Errorf("genesis TSA %d (%s) cert: %w", i, g.Name, err)
			}
			der = b
		} else {
			b, err := base64.StdEncoding.DecodeString(g.Cert)
			if err != nil {
				return nil, fmt.Errorf("genesis TSA %d (%s) cert: want the standard base64 of a DER certificate, or PEM: %w", i, g.Name, err)
			}
			der = b
		}
		t := TSA{Name: g.Name, Cert: der, Hashes: slices.Clone(g.Hashes)}
		slices.Sort(t.Hashes)
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("genesis TSA %d: %w", i, err)
		}
		out = append(out, t)
	}
	SortTSAs(out)
	if err := ValidateTSAs(out); err != nil {
		return nil, fmt.Errorf("genesis TSAs: %w", err)
	}
	return out, nil
}

// checkValidators reports whether vs, the consensus engine's genesis
// validators, are exactly the roster's voting members with their power.
func (gs *GenesisState) checkValidators(vs []ConsensusValidator) error {
	want := map[string]GenesisMember{}
	for _, m := range gs.Members {
		if m.Power > 0 {
			want[strings.ToLower(m.Validator)] = m
		}
	}
	seen := map[string]bool{}
	for _, v := range vs {
		k := hex.EncodeToString(v.PubKey)
		m, ok := want[k]
		switch {
		case !ok:
			return fmt.Errorf("genesis validator %s (power %d) is no member's validator in the roster: every validator must be a member with voting power (app_state members[].validator)", k, v.Power)
		case seen[k]:
			return fmt.Errorf("genesis validator %s appears twice", k)
		case v.Power != m.Power:
			return fmt.Errorf("genesis validator %s of member %s has power %d, but the roster gives %s power %d: they must agree, or checkpoints and consensus count votes differently", k, m.Name, v.Power, m.Name, m.Power)
		}
		seen[k] = true
	}
	for k, m := range want {
		if !seen[k] {
			return fmt.Errorf("member %s has voting power %d in the roster, but its validator %s is not in the genesis validator set", m.Name, m.Power, k)
		}
	}
	return nil
}
