package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger/merkle"
)

// hasher is RFC 9162 hashing with SM3.
var hasher = merkle.NewHasher(crypto.NewSM3)

// logMeta is the head of the evidence log plus the state digest.
type logMeta struct {
	Size   uint64
	Root   crypto.Hash
	Digest crypto.Hash // running SM3 over every block's consensus-state changes
}

func (m logMeta) encode() []byte {
	b := u64(m.Size)
	b = append(b, m.Root[:]...)
	return append(b, m.Digest[:]...)
}

func decodeLogMeta(v []byte) (logMeta, error) {
	if len(v) != 8+2*crypto.HashSize {
		return logMeta{}, fmt.Errorf("%w: log meta is %d bytes", ErrStoreCorrupt, len(v))
	}
	var m logMeta
	m.Size = binary.BigEndian.Uint64(v)
	copy(m.Root[:], v[8:])
	copy(m.Digest[:], v[8+crypto.HashSize:])
	return m, nil
}

// AppHash returns the application hash committed by CometBFT:
// SM3("evidenced/apphash/v1" ‖ u64 log size ‖ log root ‖ state digest).
func (m logMeta) AppHash() crypto.Hash {
	return crypto.SM3([]byte("evidenced/apphash/v1"), u64(m.Size), m.Root[:], m.Digest[:])
}

// memberRecord is the stored form of a member: u8 role ‖ u64 power ‖
// u64 registration entry ‖ u8 key count ‖ keys (65 bytes each) ‖
// u8-prefixed peer ‖ u8 count ‖ u8-prefixed addresses.
type memberRecord struct {
	Name  string
	Role  Role
	Power uint64
	Entry uint64
	Keys  []*crypto.PublicKey
	Peer  string
	Addrs []string
}

func (m *memberRecord) encode() []byte {
	var b cryptobyte.Builder
	b.AddUint8(uint8(m.Role))
	b.AddUint64(m.Power)
	b.AddUint64(m.Entry)
	b.AddUint8(uint8(len(m.Keys)))
	for _, k := range m.Keys {
		b.AddBytes(k.Bytes())
	}
	addString8(&b, m.Peer)
	b.AddUint8(uint8(len(m.Addrs)))
	for _, a := range m.Addrs {
		addString8(&b, a)
	}
	return b.BytesOrPanic()
}

func decodeMemberRecord(name string, v []byte) (*memberRecord, error) {
	s := cryptobyte.String(v)
	m := &memberRecord{Name: name}
	var role, n uint8
	if !s.ReadUint8(&role) || !s.ReadUint64(&m.Power) || !s.ReadUint64(&m.Entry) || !s.ReadUint8(&n) {
		return nil, fmt.Errorf("%w: member %s record does not decode", ErrStoreCorrupt, name)
	}
	m.Role = Role(role)
	for i := 0; i < int(n); i++ {
		var kb []byte
		if !s.ReadBytes(&kb, crypto.PublicKeySize) {
			return nil, fmt.Errorf("%w: member %s key %d is truncated", ErrStoreCorrupt, name, i)
		}
		k, err := crypto.ParsePublicKey(kb)
		if err != nil {
			return nil, fmt.Errorf("%w: member %s key %d: %v", ErrStoreCorrupt, name, i, err)
		}
		m.Keys = append(m.Keys, k)
	}
	var na uint8
	if !readString8(&s, &m.Peer) || !s.ReadUint8(&na) {
		return nil, fmt.Errorf("%w: member %s peer is truncated", ErrStoreCorrupt, name)
	}
	for i := 0; i < int(na); i++ {
		var a string
		if !readString8(&s, &a) {
			return nil, fmt.Errorf("%w: member %s address %d is truncated", ErrStoreCorrupt, name, i)
		}
		m.Addrs = append(m.Addrs, a)
	}
	if !s.Empty() {
		return nil, fmt.Errorf("%w: member %s record has trailing bytes", ErrStoreCorrupt, name)
	}
	return m, nil
}

// encodeNodeMember is the value of a node id's key ('N'): the u8-prefixed
// name of the member whose node it is.
func encodeNodeMember(name string) []byte {
	var b cryptobyte.Builder
	addString8(&b, name)
	return b.BytesOrPanic()
}

