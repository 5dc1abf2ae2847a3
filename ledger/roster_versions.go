package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// Roster versions (docs/ARCHITECTURE.md, "Membership"). The roster in
// genesis is version 0. A proposal that passes makes the next version,
// pending, and the ledger appends a roster entry (TxRoster) holding it
// whole. The version takes effect in the block that accepts a trusted
// checkpoint, co-signed by the version before it, whose tree holds that
// entry; the consensus engine's validators become the new version's two
// blocks later. So every version is attested by its predecessor's
// signatures over a log that contains it, which is the path a receipt
// follows from the genesis roster to the roster that signed it.
//
// State:
//
//	'V' ‖ u32 version  → the version (rosterVersion.encode)
//	'U'                → u32 latest version (pending or in force)
//	'Q'                → u32 version in force
//	'J' ‖ key id       → u8-prefixed member name: every key ever registered

// Seat is one member as a roster version holds it: what the ledger, the
// consensus engine and the exchange of originals need of it.
type Seat struct {
	Member
	// Validator is the member node's 32-byte Ed25519 consensus key: set
	// exactly when the member has voting power.
	Validator []byte
	// Node is the member node's consensus node id (the peer filter).
	Node NodeID
}

func addSeat(b *cryptobyte.Builder, s *Seat) {
	addString8(b, s.Name)
	b.AddUint8(uint8(s.Role))
	b.AddUint64(s.Power)
	b.AddUint8(uint8(len(s.Keys)))
	for _, k := range s.Keys {
		b.AddBytes(k.Bytes())
	}
	b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(s.Validator) })
	b.AddBytes(s.Node[:])
	addString8(b, s.Peer)
	b.AddUint8(uint8(len(s.Addrs)))
	for _, a := range s.Addrs {
		addString8(b, a)
	}
}

// minSeatBytes is the size of the shortest encodable seat.
const minSeatBytes = 2 + 1 + 8 + 1 + crypto.PublicKeySize + 1 + NodeIDSize + 1 + 1

func readSeat(s *cryptobyte.String) (*Seat, error) {
	st := &Seat{}
	var role, nk uint8
	if !readString8(s, &st.Name) || !s.ReadUint8(&role) || !s.ReadUint64(&st.Power) || !s.ReadUint8(&nk) {
		return nil, reject(CodeMalformed, "roster member is truncated")
	}
	st.Role = Role(role)
	if int(nk) > MaxMemberKeys || len(*s) < int(nk)*crypto.PublicKeySize {
		return nil, reject(CodeMalformed, "roster member %s: %d keys, more than %d or than the bytes hold", st.Name, nk, MaxMemberKeys)
	}
	for i := 0; i < int(nk); i++ {
		var kb []byte
		if !s.ReadBytes(&kb, crypto.PublicKeySize) {
			return nil, reject(CodeMalformed, "roster member %s key %d is truncated", st.Name, i)
		}
		k, err := crypto.ParsePublicKey(kb)
		if err != nil {
			return nil, reject(CodeMalformed, "roster member %s key %d: %v", st.Name, i, err)
		}
		st.Keys = append(st.Keys, k)
	}
	var v cryptobyte.String
	var na uint8
	if !s.ReadUint8LengthPrefixed(&v) || !s.CopyBytes(st.Node[:]) || !readString8(s, &st.Peer) || !s.ReadUint8(&na) {
		return nil, reject(CodeMalformed, "roster member %s is truncated", st.Name)
	}
	if len(v) > 0 {
		st.Validator = []byte(v)
	}
	if int(na) > MaxPeerAddrs {
		return nil, reject(CodeMalformed, "roster member %s has %d peer addresses, more than %d", st.Name, na, MaxPeerAddrs)
	}
	for i := 0; i < int(na); i++ {
		var a string
		if !readString8(s, &a) {
			return nil, reject(CodeMalformed, "roster member %s peer address %d is truncated", st.Name, i)
		}
		st.Addrs = append(st.Addrs, a)
	}
	return st, nil
}

