package tsa

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// Errors Verify (and the parsers) wrap, so callers can give a code and a reason.
var (
	// ErrMalformed: the bytes are not a well-formed time-stamp token or response.
	ErrMalformed = errors.New("malformed time-stamp token")
	// ErrUntrusted: the signing certificate is not one of the anchors and does not
	// chain to one at the token's genTime, or it is not a time-stamping certificate.
	ErrUntrusted = errors.New("time-stamp token not signed by a trusted time-stamping authority")
	// ErrSignature: the token's CMS signature, its signed attributes or its
	// signing-certificate binding do not check out.
	ErrSignature = errors.New("time-stamp token signature invalid")
	// ErrImprint: the token's message imprint is not the hash of the message.
	ErrImprint = errors.New("time-stamp token is over another message")
	// ErrHashAlg: the imprint's hash algorithm is unknown or not allowed for the TSA.
	ErrHashAlg = errors.New("time-stamp hash algorithm not allowed")
	// ErrExpired: a certificate of the chain was not valid at the token's genTime.
	ErrExpired = errors.New("time-stamping certificate not valid at the token's genTime")
)

// Anchor is a TSA the alliance trusts: a name, its certificate or a CA
// certificate that issued it (DER), and the hash algorithms its imprints may use.
type Anchor struct {
	Name   string
	Cert   []byte
	Hashes []HashAlg
}

// ParseAnchorCert checks that der is one X.509 certificate (SM2, ECDSA or RSA).
func ParseAnchorCert(der []byte) error {
	if len(der) > MaxTokenBytes {
		return malformed("anchor certificate is %d bytes, more than %d", len(der), MaxTokenBytes)
	}
	if _, err := smx509.ParseCertificate(der); err != nil {
		return fmt.Errorf("%w: anchor certificate: %v", ErrMalformed, err)
	}
	return nil
}

// Stamp is what a verified token says.
type Stamp struct {
	TSA      string        // the anchor's name
	Subject  string        // the signing certificate's subject CN
	GenTime  time.Time     // UTC
	Serial   *big.Int      // the TSA's serial number of the token
	Policy   string        // dotted OID
	Hash     HashAlg       // the imprint's hash algorithm
	Imprint  []byte        // the hash of the message
	Nonce    *big.Int      // nil when none
	Accuracy time.Duration // 0 when none
}

// signatureAlgorithm maps a signer info's digest and signature algorithms to one
// of the three kinds Verify accepts.
func signatureAlgorithm(si *signerInfo) (smx509.SignatureAlgorithm, HashAlg, error) {
	d, s := si.DigestAlgorithm.Algorithm, si.SignatureAlgorithm.Algorithm
	switch {
	case d.Equal(oidSM3) && (s.Equal(oidSM2) || s.Equal(oidSM2WithSM3)):
		return smx509.SM2WithSM3, SM3, nil
	case d.Equal(oidSHA256) && (s.Equal(oidECPublicKey) || s.Equal(oidECDSASHA256)):
		return smx509.ECDSAWithSHA256, SHA256, nil
	case d.Equal(oidSHA256) && (s.Equal(oidRSA) || s.Equal(oidRSASHA256)):
		return smx509.SHA256WithRSA, SHA256, nil
	}
	return 0, "", fmt.Errorf("%w: digest %s with signature %s is not SM2/SM3, ECDSA/SHA-256 or RSA/SHA-256", ErrSignature, d, s)
}

// attr returns the single value of the signed attribute typ, or nil when absent.
func (t *Token) attr(typ asn1.ObjectIdentifier) ([]byte, error) {
	var found []byte
	for _, a := range t.attrs {
		if !a.Type.Equal(typ) {
			continue
		}
		if found != nil || len(a.Values) != 1 {
			return nil, fmt.Errorf("%w: signed attribute %s appears more than once", ErrSignature, typ)
		}
		found = a.Values[0].FullBytes
	}
	return found, nil
}

// signerCert finds the certificate the signer info names among the token's
// certificates and then the anchors'.
func (t *Token) signerCert(anchors []*smx509.Certificate) *smx509.Certificate {
	sid := t.signer.SID
	for _, c := range slices.Concat(t.certs, anchors) {
		if bytes.Equal(c.RawIssuer, sid.Issuer.FullBytes) && c.SerialNumber.Cmp(sid.Serial) == 0 {
			return c
		}
	}
	return nil
}