func decodeNodeMember(v []byte) (string, error) {
	s := cryptobyte.String(v)
	var name string
	if !readString8(&s, &name) || !s.Empty() {
		return "", fmt.Errorf("%w: node record does not decode", ErrStoreCorrupt)
	}
	return name, nil
}

// signer is a registered key and the member it belongs to.
type signer struct {
	Member string
	Key    *crypto.PublicKey
}

// chainHead is the stored head of an evidence chain: u8-prefixed owner ‖
// u32 last step ‖ last leaf hash ‖ u64 last entry.
type chainHead struct {
	Owner     string
	Step      uint32
	LeafHash  crypto.Hash
	LastEntry uint64
}

func (c *chainHead) encode() []byte {
	var b cryptobyte.Builder
	addString8(&b, c.Owner)
	b.AddUint32(c.Step)
	b.AddBytes(c.LeafHash[:])
	b.AddUint64(c.LastEntry)
	return b.BytesOrPanic()
}

func decodeChainHead(v []byte) (*chainHead, error) {
	s := cryptobyte.String(v)
	c := &chainHead{}
	if !readString8(&s, &c.Owner) || !s.ReadUint32(&c.Step) || !s.CopyBytes(c.LeafHash[:]) || !s.ReadUint64(&c.LastEntry) || !s.Empty() {
		return nil, fmt.Errorf("%w: evidence-chain head does not decode", ErrStoreCorrupt)
	}
	return c, nil
}

// state stages the changes of one block over committed state. Reads see
// staged writes first. Nothing here iterates a map in an order that matters:
// changes are sorted by key when the block ends.
type state struct {
	r       Reader
	writes  map[string][]byte
	deleted map[string]bool // keys removed in this block (never also in writes)
	params  *Params
	meta    logMeta
	signers map[crypto.KeyID]*signer // read-through cache of 'K' (keys never change inside a block)

	checkpointSeen bool // a checkpoint transaction was accepted in this block
	records        int  // evidence records accepted in this block
	cost           int  // Body.WriteCost of the transactions accepted in this block

	// Check of a bundle stages nothing; these stand in for what its earlier
	// inner transactions would have staged.
	checkedTxs     map[crypto.Hash]bool
	checkedChains  map[string]bool
	checkedVotes   map[voteKey]bool
	checkedStamps  map[uint64]bool      // checkpoint heights stamped
	checkedSerials map[crypto.Hash]bool // token replay keys

	// validatorUpdates are the consensus engine's validator changes of a
	// roster version that took effect in this block.
	validatorUpdates []ValidatorUpdate
}

func newState(r Reader) *state {
	return &state{r: r, writes: map[string][]byte{}, deleted: map[string]bool{}, signers: map[crypto.KeyID]*signer{}}
}

// load reads the params and log meta. ok is false on a chain not yet
// initialised.
func (s *state) load() (ok bool, err error) {
	v, found, err := s.get(key1(prefixParams))
	if err != nil || !found {
		return false, err
	}
	if s.params, err = decodeParams(v); err != nil {
		return false, err
	}
	v, found, err = s.get(key1(prefixLogMeta))
	if err != nil {
		return false, err
	}
	if !found {
		return false, fmt.Errorf("%w: params present but log meta missing", ErrStoreCorrupt)
	}
	s.meta, err = decodeLogMeta(v)
	return err == nil, err
}

func (s *state) get(k []byte) ([]byte, bool, error) {
	if v, ok := s.writes[string(k)]; ok {
		return v, true, nil
	}
	if s.deleted[string(k)] {
		return nil, false, nil
	}
	v, found, err := s.r.Get(k)
	if err != nil {
		return nil, false, fmt.Errorf("read state key %q: %w", k, err)
	}
	return v, found, nil
}

func (s *state) has(k []byte) (bool, error) {
	_, found, err := s.get(k)
	return found, err
}

func (s *state) set(k, v []byte) {
	s.writes[string(k)] = v
	delete(s.deleted, string(k))
}

// del removes key k.
func (s *state) del(k []byte) {
	delete(s.writes, string(k))
	s.deleted[string(k)] = true
}

