package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/evidenced/evidenced/internal/atomicfile"
)

// KeyKind is the kind of key a development authority signs with.
type KeyKind string

// The key kinds of a development authority.
const (
	SM2       KeyKind = "sm2"   // SM2 signatures over SM3 (GM/T 0003, GB/T 35275 SignedData)
	ECDSAP256 KeyKind = "ecdsa" // ECDSA P-256 over SHA-256 (RFC 5652, as OpenSSL makes them)
)

// ParseKeyKind parses "sm2" or "ecdsa".
func ParseKeyKind(s string) (KeyKind, error) {
	switch k := KeyKind(s); k {
	case SM2, ECDSAP256:
		return k, nil
	}
	return "", fmt.Errorf("key kind %q: want sm2 or ecdsa", s)
}

// The files of an authority's directory.
const (
	KeyFile  = "tsa-key.pem"  // PKCS #8 private key of the signing certificate, mode 0600
	CertFile = "tsa-cert.pem" // the signing certificate, then the CA certificate
	CAFile   = "tsa-ca.pem"   // the CA certificate: the anchor (openssl ts -verify -CAfile)
)

// Authority is a development time-stamping authority: a self-signed CA
// certificate (the anchor), a signing certificate it issued with the one
// critical extended key usage id-kp-timeStamping, the signing key, the policy
// 1.2.3.4.1 (OpenSSL's example) and a serial counter. A CA and a leaf, rather
// than one self-signed certificate, because that is what openssl ts -verify
// -CAfile expects of a trust anchor.
//
// Sign does not refuse when the certificate has expired, so that tests can make
// such tokens; Verify refuses them (ErrExpired).
type Authority struct {
	kind   KeyKind
	key    crypto.Signer
	leaf   *smx509.Certificate
	ca     *smx509.Certificate
	policy asn1.ObjectIdentifier

	mu     sync.Mutex
	serial uint64 // the last serial issued, below a random 64-bit prefix
	prefix uint64
	clock  func() time.Time
	log    *slog.Logger
}

// NewAuthority makes an authority named name whose certificates are valid from
// now for validity.
func NewAuthority(kind KeyKind, name string, now time.Time, validity time.Duration) (*Authority, error) {
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamp})
	if err != nil {
		return nil, err
	}
	return newAuthorityWithEKU(kind, name, now, validity, []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}})
}

// newAuthorityWithEKU is NewAuthority with the signing certificate's extra
// extensions given, so that tests can leave out the EKU or make it non-critical.
func newAuthorityWithEKU(kind KeyKind, name string, now time.Time, validity time.Duration, exts []pkix.Extension) (*Authority, error) {
	if name == "" || len(name) > 64 {
		return nil, errors.New("authority name must be 1 to 64 bytes")
	}
	if validity <= 0 {
		return nil, errors.New("authority validity must be positive")
	}
	newKey := func() (crypto.Signer, error) {
		if kind == SM2 {
			return sm2.GenerateKey(rand.Reader)
		}
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if _, err := ParseKeyKind(string(kind)); err != nil {
		return nil, err
	}
	caKey, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	from, to := now.UTC().Truncate(time.Second), now.UTC().Add(validity).Truncate(time.Second)
	ca := &smx509.Certificate{
		SerialNumber: randSerial(), Subject: pkix.Name{CommonName: name + " CA", Organization: []string{"evidenced development TSA"}},
		NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
	}
	caDER, err := smx509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("make CA certificate: %w", err)
	}
	caCert, err := smx509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leaf := &smx509.Certificate{
		SerialNumber: randSerial(), Subject: pkix.Name{CommonName: name, Organization: []string{"evidenced development TSA"}},
		NotBefore: from, NotAfter: to, BasicConstraintsValid: true,
		KeyUsage:        smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		ExtraExtensions: exts,
	}
	leafDER, err := smx509.CreateCertificate(rand.Reader, leaf, caCert, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("make signing certificate: %w", err)
	}
	leafCert, err := smx509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}
	return newAuthority(kind, key, leafCert, caCert), nil
}

