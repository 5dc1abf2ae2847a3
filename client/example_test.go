package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
)

// exampleNode is a tiny stand-in for a node's /v1 API.
func exampleNode() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(client.Status{ChainID: "evidenced-dev", Member: "bank-a", Role: "bank", Height: 42, Validators: 4})
	})
	mux.HandleFunc("POST /v1/txs", func(w http.ResponseWriter, r *http.Request) {
		tx, _ := io.ReadAll(r.Body)
		if string(tx) == "stale" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_ = json.NewEncoder(w).Encode(client.ErrorResponse{Error: &client.Error{Status: 422, Code: "time_window", ResultCode: 9,
				Message: "client time is 20m before block time", Hint: "check the clock and resubmit"}})
			return
		}
		_ = json.NewEncoder(w).Encode(client.SubmitResult{TxID: crypto.SM3(tx), Status: client.StatusCommitted, Index: 12, Height: 5,
			Time: time.Date(2026, 11, 27, 3, 0, 1, 0, time.UTC), Signer: "bank-a", Type: "evidence", Chains: []string{"LOAN-1"}})
	})
	mux.HandleFunc("GET /v1/chains/{chain}", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(client.Chain{Chain: r.PathValue("chain"), Owner: "bank-a", Steps: 2, HeadIndex: 7,
			Records: []client.ChainRecord{{Step: 1, Index: 6, Kind: "credit-authorisation"}, {Step: 2, Index: 7, Kind: "credit-decision"}}})
	})
	return httptest.NewServer(mux)
}

func ExampleNew() {
	srv := exampleNode()
	defer srv.Close()

	c, err := client.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.ChainID, st.Height, st.Member)

	_, err = client.New("127.0.0.1:8080")
	fmt.Println(errors.Is(err, client.ErrBadURL))
	// Output:
	// evidenced-dev 42 bank-a
	// true
}

func ExampleClient_Submit() {
	srv := exampleNode()
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// tx would come from ledger.SignTx.
	res, err := c.Submit(ctx, []byte("signed transaction bytes"), true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Index, res.Height, res.Chains)

	_, err = c.Submit(ctx, []byte("stale"), true)
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.IsRejection() {
		fmt.Println("rejected:", apiErr.Code, apiErr.ResultCode)
		fmt.Println("hint:", apiErr.Hint)
	}
	// Output:
	// committed 12 5 [LOAN-1]
	// rejected: time_window 9
	// hint: check the clock and resubmit
}

func ExampleClient_Chain() {
	srv := exampleNode()
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	ch, err := c.Chain(context.Background(), "LOAN-1", 1, 100)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s owned by %s: %d steps, next step is %d\n", ch.Chain, ch.Owner, ch.Steps, ch.Steps+1)
	for _, r := range ch.Records {
		fmt.Println(r.Step, r.Index, r.Kind)
	}
	// Output:
	// LOAN-1 owned by bank-a: 2 steps, next step is 3
	// 1 6 credit-authorisation
	// 2 7 credit-decision
}
