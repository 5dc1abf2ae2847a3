package ledger

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// The register transaction (TxRegister) registers one member. It is valid
// only in the genesis roster: InitChain makes one entry per member at
// height 0, signed by nobody. Payload encoding:
//
//	Member = u8-prefixed name ‖ u8 role ‖ u64 power ‖ u8 key count ‖
//	         count × 65-byte key ‖ u8-prefixed peer id ‖ u8 address count ‖
//	         count × u8-prefixed multiaddr

var registerType = TxTypeInfo{
	Type: TxRegister, Name: "register", Title: "Member registration",
	Doc:     "register a member: name, role, voting power, SM2 keys, libp2p peer (genesis only)",
	Origin:  OriginGenesis,
	JSONKey: "member", NewDetails: func() Details { return &MemberRegistration{} },
	Example: func() Payload {
		k := crypto.SM3([]byte("example member key"))
		pub, err := crypto.NewPrivateKey(k[:])
		if err != nil {
			panic("ledger: example member key: " + err.Error())
		}
		return &Member{Name: "court", Role: RoleCourt, Power: 10, Keys: []*crypto.PublicKey{pub.Public()}}
	},
	decode: decodeMember,
}

// Member is an alliance member as registered in genesis: the payload of
// TxRegister.
type Member struct {
	Name  string              // stable id, e.g. "bank-a"
	Role  Role                //
	Power uint64              // voting power; 0 for regulators and other non-validators
	Keys  []*crypto.PublicKey // SM2 keys that may sign for the member; the first is the member (co-signing) key
	// Peer is the member node's libp2p peer id (base58), which exchanges
	// encrypted originals with the other members; Addrs are its libp2p
	// multiaddrs. Both optional: a member without a peer keeps no originals.
	Peer  string
	Addrs []string
}

// MemberRegistration is the public form of a registration: the member's
// name, role, power and keys (not its network addresses).
type MemberRegistration struct {
	Name  string     `json:"name"`
	Role  Role       `json:"role"`
	Power uint64     `json:"power"`
	Keys  []HexBytes `json:"keys"` // 65-byte uncompressed SM2 public keys
}

// TxType implements Payload.
func (*Member) TxType() TxType { return TxRegister }

// Details implements Payload.
func (m *Member) Details() Details {
	keys := make([]HexBytes, len(m.Keys))
	for i, k := range m.Keys {
		keys[i] = k.Bytes()
	}
	return &MemberRegistration{Name: m.Name, Role: m.Role, Power: m.Power, Keys: keys}
}

// Fields implements Details.
func (m *MemberRegistration) Fields() []Field {
	return []Field{{Name: "member", Kind: FieldMember, Value: m.Name}, {Name: "role", Kind: FieldRole, Value: m.Role},
		{Name: "power", Kind: FieldNumber, Value: m.Power}, {Name: "keys", Kind: FieldKeys, Value: m.Keys}}
}

// Summary implements Details.
func (m *MemberRegistration) Summary() (string, []Field) {
	return "registers %s (%s)", []Field{{Name: "member", Kind: FieldMember, Value: m.Name}, {Name: "role", Kind: FieldRole, Value: m.Role}}
}

// signedBy is the member a registration speaks for: it has no signer key.
func (m *Member) signedBy() string { return m.Name }

func (m *Member) encode(b *cryptobyte.Builder) {
	addString8(b, m.Name)
	b.AddUint8(uint8(m.Role))
	b.AddUint64(m.Power)
	b.AddUint8(uint8(len(m.Keys)))
	for _, k := range m.Keys {
		b.AddBytes(k.Bytes())
	}
	addString8(b, m.Peer)
	b.AddUint8(uint8(len(m.Addrs)))
	for _, a := range m.Addrs {
		addString8(b, a)
	}
}

