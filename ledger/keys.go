package ledger

import "encoding/binary"

// State key layout. Every key is a one-byte prefix followed by fixed-width
// big-endian integers or length-prefixed strings, so Badger order is numeric
// order. Prefix 0x00 is reserved for the storage layer.
//
// Consensus state (covered by the state digest in the app hash) uses
// upper-case prefixes; query indexes use lower-case prefixes and are not in
// the app hash, so new indexes can be added without a coordinated upgrade.
//
//	'P'                               → Params
//	'L'                               → log meta: size u64 ‖ root ‖ state digest
//	'E' ‖ index u64                   → entry bytes (committed by the log root)
//	'H' ‖ stored-hash index u64       → Merkle stored hash (committed by the log root)
//	'T' ‖ tx id                       → entry index u64
//	'M' ‖ name                        → member record
//	'K' ‖ key id                      → member name
//	'N' ‖ node id (20 bytes)          → u8-prefixed member name (its consensus node)
//	'V' ‖ version u32                 → roster version (roster_versions.go)
//	'U', 'Q'                          → version u32: the newest roster version; the one in force
//	'J' ‖ key id                      → u8-prefixed member name (every key ever registered)
//	'G' ‖ proposal entry u64          → proposal record (tx_propose.go)
//	'Y' ‖ proposal u64 ‖ u8-prefixed member → u8 decision ‖ u64 vote entry
//	'C' ‖ chain id                    → evidence-chain head
//	'S' ‖ u8 len ‖ chain id ‖ step u32 → RecordRef (entry u64 ‖ pos u16)
//	'c' ‖ commitment ‖ entry u64 ‖ pos u16 → empty
//	'm' ‖ u8 len ‖ member ‖ entry u64 → empty
//	'a' ‖ target entry u64 ‖ target pos u16 ‖ attestation entry u64 → empty
//	'B' ‖ height u64                  → log size u64 ‖ block time i64 after that block
//	'X' ‖ height u64                  → co-signatures of the checkpoint after that block
//	'Z'                               → height u64 ‖ size u64 of the last trusted checkpoint
//	'W'                               → total voting power u64
//	'y' ‖ size u64 ‖ height u64       → empty (trusted checkpoints by tree size)
//	'R' ‖ u8-prefixed TSA name        → TSA in force (tsas.go)
//	'D' ‖ checkpoint height u64       → u64 timestamp entry ‖ u64 tree size (tx_timestamp.go)
//	'I' ‖ SM3(u8-prefixed TSA name ‖ serial) → u64 timestamp entry (token replays)
//	'd' ‖ size u64 ‖ height u64       → empty (stamped checkpoints by tree size)
//	'F' ‖ request entry u64           → request record (requests.go)
//	'q' ‖ u8-prefixed requester ‖ request entry u64 → empty (requests a member filed)
//	'o' ‖ u8-prefixed owner ‖ request entry u64 → empty (requests for a member's records)
const (
	prefixParams      = 'P'
	prefixLogMeta     = 'L'
	prefixEntry       = 'E'
	prefixHash        = 'H'
	prefixTxID        = 'T'
	prefixMember      = 'M'
	prefixKey         = 'K'
	prefixNode        = 'N'
	prefixChain       = 'C'
	prefixStep        = 'S'
	prefixCommitment  = 'c'
	prefixMemberEntry = 'm'
	prefixAttested    = 'a'

	prefixBlock            = 'B' // 'B' ‖ height u64 → log size u64 ‖ block time i64
	prefixCheckpoint       = 'X' // 'X' ‖ height u64 → co-signatures of the checkpoint after that block
	prefixLatestCheckpoint = 'Z' // 'Z' → height u64 ‖ size u64 of the last trusted checkpoint
	prefixTotalPower       = 'W' // 'W' → total voting power u64
	prefixCheckpointBySize = 'y' // 'y' ‖ size u64 ‖ height u64 → empty (query index)
	prefixRecords          = 'n' // 'n' → evidence records accepted since genesis u64
	prefixGrant            = 'g' // 'g' ‖ grant entry u64 → grantRecord
	prefixGrantOf          = 'r' // 'r' ‖ u8-prefixed grantee ‖ record ref ‖ grant entry u64 → empty
	prefixCustody          = 'A' // 'A' ‖ record ref ‖ entry u64 → empty (query index: grants and accesses of a record)
	prefixCipher           = 'x' // 'x' ‖ cipher address ‖ record ref → empty (query index: records of a kept original)
	prefixVersion          = 'V' // 'V' ‖ version u32 → roster version
	prefixLatestVersion    = 'U' // 'U' → version u32: the newest roster version, pending or in force
	prefixCurrentVersion   = 'Q' // 'Q' → version u32: the roster version in force
	prefixEverKey          = 'J' // 'J' ‖ key id → u8-prefixed member name: every key ever registered
	prefixProposal         = 'G' // 'G' ‖ proposal entry u64 → proposal record
	prefixVote             = 'Y' // 'Y' ‖ proposal entry u64 ‖ u8-prefixed member → vote record
	prefixTSA              = 'R' // 'R' ‖ u8-prefixed TSA name → TSA in force (the roster version in force's TSAs)
	prefixTimestamp        = 'D' // 'D' ‖ checkpoint height u64 → u64 timestamp entry ‖ u64 checkpoint tree size
	prefixStampSerial      = 'I' // 'I' ‖ SM3(u8-prefixed TSA name ‖ serial bytes) → u64 timestamp entry
	prefixStampBySize      = 'd' // 'd' ‖ size u64 ‖ height u64 → empty (query index: stamped checkpoints by size)
	prefixRequest          = 'F' // 'F' ‖ request entry u64 → request record
	prefixRequestBy        = 'q' // 'q' ‖ u8-prefixed requester ‖ request entry u64 → empty (query index)
	prefixRequestTo        = 'o' // 'o' ‖ u8-prefixed owner ‖ request entry u64 → empty (query index)
)

