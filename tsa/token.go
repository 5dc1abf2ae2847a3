package tsa

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// MaxTokenBytes bounds a token's encoding; decoders refuse more before parsing.
const MaxTokenBytes = 16 << 10

// maxResponseBytes bounds a TimeStampResp: a token plus its status.
const maxResponseBytes = MaxTokenBytes * 4

// maxCerts bounds the certificates a token may carry.
const maxCerts = 8

// Token is a parsed RFC 3161 TimeStampToken: a CMS ContentInfo holding a
// SignedData whose content is a TSTInfo. It keeps its DER; parsing checks the
// structure only. Verify checks what it says.
type Token struct {
	raw      []byte
	certs    []*smx509.Certificate
	signer   signerInfo
	attrsSet []byte      // the signed attributes as a DER SET OF: what was signed
	attrs    []attribute // the same, decoded
	eContent []byte      // the DER of the TSTInfo
	info     tstInfo
	hash     HashAlg // the message imprint's algorithm, "" when not one of ours
}

// Raw returns the token's DER. The caller must not modify it.
func (t *Token) Raw() []byte { return t.raw }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// unmarshalAll decodes exactly one DER value filling b.
func unmarshalAll(b []byte, v any, what string, params ...string) error {
	var rest []byte
	var err error
	if len(params) > 0 {
		rest, err = asn1.UnmarshalWithParams(b, v, params[0])
	} else {
		rest, err = asn1.Unmarshal(b, v)
	}
	if err != nil {
		return malformed("%s: %v", what, err)
	}
	if len(rest) != 0 {
		return malformed("%s: %d trailing bytes", what, len(rest))
	}
	return nil
}

// ParseToken parses a TimeStampToken (DER). It accepts the RFC 5652 signedData
// content type and the GB/T 35275 one (1.2.156.10197.6.1.4.2.2) that SM2 tokens
// in the GM/T 0010 style carry; the encapsulated content must be id-ct-TSTInfo.
// Errors wrap ErrMalformed.
func ParseToken(der []byte) (*Token, error) {
	if len(der) > MaxTokenBytes {
		return nil, malformed("token is %d bytes, more than the %d allowed", len(der), MaxTokenBytes)
	}
	if len(der) == 0 {
		return nil, malformed("empty token")
	}
	var ci contentInfo
	if err := unmarshalAll(der, &ci, "token ContentInfo"); err != nil {
		return nil, err
	}
	if !ci.ContentType.Equal(oidSignedData) && !ci.ContentType.Equal(oidSM2Signed) {
		return nil, malformed("token content type %s is not signedData", ci.ContentType)
	}
	var sd signedData
	if err := unmarshalAll(ci.Content.Bytes, &sd, "token SignedData"); err != nil {
		return nil, err
	}
	if sd.Version != 1 && sd.Version != 3 {
		return nil, malformed("SignedData version %d (want 1 or 3)", sd.Version)
	}
	if !sd.EncapContentInfo.EContentType.Equal(oidTSTInfo) {
		return nil, malformed("encapsulated content type %s is not id-ct-TSTInfo", sd.EncapContentInfo.EContentType)
	}
	if len(sd.CRLs.Raw) != 0 {
		return nil, malformed("token carries CRLs, which a time-stamp token does not use")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, malformed("token has %d signers (want exactly 1)", len(sd.SignerInfos))
	}
	t := &Token{raw: bytes.Clone(der), signer: sd.SignerInfos[0]}
	if err := unmarshalAll(sd.EncapContentInfo.EContent.Bytes, &t.eContent, "encapsulated content"); err != nil {
		return nil, err
	}
	if len(sd.Certificates.Raw) != 0 {
		var set asn1.RawValue
		if err := unmarshalAll(sd.Certificates.Raw, &set, "token certificates"); err != nil {
			return nil, err
		}
		for rest := set.Bytes; len(rest) > 0; {
			if len(t.certs) == maxCerts {
				return nil, malformed("token carries more than %d certificates", maxCerts)
			}
			var c asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &c); err != nil {
				return nil, malformed("token certificate %d: %v", len(t.certs), err)
			}
			cert, err := smx509.ParseCertificate(c.FullBytes)
			if err != nil {
				return nil, malformed("token certificate %d: %v", len(t.certs), err)
			}
			t.certs = append(t.certs, cert)
		}
	}
	si := &t.signer
	// Fields the signature does not cover must have one form only, so that no
	// byte of a token can change while it still verifies.
	if len(sd.DigestAlgorithms) != 1 || !sd.DigestAlgorithms[0].Algorithm.Equal(si.DigestAlgorithm.Algorithm) ||
		!nullParams(sd.DigestAlgorithms[0].Parameters) {
		return nil, malformed("SignedData digest algorithms must be the signer's one")
	}
	if !nullParams(si.DigestAlgorithm.Parameters) || !nullParams(si.SignatureAlgorithm.Parameters) {
		return nil, malformed("signer info algorithm identifiers have parameters")
	}
	if len(si.UnsignedAttrs.Raw) != 0 {
		return nil, malformed("signer info has unsigned attributes, which a token here may not carry")
	}
	if si.Version != 1 {
		return nil, malformed("signer info version %d (want 1: issuer and serial number)", si.Version)
	}
	if si.SID.Serial == nil || si.SID.Issuer.Tag != asn1.TagSequence {
		return nil, malformed("signer info has no issuer and serial number")
	}
	if len(si.SignedAttrs.Raw) < 2 {
		return nil, malformed("signer info has no signed attributes (RFC 3161 requires them)")
	}
	// What was signed is the DER of the attributes as a SET OF (RFC 5652 §5.4).
	t.attrsSet = append([]byte{0x31}, si.SignedAttrs.Raw[1:]...)
	if err := unmarshalAll(t.attrsSet, &t.attrs, "signed attributes", "set"); err != nil {
		return nil, err
	}
	if err := unmarshalAll(t.eContent, &t.info, "TSTInfo"); err != nil {
		return nil, err
	}
	in := &t.info
	if in.Version != 1 {
		return nil, malformed("TSTInfo version %d (want 1)", in.Version)
	}
	if in.SerialNumber == nil || in.SerialNumber.Sign() < 0 {
		return nil, malformed("TSTInfo serial number missing or negative")
	}
	if in.Nonce != nil && in.Nonce.Sign() < 0 {
		return nil, malformed("TSTInfo nonce is negative")
	}
	if in.GenTime.IsZero() || in.GenTime.Year() < 1970 {
		return nil, malformed("TSTInfo genTime %v is out of range", in.GenTime)
	}
	in.GenTime = in.GenTime.UTC()
	if in.Accuracy.Seconds < 0 || in.Accuracy.Millis < 0 || in.Accuracy.Millis > 999 ||
		in.Accuracy.Micros < 0 || in.Accuracy.Micros > 999 || in.Accuracy.Seconds > 1<<20 {
		return nil, malformed("TSTInfo accuracy out of range")
	}
	for _, e := range in.Extensions {
		if e.Critical {
			return nil, malformed("TSTInfo has an unknown critical extension %s", e.Id)
		}
	}
	t.hash = hashByOID(in.MessageImprint.HashAlgorithm.Algorithm)
	if !nullParams(in.MessageImprint.HashAlgorithm.Parameters) {
		return nil, malformed("message imprint hash algorithm has parameters")
	}
	if t.hash != "" && len(in.MessageImprint.HashedMessage) != t.hash.size() {
		return nil, malformed("message imprint is %d bytes, %s makes %d", len(in.MessageImprint.HashedMessage), t.hash, t.hash.size())
	}
	return t, nil
}