// validate checks one seat alone.
func (s *Seat) validate() error {
	if err := s.Member.validate(); err != nil {
		return err
	}
	switch {
	case s.Power > 0 && len(s.Validator) != ConsensusKeySize:
		return reject(CodeMalformed, "member %s has voting power, so it needs its node's %d-byte Ed25519 validator key, not %d bytes", s.Name, ConsensusKeySize, len(s.Validator))
	case s.Power == 0 && len(s.Validator) != 0:
		return reject(CodeMalformed, "member %s has no voting power, so it names no validator key", s.Name)
	case s.Node == NodeID{}:
		return reject(CodeMalformed, "member %s names no consensus node id: every member runs a node", s.Name)
	}
	return nil
}

// validateSeats checks a whole roster: each seat, names in order and
// unique, keys, validator keys and node ids unique, some voting power.
func validateSeats(seats []Seat) error {
	if len(seats) == 0 || len(seats) > MaxSeats {
		return reject(CodeMalformed, "a roster holds 1 to %d members, not %d", MaxSeats, len(seats))
	}
	keys := map[crypto.KeyID]string{}
	vals := map[string]string{}
	nodes := map[NodeID]string{}
	var power uint64
	for i := range seats {
		s := &seats[i]
		if err := s.validate(); err != nil {
			return err
		}
		if i > 0 && seats[i-1].Name >= s.Name {
			return reject(CodeMalformed, "roster members must be sorted by name, one each (%s after %s)", s.Name, seats[i-1].Name)
		}
		for _, k := range s.Keys {
			if other, dup := keys[k.ID()]; dup {
				return reject(CodeDuplicateKey, "key %s of %s is also a key of %s: every key belongs to one member", k.ID().Short(), s.Name, other)
			}
			keys[k.ID()] = s.Name
		}
		if len(s.Validator) > 0 {
			if other, dup := vals[string(s.Validator)]; dup {
				return reject(CodeDuplicateKey, "the validator key of %s is also %s's: every member runs its own validator", s.Name, other)
			}
			vals[string(s.Validator)] = s.Name
		}
		if other, dup := nodes[s.Node]; dup {
			return reject(CodeDuplicateKey, "the node id of %s is also %s's: every member runs its own node", s.Name, other)
		}
		nodes[s.Node] = s.Name
		if power+s.Power < power {
			return reject(CodeMalformed, "the roster's voting power overflows")
		}
		power += s.Power
	}
	if power == 0 {
		return reject(CodeNoQuorum, "no member of the roster would have voting power, so nobody could sign a checkpoint or decide a block")
	}
	return nil
}

// MaxSeats is the most members a roster holds.
const MaxSeats = 255

// rosterVersion is a roster version as state keeps it ('V' ‖ version):
//
//	u32 version ‖ u64 proposal entry ‖ u64 roster entry ‖ i64 from ‖
//	u64 attested ‖ u8 count ‖ seats ‖ [u8 count ‖ TSAs]
//
// The TSA list is written only when the version names TSAs (tsas.go), so
// versions stored before rosters named TSAs decode as they are.
type rosterVersion struct {
	Version  uint32
	Proposal uint64 // the proposal's entry; 0 for genesis
	Entry    uint64 // the roster entry holding it; 0 for genesis (whose registrations are the entries before the first block)
	// From is the first block height whose validators are this version's:
	// it co-signs the checkpoints of heights From-1 on. 0 for genesis;
	// pendingFrom while it has not taken effect.
	From int64
	// Attested is the height of the trusted checkpoint, co-signed by the
	// version before, that made it take effect (its tree holds Entry).
	Attested uint64
	Seats    []Seat // sorted by name
	TSAs     []TSA  // sorted by name
}

// pendingFrom is the From of a version that has not taken effect.
const pendingFrom = -1

func (v *rosterVersion) encode() []byte {
	var b cryptobyte.Builder
	b.AddUint32(v.Version)
	b.AddUint64(v.Proposal)
	b.AddUint64(v.Entry)
	b.AddUint64(uint64(v.From))
	b.AddUint64(v.Attested)
	b.AddUint8(uint8(len(v.Seats)))
	for i := range v.Seats {
		addSeat(&b, &v.Seats[i])
	}
	addTSAs(&b, v.TSAs)
	return b.BytesOrPanic()
}

