package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/evidenced/evidenced/crypto"
)

// ErrNotFound is returned by View queries when the thing asked for does not
// exist in committed state.
var ErrNotFound = errors.New("not found")

// View answers queries over committed state. It never writes. Use it with a
// consistent snapshot (store.Snapshot) so that several reads agree.
type View struct {
	r Reader
	s *state
}

// NewView returns a View over r.
func NewView(r Reader) *View { return &View{r: r, s: newState(r)} }

// Params returns the chain parameters.
func (v *View) Params() (*Params, error) {
	ok, err := v.s.load()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotInitialized
	}
	return v.s.params, nil
}

// LogHead is the committed size and root of the evidence log and the app
// hash that commits to them.
type LogHead struct {
	Size    uint64
	Root    crypto.Hash
	AppHash crypto.Hash
	Records uint64 // evidence records accepted since genesis (a batch counts each record)
}

// Head returns the committed log head.
func (v *View) Head() (LogHead, error) {
	if _, err := v.Params(); err != nil {
		return LogHead{}, err
	}
	m := v.s.meta
	n, found, err := v.s.get(key1(prefixRecords))
	if err != nil {
		return LogHead{}, err
	}
	head := LogHead{Size: m.Size, Root: m.Root, AppHash: m.AppHash()}
	if found {
		if len(n) != 8 {
			return LogHead{}, fmt.Errorf("%w: records counter is %d bytes", ErrStoreCorrupt, len(n))
		}
		head.Records = binary.BigEndian.Uint64(n)
	}
	return head, nil
}

// EntryBytes returns the exact bytes of log entry index (the Merkle leaf data).
func (v *View) EntryBytes(index uint64) ([]byte, error) {
	b, found, err := v.r.Get(keyU64(prefixEntry, index))
	if err != nil {
		return nil, fmt.Errorf("read entry %d: %w", index, err)
	}
	if !found {
		return nil, fmt.Errorf("entry %d: %w", index, ErrNotFound)
	}
	return b, nil
}

// Entry returns log entry index decoded, with its transaction.
func (v *View) Entry(index uint64) (*Entry, *Tx, error) {
	b, err := v.EntryBytes(index)
	if err != nil {
		return nil, nil, err
	}
	e, err := DecodeEntry(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry %d: %v", ErrStoreCorrupt, index, err)
	}
	tx, err := DecodeTx(e.TxBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry %d tx: %v", ErrStoreCorrupt, index, err)
	}
	return e, tx, nil
}