// Verify checks the token over msg against the anchors, deterministically:
//   - the CMS signature over the signed attributes (SM2 with SM3, ECDSA or RSA
//     with SHA-256), the content-type attribute (id-ct-TSTInfo) and the
//     message-digest attribute (the hash of the TSTInfo);
//   - the ESS signing-certificate(-v2) attribute, when present, names the
//     signing certificate;
//   - the signing certificate has the one extended key usage id-kp-timeStamping,
//     marked critical (RFC 3161 §2.3);
//   - it was valid at genTime (ErrExpired otherwise) and it is an anchor or chains
//     to one, verified with the current time set to genTime, never the clock;
//   - the imprint's algorithm is one the anchor allows, and the imprint is its
//     hash of msg.
//
// Anchors are tried in order; the first the certificate chains to names the
// stamp. Errors wrap ErrMalformed, ErrSignature, ErrUntrusted, ErrExpired,
// ErrHashAlg or ErrImprint.
func (t *Token) Verify(anchors []Anchor, msg []byte) (*Stamp, error) {
	roots := make([]*smx509.Certificate, len(anchors))
	for i, a := range anchors {
		c, err := smx509.ParseCertificate(a.Cert)
		if err != nil {
			return nil, fmt.Errorf("%w: anchor %q certificate does not parse: %v", ErrUntrusted, a.Name, err)
		}
		roots[i] = c
	}
	sigAlg, digest, err := signatureAlgorithm(&t.signer)
	if err != nil {
		return nil, err
	}
	// Signed attributes.
	ct, err := t.attr(oidContentType)
	if err != nil {
		return nil, err
	}
	var ctOID asn1.ObjectIdentifier
	if ct == nil || unmarshalAll(ct, &ctOID, "content-type attribute") != nil || !ctOID.Equal(oidTSTInfo) {
		return nil, fmt.Errorf("%w: content-type attribute missing or not id-ct-TSTInfo", ErrSignature)
	}
	md, err := t.attr(oidMsgDigest)
	if err != nil {
		return nil, err
	}
	var mdVal []byte
	if md == nil || unmarshalAll(md, &mdVal, "message-digest attribute") != nil {
		return nil, fmt.Errorf("%w: message-digest attribute missing", ErrSignature)
	}
	if subtle.ConstantTimeCompare(mdVal, digest.Sum(t.eContent)) != 1 {
		return nil, fmt.Errorf("%w: message-digest attribute is not the %s of the TSTInfo", ErrSignature, digest)
	}
	// The signature.
	cert := t.signerCert(roots)
	if cert == nil {
		return nil, fmt.Errorf("%w: the signing certificate (serial %s) is neither in the token nor an anchor; request tokens with certReq", ErrUntrusted, t.signer.SID.Serial)
	}
	if err := cert.CheckSignature(sigAlg, t.attrsSet, t.signer.Signature); err != nil {
		return nil, fmt.Errorf("%w: by %q: %v", ErrSignature, cert.Subject.CommonName, err)
	}
	if err := t.checkSigningCertAttr(cert); err != nil {
		return nil, err
	}
	if err := checkTimeStampingEKU(cert); err != nil {
		return nil, err
	}
	gen := t.info.GenTime
	if gen.Before(cert.NotBefore) || gen.After(cert.NotAfter) {
		return nil, fmt.Errorf("%w: certificate %q is valid from %s to %s, the token's genTime is %s",
			ErrExpired, cert.Subject.CommonName, cert.NotBefore.UTC().Format(time.RFC3339),
			cert.NotAfter.UTC().Format(time.RFC3339), gen.Format(time.RFC3339))
	}
	// The chain, at genTime.
	inter := smx509.NewCertPool()
	for _, c := range t.certs {
		inter.AddCert(c)
	}
	var anchor *Anchor
	var chain []*smx509.Certificate
	var chainErr error
	for i := range anchors {
		pool := smx509.NewCertPool()
		pool.AddCert(roots[i])
		chains, err := cert.Verify(smx509.VerifyOptions{
			Roots: pool, Intermediates: inter, CurrentTime: gen,
			KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping},
		})
		if err == nil {
			anchor, chain = &anchors[i], chains[0]
			break
		}
		if chainErr == nil {
			chainErr = err
		}
	}
	if anchor == nil {
		var inv smx509.CertificateInvalidError
		if errors.As(chainErr, &inv) && inv.Reason == smx509.Expired {
			return nil, fmt.Errorf("%w: certificate %q of the chain: %v", ErrExpired, inv.Cert.Subject.CommonName, chainErr)
		}
		if chainErr == nil {
			chainErr = errors.New("no anchors given")
		}
		return nil, fmt.Errorf("%w: certificate %q (issuer %q): %v", ErrUntrusted, cert.Subject.CommonName, cert.Issuer.CommonName, chainErr)
	}
	if err := t.checkExtraCerts(chain); err != nil {
		return nil, err
	}
	// The imprint.
	in := &t.info
	if t.hash == "" {
		return nil, fmt.Errorf("%w: imprint algorithm %s is neither sm3 nor sha256", ErrHashAlg, in.MessageImprint.HashAlgorithm.Algorithm)
	}
	if !slices.Contains(anchor.Hashes, t.hash) {
		return nil, fmt.Errorf("%w: TSA %q is trusted for %v, the token's imprint is %s", ErrHashAlg, anchor.Name, anchor.Hashes, t.hash)
	}
	if subtle.ConstantTimeCompare(in.MessageImprint.HashedMessage, t.hash.Sum(msg)) != 1 {
		return nil, fmt.Errorf("%w: the token's %s imprint %x… is not the hash of the message", ErrImprint, t.hash, in.MessageImprint.HashedMessage[:8])
	}
	acc := time.Duration(in.Accuracy.Seconds)*time.Second + time.Duration(in.Accuracy.Millis)*time.Millisecond +
		time.Duration(in.Accuracy.Micros)*time.Microsecond
	st := &Stamp{
		TSA: anchor.Name, Subject: cert.Subject.CommonName, GenTime: gen,
		Serial: new(big.Int).Set(in.SerialNumber), Policy: in.Policy.String(), Hash: t.hash,
		Imprint: bytes.Clone(in.MessageImprint.HashedMessage), Accuracy: acc,
	}
	if in.Nonce != nil {
		st.Nonce = new(big.Int).Set(in.Nonce)
	}
	return st, nil
}

