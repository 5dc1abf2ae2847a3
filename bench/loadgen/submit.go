package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// Error classes counted in the result besides ledger code names.
const (
	errUnavailable = "unavailable" // 503 / mempool full: backed off and retried
	errUnreachable = "unreachable" // transport failure
	errRPC         = "rpc_error"   // a CometBFT JSON-RPC error other than a full mempool
	errCanceled    = "canceled"    // the run ended while the request was in flight
	errBadResponse = "bad_response"
)

// outcome is the answer to one submission.
type outcome struct {
	errClass   string        // "" on acceptance
	retryAfter time.Duration // for errUnavailable: how long to back off (0: the default)
	txID       string        // lowercase hex, when known
}

// submitter sends one transaction to one target. With commit it returns
// only once the transaction is committed (or the request failed).
// Implementations are safe for concurrent use.
type submitter interface {
	submit(ctx context.Context, target int, tx []byte, commit bool) outcome
}

// apiSubmitter submits to evidenced nodes through package client.
type apiSubmitter struct {
	clients []*client.Client
}

func newAPISubmitter(targets []string, hc *http.Client) (*apiSubmitter, error) {
	s := &apiSubmitter{}
	for _, t := range targets {
		c, err := client.New(t, client.WithHTTPClient(hc))
		if err != nil {
			return nil, err
		}
		s.clients = append(s.clients, c)
	}
	return s, nil
}

func (s *apiSubmitter) submit(ctx context.Context, target int, tx []byte, commit bool) outcome {
	if ledger.IsBundle(tx) {
		return s.submitBundle(ctx, target, tx, commit)
	}
	r, err := s.clients[target].Submit(ctx, tx, commit)
	if err == nil {
		return outcome{txID: r.TxID.String()}
	}
	return classifyAPIError(ctx, err)
}

// submitBundle sends a bundle; its outcome is the first item's that was not
// accepted (so a bundle counts as accepted only if all its items were),
// with the first item's tx id for receipt polling.
func (s *apiSubmitter) submitBundle(ctx context.Context, target int, b []byte, commit bool) outcome {
	r, err := s.clients[target].SubmitBundle(ctx, b, commit)
	if err != nil {
		return classifyAPIError(ctx, err)
	}
	if len(r.Results) == 0 {
		return outcome{errClass: errBadResponse}
	}
	o := outcome{txID: r.Results[0].TxID.String()}
	for _, it := range r.Results {
		switch it.Status {
		case client.StatusCommitted:
		case client.StatusPending:
			if commit {
				return outcome{errClass: client.CodeTimeout, txID: it.TxID.String()}
			}
		case client.StatusUnavailable:
			return outcome{errClass: errUnavailable}
		default:
			return outcome{errClass: it.Code.String(), txID: it.TxID.String()}
		}
	}
	return o
}

// classifyAPIError maps a client error to an error class.
func classifyAPIError(ctx context.Context, err error) outcome {
	var apiErr *client.Error
	switch {
	case errors.As(err, &apiErr):
		if apiErr.Status == http.StatusServiceUnavailable {
			return outcome{errClass: errUnavailable, retryAfter: apiErr.RetryAfter}
		}
		return outcome{errClass: apiErr.Code, txID: apiErr.TxID}
	case ctx.Err() != nil:
		return outcome{errClass: errCanceled}
	case errors.Is(err, client.ErrBadResponse):
		return outcome{errClass: errBadResponse}
	}
	return outcome{errClass: errUnreachable}
}

// rpcSubmitter submits to CometBFT JSON-RPC endpoints (kv mode):
// broadcast_tx_async, or broadcast_tx_commit when timing a commit.
type rpcSubmitter struct {
	targets []string
	hc      *http.Client
	// backoff is how long to back off after CometBFT says its mempool is
	// full. CometBFT sends no Retry-After; the default is the evidenced
	// API's Retry-After (1 s), for a like-for-like comparison.
	backoff time.Duration
}

// rpcRequest is a JSON-RPC 2.0 request as CometBFT's HTTP server takes it.
type rpcRequest struct {
	JSONRPC string         `json:"jsonrpc"`
	ID      int            `json:"id"`
	Method  string         `json:"method"`
	Params  map[string]any `json:"params"`
}

// rpcResponse is a JSON-RPC 2.0 response; Result is left raw.
type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// rpcError is a JSON-RPC error; CometBFT puts the cause in Data.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("JSON-RPC error %d: %s: %s", e.Code, e.Message, e.Data)
}

// errNotRPC is wrapped by rpcCall's error when the answer is not a
// JSON-RPC response.
var errNotRPC = errors.New("not a JSON-RPC response")

// maxRPCResponse bounds how much of a JSON-RPC response is read.
const maxRPCResponse = 8 << 20

// call makes one JSON-RPC call and returns its raw result or an error;
// a *rpcError for an error answer.
func (s *rpcSubmitter) call(ctx context.Context, target int, method string, params map[string]any) (json.RawMessage, error) {
	return rpcCall(ctx, s.hc, s.targets[target], method, params)
}

// rpcCall makes one JSON-RPC call to the CometBFT RPC at base.
func rpcCall(ctx context.Context, hc *http.Client, base, method string, params map[string]any) (json.RawMessage, error) {
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: 1, Method: method, Params: params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRPCResponse))
	if err != nil {
		return nil, err
	}
	var r rpcResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d: %w (%v); is it a CometBFT RPC address?", method, base, resp.StatusCode, errNotRPC, err)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: HTTP %d: %w", method, base, resp.StatusCode, errNotRPC)
	}
	return r.Result, nil
}

func (s *rpcSubmitter) submit(ctx context.Context, target int, tx []byte, commit bool) outcome {
	method := "broadcast_tx_async"
	if commit {
		method = "broadcast_tx_commit"
	}
	res, err := s.call(ctx, target, method, map[string]any{"tx": base64.StdEncoding.EncodeToString(tx)})
	if err != nil {
		var re *rpcError
		switch {
		case errors.As(err, &re) && strings.Contains(re.Data, "mempool is full"):
			return outcome{errClass: errUnavailable, retryAfter: s.backoff}
		case errors.As(err, &re):
			return outcome{errClass: errRPC}
		case errors.Is(err, errNotRPC):
			return outcome{errClass: errBadResponse}
		case ctx.Err() != nil:
			return outcome{errClass: errCanceled}
		}
		return outcome{errClass: errUnreachable}
	}
	if commit {
		var r struct {
			CheckTx  struct{ Code uint32 } `json:"check_tx"`
			TxResult struct{ Code uint32 } `json:"tx_result"`
			Hash     string                `json:"hash"`
		}
		if err := json.Unmarshal(res, &r); err != nil {
			return outcome{errClass: errBadResponse}
		}
		if r.CheckTx.Code != 0 || r.TxResult.Code != 0 {
			return outcome{errClass: fmt.Sprintf("kv_code_%d", max(r.CheckTx.Code, r.TxResult.Code))}
		}
		return outcome{txID: strings.ToLower(r.Hash)}
	}
	return outcome{}
}