func newAuthority(kind KeyKind, key crypto.Signer, leaf, ca *smx509.Certificate) *Authority {
	var p [8]byte
	_, _ = rand.Read(p[:])
	return &Authority{
		kind: kind, key: key, leaf: leaf, ca: ca, policy: oidDevPolicy,
		prefix: binary.BigEndian.Uint64(p[:]) >> 1, clock: time.Now,
	}
}

func randSerial() *big.Int {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b[:])
}

// Kind returns the kind of the authority's key.
func (a *Authority) Kind() KeyKind { return a.kind }

// Name returns the authority's name: its signing certificate's common name.
func (a *Authority) Name() string { return a.leaf.Subject.CommonName }

// Certificate returns the DER of the anchor to put in the genesis: the CA certificate.
func (a *Authority) Certificate() []byte { return bytes.Clone(a.ca.Raw) }

// SigningCertificate returns the DER of the certificate that signs tokens.
func (a *Authority) SigningCertificate() []byte { return bytes.Clone(a.leaf.Raw) }

// Anchor returns the anchor that trusts this authority for SM3 and SHA-256 imprints.
func (a *Authority) Anchor() Anchor {
	return Anchor{Name: a.Name(), Cert: a.Certificate(), Hashes: []HashAlg{SM3, SHA256}}
}

// SetClock sets where Handler takes the time from (time.Now by default).
func (a *Authority) SetClock(now func() time.Time) {
	a.mu.Lock()
	a.clock = now
	a.mu.Unlock()
}

// SetLogger makes Handler log each stamp at INFO and each rejection at WARN.
func (a *Authority) SetLogger(l *slog.Logger) {
	a.mu.Lock()
	a.log = l
	a.mu.Unlock()
}

// Save writes the authority to dir: KeyFile (mode 0600), CertFile and CAFile,
// each by a temporary file, fsync and rename (internal/atomicfile).
func (a *Authority) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save authority: %w", err)
	}
	der, err := smx509.MarshalPKCS8PrivateKey(a.key)
	if err != nil {
		return fmt.Errorf("save authority key: %w", err)
	}
	certs := slices.Concat(pemCert(a.leaf.Raw), pemCert(a.ca.Raw))
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600},
		{CertFile, certs, 0o644},
		{CAFile, pemCert(a.ca.Raw), 0o644},
	} {
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("save authority: %w", err)
		}
	}
	return nil
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// LoadAuthority reads an authority Save wrote to dir.
func LoadAuthority(dir string) (*Authority, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("load authority: %w", err)
		}
		return b, nil
	}
	keyPEM, err := read(KeyFile)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load authority: %s is readable by others (mode %v); chmod 600 it", filepath.Join(dir, KeyFile), fi.Mode().Perm())
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("load authority: %s holds no PRIVATE KEY block", KeyFile)
	}
	k, err := smx509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load authority: %s: %w", KeyFile, err)
	}
	var kind KeyKind
	var key crypto.Signer
	switch k := k.(type) {
	case *sm2.PrivateKey:
		kind, key = SM2, k
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("load authority: %s: ECDSA key is not on P-256", KeyFile)
		}
		kind, key = ECDSAP256, k
	default:
		return nil, fmt.Errorf("load authority: %s: key type %T is neither SM2 nor ECDSA", KeyFile, k)
	}
	certPEM, err := read(CertFile)
	if err != nil {
		return nil, err
	}
	var certs []*smx509.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := smx509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load authority: %s: %w", CertFile, err)
		}
		certs = append(certs, c)
	}
	if len(certs) != 2 {
		return nil, fmt.Errorf("load authority: %s holds %d certificates (want the signing certificate, then the CA)", CertFile, len(certs))
	}
	leaf, ca := certs[0], certs[1]
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("load authority: %s: the CA did not issue the signing certificate: %w", CertFile, err)
	}
	if !publicKeyEqual(leaf.PublicKey, key.Public()) {
		return nil, fmt.Errorf("load authority: %s does not hold the key of the certificate in %s", KeyFile, CertFile)
	}
	return newAuthority(kind, key, leaf, ca), nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	ea, ok1 := a.(*ecdsa.PublicKey)
	eb, ok2 := b.(*ecdsa.PublicKey)
	return ok1 && ok2 && ea.Equal(eb)
}

