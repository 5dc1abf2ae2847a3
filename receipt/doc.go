// Package receipt builds and verifies evidenced receipts: self-contained
// JSON documents that prove, offline and years later, that a piece of
// evidence was accepted by the alliance ledger, with nothing but the
// alliance roster.
//
// A receipt holds the exact log entry (the RFC 9162 leaf data), its RFC 9162
// inclusion proof (SM3, RFC 9162 §2.1.3) up to a checkpoint in the C2SP
// tlog-checkpoint body format, and the members' SM2 signatures on that
// checkpoint (GB/T 32918.2 / GM/T 0003.2 over SM3 with the default user id
// "1234567812345678", DER as GM/T 0009). A checkpoint is trusted when the
// valid signers hold more than 2/3 of the roster's voting power.
//
// When the alliance's roster changed since the roster the verifier holds
// (the genesis roster by default), a receipt (version 2) carries a roster
// path: for each later roster version, the ledger's roster entry holding
// it, its inclusion proof, and the checkpoint co-signed by more than 2/3 of
// the version before that put it in force, with a consistency proof to the
// receipt's checkpoint. Verify walks it from the roster given to the roster
// that signed the receipt's checkpoint (the roster_path step).
//
// Build (from the genesis roster) and BuildFrom (from a roster version
// given by its digest) make a receipt from committed state (a
// ledger.View); Verify checks one against a roster, step by step,
// reporting each step in plain words.
// VerifyConsistency checks an RFC 9162 consistency proof (§2.1.4) between
// two trusted checkpoints, so a holder of an old receipt can detect a
// rewritten history.
//
// The package does no I/O of its own: the original file reaches Verify as
// an io.Reader. docs/RECEIPT.md specifies the format precisely enough to
// write an independent verifier.
package receipt
