// Package blob is the node's content-addressed store of encrypted originals.
//
// An original (a contract, a recording, up to well over 1 GiB) never goes on
// chain. Its owner's node encrypts it with a fresh SM4 data key in the
// envelope stream format of package crypto (SM4-GCM, GB/T 32907-2016 and
// NIST SP 800-38D, STREAM construction) and stores the ciphertext here under
// its address, the SM3 digest (GB/T 32905-2016) of the ciphertext bytes.
// The chain records the salted commitment SM3(salt ‖ original) and the
// address; members fetch ciphertexts from each other by address and check
// the digest before keeping them.
//
// # Guarantees
//
//   - Plaintext never touches the disk: [Store.Seal] encrypts while it
//     reads, and [Store.Decrypt] decrypts into the caller's writer.
//   - Memory stays bounded: every operation streams, in 64 KiB chunks, so a
//     1 GiB original costs the same memory as a 1 KiB one.
//   - A blob is visible under its address only when complete and checked:
//     data is written to a temporary file, fsynced, renamed into place, and
//     the directory is fsynced. A crash at any point leaves either no blob or
//     the whole blob. Leftover temporary files are removed by [Open].
//   - Bytes from a peer ([Store.Receive]) become visible only if they hash to
//     the address asked for; an interrupted transfer keeps its partial file
//     so that it can resume where it stopped.
//
// # Layout on disk
//
//	dir/                 0700
//	  ab/abcdef…         complete blobs, named by the 64 hex digits of their
//	                     address, fanned out by the first two (0600)
//	  tmp/               temporary files of Seal in progress (removed by Open)
//	  partial/<hex>      incoming transfers, kept for resume
//	  quarantine/<hex>.* blobs that Scrub found corrupt, kept for inspection
//
// One [Store] must own a directory: do not open the same directory twice,
// in one process or several.
package blob
