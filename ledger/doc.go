// Package ledger is the evidence state machine of evidenced: a pure,
// deterministic function from committed state and a block to a set of state
// changes, per-transaction results and an app hash. It does no I/O, reads no
// clock, logs nothing and knows nothing of CometBFT or Badger; committed state
// reaches it through the Reader interface, and its output is written by the
// caller in one atomic commit.
//
// The ledger is an append-only log. Every accepted transaction becomes one
// Entry at the next index; the log is an RFC 9162 Merkle tree over SM3
// (package ledger/merkle), so every entry has inclusion proofs and every two
// tree sizes a consistency proof. Members, keys, evidence chains and the
// query indexes are a view derived from the log.
//
// Transactions (tx.go) are canonical, versioned and domain-separated by
// chain id; the SM2 signature (GM/T 0003, default user id) covers exactly the
// body bytes that travel and are stored, and the transaction id is SM3 of
// those bytes. Every rejection has a stable numeric Code (codes.go,
// docs/CODES.md).
//
// The app hash is SM3("evidenced/apphash/v1" ‖ log size ‖ log root ‖ state
// digest), where the state digest is a running SM3 over each block's sorted
// consensus-state changes (members, keys, evidence-chain heads, tx ids,
// parameters). Replicas whose derived views diverge therefore disagree on the
// app hash at the first block where they differ, not later.
//
// Determinism: block time is the only clock; no map is iterated in an order
// that matters (changes are sorted); signatures may be verified on several
// goroutines, but each result lands in its own slot and is used in block
// order, so the outcome never depends on scheduling.
package ledger
