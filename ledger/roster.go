package ledger

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// RosterVersion is the version of the roster file format.
const RosterVersion = 1

// RosterMember is one member of a roster file.
type RosterMember struct {
	Name  string   `json:"name"`
	Role  Role     `json:"role"`
	Power uint64   `json:"power"`
	Keys  []string `json:"keys"` // hex of 65-byte uncompressed SM2 public keys; the first is the member key
}

// Roster is the alliance roster as a verifier needs it: chain id, members,
// roles, voting power and SM2 keys, and the time-stamping authorities the
// alliance trusts (absent when it names none).
type Roster struct {
	Version int            `json:"version"`
	ChainID string         `json:"chain_id"`
	Members []RosterMember `json:"members"`        // sorted by name
	TSAs    []TSA          `json:"tsas,omitempty"` // sorted by name
}

// NewRoster returns the roster of chain chainID holding members (name,
// role, power and keys; the rest is not part of a roster), sorted by name,
// each key as the lowercase hex of its 65-byte uncompressed form, and the
// trusted TSAs tsas (sorted by name; nil when there are none). It is the
// one place a roster is made: from committed state (View.Roster) and from a
// genesis roster (GenesisState.Roster) alike, so both have the same bytes
// and digest.
func NewRoster(chainID string, members []*Member, tsas []TSA) *Roster {
	r := &Roster{Version: RosterVersion, ChainID: chainID}
	if len(tsas) > 0 {
		r.TSAs = slices.Clone(tsas)
		slices.SortFunc(r.TSAs, func(a, b TSA) int { return strings.Compare(a.Name, b.Name) })
	}
	for _, m := range members {
		rm := RosterMember{Name: m.Name, Role: m.Role, Power: m.Power}
		for _, k := range m.Keys {
			rm.Keys = append(rm.Keys, hex.EncodeToString(k.Bytes()))
		}
		r.Members = append(r.Members, rm)
	}
	slices.SortFunc(r.Members, func(a, b RosterMember) int { return strings.Compare(a.Name, b.Name) })
	return r
}

// Roster returns the roster of the genesis members of chain chainID (the
// chain_id of the genesis file that holds gs as its app_state). It fails
// as ParseGenesisState does on a roster that is not valid.
func (gs *GenesisState) Roster(chainID string) (*Roster, error) {
	ms, _, err := gs.members()
	if err != nil {
		return nil, err
	}
	tsas, err := gs.tsas()
	if err != nil {
		return nil, err
	}
	return NewRoster(chainID, ms, tsas), nil
}

// Roster returns the committed roster.
func (v *View) Roster() (*Roster, error) {
	p, err := v.Params()
	if err != nil {
		return nil, err
	}
	infos, err := v.Members()
	if err != nil {
		return nil, err
	}
	ms := make([]*Member, len(infos))
	for i, m := range infos {
		ms[i] = &Member{Name: m.Name, Role: m.Role, Power: m.Power, Keys: m.Keys}
	}
	tsas, err := v.TSAs()
	if err != nil {
		return nil, err
	}
	return NewRoster(p.ChainID, ms, tsas), nil
}

// Digest returns SM3 over the canonical roster encoding:
//
//	"evidenced/roster/v1" ‖ u8-prefixed chain id ‖ u16 member count ‖
//	for each member, sorted by name: u8-prefixed name ‖ u8 role ‖ u64 power ‖ u8 key count ‖ 65-byte keys ‖
//	only when the roster names TSAs: u8 TSA count ‖ for each TSA, sorted by name:
//	  u8-prefixed name ‖ u16-prefixed DER certificate ‖ u8 hash count ‖ u8-prefixed hash names (sorted)
//
// A roster without TSAs has the digest it had before rosters named TSAs.
func (r *Roster) Digest() (crypto.Hash, error) {
	var b cryptobyte.Builder
	b.AddBytes([]byte("evidenced/roster/v1"))
	addString8(&b, r.ChainID)
	ms := slices.Clone(r.Members)
	slices.SortFunc(ms, func(a, b RosterMember) int { return strings.Compare(a.Name, b.Name) })
	b.AddUint16(uint16(len(ms)))
	for _, m := range ms {
		addString8(&b, m.Name)
		b.AddUint8(uint8(m.Role))
		b.AddUint64(m.Power)
		b.AddUint8(uint8(len(m.Keys)))
		for i, k := range m.Keys {
			kb, err := hex.DecodeString(k)
			if err != nil || len(kb) != crypto.PublicKeySize {
				return crypto.Hash{}, fmt.Errorf("roster member %s key %d is not a 65-byte hex SM2 key: export the roster again (evidenced roster export)", m.Name, i)
			}
			b.AddBytes(kb)
		}
	}
	if len(r.TSAs) > MaxTSAs {
		return crypto.Hash{}, fmt.Errorf("the roster names %d TSAs, more than %d", len(r.TSAs), MaxTSAs)
	}
	ts := slices.Clone(r.TSAs)
	for i := range ts {
		if len(ts[i].Cert) > MaxTSACertBytes || len(ts[i].Hashes) > 2 {
			return crypto.Hash{}, fmt.Errorf("roster TSA %s: a certificate of %d bytes (at most %d) and %d hash names (at most 2): export the roster again (evidenced roster export)",
				ts[i].Name, len(ts[i].Cert), MaxTSACertBytes, len(ts[i].Hashes))
		}
		ts[i].Hashes = slices.Sorted(slices.Values(ts[i].Hashes))
	}
	slices.SortFunc(ts, func(a, b TSA) int { return strings.Compare(a.Name, b.Name) })
	addTSAs(&b, ts)
	out, err := b.Bytes()
	if err != nil {
		return crypto.Hash{}, fmt.Errorf("encode the roster for its digest: %w", err)
	}
	return crypto.SM3(out), nil
}
