// Package exchange moves ciphertext blobs between alliance member nodes over
// libp2p (https://github.com/libp2p/specs): a member fetches a ciphertext it
// may read from a peer that holds it, and an owner pushes ciphertexts to
// replicas that store them without being able to read them.
//
// # Security
//
// Blobs are SM4-GCM ciphertexts named by their SM3 digest (GM/T 0004-2012),
// so the exchange never sees plaintext and trusts no peer's bytes: a received
// blob becomes visible in the local Store only after Incoming.Commit has
// checked that SM3 of all its bytes equals its address.
//
// Every host authenticates with a libp2p Ed25519 identity derived from the
// member's SM2 key (see Identity), so no second secret is kept on disk and
// the peer ID recorded in the on-chain roster follows from the member key.
// Connections are secured with Noise over TCP. A connection gater refuses
// every peer that the roster lookup (Config.Members) does not know, in both
// directions, before any protocol runs. A serving host asks Config.Authorize
// (a grant or ownership check on committed chain state) before it reveals
// anything about a blob, and a replica asks Config.AcceptPush before it
// stores one. Relays, NAT port mapping, hole punching, AutoNAT probing, mDNS
// and the DHT are all off: members dial each other's configured addresses.
//
// # Wire protocol
//
// Two versioned libp2p protocols, one stream per transfer. All integers are
// fixed-width big-endian; sizes and offsets are at most 2^63-1.
//
// A status header is
//
//	u8 status ‖ u64 n ‖ [u16 len ‖ len bytes of UTF-8 message]
//
// where the message is present exactly when status is 2 (forbidden),
// 4 (bad request) or 6 (failed), n is 0 unless status is 0, and len is at
// most 1024. Status codes: 0 ok, 1 not found, 2 forbidden, 3 busy (the
// server is at Config.MaxStreams; retry later), 4 bad request, 5 address
// mismatch, 6 failed (the peer could not read or store the blob). Decoders
// reject unknown codes and every non-canonical form.
//
// /evidenced/blob/fetch/1 (requester C, server S):
//
//	C → S  address (32 bytes, SM3 of the ciphertext)
//	S → C  status header; n = total ciphertext size when status is 0
//	C → S  u64 offset (0 <= offset <= size), then C closes its write side
//	S → C  ciphertext bytes [offset, size), then S closes its write side
//
// The requester learns the size before it sends the offset because its
// store keys a partial transfer by address and size: it opens the partial
// (Store.Receive), and sends how many bytes it already holds, so an
// interrupted fetch resumes where it stopped.
//
// /evidenced/blob/push/1 (sender P, replica R):
//
//	P → R  address (32 bytes) ‖ u64 size
//	R → P  status header; n = bytes R already holds (0 <= n <= size) when status is 0
//	P → R  ciphertext bytes [n, size), then P closes its write side
//	R → P  u8 final status: 0 stored, 4 bad request (short or long data),
//	       5 address mismatch, 6 failed
//
// Every read and write on a stream has a deadline of Config.IdleTimeout, data
// is copied through a fixed 256 KiB buffer and never held whole in memory,
// and a host serves at most Config.MaxStreams transfers at once (fetch and
// push together), answering status 3 beyond that.
package exchange