// GenTime returns the time the token states, in UTC (unverified).
func (t *Token) GenTime() time.Time { return t.info.GenTime }

// Serial returns a copy of the token's serial number (unverified).
func (t *Token) Serial() *big.Int { return new(big.Int).Set(t.info.SerialNumber) }

// Nonce returns the token's nonce, or nil (unverified).
func (t *Token) Nonce() *big.Int { return t.info.Nonce }

// Imprint returns the hash algorithm and message imprint the token states
// (unverified); the algorithm is "" when it is neither sm3 nor sha256.
func (t *Token) Imprint() (HashAlg, []byte) { return t.hash, t.info.MessageImprint.HashedMessage }

// ErrRejected is returned by ParseResponse and Request when the TSA answered
// with a status other than granted.
var ErrRejected = errors.New("the time-stamping authority rejected the request")

var failNames = map[int]string{
	failBadAlg: "badAlg", 1: "badMessageCheck", failBadRequest: "badRequest", failBadDataFormat: "badDataFormat",
	14: "timeNotAvailable", failUnacceptedPolicy: "unacceptedPolicy", failUnacceptedExt: "unacceptedExtension",
	17: "addInfoNotAvailable", failSystemFailure: "systemFailure",
}

// ParseResponse parses a TimeStampResp (DER) and returns its token. A status
// other than granted (or grantedWithMods) gives an error wrapping ErrRejected
// with the TSA's failure bits and text; anything unparsable wraps ErrMalformed.
func ParseResponse(der []byte) (*Token, error) {
	if len(der) > maxResponseBytes {
		return nil, malformed("response is %d bytes, more than the %d allowed", len(der), maxResponseBytes)
	}
	var resp timeStampResp
	if err := unmarshalAll(der, &resp, "TimeStampResp"); err != nil {
		return nil, err
	}
	st := resp.Status
	if st.Status != statusGranted && st.Status != statusGrantedWithMods {
		var fails []string
		for bit := 0; bit < st.FailInfo.BitLength && bit < 32; bit++ {
			if st.FailInfo.At(bit) == 1 {
				name := failNames[bit]
				if name == "" {
					name = fmt.Sprintf("bit %d", bit)
				}
				fails = append(fails, name)
			}
		}
		var texts []string
		for _, v := range st.StatusString {
			texts = append(texts, string(v.Bytes))
		}
		text := strings.Join(texts, "; ")
		if len(text) > 200 {
			text = text[:200]
		}
		return nil, fmt.Errorf("%w: status %d, failure %s, %q", ErrRejected, st.Status, strings.Join(fails, ","), text)
	}
	if len(resp.TimeStampToken.FullBytes) == 0 {
		return nil, malformed("granted response carries no token")
	}
	return ParseToken(resp.TimeStampToken.FullBytes)
}

// nullParams reports whether algorithm parameters are absent or NULL.
func nullParams(p asn1.RawValue) bool {
	return len(p.FullBytes) == 0 || bytes.Equal(p.FullBytes, asn1.NullBytes)
}
