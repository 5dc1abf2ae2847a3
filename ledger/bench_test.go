package ledger_test

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

func benchFixture(b *testing.B) (*ledgertest.Alliance, *ledgertest.MemStore) {
	b.Helper()
	a, err := ledgertest.NewAlliance(rand.Reader, chainID)
	if err != nil {
		b.Fatal(err)
	}
	st := ledgertest.NewMemStore()
	out, err := ledger.New(ledger.Options{}).InitChain(st, a.Genesis)
	if err != nil {
		b.Fatal(err)
	}
	st.Commit(out.Changes)
	return a, st
}

func benchRecords(n int) []ledger.Record {
	recs := make([]ledger.Record, n)
	for i := range recs {
		recs[i] = rec(fmt.Sprintf("LOAN-%07d", i), 1, crypto.Hash{}, fmt.Sprint("doc", i))
	}
	return recs
}

// BenchmarkApplyBlock1000 applies a block of 1,000 individually signed
// evidence records (1,000 SM2 verifications) to a fresh chain.
func BenchmarkApplyBlock1000(b *testing.B) {
	for _, workers := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			a, st := benchFixture(b)
			var txs [][]byte
			for _, r := range benchRecords(1000) {
				txs = append(txs, a.Evidence(a.Key("bank-a"), ledgertest.GenesisTime, r))
			}
			l := ledger.New(ledger.Options{Workers: workers})
			b.ResetTimer()
			for b.Loop() {
				out, err := l.Apply(st, ledger.Block{Height: 1, Time: ledgertest.GenesisTime, Txs: txs})
				if err != nil || out.LogSize != 1006 {
					b.Fatalf("apply: %v (log size %d)", err, out.LogSize)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
		})
	}
}

// BenchmarkApplyBatch1000 applies one batch transaction of 1,000 records
// (one SM2 verification).
func BenchmarkApplyBatch1000(b *testing.B) {
	a, st := benchFixture(b)
	tx := a.Batch(a.Key("bank-a"), ledgertest.GenesisTime, benchRecords(1000))
	l := ledger.New(ledger.Options{})
	for b.Loop() {
		out, err := l.Apply(st, ledger.Block{Height: 1, Time: ledgertest.GenesisTime, Txs: [][]byte{tx}})
		if err != nil || out.Results[0].Code != ledger.CodeOK {
			b.Fatalf("apply: %v %v", err, out.Results[0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
}

// BenchmarkDecodeVerify decodes one evidence transaction and verifies its signature.
func BenchmarkDecodeVerify(b *testing.B) {
	a, _ := benchFixture(b)
	raw := a.Evidence(a.Key("bank-a"), 0, benchRecords(1)[0])
	pub := a.Key("bank-a").Public()
	for b.Loop() {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := pub.Verify(tx.BodyBytes, tx.Signature); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeafHash hashes one typical log entry as a Merkle leaf.
func BenchmarkLeafHash(b *testing.B) {
	a, _ := benchFixture(b)
	entry := (&ledger.Entry{Height: 1, Time: 1, TxBytes: a.Evidence(a.Key("bank-a"), 0, benchRecords(1)[0])}).Encode()
	b.SetBytes(int64(len(entry)))
	for b.Loop() {
		ledger.LeafHash(entry)
	}
}
