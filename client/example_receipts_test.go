package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// receiptNode is a tiny stand-in for a node's receipt, checkpoint, proof,
// roster and evidence endpoints.
func receiptNode() *httptest.Server {
	root := crypto.SM3([]byte("root"))
	cp := receipt.CheckpointFile{Checkpoint: "evidenced/evidenced-dev\n12\n…\nheight 9\ntime 2026-11-27T03:00:01Z\n",
		Height: 9, TreeSize: 12, Root: root, Signatures: []receipt.Signature{{Member: "bank-a"}, {Member: "bank-b"}, {Member: "court"}}}
	roster := ledger.Roster{Version: 1, ChainID: "evidenced-dev", Members: []ledger.RosterMember{
		{Name: "bank-a", Role: ledger.RoleBank, Power: 10, Keys: []string{"04" + strings.Repeat("ab", 64)}}}}
	digest, _ := roster.Digest()
	send := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/evidence/{id}/receipt", func(w http.ResponseWriter, r *http.Request) {
		send(w, 200, receipt.Receipt{Version: 1, ChainID: "evidenced-dev", LeafIndex: 7, TreeSize: 12, Checkpoint: cp.Checkpoint,
			Signatures: cp.Signatures, Record: receipt.Record{Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Submitter: "bank-a"}})
	})
	mux.HandleFunc("GET /v1/checkpoints/{height}", func(w http.ResponseWriter, r *http.Request) { send(w, 200, cp) })
	mux.HandleFunc("GET /v1/proofs/consistency", func(w http.ResponseWriter, r *http.Request) {
		send(w, 200, client.ConsistencyProof{From: 5, To: 12, Proof: [][]byte{root[:], root[:]}, FromRoot: root, ToRoot: root})
	})
	mux.HandleFunc("GET /v1/proofs/inclusion", func(w http.ResponseWriter, r *http.Request) {
		send(w, 200, client.InclusionProof{Index: 7, Size: 12, Proof: [][]byte{root[:], root[:], root[:], root[:]}, Root: root})
	})
	mux.HandleFunc("GET /v1/roster", func(w http.ResponseWriter, r *http.Request) {
		send(w, 200, client.RosterResponse{Roster: roster, Digest: digest})
	})
	mux.HandleFunc("POST /v1/evidence", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			send(w, 401, client.ErrorResponse{Error: &client.Error{Status: 401, Code: client.CodeUnauthorized,
				Message: "the bearer token is not one this node accepts", Field: "Authorization"}})
			return
		}
		send(w, 200, client.SubmitResult{Status: client.StatusCommitted, Index: 13, Height: 10, Signer: "bank-a", Type: "evidence", Chains: []string{"LOAN-1"}})
	})
	return httptest.NewServer(mux)
}

func exampleClient(srv *httptest.Server) *client.Client {
	c, err := client.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func ExampleClient_Receipt() {
	srv := receiptNode()
	defer srv.Close()
	c := exampleClient(srv)
	// "7" is entry 7; "7.1" would be the second record of a batch, and a
	// transaction id works too.
	r, err := c.Receipt(context.Background(), "7")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Record.Chain, r.Record.Step, "entry", r.LeafIndex, "in a tree of", r.TreeSize, "signed by", len(r.Signatures))
	// Offline, with the roster file: receipt.Verify(r, roster, receipt.VerifyOptions{}).
	// Output: LOAN-1 2 entry 7 in a tree of 12 signed by 3
}

func ExampleClient_LatestCheckpoint() {
	srv := receiptNode()
	defer srv.Close()
	cp, err := exampleClient(srv).LatestCheckpoint(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("height", cp.Height, "tree size", cp.TreeSize, "signatures", len(cp.Signatures))
	// Output: height 9 tree size 12 signatures 3
}

func ExampleClient_Checkpoint() {
	srv := receiptNode()
	defer srv.Close()
	cp, err := exampleClient(srv).Checkpoint(context.Background(), 9)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.SplitN(cp.Checkpoint, "\n", 2)[0], cp.TreeSize)
	// Output: evidenced/evidenced-dev 12
}

func ExampleClient_ConsistencyProof() {
	srv := receiptNode()
	defer srv.Close()
	// Does the log at size 12 extend the log at size 5 a receipt was made on?
	p, err := exampleClient(srv).ConsistencyProof(context.Background(), 5, 12)
	if err != nil {
		log.Fatal(err)
	}
	// Check it against two trusted checkpoints with receipt.VerifyConsistency.
	fmt.Println(p.From, p.To, len(p.Proof), "hashes")
	// Output: 5 12 2 hashes
}

func ExampleClient_InclusionProof() {
	srv := receiptNode()
	defer srv.Close()
	p, err := exampleClient(srv).InclusionProof(context.Background(), 7, 12)
	if err != nil {
		log.Fatal(err)
	}
	// Check it with ledger.VerifyInclusion(entryBytes, 7, 12, p.Proof, trustedRoot).
	fmt.Println(p.Index, p.Size, len(p.Proof), "hashes")
	// Output: 7 12 4 hashes
}

func ExampleClient_Roster() {
	srv := receiptNode()
	defer srv.Close()
	roster, digest, err := exampleClient(srv).Roster(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	// Save roster as JSON for offline verification; the digest is in every receipt.
	fmt.Println(roster.ChainID, len(roster.Members), "member(s), digest", len(digest.String()), "hex digits")
	// Output: evidenced-dev 1 member(s), digest 64 hex digits
}

func ExampleClient_SubmitEvidence() {
	srv := receiptNode()
	defer srv.Close()
	c := exampleClient(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Step 2 of LOAN-1: the node fills in prev (the chain's head), signs
	// with its own client key and waits for the commit.
	req := client.EvidenceRequest{EvidenceRecord: client.EvidenceRecord{
		Kind: "loan-contract", Chain: "LOAN-1", Step: 2, Size: 1234,
		Commitment: crypto.SM3([]byte("salt"), []byte("the contract")),
		Labels:     map[string]string{"product": "consumer-loan"},
	}}
	res, err := c.SubmitEvidence(ctx, "s3cret", req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, "entry", res.Index, "signed by", res.Signer)

	_, err = c.SubmitEvidence(ctx, "wrong", req)
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output:
	// committed entry 13 signed by bank-a
	// 401 unauthorized
}
