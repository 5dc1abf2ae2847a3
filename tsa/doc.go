// Package tsa implements RFC 3161 time-stamping for evidenced: the tokens a
// trusted time-stamping authority (TSA, 可信时间戳) signs over a checkpoint's
// hash, their deterministic verification against the TSAs the alliance trusts,
// a client, and a development TSA that serves RFC 3161 over HTTP.
//
// # Tokens
//
// A Token is an RFC 3161 TimeStampToken: a CMS ContentInfo (RFC 5652) holding a
// SignedData whose encapsulated content is a TSTInfo (id-ct-TSTInfo) that states
// the message imprint (a hash of the stamped message), the genTime, a serial
// number, the TSA's policy and, when asked, a nonce. Two kinds are accepted:
//
//   - SM2 tokens: SM2 signature (1.2.156.10197.1.301.1, or SM2-with-SM3
//     1.2.156.10197.1.501) over an SM3 digest (1.2.156.10197.1.401), in the
//     GM/T 0010 / GB/T 35275 style, as gmsm's pkcs7 writes them: the ContentInfo
//     may have the GB/T 35275 signedData type 1.2.156.10197.6.1.4.2.2 (what the
//     development TSA writes) or the RFC 5652 one;
//   - standard tokens: ECDSA or RSA with SHA-256, as OpenSSL makes them.
//
// Message imprints are SM3 or SHA-256 with either kind. ParseToken is strict and
// bounded (MaxTokenBytes, at most 8 certificates, exactly one signer, signed
// attributes required, no CRLs and no unsigned attributes, DER only), so that no
// byte of a token can change while it still verifies.
//
// # What Verify checks
//
// Token.Verify checks, with no clock and no I/O: the CMS signature over the
// signed attributes, the content-type and message-digest attributes, the ESS
// signing-certificate(-v2) attribute when present, the signing certificate's one
// critical extended key usage id-kp-timeStamping (RFC 3161 §2.3), its validity at
// genTime (ErrExpired), its chain to one of the anchors verified with the current
// time set to the token's genTime, that every other certificate in the token is
// vouched for by the chain, and that the imprint is the hash of the message with
// an algorithm the anchor allows. The same token and anchors give the same answer
// on every node, at any time: that is what lets the ledger check tokens on the
// consensus path and a verifier check a receipt years later.
//
// What Verify cannot check: revocation. It consults no CRL and no OCSP
// responder: those are network fetches whose answers change over time, which
// the consensus path cannot make. A TSA whose key is compromised is removed
// from the anchors through governance instead. Verify also trusts the TSA's
// clock for genTime: that is the point of a TSA.
//
// # OpenSSL
//
// Standard tokens from the development TSA verify with OpenSSL 3:
//
//	openssl ts -verify -data FILE -in reply.tsr -CAfile tsa-ca.pem
//	openssl ts -verify -data FILE -in token.der -token_in -CAfile tsa-ca.pem
//	openssl ts -verify -digest HEX -in reply.tsr -CAfile tsa-ca.pem
//
// OpenSSL 3.0 cannot verify SM2 tokens, for two reasons: its ts code accepts
// only the RFC 5652 signedData content type ("PKCS7_to_TS_TST_INFO: bad pkcs7
// type" for the GB/T 35275 one), and, with the RFC 5652 type, it checks SM2
// signatures in certificates and in the CMS signer info without the default
// distinguishing ID 1234567812345678 of GM/T 0009 (openssl verify takes
// -vfyopt distid:1234567812345678, openssl ts -verify has no such option), so
// it reports "certificate signature failure". The tests check the SM2 chain
// with openssl verify -vfyopt and the token with this package.
//
// # Development TSA
//
// An Authority is a self-signed CA (the anchor, put in the genesis) that issued
// a signing certificate with the one critical EKU id-kp-timeStamping, its key,
// the policy 1.2.3.4.1 (OpenSSL's example policy) and a serial counter under a
// random 64-bit prefix. Tokens are signed with gmsm's pkcs7, which also adds a
// CMS signing-time attribute from the machine's clock; Verify ignores it (the
// TSTInfo's genTime, from the injectable clock, is what a token states). Its Handler serves RFC 3161 §3.4 over HTTP. It is for
// development and tests; a production alliance trusts licensed TSAs.
package tsa