func decodeRosterVersion(b []byte) (*rosterVersion, error) {
	s := cryptobyte.String(b)
	v := &rosterVersion{}
	var from uint64
	var n uint8
	if !s.ReadUint32(&v.Version) || !s.ReadUint64(&v.Proposal) || !s.ReadUint64(&v.Entry) || !s.ReadUint64(&from) ||
		!s.ReadUint64(&v.Attested) || !s.ReadUint8(&n) {
		return nil, fmt.Errorf("%w: roster version does not decode", ErrStoreCorrupt)
	}
	v.From = int64(from)
	for i := 0; i < int(n); i++ {
		st, err := readSeat(&s)
		if err != nil {
			return nil, fmt.Errorf("%w: roster version %d: %v", ErrStoreCorrupt, v.Version, err)
		}
		v.Seats = append(v.Seats, *st)
	}
	tsas, err := readTSAs(&s)
	if err != nil {
		return nil, fmt.Errorf("%w: roster version %d: %v", ErrStoreCorrupt, v.Version, err)
	}
	v.TSAs = tsas
	if !s.Empty() {
		return nil, fmt.Errorf("%w: roster version %d has trailing bytes", ErrStoreCorrupt, v.Version)
	}
	return v, nil
}

// seat returns the seat of member name, or nil.
func (v *rosterVersion) seat(name string) *Seat {
	i, ok := slices.BinarySearchFunc(v.Seats, name, func(s Seat, n string) int { return strings.Compare(s.Name, n) })
	if !ok {
		return nil
	}
	return &v.Seats[i]
}

// totalPower is the version's voting power.
func (v *rosterVersion) totalPower() uint64 {
	var t uint64
	for i := range v.Seats {
		t += v.Seats[i].Power
	}
	return t
}

// roster is the version as a verifier holds it.
func (v *rosterVersion) roster(chainID string) *Roster {
	ms := make([]*Member, len(v.Seats))
	for i := range v.Seats {
		ms[i] = &v.Seats[i].Member
	}
	return NewRoster(chainID, ms, v.TSAs)
}

func keyVersion(n uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixVersion}, n)
}

func (s *state) version(n uint32) (*rosterVersion, error) {
	v, found, err := s.get(keyVersion(n))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: roster version %d is missing", ErrStoreCorrupt, n)
	}
	return decodeRosterVersion(v)
}

// versionNumber reads the u32 under key k ('U' or 'Q').
func (s *state) versionNumber(k byte) (uint32, error) {
	v, found, err := s.get(key1(k))
	if err != nil {
		return 0, err
	}
	if !found || len(v) != 4 {
		return 0, fmt.Errorf("%w: roster version pointer %q is missing", ErrStoreCorrupt, k)
	}
	return binary.BigEndian.Uint32(v), nil
}

// latestVersion is the newest version, pending or in force: the one the
// next proposal to pass changes.
func (s *state) latestVersion() (*rosterVersion, error) {
	n, err := s.versionNumber(prefixLatestVersion)
	if err != nil {
		return nil, err
	}
	return s.version(n)
}

// versionAt returns the version whose validators vote on block height h:
// the newest version in force with From <= h.
func (s *state) versionAt(h int64) (*rosterVersion, error) {
	n, err := s.versionNumber(prefixCurrentVersion)
	if err != nil {
		return nil, err
	}
	for {
		v, err := s.version(n)
		if err != nil {
			return nil, err
		}
		if v.From <= h || n == 0 {
			return v, nil
		}
		n--
	}
}

// putVersion stores v and points 'U' (and, in force, 'Q') at it as given.
func (s *state) putVersion(v *rosterVersion) {
	s.set(keyVersion(v.Version), v.encode())
}

func (s *state) setVersionNumber(k byte, n uint32) {
	s.set(key1(k), binary.BigEndian.AppendUint32(nil, n))
}

// everKey reports whether key id was ever registered to a member (a key
// once used is never given to another member, or back).
func (s *state) everKey(id crypto.KeyID) (bool, error) {
	return s.has(keyBytes(prefixEverKey, id[:]))
}

