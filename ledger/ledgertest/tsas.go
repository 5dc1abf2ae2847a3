package ledgertest

import (
	"embed"
	"encoding/pem"
	"fmt"
	"slices"

	"github.com/evidenced/evidenced/ledger"
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
