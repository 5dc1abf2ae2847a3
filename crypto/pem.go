package crypto

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// PEM block types.
const (
	pemPrivateKey          = "PRIVATE KEY"
	pemEncryptedPrivateKey = "ENCRYPTED PRIVATE KEY"
	pemECPrivateKey        = "EC PRIVATE KEY"
	pemSM2PrivateKey       = "SM2 PRIVATE KEY" // what `openssl ec` writes for SM2
	pemPublicKey           = "PUBLIC KEY"
)

// PBES2 parameters of MarshalPEM with a passphrase. OpenSSL 3.0 has no
// hmacWithSM3 PRF, so PBKDF2 uses HMAC-SHA256 (the OpenSSL default) to keep
// the file readable by `openssl pkey`; the cipher is SM4-CBC.
const (
	pbkdf2SaltSize   = 16
	pbkdf2Iterations = 600_000 // OWASP 2023 for PBKDF2-HMAC-SHA256
	// maxPBKDF2Iterations bounds the work a key file can demand.
	maxPBKDF2Iterations = 10_000_000
)

// OIDs the parser needs to name what it found.
var (
	oidPBKDF2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidSMPBKDF         = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 4, 1, 5, 1}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSM2PublicKey    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	oidSM2Curve        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	keyAlgorithmByName = map[string]string{
		"1.2.840.113549.1.1.1":  "RSA",
		"1.2.840.113549.1.1.10": "RSASSA-PSS",
		"1.2.840.10040.4.1":     "DSA",
		"1.3.101.110":           "X25519",
		"1.3.101.111":           "X448",
		"1.3.101.112":           "Ed25519",
		"1.3.101.113":           "Ed448",
	}
	curveByName = map[string]string{
		"1.2.840.10045.3.1.7": "NIST P-256",
		"1.3.132.0.34":        "NIST P-384",
		"1.3.132.0.35":        "NIST P-521",
		"1.3.132.0.10":        "secp256k1",
	}
)

