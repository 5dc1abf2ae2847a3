package ledger_test

import (
	"crypto/rand"
	"fmt"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// A bank preserves the first two steps of a loan's evidence chain; the
// second step names the leaf hash of the entry holding the first.
func ExampleLedger_Apply() {
	a, _ := ledgertest.NewAlliance(rand.Reader, "demo")
	st := ledgertest.NewMemStore()
	l := ledger.New(ledger.Options{})
	g, _ := l.InitChain(st, a.Genesis) // six members: six genesis entries
	st.Commit(g.Changes)

	now := ledgertest.GenesisTime
	step1 := ledger.Record{Kind: "credit-authorisation", Chain: "LOAN-1", Step: 1,
		Commitment: crypto.SM3([]byte("salt"), []byte("signed authorisation")), Size: 20}
	out, _ := l.Apply(st, ledger.Block{Height: 1, Time: now, Txs: [][]byte{a.Evidence(a.Key("bank-a"), now, step1)}})
	st.Commit(out.Changes)
	fmt.Println(out.Results[0].Code, out.Results[0].Index)

	entry, _ := ledger.NewView(st).EntryBytes(out.Results[0].Index)
	step2 := ledger.Record{Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Prev: ledger.LeafHash(entry),
		Commitment: crypto.SM3([]byte("salt2"), []byte("loan agreement")), Size: 14}
	out, _ = l.Apply(st, ledger.Block{Height: 2, Time: now, Txs: [][]byte{
		a.Evidence(a.Key("bank-a"), now, step2),
		a.Evidence(a.Key("notary"), now, step2), // only banks submit evidence
	}})
	st.Commit(out.Changes)
	fmt.Println(out.Results[0].Code, out.Results[0].Index)
	fmt.Println(out.Results[1].Code)
	// Output:
	// ok 6
	// ok 7
	// role_not_allowed
}

// A client turns a business system's labels and a file's commitment into
// the body of an evidence transaction, then signs it.
func ExampleEvidenceBody() {
	labels, err := ledger.LabelsFromMap(map[string]string{"product": "consumer-loan", "channel": "app"})
	if err != nil {
		panic(err)
	}
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-2026-000001", Step: 1,
		Commitment: crypto.SM3([]byte("salt"), []byte("loan agreement")), Size: 14, Labels: labels}
	body, err := ledger.EvidenceBody("evidenced-dev", ledgertest.GenesisTime, rec)
	if err != nil {
		panic(err)
	}
	fmt.Println(body.Type(), body.EvidenceRecords()[0].Labels)

	// A record that breaks a rule is refused before anything is signed.
	rec.Step = 0
	_, err = ledger.EvidenceBody("evidenced-dev", ledgertest.GenesisTime, rec)
	fmt.Println(err)
	// Output:
	// evidence [{channel app} {product consumer-loan}]
	// malformed (code 1): chain LOAN-2026-000001: step numbers start at 1
}
