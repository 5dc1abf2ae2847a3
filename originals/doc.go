// Package originals keeps a member node's encrypted originals and their
// chain of custody (docs/ARCHITECTURE.md, "Originals and chain of custody"):
//
//   - keeping uploads: KeepOriginal seals an original into the node's blob
//     store (SM4-GCM, GB/T 32907; addressed by SM3, GB/T 32905) and wraps
//     its data key and commitment salt (SM2 encryption, GM/T 0003) to the
//     owner's member key;
//   - custody: Grant unwraps the keys with the member key and rewraps them to
//     the grantee; Revoke withdraws a grant; FetchOriginal logs the access on
//     chain first, gets the ciphertext (held here, from the owner's node, else
//     from a replica), decrypts it and checks the commitment while streaming;
//   - durability: each member's committed originals are pushed to its
//     replicas (Roster.Replicas) with retry and backoff; at Start, and after
//     every scrub, all of them are pushed again, so pushes lost in a crash or
//     while a replica was down are redone; every Config.ScrubInterval the
//     store is rehashed, a corrupt ciphertext is quarantined and fetched
//     again, and ciphertexts no committed record names are swept;
//   - the exchange's authorisation (Policy): on committed state, who may
//     fetch a ciphertext (its owner, a live grantee, its owner's replicas)
//     and whose pushes this node stores (its owners', when it is one of their
//     replicas and the record is committed).
//
// A Service lists every dependency in New, in the manner of hashicorp/raft's
// NewRaft: its Config, a logger, the blob store, the Transport that moves
// ciphertexts between member nodes (blob/exchange's *exchange.Host over
// libp2p in a node; originalstest's in-memory one in tests), the Roster (the
// genesis roster's libp2p side), the committed State, the SubmitFunc that
// puts its transactions on chain, and the member key. It has no
// package-level state and owns its goroutines: Start runs them, Close stops
// them.
package originals