func decodeMember(s *cryptobyte.String) (Payload, error) {
	m := &Member{}
	var role, nk uint8
	if !readString8(s, &m.Name) || !s.ReadUint8(&role) || !s.ReadUint64(&m.Power) || !s.ReadUint8(&nk) {
		return nil, reject(CodeMalformed, "member registration is truncated")
	}
	m.Role = Role(role)
	if int(nk) > MaxMemberKeys {
		return nil, reject(CodeMalformed, "member has %d keys, more than %d", nk, MaxMemberKeys)
	}
	for i := 0; i < int(nk); i++ {
		var kb []byte
		if !s.ReadBytes(&kb, crypto.PublicKeySize) {
			return nil, reject(CodeMalformed, "member key %d is truncated", i)
		}
		k, err := crypto.ParsePublicKey(kb)
		if err != nil {
			return nil, reject(CodeMalformed, "member key %d: %v", i, err)
		}
		m.Keys = append(m.Keys, k)
	}
	var na uint8
	if !readString8(s, &m.Peer) || !s.ReadUint8(&na) {
		return nil, reject(CodeMalformed, "member registration is truncated in its peer")
	}
	if int(na) > MaxPeerAddrs {
		return nil, reject(CodeMalformed, "member has %d peer addresses, more than %d", na, MaxPeerAddrs)
	}
	for i := 0; i < int(na); i++ {
		var a string
		if !readString8(s, &a) {
			return nil, reject(CodeMalformed, "member peer address %d is truncated", i)
		}
		m.Addrs = append(m.Addrs, a)
	}
	return m, nil
}

func (m *Member) validate() error {
	if err := checkIdent("member name", m.Name, MaxNameLen, identKind); err != nil {
		return err
	}
	if !m.Role.Valid() {
		return reject(CodeMalformed, "member %s: invalid role %d", m.Name, uint8(m.Role))
	}
	if m.Role == RoleRegulator && m.Power != 0 {
		return reject(CodeMalformed, "member %s: a regulator has no voting power (got %d)", m.Name, m.Power)
	}
	if len(m.Keys) == 0 || len(m.Keys) > MaxMemberKeys {
		return reject(CodeMalformed, "member %s: needs 1 to %d keys, has %d", m.Name, MaxMemberKeys, len(m.Keys))
	}
	seen := make(map[crypto.KeyID]bool, len(m.Keys))
	for i, k := range m.Keys {
		if k == nil {
			return reject(CodeMalformed, "member %s: key %d is missing", m.Name, i)
		}
		id := k.ID()
		if seen[id] {
			return reject(CodeMalformed, "member %s: key %s is listed twice", m.Name, id.Short())
		}
		seen[id] = true
	}
	if m.Peer != "" {
		if err := checkIdent("peer id", m.Peer, MaxPeerLen, identChain); err != nil {
			return reject(CodeMalformed, "member %s: %v", m.Name, err)
		}
	}
	if len(m.Addrs) > 0 && m.Peer == "" {
		return reject(CodeMalformed, "member %s: peer addresses without a peer id", m.Name)
	}
	if len(m.Addrs) > MaxPeerAddrs {
		return reject(CodeMalformed, "member %s: %d peer addresses, more than %d", m.Name, len(m.Addrs), MaxPeerAddrs)
	}
	for i, a := range m.Addrs {
		if a == "" || len(a) > MaxPeerAddrLen || a[0] != '/' {
			return reject(CodeMalformed, "member %s: peer address %d %q is not a multiaddr like /ip4/10.0.0.1/tcp/26660", m.Name, i, a)
		}
		for j := 0; j < len(a); j++ {
			if c := a[j]; c <= 0x20 || c > 0x7e {
				return reject(CodeMalformed, "member %s: peer address %d must be printable ASCII without spaces", m.Name, i)
			}
		}
	}
	return nil
}

// writeCost is 0: registrations happen only in genesis, outside any block.
func (*Member) writeCost() int { return 0 }

// check is never reached: the pipeline refuses OriginGenesis types.
func (*Member) check(*txContext) (*RejectError, error) {
	return reject(CodeGenesisOnly, "member registration is only valid in genesis"), nil
}

// stage registers the member: its record, its keys, and the voting power
// it adds to the total.
func (m *Member) stage(c *txContext) error {
	s := c.s
	rec := &memberRecord{Name: m.Name, Role: m.Role, Power: m.Power, Entry: c.Index, Keys: m.Keys, Peer: m.Peer, Addrs: m.Addrs}
	s.set(keyString8(prefixMember, m.Name), rec.encode())
	for _, k := range m.Keys {
		s.setKey(m.Name, k)
	}
	return nil
}