// consensusKey reports whether a key belongs to consensus state hashed into
// the state digest.
func consensusKey(k []byte) bool {
	switch k[0] {
	case prefixParams, prefixTxID, prefixMember, prefixKey, prefixNode, prefixChain, prefixStep,
		prefixBlock, prefixCheckpoint, prefixLatestCheckpoint, prefixTotalPower, prefixRecords,
		prefixGrant, prefixGrantOf, prefixVersion, prefixLatestVersion, prefixCurrentVersion, prefixEverKey,
		prefixProposal, prefixVote, prefixTSA, prefixTimestamp, prefixStampSerial, prefixRequest:
		return true
	}
	return false
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func key1(p byte) []byte { return []byte{p} }

func keyU64(p byte, v uint64) []byte { return binary.BigEndian.AppendUint64([]byte{p}, v) }

func keyBytes(p byte, b []byte) []byte { return append([]byte{p}, b...) }

func keyString8(p byte, s string) []byte {
	k := make([]byte, 0, 2+len(s))
	k = append(k, p, byte(len(s)))
	return append(k, s...)
}

func keyNode(id NodeID) []byte { return keyBytes(prefixNode, id[:]) }

func keyStep(chain string, step uint32) []byte {
	return binary.BigEndian.AppendUint32(keyString8(prefixStep, chain), step)
}

func keyCommitment(c []byte, ref RecordRef) []byte {
	k := keyBytes(prefixCommitment, c)
	k = binary.BigEndian.AppendUint64(k, ref.Index)
	return binary.BigEndian.AppendUint16(k, ref.Pos)
}

func keyMemberEntry(name string, index uint64) []byte {
	return binary.BigEndian.AppendUint64(keyString8(prefixMemberEntry, name), index)
}

// keyRef is p ‖ u64 entry ‖ u16 position: the prefix of a per-record index.
func keyRef(p byte, ref RecordRef) []byte {
	return binary.BigEndian.AppendUint16(keyU64(p, ref.Index), ref.Pos)
}

func keyAttested(target RecordRef, attest uint64) []byte {
	return binary.BigEndian.AppendUint64(keyRef(prefixAttested, target), attest)
}

func encodeRef(r RecordRef) []byte {
	return binary.BigEndian.AppendUint16(u64(r.Index), r.Pos)
}

func decodeRef(b []byte) (RecordRef, bool) {
	if len(b) != 10 {
		return RecordRef{}, false
	}
	return RecordRef{Index: binary.BigEndian.Uint64(b), Pos: binary.BigEndian.Uint16(b[8:])}, true
}
