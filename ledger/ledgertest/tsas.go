package ledgertest

import (
	"crypto/x509/pkix"
	"embed"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/tsa"
)

// testdata holds fixed self-signed TSA certificates (valid 2025–2045,
// extended key usage timeStamping): two SM2 ones and an ECDSA P-256 one.
//
//go:embed testdata/tsa-*.pem
var testdata embed.FS

// TSACertFiles are the names of the fixed test certificates, for TSACert.
var TSACertFiles = []string{"tsa-sm2-a.pem", "tsa-sm2-b.pem", "tsa-ecdsa.pem"}

// TSACertPEM returns fixed test TSA certificate i (an index into
// TSACertFiles) as PEM.
func TSACertPEM(i int) []byte {
	b, err := testdata.ReadFile("testdata/" + TSACertFiles[i])
	if err != nil {
		panic(fmt.Sprintf("ledgertest: TSA certificate %d: %v", i, err))
	}
	return b
}

// TSACert returns fixed test TSA certificate i as DER.
func TSACert(i int) []byte {
	b, _ := pem.Decode(TSACertPEM(i))
	return b.Bytes
}

// TSA returns a trusted TSA named name with fixed test certificate i and
// the given hash names (sorted, as a roster holds them; "sm3" when none).
func TSA(name string, i int, hashes ...string) ledger.TSA {
	if len(hashes) == 0 {
		hashes = []string{ledger.HashSM3}
	}
	hs := slices.Sorted(slices.Values(hashes))
	return ledger.TSA{Name: name, Cert: TSACert(i), Hashes: hs}
}

// timeStampReq is RFC 3161's TimeStampReq.
type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	Nonce          *big.Int `asn1:"optional"`
	CertReq        bool     `asn1:"optional,default:false"`
}

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

var hashOIDs = map[tsa.HashAlg]asn1.ObjectIdentifier{
	tsa.SM3:    {1, 2, 156, 10197, 1, 401},
	tsa.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
}

// Stamp returns the DER token the development authority a signs at now
// over msg hashed with h, with a nonce (as the stamper asks) unless nonce
// is nil.
func Stamp(a *tsa.Authority, h tsa.HashAlg, msg []byte, nonce *big.Int, now time.Time) ([]byte, error) {
	q, err := asn1.Marshal(timeStampReq{Version: 1,
		MessageImprint: messageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: hashOIDs[h], Parameters: asn1.NullRawValue}, HashedMessage: h.Sum(msg)},
		Nonce:          nonce, CertReq: true})
	if err != nil {
		return nil, err
	}
	resp, err := a.Sign(q, now)
	if err != nil {
		return nil, err
	}
	tok, err := tsa.ParseResponse(resp)
	if err != nil {
		return nil, err
	}
	return tok.Raw(), nil
}
