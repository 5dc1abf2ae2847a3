package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// RetrievalRequestBody is the body of POST /v1/requests: the node's member
// (a court or arbitration centre) asks the owner of one record or of a
// whole evidence chain for its originals.
type RetrievalRequestBody struct {
	Record  string `json:"record,omitempty"` // record id: 12, 12.3 or a tx id; or give Chain
	Chain   string `json:"chain,omitempty"`
	Purpose string `json:"purpose"` // the case number (案号): UTF-8, normalised to NFC by the node
}

// RefusalBody is the body of POST /v1/requests/{index}/refuse.
type RefusalBody struct {
	Reason string `json:"reason"` // UTF-8, normalised to NFC by the node; required
}

// RetrievalRequest is a retrieval request as committed, with where it
// stands (GET /v1/requests/{index}).
type RetrievalRequest struct {
	Index     uint64    `json:"index"` // its log entry: the request's id
	Requester string    `json:"requester"`
	Owner     string    `json:"owner"`            // who answers it
	Record    string    `json:"record,omitempty"` // INDEX.POS of the record requested
	Chain     string    `json:"chain,omitempty"`  // or the evidence chain requested
	Purpose   string    `json:"purpose"`
	Status    string    `json:"status"`           // open, granted or refused
	Answer    *uint64   `json:"answer,omitempty"` // the grant or refusal entry, once answered
	Reason    string    `json:"reason,omitempty"` // the refusal's reason
	Height    int64     `json:"height"`
	Time      time.Time `json:"time"`
}

// RetrievalRequests is a page of GET /v1/requests, oldest first; Next, when
// set, is the from of the next page.
type RetrievalRequests struct {
	Requests []RetrievalRequest `json:"requests"`
	Next     *uint64            `json:"next,omitempty"`
}

// RequestsQuery selects retrieval requests for Requests.
type RequestsQuery struct {
	Owner     string // for this member's records
	Requester string // filed by this member
	Open      bool   // only those not answered yet
	From      uint64 // from this entry on
	Limit     int    // page size; 0: the server's default
}

// FileRequest files a retrieval request signed by the node's member (POST
// /v1/requests) and waits for its commit; the result's Index is the
// request's id.
func (c *Client) FileRequest(ctx context.Context, b RetrievalRequestBody) (*SubmitResult, error) {
	var r SubmitResult
	if err := c.postJSON(ctx, c.endpoint(nil, "requests"), b, &r); err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	return &r, nil
}

// Refuse refuses the retrieval request at entry index with reason, signed
// by the node's member, the owner (POST /v1/requests/{index}/refuse).
func (c *Client) Refuse(ctx context.Context, index uint64, reason string) (*SubmitResult, error) {
	var r SubmitResult
	if err := c.postJSON(ctx, c.endpoint(nil, "requests", strconv.FormatUint(index, 10), "refuse"), RefusalBody{Reason: reason}, &r); err != nil {
		return nil, fmt.Errorf("refuse request %d: %w", index, err)
	}
	return &r, nil
}

// RetrievalRequest returns the retrieval request at entry index.
func (c *Client) RetrievalRequest(ctx context.Context, index uint64) (*RetrievalRequest, error) {
	var r RetrievalRequest
	if err := c.get(ctx, c.endpoint(nil, "requests", strconv.FormatUint(index, 10)), &r); err != nil {
		return nil, fmt.Errorf("request %d: %w", index, err)
	}
	return &r, nil
}

// Requests returns a page of retrieval requests (GET /v1/requests).
func (c *Client) Requests(ctx context.Context, q RequestsQuery) (*RetrievalRequests, error) {
	v := url.Values{}
	if q.Owner != "" {
		v.Set("owner", q.Owner)
	}
	if q.Requester != "" {
		v.Set("requester", q.Requester)
	}
	if q.Open {
		v.Set("status", "open")
	}
	if q.From > 0 {
		v.Set("from", strconv.FormatUint(q.From, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var r RetrievalRequests
	if err := c.get(ctx, c.endpoint(v, "requests"), &r); err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	return &r, nil
}