// checkTimeStampingEKU requires the one critical extended key usage
// id-kp-timeStamping of RFC 3161 §2.3.
func checkTimeStampingEKU(cert *smx509.Certificate) error {
	for _, e := range cert.Extensions {
		if !e.Id.Equal(oidExtKeyUsage) {
			continue
		}
		var kps []asn1.ObjectIdentifier
		if !e.Critical || unmarshalAll(e.Value, &kps, "extended key usage") != nil ||
			len(kps) != 1 || !kps[0].Equal(oidKPTimeStamp) {
			break
		}
		return nil
	}
	return fmt.Errorf("%w: certificate %q does not have the one critical extended key usage id-kp-timeStamping (RFC 3161 §2.3)",
		ErrUntrusted, cert.Subject.CommonName)
}

// checkSigningCertAttr checks the ESS signing-certificate-v2 (RFC 5035) or
// signing-certificate (RFC 2634) attribute, when present: its first entry must
// be the hash of the signing certificate.
func (t *Token) checkSigningCertAttr(cert *smx509.Certificate) error {
	v2, err := t.attr(oidSigningCert2)
	if err != nil {
		return err
	}
	if v2 != nil {
		var sc signingCertificateV2
		if unmarshalAll(v2, &sc, "signing-certificate-v2") != nil || len(sc.Certs) == 0 {
			return fmt.Errorf("%w: signing-certificate-v2 attribute does not parse", ErrSignature)
		}
		id := sc.Certs[0]
		h := SHA256 // the default of RFC 5035
		if len(id.HashAlgorithm.Algorithm) != 0 {
			h = hashByOID(id.HashAlgorithm.Algorithm)
		}
		if h == "" || !bytes.Equal(id.CertHash, h.Sum(cert.Raw)) {
			return fmt.Errorf("%w: signing-certificate-v2 attribute does not name certificate %q", ErrSignature, cert.Subject.CommonName)
		}
		return nil
	}
	v1, err := t.attr(oidSigningCert)
	if err != nil {
		return err
	}
	if v1 != nil {
		var sc signingCertificate
		if unmarshalAll(v1, &sc, "signing-certificate") != nil || len(sc.Certs) == 0 {
			return fmt.Errorf("%w: signing-certificate attribute does not parse", ErrSignature)
		}
		sum := sha1.Sum(cert.Raw)
		if !bytes.Equal(sc.Certs[0].CertHash, sum[:]) {
			return fmt.Errorf("%w: signing-certificate attribute does not name certificate %q", ErrSignature, cert.Subject.CommonName)
		}
	}
	return nil
}

// checkExtraCerts requires each certificate the token carries to be in the
// verified chain, or issued by one of its certificates, or self-signed and the
// issuer of one: a certificate no signature vouches for is refused, so that no
// byte of the token can change while it still verifies.
func (t *Token) checkExtraCerts(chain []*smx509.Certificate) error {
next:
	for _, c := range t.certs {
		for _, k := range chain {
			if bytes.Equal(c.Raw, k.Raw) {
				continue next
			}
		}
		for _, k := range chain {
			if c.CheckSignatureFrom(k) == nil || (bytes.Equal(k.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil && k.CheckSignatureFrom(c) == nil) {
				continue next
			}
		}
		return fmt.Errorf("%w: the token carries certificate %q, which no certificate of the chain vouches for", ErrSignature, c.Subject.CommonName)
	}
	return nil
}