// IndexOfTx returns the entry index of an accepted transaction.
func (v *View) IndexOfTx(id crypto.Hash) (uint64, error) {
	b, found, err := v.r.Get(keyBytes(prefixTxID, id[:]))
	if err != nil {
		return 0, fmt.Errorf("look up tx %s: %w", id, err)
	}
	if !found {
		return 0, fmt.Errorf("tx %s: %w", id, ErrNotFound)
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: tx index value is %d bytes", ErrStoreCorrupt, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// Record returns the record ref names, with its entry.
func (v *View) Record(ref RecordRef) (*Record, *Entry, *Tx, error) {
	e, tx, err := v.Entry(ref.Index)
	if err != nil {
		return nil, nil, nil, err
	}
	recs := tx.Body.EvidenceRecords()
	if int(ref.Pos) >= len(recs) {
		return nil, nil, nil, fmt.Errorf("record %d/%d: %w", ref.Index, ref.Pos, ErrNotFound)
	}
	return &recs[ref.Pos], e, tx, nil
}

// ByCommitment returns up to limit records carrying commitment c, oldest first.
func (v *View) ByCommitment(c crypto.Hash, limit int) ([]RecordRef, error) {
	return v.refsUnder(keyBytes(prefixCommitment, c[:]), limit, "commitment "+c.String())
}

// refsUnder returns up to limit record refs that end the index keys
// starting with prefix, in key order.
func (v *View) refsUnder(prefix []byte, limit int, what string) ([]RecordRef, error) {
	kvs, err := v.r.Scan(prefix, nil, limit)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", what, err)
	}
	out := make([]RecordRef, 0, len(kvs))
	for _, kv := range kvs {
		ref, ok := decodeRef(kv.Key[len(prefix):])
		if !ok {
			return nil, fmt.Errorf("%w: %s index key", ErrStoreCorrupt, what)
		}
		out = append(out, ref)
	}
	return out, nil
}

// ChainInfo is the head of an evidence chain.
type ChainInfo struct {
	ID       string
	Owner    string
	Steps    uint32
	LeafHash crypto.Hash // of the entry holding the last step: the next step's Prev
	Last     uint64      // entry index of the last step
}

// Chain returns the head of evidence chain id.
func (v *View) Chain(id string) (*ChainInfo, error) {
	b, found, err := v.r.Get(keyString8(prefixChain, id))
	if err != nil {
		return nil, fmt.Errorf("read evidence chain %s: %w", id, err)
	}
	if !found {
		return nil, fmt.Errorf("evidence chain %s: %w", id, ErrNotFound)
	}
	h, err := decodeChainHead(b)
	if err != nil {
		return nil, err
	}
	return &ChainInfo{ID: id, Owner: h.Owner, Steps: h.Step, LeafHash: h.LeafHash, Last: h.LastEntry}, nil
}

// ChainSteps returns up to limit steps of evidence chain id, in step order,
// starting at step from (1 for the beginning).
func (v *View) ChainSteps(id string, from uint32, limit int) ([]RecordRef, error) {
	if len(id) > MaxChainIDLen {
		return nil, fmt.Errorf("evidence chain %s: %w", id, ErrNotFound)
	}
	prefix := keyString8(prefixStep, id)
	kvs, err := v.r.Scan(prefix, keyStep(id, from), limit)
	if err != nil {
		return nil, fmt.Errorf("scan evidence chain %s: %w", id, err)
	}
	out := make([]RecordRef, 0, len(kvs))
	for _, kv := range kvs {
		ref, ok := decodeRef(kv.Value)
		if !ok {
			return nil, fmt.Errorf("%w: step index value", ErrStoreCorrupt)
		}
		out = append(out, ref)
	}
	return out, nil
}

// MemberEntries returns up to limit entry indexes submitted by member name
// (its genesis registration included), from entry index from on.
func (v *View) MemberEntries(name string, from uint64, limit int) ([]uint64, error) {
	return v.entriesUnder(keyString8(prefixMemberEntry, name), keyMemberEntry(name, from), limit, "entries of "+name)
}

// Attestations returns up to limit entry indexes of attestations naming ref.
func (v *View) Attestations(ref RecordRef, limit int) ([]uint64, error) {
	return v.entriesUnder(keyRef(prefixAttested, ref), nil, limit, fmt.Sprintf("attestations of %d.%d", ref.Index, ref.Pos))
}

// entriesUnder returns up to limit entry indexes that end the index keys
// starting with prefix (from start on, when set), in key order.
func (v *View) entriesUnder(prefix, start []byte, limit int, what string) ([]uint64, error) {
	kvs, err := v.r.Scan(prefix, start, limit)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", what, err)
	}
	out := make([]uint64, 0, len(kvs))
	for _, kv := range kvs {
		if len(kv.Key) != len(prefix)+8 {
			return nil, fmt.Errorf("%w: %s index key", ErrStoreCorrupt, what)
		}
		out = append(out, binary.BigEndian.Uint64(kv.Key[len(prefix):]))
	}
	return out, nil
}

// MemberInfo is a registered member.
type MemberInfo struct {
	Name  string
	Role  Role
	Power uint64
	Entry uint64 // its genesis registration entry
	Keys  []*crypto.PublicKey
	Peer  string   // libp2p peer id of its node; empty if it keeps no originals
	Addrs []string // libp2p multiaddrs of its node
}

// Member returns the member called name.
func (v *View) Member(name string) (*MemberInfo, error) {
	m, err := v.s.member(name)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("member %s: %w", name, ErrNotFound)
	}
	return &MemberInfo{Name: m.Name, Role: m.Role, Power: m.Power, Entry: m.Entry, Keys: m.Keys, Peer: m.Peer, Addrs: m.Addrs}, nil
}

// MemberByKey returns the member holding key id.
func (v *View) MemberByKey(id crypto.KeyID) (*MemberInfo, error) {
	sg, err := v.s.signer(id)
	if err != nil {
		return nil, err
	}
	if sg == nil {
		return nil, fmt.Errorf("key %s: %w", id.Short(), ErrNotFound)
	}
	return v.Member(sg.Member)
}

// MemberByNode returns the member whose consensus node has id id: a
// current member's node, which may connect to the alliance's nodes. It
// returns ErrNotFound for any other node, and ErrNotInitialized before
// genesis is committed.
func (v *View) MemberByNode(id NodeID) (*MemberInfo, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	b, found, err := v.r.Get(keyNode(id))
	if err != nil {
		return nil, fmt.Errorf("look up node %s: %w", id, err)
	}
	if !found {
		return nil, fmt.Errorf("node %s is no member's node: %w", id, ErrNotFound)
	}
	name, err := decodeNodeMember(b)
	if err != nil {
		return nil, err
	}
	return v.Member(name)
}

