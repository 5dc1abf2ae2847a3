// Package store keeps a node's committed application state in Badger
// (github.com/dgraph-io/badger/v4) and serves it to package ledger through
// the ledger.Reader contract.
//
// # Key layout
//
// Every key is a one-byte prefix followed by fixed-width big-endian integers
// (or length-prefixed strings), so Badger's byte order is numeric order. The
// prefixes 0x01–0xff belong to package ledger (see ledger/keys.go). Prefix
// 0x00 is reserved for this package; a [Commit] whose changes touch it is
// rejected with [ErrReservedKey], and [DB.Get]/[DB.Scan] refuse it too:
//
//	0x00 0x01 → schema version, u32 big-endian (SchemaVersion)
//	0x00 0x02 → chain id, the bytes of Options.ChainID
//	0x00 0x03 → committed height, u64 big-endian
//	0x00 0x04 → app hash of the committed height
//	0x00 0x05 → block time of the committed height, Unix nanoseconds, u64 big-endian
//	0x00 0x06 → empty: a restore is in progress (see [DB.BeginRestore])
//
// The schema version and chain id are written by the first [Open] and
// checked by every later one ([ErrSchemaMismatch], [ErrChainMismatch]).
//
// # Crash guarantees
//
// [DB.Commit] writes all of a block's changes together with the committed
// height, app hash and block time ([Commit].Time) in one Badger read-write
// transaction.
// Badger writes a transaction to its write-ahead log as one unit ending in
// a commit marker and replays only complete transactions at open, so after
// a crash a commit is either wholly present or wholly absent, and the stored
// height always describes exactly the stored state. With Options.SyncWrites
// (the default) the WAL is synced before Commit returns, so a commit that
// returned survives a power failure too; without it, a commit survives a
// process crash (the WAL is a memory-mapped file) but the last few may be
// lost to a machine crash, and CometBFT then replays those blocks.
//
// Because one commit is one transaction, its size is bounded by Badger's
// transaction limit: [MaxCommitBytes] (14.4 MiB) estimated bytes (key +
// value + 12 per change, plus the meta keys) and MaxCommitBytes/96 (157,286)
// changes. A larger
// commit fails with [ErrCommitTooBig]; nothing is written. The limit is
// sized for a block of 10,000 evidence records (about 30,000 keys, 10 MB).
//
// # Restoring a snapshot
//
// A node that joins by state sync loads another node's committed state
// into its empty store: [DB.BeginRestore], [Restore.Put] for every pair,
// then [Restore.Commit] with the height, app hash and block time, which
// makes it committed in one transaction (or [Restore.Abort]). Until then
// the store shows nothing committed and its readers see no key, so
// nothing unverified is served; a restore cut short by a crash is
// discarded by the next Open. [Snapshot.Export] is the other side: every
// pair of a consistent snapshot, in key order, a page at a time.
//
// # Badger options
//
// Open derives Badger's options from [Options] and these fixed choices:
//
//   - MemTableSize 96 MiB: Badger limits a transaction to 15% of a memtable
//     (14.4 MiB here), and a 10 MB block must fit in one. NumMemtables 2
//     (one being written, one being flushed) bounds the memtables' memory at
//     about 250 MiB in the worst case instead of Badger's 5.
//   - BlockCacheSize 32 MiB, IndexCacheSize 16 MiB, NumCompactors 2: a test
//     machine runs four nodes, so each keeps its caches small; Badger's
//     defaults (a 256 MiB block cache, every table index held in memory, 4
//     compactors) would use a gigabyte or more per machine for little gain
//     on a workload that mostly appends and reads recent keys.
//   - ValueLogFileSize 64 MiB: the value log holds only values of 1 MiB or
//     more (ValueThreshold is Badger's default), which the ledger does not
//     write, so small files keep its memory map and pre-allocation small.
//   - NumVersionsToKeep 1: only the latest committed state is kept; older
//     versions are dropped at compaction. Snapshots still see their version
//     while open.
//   - DetectConflicts off: Commit is the only writer and is serialised by
//     the DB, so conflict tracking would only cost memory.
//   - MetricsEnabled off: Badger's metrics are process-global expvars; see
//     [DB.Size] for the on-disk size instead.
//   - Logger: Badger's own stderr logger is replaced by an adapter onto
//     Options.Logger (attribute component=badger).
package store
