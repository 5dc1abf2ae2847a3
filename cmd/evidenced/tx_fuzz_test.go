package main

import (
	"bytes"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// FuzzParseUnsignedTx checks that body.json decoding never panics and that
// whatever it accepts encodes to JSON that decodes and encodes to the same
// bytes again.
func FuzzParseUnsignedTx(f *testing.F) {
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	rec := &ledger.Record{Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Prev: crypto.Hash{1}, Commitment: crypto.Hash{2}, Size: 9,
		Labels: []ledger.Label{{Key: "product", Value: "consumer-loan"}}}
	body := &ledger.Body{ChainID: "evidenced-test", Signer: k.Public().ID(), Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano(), Payload: &ledger.Evidence{Record: *rec}}
	bb, err := ledger.EncodeBody(body)
	if err != nil {
		f.Fatal(err)
	}
	files := []evidenceFile{{path: "c.pdf", sidecar: "c.pdf" + sidecar.Suffix}}
	for _, pub := range []*crypto.PublicKey{k.Public(), nil} {
		u, err := newUnsignedTx(body, bb, pub, files, filepath.Join("sign dir", "x"))
		if err != nil {
			f.Fatal(err)
		}
		j, err := jsonIndent(u)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(j)
	}
	f.Add([]byte(`{"version":1,"records":[{"sidecar":"s"}],"client_time":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := parseUnsignedTx(data)
		if err != nil {
			return
		}
		j1, err := jsonIndent(u)
		if err != nil {
			t.Fatalf("encode accepted body.json: %v", err)
		}
		u2, err := parseUnsignedTx(j1)
		if err != nil {
			t.Fatalf("re-encoded body.json does not decode: %v\n%s", err, j1)
		}
		j2, err := jsonIndent(u2)
		if err != nil || !bytes.Equal(j1, j2) {
			t.Fatalf("round trip differs (%v):\n%s\n%s", err, j1, j2)
		}
	})
}