// MarshalPEM encodes k as PKCS#8. With an empty passphrase the result is a
// plain "PRIVATE KEY" PEM block; otherwise it is an "ENCRYPTED PRIVATE KEY"
// block (PKCS#8 PBES2: PBKDF2-HMAC-SHA256, 600 000 iterations, 16-byte salt;
// SM4-CBC), which OpenSSL 3 reads with `openssl pkey -passin`. The encryption
// salt and IV come from crypto/rand.
func (k *PrivateKey) MarshalPEM(passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		der, err := smx509.MarshalPKCS8PrivateKey(k.k)
		if err != nil {
			return nil, fmt.Errorf("marshal SM2 private key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
	}
	enc := pkcs.NewPBESEncrypter(pkcs.SM4CBC, pkcs.NewPBKDF2Opts(pkcs.SHA256, pbkdf2SaltSize, pbkdf2Iterations))
	der, err := pkcs8.MarshalPrivateKey(k.k, passphrase, enc)
	if err != nil {
		return nil, fmt.Errorf("marshal encrypted SM2 private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncryptedPrivateKey, Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes an SM2 private key from the first private-key
// PEM block in data ("EC PARAMETERS" blocks before it are skipped). It
// accepts PKCS#8 "PRIVATE KEY", encrypted PKCS#8 (PBES2 with PBKDF2)
// "ENCRYPTED PRIVATE KEY", and SEC 1 "EC PRIVATE KEY" / "SM2 PRIVATE KEY"
// with the SM2 curve.
//
// A passphrase given for an unencrypted key is ignored.
//
// Errors: ErrPassphraseRequired (encrypted and passphrase empty),
// ErrWrongPassphrase, ErrNotSM2Key (another algorithm or curve; the message
// says which), ErrMalformedKey (anything else).
func ParsePrivateKeyPEM(data, passphrase []byte) (*PrivateKey, error) {
	block, err := firstKeyBlock(data)
	if err != nil {
		return nil, err
	}
	if _, ok := block.Headers["Proc-Type"]; ok {
		return nil, fmt.Errorf("%w: legacy PEM encryption (Proc-Type header) is not supported; convert with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", ErrMalformedKey)
	}
	switch block.Type {
	case pemPrivateKey:
		return parsePKCS8(block.Bytes)
	case pemEncryptedPrivateKey:
		if len(passphrase) == 0 {
			return nil, ErrPassphraseRequired
		}
		der, err := decryptPKCS8(block.Bytes, passphrase)
		if err != nil {
			return nil, err
		}
		k, err := parsePKCS8(der)
		if errors.Is(err, ErrMalformedKey) {
			// CBC padding matched by chance: the passphrase was wrong.
			return nil, fmt.Errorf("%w (or the key file is corrupt)", ErrWrongPassphrase)
		}
		return k, err
	case pemECPrivateKey, pemSM2PrivateKey:
		return parseSEC1(block.Bytes)
	case "RSA PRIVATE KEY":
		return nil, fmt.Errorf("%w: found an RSA private key", ErrNotSM2Key)
	case "DSA PRIVATE KEY":
		return nil, fmt.Errorf("%w: found a DSA private key", ErrNotSM2Key)
	case "OPENSSH PRIVATE KEY":
		return nil, fmt.Errorf("%w: OpenSSH key files are not supported; SM2 keys come as PKCS#8 (`openssl genpkey -algorithm SM2`)", ErrMalformedKey)
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrMalformedKey, block.Type)
	}
}

func firstKeyBlock(data []byte) (*pem.Block, error) {
	rest := data
	for {
		block, r := pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: no PEM private key block found", ErrMalformedKey)
		}
		rest = r
		if block.Type == "EC PARAMETERS" || block.Type == "SM2 PARAMETERS" {
			continue
		}
		return block, nil
	}
}

// pkcs8Info is the PKCS#8 PrivateKeyInfo outer structure; only the algorithm
// is inspected here, the library parses the rest.
type pkcs8Info struct {
	Version    int
	Algo       pkix.AlgorithmIdentifier
	PrivateKey []byte
	Attributes asn1.RawValue `asn1:"optional,tag:0"`
	PublicKey  asn1.RawValue `asn1:"optional,tag:1"`
}

func parsePKCS8(der []byte) (*PrivateKey, error) {
	var info pkcs8Info
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS#8: %v", ErrMalformedKey, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: PKCS#8: %d bytes after the key", ErrMalformedKey, len(rest))
	}
	alg := info.Algo.Algorithm
	switch {
	case alg.Equal(oidSM2PublicKey):
	case alg.Equal(oidECPublicKey):
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &curve); err == nil && !curve.Equal(oidSM2Curve) {
			return nil, fmt.Errorf("%w: found an EC key on %s", ErrNotSM2Key, curveName(curve))
		}
	default:
		name, ok := keyAlgorithmByName[alg.String()]
		if !ok {
			name = "algorithm OID " + alg.String()
		}
		return nil, fmt.Errorf("%w: found a %s private key", ErrNotSM2Key, name)
	}
	key, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return fromLibraryKey(key)
}

func parseSEC1(der []byte) (*PrivateKey, error) {
	key, err := smx509.ParseTypedECPrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: SEC 1: %v", ErrMalformedKey, err)
	}
	return fromLibraryKey(key)
}

func curveName(oid asn1.ObjectIdentifier) string {
	if n, ok := curveByName[oid.String()]; ok {
		return n
	}
	return "curve OID " + oid.String()
}

