// Package sidecar is the FILE.evidence.json file kept beside each original
// whose salted commitment went on chain, and the salted commitment itself.
//
// A record commits to an original with SM3(salt ‖ original) (GB/T 32905,
// SM3), where the salt is 32 random bytes drawn for that original alone
// (NewSalt), so that the commitment of a low-entropy original cannot be
// reversed by guessing. Commit computes it over a stream in constant
// memory; the CLI, the receipt verifier and the explorer's WebAssembly
// verifier all use it.
//
// The salt never goes on chain, so whoever wants to prove the original
// later needs it: evidenced submit, tx build and fetch save it, with the
// commitment and where the record went, in the sidecar (File) at
// Path(original), mode 0600. Its JSON fields are:
//
//	version      1
//	file         base name of the original
//	size         bytes of the original
//	salt         the salt, lowercase hex (a secret)
//	commitment   SM3(salt ‖ original), lowercase hex
//	chain, step, pos, kind, labels   the record (pos: its position in a batch)
//	status       "pending" (written before submitting) or "committed"
//	tx_id        the transaction carrying the record
//	index, height, time   its log entry, block height and block time, once committed
//	chain_id     the alliance chain id
//	cipher, cipher_size, owner   only when a member node keeps the encrypted
//	             original (submit --upload): its SM3 address, size, and the member
//
// Load and Save read and write it (Save atomically); Parse and Format
// convert it from and to its bytes.
package sidecar