// ReadHashes implements merkle.HashReader over staged and committed hashes.
func (s *state) ReadHashes(indexes []int64) ([][]byte, error) {
	out := make([][]byte, len(indexes))
	for i, idx := range indexes {
		v, found, err := s.get(keyU64(prefixHash, uint64(idx)))
		if err != nil {
			return nil, err
		}
		if !found || len(v) != crypto.HashSize {
			return nil, fmt.Errorf("%w: Merkle stored hash %d is missing", ErrStoreCorrupt, idx)
		}
		out[i] = bytes.Clone(v)
	}
	return out, nil
}

// appendEntry appends entry bytes to the log and returns its index and leaf hash.
func (s *state) appendEntry(entry []byte) (uint64, crypto.Hash, error) {
	n := s.meta.Size
	leaf := LeafHash(entry)
	hashes, err := hasher.StoredHashesForLeafHash(int64(n), leaf[:], s)
	if err != nil {
		return 0, crypto.Hash{}, fmt.Errorf("append log entry %d: %w", n, err)
	}
	base := merkle.StoredHashIndex(0, int64(n))
	for i, h := range hashes {
		s.set(keyU64(prefixHash, uint64(base)+uint64(i)), h)
	}
	s.set(keyU64(prefixEntry, n), entry)
	s.meta.Size = n + 1
	return n, leaf, nil
}

// signer returns the registered key with the given id, or nil.
func (s *state) signer(id crypto.KeyID) (*signer, error) {
	if sg, ok := s.signers[id]; ok {
		return sg, nil
	}
	v, found, err := s.get(keyBytes(prefixKey, id[:]))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, nil
	}
	c := cryptobyte.String(v)
	var name string
	var kb []byte
	if !readString8(&c, &name) || !c.ReadBytes(&kb, crypto.PublicKeySize) || !c.Empty() {
		return nil, fmt.Errorf("%w: key %s record does not decode", ErrStoreCorrupt, id.Short())
	}
	k, err := crypto.ParsePublicKey(kb)
	if err != nil {
		return nil, fmt.Errorf("%w: key %s: %v", ErrStoreCorrupt, id.Short(), err)
	}
	sg := &signer{Member: name, Key: k}
	s.signers[id] = sg
	return sg, nil
}

func (s *state) member(name string) (*memberRecord, error) {
	v, found, err := s.get(keyString8(prefixMember, name))
	if err != nil || !found {
		return nil, err
	}
	return decodeMemberRecord(name, v)
}

func (s *state) chainHead(chain string) (*chainHead, error) {
	v, found, err := s.get(keyString8(prefixChain, chain))
	if err != nil || !found {
		return nil, err
	}
	return decodeChainHead(v)
}

// deletedLen stands for the value length of a removed key in the state
// digest: no value can be that long.
const deletedLen = 0xFFFFFFFF

// finish closes the block: it folds the consensus-state changes into the
// state digest, computes the log root and returns the sorted change set.
func (s *state) finish() ([]KV, error) {
	keys := make([]string, 0, len(s.writes)+len(s.deleted)+1)
	for k := range s.writes {
		keys = append(keys, k)
	}
	for k := range s.deleted {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	d := crypto.NewSM3()
	d.Write([]byte("evidenced/state/v1"))
	d.Write(s.meta.Digest[:])
	consensus := 0
	for _, k := range keys {
		if !consensusKey([]byte(k)) {
			continue
		}
		consensus++
		v := s.writes[k]
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], uint32(len(k)))
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(v)))
		if s.deleted[k] {
			binary.BigEndian.PutUint32(hdr[4:], deletedLen) // no value follows
		}
		d.Write(hdr[:])
		d.Write([]byte(k))
		d.Write(v)
	}
	if consensus > 0 {
		copy(s.meta.Digest[:], d.Sum(nil))
	}
	root, err := hasher.TreeHash(int64(s.meta.Size), s)
	if err != nil {
		return nil, fmt.Errorf("compute log root at size %d: %w", s.meta.Size, err)
	}
	copy(s.meta.Root[:], root)
	s.set(key1(prefixLogMeta), s.meta.encode())
	if !slices.Contains(keys, string(key1(prefixLogMeta))) {
		keys = append(keys, string(key1(prefixLogMeta)))
		slices.Sort(keys)
	}
	out := make([]KV, len(keys))
	for i, k := range keys {
		out[i] = KV{Key: []byte(k), Value: s.writes[k], Delete: s.deleted[k]}
	}
	return out, nil
}
