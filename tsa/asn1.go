package tsa

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"time"
)

// ASN.1 structures of RFC 3161 (TimeStampReq, TimeStampResp, TSTInfo) and of the
// parts of RFC 5652 CMS SignedData a token needs. No library gives them with SM3
// imprints (digitorus/timestamp maps hashes to crypto.Hash, which has no SM3).

var (
	oidSignedData   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}        // RFC 5652
	oidSM2Signed    = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2}   // GB/T 35275 signedData
	oidTSTInfo      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4} // id-ct-TSTInfo
	oidContentType  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMsgDigest    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCert  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12} // ESS signing-certificate (SHA-1)
	oidSigningCert2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47} // ESS signing-certificate-v2
	oidExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidKPTimeStamp  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}

	// Signature algorithms a signer info may name.
	oidSM2         = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	oidSM2WithSM3  = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSASHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}

	// DevPolicy is the TSA policy of the development authority: the value of
	// OpenSSL's example configuration (tsa_policy1), for development only.
	oidDevPolicy = asn1.ObjectIdentifier{1, 2, 3, 4, 1}
)

// contentInfo is RFC 5652 §3 ContentInfo.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

// rawSet holds an IMPLICIT [n] SET OF … as its raw encoding.
type rawSet struct {
	Raw asn1.RawContent
}

// signedData is RFC 5652 §5.1 SignedData.
type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     rawSet       `asn1:"optional,tag:0"`
	CRLs             rawSet       `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	// EContent is the [0] EXPLICIT OCTET STRING, kept raw: encoding/asn1 does
	// not check an explicit tag's length against its contents.
	EContent asn1.RawValue `asn1:"explicit,tag:0"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// signerInfo is RFC 5652 §5.3 SignerInfo with the issuerAndSerialNumber choice.
type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        rawSet `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      rawSet `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// messageImprint is RFC 3161 §2.4.1 MessageImprint.
type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

// timeStampReq is RFC 3161 §2.4.1 TimeStampReq.
type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        bool                  `asn1:"optional,default:false"`
	Extensions     []pkix.Extension      `asn1:"optional,tag:0"`
}

// pkiStatusInfo is RFC 3161 §2.4.2 PKIStatusInfo.
type pkiStatusInfo struct {
	Status       int
	StatusString []asn1.RawValue `asn1:"optional"` // PKIFreeText: UTF8Strings
	FailInfo     asn1.BitString  `asn1:"optional"`
}

// timeStampResp is RFC 3161 §2.4.2 TimeStampResp.
type timeStampResp struct {
	Status         pkiStatusInfo
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

// accuracy is RFC 3161 §2.4.2 Accuracy.
type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

// tstInfo is RFC 3161 §2.4.2 TSTInfo.
type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        time.Time        `asn1:"generalized"`
	Accuracy       accuracy         `asn1:"optional"`
	Ordering       bool             `asn1:"optional,default:false"`
	Nonce          *big.Int         `asn1:"optional"`
	TSA            asn1.RawValue    `asn1:"optional,tag:0"`
	Extensions     []pkix.Extension `asn1:"optional,tag:1"`
}

// essCertIDv2 and signingCertificateV2 are RFC 5035 §3; essCertID and
// signingCertificate are RFC 2634 §5.4.
type essCertIDv2 struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
	CertHash      []byte
	IssuerSerial  asn1.RawValue `asn1:"optional"`
}

type signingCertificateV2 struct {
	Certs    []essCertIDv2
	Policies asn1.RawValue `asn1:"optional"`
}

type essCertID struct {
	CertHash     []byte
	IssuerSerial asn1.RawValue `asn1:"optional"`
}

type signingCertificate struct {
	Certs    []essCertID
	Policies asn1.RawValue `asn1:"optional"`
}

// Failure bits of PKIFailureInfo (RFC 3161 §2.4.2).
const (
	failBadAlg           = 0
	failBadRequest       = 2
	failBadDataFormat    = 5
	failUnacceptedPolicy = 15
	failUnacceptedExt    = 16
	failSystemFailure    = 25
)

// PKIStatus values.
const (
	statusGranted         = 0
	statusGrantedWithMods = 1
	statusRejection       = 2
)