// fromLibraryKey checks the type of a parsed key and re-derives it from its
// scalar, so range checks and the public key are ours, not the file's.
func fromLibraryKey(key any) (*PrivateKey, error) {
	switch k := key.(type) {
	case *sm2.PrivateKey:
		d, err := scalarOf(k)
		if err != nil {
			return nil, err
		}
		return NewPrivateKey(d)
	case *ecdsa.PrivateKey:
		return nil, fmt.Errorf("%w: found an ECDSA key on %s", ErrNotSM2Key, k.Curve.Params().Name)
	case *rsa.PrivateKey:
		return nil, fmt.Errorf("%w: found an RSA private key", ErrNotSM2Key)
	case ed25519.PrivateKey:
		return nil, fmt.Errorf("%w: found an Ed25519 private key", ErrNotSM2Key)
	default:
		return nil, fmt.Errorf("%w: found a %T", ErrNotSM2Key, key)
	}
}

// encryptedPKCS8 is EncryptedPrivateKeyInfo (RFC 5958 §3).
type encryptedPKCS8 struct {
	Algo          pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbkdf2Params is PBKDF2-params (RFC 8018 A.2), decoded to bound the work.
type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

func decryptPKCS8(der, passphrase []byte) ([]byte, error) {
	var enc encryptedPKCS8
	rest, err := asn1.Unmarshal(der, &enc)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: not a DER EncryptedPrivateKeyInfo", ErrMalformedKey)
	}
	if !pkcs.IsPBES2(enc.Algo) && !pkcs.IsSMPBES(enc.Algo) {
		return nil, fmt.Errorf("%w: key encryption %v is not PBES2; re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", ErrMalformedKey, enc.Algo.Algorithm)
	}
	var params pkcs.PBES2Params
	if rest, err := asn1.Unmarshal(enc.Algo.Parameters.FullBytes, &params); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: bad PBES2 parameters", ErrMalformedKey)
	}
	kdf := params.KeyDerivationFunc.Algorithm
	if !kdf.Equal(oidPBKDF2) && !kdf.Equal(oidSMPBKDF) {
		return nil, fmt.Errorf("%w: key derivation %v is not PBKDF2", ErrMalformedKey, kdf)
	}
	var kp pbkdf2Params
	if rest, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kp); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: bad PBKDF2 parameters", ErrMalformedKey)
	}
	if kp.IterationCount < 1 || kp.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("%w: PBKDF2 iteration count %d outside [1, %d]", ErrMalformedKey, kp.IterationCount, maxPBKDF2Iterations)
	}
	der, _, err = params.Decrypt(passphrase, enc.EncryptedData)
	if errors.Is(err, pkcs.ErrPBEDecryption) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return der, nil
}

// MarshalPEM encodes p as a SubjectPublicKeyInfo "PUBLIC KEY" PEM block
// (id-ecPublicKey with the SM2 curve OID, as OpenSSL writes it).
func (p *PublicKey) MarshalPEM() ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(p.k)
	if err != nil {
		return nil, fmt.Errorf("marshal SM2 public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// ParsePublicKeyPEM decodes an SM2 public key from the first "PUBLIC KEY"
// (SubjectPublicKeyInfo) PEM block in data. Errors wrap ErrMalformedKey or,
// for a key of another algorithm or curve, ErrNotSM2Key.
func ParsePublicKeyPEM(data []byte) (*PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrMalformedKey)
	}
	if block.Type != pemPublicKey {
		return nil, fmt.Errorf("%w: PEM block is %q, want %q", ErrMalformedKey, block.Type, pemPublicKey)
	}
	key, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != sm2.P256() {
			return nil, fmt.Errorf("%w: found an ECDSA key on %s", ErrNotSM2Key, k.Curve.Params().Name)
		}
		return newPublicKey(k)
	case *rsa.PublicKey:
		return nil, fmt.Errorf("%w: found an RSA public key", ErrNotSM2Key)
	case ed25519.PublicKey:
		return nil, fmt.Errorf("%w: found an Ed25519 public key", ErrNotSM2Key)
	default:
		return nil, fmt.Errorf("%w: found a %T", ErrNotSM2Key, key)
	}
}
