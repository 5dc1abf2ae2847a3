// Package crypto provides the ShangMi (SM) cryptography evidenced is built on:
// SM3 hashing, SM2 keys, signatures and public-key encryption, PEM/PKCS#8 key
// encoding, and an SM4-GCM envelope for streams of any length.
//
// Specifications implemented (through github.com/emmansun/gmsm; this package
// writes no primitive of its own):
//
//   - SM3: GB/T 32905-2016 (GM/T 0004-2012).
//   - SM2 signatures: GB/T 32918.2-2016 (GM/T 0003.2) on the recommended
//     curve sm2p256v1, with Z_A computed over the default user ID
//     "1234567812345678" (GM/T 0009-2012 §10) and SM3 as the hash.
//     Signatures are DER SEQUENCE{INTEGER r, INTEGER s} (GM/T 0009).
//   - SM2 encryption: GB/T 32918.4-2016 (GM/T 0003.4), ciphertext in the
//     GM/T 0009 ASN.1 form SEQUENCE{x INTEGER, y INTEGER, C3 OCTET STRING,
//     C2 OCTET STRING}, i.e. C1C3C2 order.
//   - SM4: GB/T 32907-2016 (GM/T 0002-2012), in GCM mode (NIST SP 800-38D,
//     RFC 8998) for the envelope.
//   - Keys: PKCS#8 (RFC 5208/5958), encrypted PKCS#8 with PBES2 (RFC 8018),
//     SEC 1 "EC PRIVATE KEY" (RFC 5915) and SubjectPublicKeyInfo (RFC 5480)
//     with the SM2 curve OID 1.2.156.10197.1.301, as OpenSSL 3 writes them.
//
// # Canonical forms
//
// Everything that goes on chain has exactly one accepted encoding. A public key
// is the 65-byte uncompressed point 0x04 || X || Y ([ParsePublicKey]); its
// [KeyID] is SM3 of those bytes. A signature is minimal DER with
// 1 <= r, s < n and no trailing bytes ([ParseSignature]). Decoders reject
// everything else; [ParsePublicKeyAny] additionally accepts the 33-byte
// compressed form for input from people and other tools.
//
// SM2 signatures are not malleable the way ECDSA signatures are: for ECDSA,
// (r, n-s) is valid whenever (r, s) is, but SM2 verification computes
// t = r + s and checks r == e + x([s]G + [t]P), so replacing s by n-s changes
// both terms and the result does not verify (TestSignatureNegatedSRejected).
// A re-encoding of the same (r, s) is prevented by the strict DER rules.
//
// # Envelope stream format
//
// [Seal] encrypts a byte stream of any length in constant memory under a
// [DataKey], and [Open] decrypts it, using the STREAM construction (Hoang,
// Reyhanitabar, Rogaway, Vizár 2015) as age and Tink use it:
//
//	header  = "EVDSM4G1"            8 bytes: magic and format version 1
//	          chunk size C          4 bytes, big-endian; 1 KiB <= C <= 16 MiB
//	                                (Seal writes 64 KiB)
//	          nonce prefix          7 random bytes
//	chunk i = SM4-GCM-Seal(key,
//	            nonce = prefix || uint32 BE(i) || last,
//	            plaintext = P_i,
//	            aad = header (all 19 bytes))
//	stream  = header || chunk 0 || chunk 1 || ... || chunk k
//
// The plaintext is cut into chunks P_0 .. P_k of exactly C bytes, except the
// last, P_k, which is strictly shorter than C (and empty when the plaintext
// length is a multiple of C, including the empty plaintext). So every sealed
// chunk is C+16 bytes except the final one, which is shorter, and each
// plaintext length has exactly one encoding. The last byte of the nonce is 0x01
// for the final chunk and 0x00 for every other. The chunk counter i starts at 0
// and may not wrap: a stream has at most 2^32 chunks.
//
// [Open] reads one chunk at a time and writes a chunk's plaintext only after
// that chunk has authenticated. A stream that ends at a chunk boundary without
// a final chunk fails with [ErrTruncated]; a bad header with
// [ErrMalformedCiphertext]; a modified, reordered, or extended stream fails to
// authenticate ([ErrDecrypt]). Plaintext already written for earlier chunks
// stays written, so callers that need all-or-nothing must write to a temporary
// place and keep it only when Open returns nil.
package crypto