// Members returns every member in name order.
func (v *View) Members() ([]*MemberInfo, error) {
	kvs, err := v.r.Scan(key1(prefixMember), nil, 1<<16)
	if err != nil {
		return nil, fmt.Errorf("scan members: %w", err)
	}
	out := make([]*MemberInfo, 0, len(kvs))
	for _, kv := range kvs {
		if len(kv.Key) < 2 || int(kv.Key[1]) != len(kv.Key)-2 {
			return nil, fmt.Errorf("%w: member key", ErrStoreCorrupt)
		}
		m, err := decodeMemberRecord(string(kv.Key[2:]), kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, &MemberInfo{Name: m.Name, Role: m.Role, Power: m.Power, Entry: m.Entry, Keys: m.Keys, Peer: m.Peer, Addrs: m.Addrs})
	}
	// Keys are length-prefixed, so store order is by length first.
	slices.SortFunc(out, func(a, b *MemberInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// RootAt returns the log root at a size no larger than the committed size.
func (v *View) RootAt(size uint64) (crypto.Hash, error) {
	head, err := v.Head()
	if err != nil {
		return crypto.Hash{}, err
	}
	if size > head.Size {
		return crypto.Hash{}, fmt.Errorf("tree size %d is beyond the committed log size %d", size, head.Size)
	}
	root, err := hasher.TreeHash(int64(size), v.s)
	if err != nil {
		return crypto.Hash{}, fmt.Errorf("root at size %d: %w", size, err)
	}
	return crypto.Hash(root), nil
}

// InclusionProof returns the RFC 9162 inclusion proof of entry index in the
// tree of the given size.
func (v *View) InclusionProof(index, size uint64) ([][]byte, error) {
	head, err := v.Head()
	if err != nil {
		return nil, err
	}
	if index >= size || size > head.Size {
		return nil, fmt.Errorf("inclusion proof of entry %d in tree size %d: need index < size <= %d", index, size, head.Size)
	}
	return hasher.InclusionProof(int64(index), int64(size), v.s)
}

// ConsistencyProof returns the RFC 9162 consistency proof between two tree sizes.
func (v *View) ConsistencyProof(size1, size2 uint64) ([][]byte, error) {
	head, err := v.Head()
	if err != nil {
		return nil, err
	}
	if size1 == 0 || size1 > size2 || size2 > head.Size {
		return nil, fmt.Errorf("consistency proof from %d to %d: need 0 < from <= to <= %d", size1, size2, head.Size)
	}
	return hasher.ConsistencyProof(int64(size1), int64(size2), v.s)
}

// VerifyInclusion checks an RFC 9162 SM3 inclusion proof of entry bytes.
func VerifyInclusion(entry []byte, index, size uint64, proof [][]byte, root crypto.Hash) error {
	leaf := LeafHash(entry)
	return hasher.VerifyInclusion(int64(index), int64(size), leaf[:], proof, root[:])
}

// VerifyConsistency checks an RFC 9162 SM3 consistency proof.
func VerifyConsistency(size1, size2 uint64, proof [][]byte, root1, root2 crypto.Hash) error {
	return hasher.VerifyConsistency(int64(size1), int64(size2), proof, root1[:], root2[:])
}

// BlockInfo is what the ledger keeps of one committed block: its time and
// the range of log entries it appended, [First, Size). Height 0 is the
// genesis registrations.
type BlockInfo struct {
	Height int64
	Time   int64  // block time, Unix ns
	First  uint64 // index of the block's first entry: the log size before it
	Size   uint64 // log size after the block
}

// Block returns what the ledger keeps of the block at height; ErrNotFound
// when no block of that height is committed.
func (v *View) Block(height int64) (*BlockInfo, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	size, t, ok, err := v.s.blockAt(height)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("block %d: %w", height, ErrNotFound)
	}
	b := &BlockInfo{Height: height, Time: t, Size: size}
	if height > 0 {
		prev, _, ok, err := v.s.blockAt(height - 1)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: block %d is committed but block %d is not", ErrStoreCorrupt, height, height-1)
		}
		b.First = prev
	}
	if b.First > b.Size {
		return nil, fmt.Errorf("%w: block %d ends at entry %d before it begins at %d", ErrStoreCorrupt, height, b.Size, b.First)
	}
	return b, nil
}

// SignerName returns the member that signed tx: the registered holder of
// its signer key, or for a genesis registration the member it registers.
// It returns "" for a key no longer registered.
func (v *View) SignerName(tx *Tx) (string, error) {
	if r, ok := tx.Body.Payload.(interface{ signedBy() string }); ok {
		return r.signedBy(), nil
	}
	if tx.Body.Signer == (crypto.KeyID{}) {
		return "", nil
	}
	m, err := v.MemberByKey(tx.Body.Signer)
	if errors.Is(err, ErrNotFound) {
		// A key no longer registered: the member it was registered to.
		b, found, err := v.r.Get(keyBytes(prefixEverKey, tx.Body.Signer[:]))
		if err != nil || !found {
			return "", err
		}
		return decodeNodeMember(b)
	}
	if err != nil {
		return "", fmt.Errorf("signer of tx %s: %w", tx.ID(), err)
	}
	return m.Name, nil
}