// takeEffect puts version v in force from block height from: the member
// records, keys, node ids and total power become v's, and it returns the
// consensus engine's validator changes from the version in force before.
func (s *state) takeEffect(prev, v *rosterVersion, from int64, attested uint64) ([]ValidatorUpdate, error) {
	v.From, v.Attested = from, attested
	s.putVersion(v)
	s.setVersionNumber(prefixCurrentVersion, v.Version)
	old := map[string]*Seat{}
	for i := range prev.Seats {
		old[prev.Seats[i].Name] = &prev.Seats[i]
	}
	var total uint64
	for i := range v.Seats {
		n := &v.Seats[i]
		total += n.Power
		o := old[n.Name]
		delete(old, n.Name)
		entry := v.Entry
		if o != nil {
			m, err := s.member(n.Name)
			if err != nil {
				return nil, err
			}
			if m != nil {
				entry = m.Entry // the member's registration stays its first entry
			}
			if seatEqual(o, n) {
				continue
			}
			s.dropSeat(o, n)
		}
		s.set(keyString8(prefixMember, n.Name), (&memberRecord{Name: n.Name, Role: n.Role, Power: n.Power, Entry: entry,
			Keys: n.Keys, Peer: n.Peer, Addrs: n.Addrs}).encode())
		for _, k := range n.Keys {
			s.setKey(n.Name, k)
		}
		s.set(keyNode(n.Node), encodeNodeMember(n.Name))
	}
	// Members v no longer has, in name order.
	gone := make([]string, 0, len(old))
	for name := range old {
		gone = append(gone, name)
	}
	slices.Sort(gone)
	for _, name := range gone {
		o := old[name]
		s.dropSeat(o, nil)
		s.del(keyString8(prefixMember, name))
	}
	s.set(key1(prefixTotalPower), u64(total))
	s.setTSAs(prev.TSAs, v.TSAs)
	return validatorUpdates(prev, v), nil
}

// dropSeat removes what seat o held that n (nil: nothing) no longer holds:
// its keys and its node id.
func (s *state) dropSeat(o, n *Seat) {
	for _, k := range o.Keys {
		if n == nil || !slices.ContainsFunc(n.Keys, k.Equal) {
			id := k.ID()
			s.del(keyBytes(prefixKey, id[:]))
			delete(s.signers, id)
		}
	}
	if n == nil || n.Node != o.Node {
		s.del(keyNode(o.Node))
	}
}

// setKey registers key k to member name, now and for ever.
func (s *state) setKey(name string, k *crypto.PublicKey) {
	id := k.ID()
	var b cryptobyte.Builder
	addString8(&b, name)
	b.AddBytes(k.Bytes())
	s.set(keyBytes(prefixKey, id[:]), b.BytesOrPanic())
	s.set(keyBytes(prefixEverKey, id[:]), encodeNodeMember(name))
}

func seatEqual(a, b *Seat) bool {
	return bytes.Equal(encodeSeat(a), encodeSeat(b))
}

func encodeSeat(s *Seat) []byte {
	var b cryptobyte.Builder
	addSeat(&b, s)
	return b.BytesOrPanic()
}

// ValidatorUpdate is a change to the consensus engine's validator set: a
// validator's Ed25519 key and its new power (0 removes it).
type ValidatorUpdate struct {
	PubKey []byte
	Power  uint64
}

// validatorUpdates returns the changes from prev's validators to v's,
// sorted by key.
func validatorUpdates(prev, v *rosterVersion) []ValidatorUpdate {
	power := map[string]uint64{}
	for i := range prev.Seats {
		if p := &prev.Seats[i]; len(p.Validator) > 0 {
			power[string(p.Validator)] = 0 // removed unless v keeps it
		}
	}
	was := map[string]uint64{}
	for i := range prev.Seats {
		if p := &prev.Seats[i]; len(p.Validator) > 0 {
			was[string(p.Validator)] = p.Power
		}
	}
	for i := range v.Seats {
		if n := &v.Seats[i]; len(n.Validator) > 0 {
			power[string(n.Validator)] = n.Power
		}
	}
	keys := make([]string, 0, len(power))
	for k, p := range power {
		if old, ok := was[k]; !ok || old != p {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]ValidatorUpdate, len(keys))
	for i, k := range keys {
		out[i] = ValidatorUpdate{PubKey: []byte(k), Power: power[k]}
	}
	return out
}