// rejection encodes a TimeStampResp with status rejection.
func rejection(bit int, text string) []byte {
	var bs asn1.BitString
	bs.Bytes = make([]byte, bit/8+1)
	bs.Bytes[bit/8] = 0x80 >> (bit % 8)
	bs.BitLength = bit + 1
	b, err := asn1.Marshal(timeStampResp{Status: pkiStatusInfo{Status: statusRejection, StatusString: []asn1.RawValue{{Tag: asn1.TagUTF8String, Bytes: []byte(text)}}, FailInfo: bs}})
	if err != nil {
		panic("tsa: encode rejection: " + err.Error()) // a fixed structure: a broken invariant
	}
	return b
}

// RequestError is why Sign rejected a request.
type requestError struct {
	bit  int
	text string
}

func (e *requestError) Error() string { return e.text }

// parseRequest decodes and checks a TimeStampReq.
func (a *Authority) parseRequest(der []byte) (*timeStampReq, HashAlg, error) {
	var req timeStampReq
	if len(der) > maxRequestBytes {
		return nil, "", &requestError{failBadDataFormat, "request too large"}
	}
	if err := unmarshalAll(der, &req, "TimeStampReq"); err != nil {
		return nil, "", &requestError{failBadDataFormat, "request is not a DER TimeStampReq: " + err.Error()}
	}
	if req.Version != 1 {
		return nil, "", &requestError{failBadRequest, fmt.Sprintf("request version %d (want 1)", req.Version)}
	}
	h := hashByOID(req.MessageImprint.HashAlgorithm.Algorithm)
	if h == "" {
		return nil, "", &requestError{failBadAlg, fmt.Sprintf("hash algorithm %s: this TSA takes sm3 or sha256", req.MessageImprint.HashAlgorithm.Algorithm)}
	}
	if len(req.MessageImprint.HashedMessage) != h.size() {
		return nil, "", &requestError{failBadDataFormat, fmt.Sprintf("imprint is %d bytes, %s makes %d", len(req.MessageImprint.HashedMessage), h, h.size())}
	}
	if len(req.ReqPolicy) != 0 && !req.ReqPolicy.Equal(a.policy) {
		return nil, "", &requestError{failUnacceptedPolicy, fmt.Sprintf("policy %s: this TSA has %s", req.ReqPolicy, a.policy)}
	}
	if len(req.Extensions) != 0 {
		return nil, "", &requestError{failUnacceptedExt, "this TSA takes no request extensions"}
	}
	if req.Nonce != nil && (req.Nonce.Sign() < 0 || req.Nonce.BitLen() > 160) {
		return nil, "", &requestError{failBadRequest, "nonce is negative or longer than 160 bits"}
	}
	return &req, h, nil
}

// maxRequestBytes bounds a TimeStampReq.
const maxRequestBytes = 64 << 10

// Sign answers a TimeStampReq (DER) with a TimeStampResp (DER) stamped now,
// truncated to the second, with an accuracy of one second. A request that is
// not a valid TimeStampReq, or asks for another hash algorithm or policy, gets
// a response with status rejection and the RFC 3161 failure bit (badRequest,
// badAlg, badDataFormat, unacceptedPolicy, unacceptedExtension), and a nil
// error; an error is returned only when signing itself fails.
func (a *Authority) Sign(req []byte, now time.Time) ([]byte, error) {
	resp, _, err := a.sign(req, now)
	return resp, err
}

