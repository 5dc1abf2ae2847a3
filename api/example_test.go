package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// A node serves the API over its Backend (here memNode, an in-memory ledger
// that commits each transaction as a one-transaction block; a real node wires
// in CometBFT and its Badger store). A bank submits step 1 of a loan's
// evidence chain and reads the chain back; a notary's attempt to submit
// evidence is rejected with the ledger's code and hint.
func ExampleNew() {
	node, err := newMemNode()
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(api.New(node, api.Options{}))
	defer srv.Close()

	a, now := node.a, ledgertest.GenesisTime
	step1 := ledger.Record{Kind: "credit-authorisation", Chain: "LOAN-1", Step: 1, Size: 20,
		Commitment: ledgertest.Commitment("signed authorisation")}

	resp, err := http.Post(srv.URL+"/v1/txs?wait=commit", "application/octet-stream",
		bytes.NewReader(a.Evidence(a.Key("bank-a"), now, step1)))
	if err != nil {
		panic(err)
	}
	var res client.SubmitResult
	_ = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, res.Status, "entry", res.Index, "height", res.Height, res.Signer, res.Chains)

	resp, err = http.Get(srv.URL + "/v1/chains/LOAN-1")
	if err != nil {
		panic(err)
	}
	var ch client.Chain
	_ = json.NewDecoder(resp.Body).Decode(&ch)
	resp.Body.Close()
	fmt.Println(ch.Chain, "owner", ch.Owner, "steps", ch.Steps, "head entry", ch.HeadIndex)

	step1.Chain = "LOAN-2"
	resp, err = http.Post(srv.URL+"/v1/txs", "application/octet-stream",
		bytes.NewReader(a.Evidence(a.Key("notary"), now, step1)))
	if err != nil {
		panic(err)
	}
	var er client.ErrorResponse
	_ = json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, er.Error.Code, er.Error.ResultCode)
	fmt.Println("hint:", er.Error.Hint)
	// Output:
	// 200 committed entry 6 height 1 bank-a [LOAN-1]
	// LOAN-1 owner bank-a steps 1 head entry 6
	// 422 role_not_allowed 7
	// hint: only banks submit evidence, grant and refuse; only notary, arbitration and court members attest; only courts and arbitration centres request originals
}
