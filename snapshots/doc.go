// Package snapshots takes, keeps, serves and restores snapshots of a node's
// committed state, for CometBFT state sync: the ABCI methods ListSnapshots,
// LoadSnapshotChunk, OfferSnapshot and ApplySnapshotChunk (package abci
// translates them to a Manager).
//
// # Taking snapshots
//
// After the Commit of every height that is a multiple of the configured
// interval, the Manager pins a consistent read-only view of the store at
// that height (store.Snapshot: a Badger read transaction, taken at once)
// and writes it out in the background, never on the consensus path: every
// pair of the store's state in key order (store.Snapshot.Export), cut into
// chunks of about the configured size, into
//
//	HOME/data/snapshots/HEIGHT/metadata       the Metadata (below)
//	HOME/data/snapshots/HEIGHT/chunk-000000   the chunks, in order
//
// A snapshot is written under .HEIGHT.partial and renamed into place once
// every file is synced, so a listed snapshot is always complete; leftovers
// are removed at start. The latest Keep snapshots are kept. At most one is
// written at a time: a snapshot due while the one before is still being
// written is skipped, with a warning.
//
// A snapshot is a function of the committed state alone: two nodes at the
// same height, with the same chunk size, write byte-identical snapshots,
// so a joining node can fetch the chunks of one snapshot from several
// members.
//
// # Format 1
//
// All integers big-endian and fixed width.
//
//	Metadata = u8 1 ‖ u8-prefixed chain id ‖ u64 height ‖ 32-byte app hash ‖
//	           i64 block time (Unix ns) ‖ u32 store schema version ‖
//	           u64 pair count ‖ u32 chunk count (1..MaxChunks) ‖
//	           chunk count × 32-byte SM3 of each chunk
//	Chunk    = u8 1 ‖ one or more (u16 key length ‖ key ‖ u32 value length ‖ value)
//
// Keys are the store's keys outside its reserved range (they never start
// with 0x00), strictly ascending within a chunk and from one chunk to the
// next; a chunk ends before the pair that would take it beyond the chunk
// size, so only a single pair larger than that makes a larger chunk (at
// most MaxChunkBytes, within CometBFT's chunk message). The snapshot's ABCI
// hash is SM3 of the chunk hashes concatenated in order; its ABCI metadata
// is the encoded Metadata. Decoders check every length against the bytes
// left before they allocate, and reject trailing bytes and non-canonical
// input.
//
// # Restoring (a joining node)
//
// Offer accepts a snapshot only of Format, whose metadata decodes, names
// this chain and this binary's store schema, agrees with the ABCI fields
// (height, chunk count, hash) and claims the app hash that CometBFT's light
// client trusts for that height; it then starts a store.Restore into the
// node's empty store. ApplyChunk checks each chunk's SM3 against the
// metadata before it decodes or writes anything (a mismatch: the chunk is
// fetched again, from another member, and its sender is refused), then
// writes its pairs. After the last chunk it checks the restored state
// before committing it: ledger.VerifyLog recomputes the whole log (every
// entry, every stored Merkle hash, the root) and the app hash from the
// log's head (size, root and the state digest it stores) must be the
// trusted one; the chain id, the pair count, and the block record of the
// height (its time and log size) must match the metadata. Only then is the
// state committed at the snapshot's height, with its app hash and block
// time; anything else discards it and CometBFT tries another snapshot.
//
// What the app hash cannot vouch for: the state digest is a running hash
// over every block's changes, so consensus state outside the log (members,
// keys, node ids, chains, grants, checkpoints) is checked only as far as
// the digest the log's head stores. It is taken from the members that
// serve the snapshot (the peer filter admits only the roster's nodes), and
// a difference that ever matters to a block changes that block's app hash,
// which stops the node.
package snapshots