// sign is Sign that also says what it stamped, for the handler's log.
func (a *Authority) sign(reqDER []byte, now time.Time) ([]byte, *tstInfo, error) {
	req, h, err := a.parseRequest(reqDER)
	if err != nil {
		var re *requestError
		errors.As(err, &re)
		return rejection(re.bit, re.text), nil, nil
	}
	a.mu.Lock()
	a.serial++
	serial := new(big.Int).Lsh(new(big.Int).SetUint64(a.prefix), 64)
	serial.Or(serial, new(big.Int).SetUint64(a.serial))
	a.mu.Unlock()
	dirName, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: a.leaf.RawSubject})
	if err != nil {
		return nil, nil, err
	}
	info := tstInfo{
		Version: 1, Policy: a.policy,
		MessageImprint: messageImprint{
			HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: h.oid(), Parameters: asn1.NullRawValue},
			HashedMessage: req.MessageImprint.HashedMessage,
		},
		SerialNumber: serial, GenTime: now.UTC().Truncate(time.Second),
		Accuracy: accuracy{Seconds: 1}, Nonce: req.Nonce,
		TSA: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: dirName},
	}
	infoDER, err := asn1.Marshal(info)
	if err != nil {
		return nil, nil, fmt.Errorf("encode TSTInfo: %w", err)
	}
	token, err := a.signToken(infoDER, req.CertReq)
	if err != nil {
		return nil, nil, err
	}
	resp, err := asn1.Marshal(timeStampResp{
		Status:         pkiStatusInfo{Status: statusGranted},
		TimeStampToken: asn1.RawValue{FullBytes: token},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode TimeStampResp: %w", err)
	}
	return resp, &info, nil
}

// signToken makes the CMS SignedData over a TSTInfo with gmsm's pkcs7: for SM2,
// the GB/T 35275 signedData content type with SM3 and SM2 (1.2.156.10197.1.301.1);
// for ECDSA, RFC 5652 with SHA-256 and ecdsa-with-SHA256. Either carries the ESS
// signing-certificate-v2 attribute (RFC 5035) with the certificate's hash
// (SM3, or SHA-256), and the certificates when certReq is set.
func (a *Authority) signToken(info []byte, certReq bool) ([]byte, error) {
	var sd *pkcs7.SignedData
	var err error
	certHash := pkix.AlgorithmIdentifier{} // SHA-256, the default, is left out (RFC 5035)
	var certSum []byte
	if a.kind == SM2 {
		sd, err = pkcs7.NewSMSignedData(info)
		certHash = pkix.AlgorithmIdentifier{Algorithm: oidSM3, Parameters: asn1.NullRawValue}
		certSum = SM3.Sum(a.leaf.Raw)
	} else {
		sd, err = pkcs7.NewSignedData(info)
		if err == nil {
			sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
		}
		certSum = SHA256.Sum(a.leaf.Raw)
	}
	if err != nil {
		return nil, fmt.Errorf("sign token: %w", err)
	}
	sd.GetSignedData().ContentInfo.ContentType = oidTSTInfo
	sd.GetSignedData().Version = 3 // RFC 5652 §5.1: eContentType is not id-data
	ias, err := asn1.Marshal(struct {
		Issuer []asn1.RawValue
		Serial *big.Int
	}{[]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: a.leaf.RawIssuer}}, a.leaf.SerialNumber})
	if err != nil {
		return nil, err
	}
	scv2, err := asn1.Marshal(signingCertificateV2{Certs: []essCertIDv2{{
		HashAlgorithm: certHash, CertHash: certSum, IssuerSerial: asn1.RawValue{FullBytes: ias},
	}}})
	if err != nil {
		return nil, err
	}
	cfg := pkcs7.SignerInfoConfig{
		ExtraSignedAttributes: []pkcs7.Attribute{{Type: oidSigningCert2, Value: asn1.RawValue{FullBytes: scv2}}},
		SkipCertificates:      !certReq,
	}
	if err := sd.AddSignerChain(a.leaf, a.key, []*smx509.Certificate{a.ca}, cfg); err != nil {
		return nil, fmt.Errorf("sign token: %w", err)
	}
	out, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("sign token: %w", err)
	}
	return out, nil
}
