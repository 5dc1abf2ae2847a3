package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// Receipt returns the receipt of an evidence record
// (GET /v1/evidence/{id}/receipt). id is an entry index ("12"), INDEX.POS
// for a record of a batch ("12.3"), or a transaction id of 64 hex digits
// (optionally followed by .POS). The receipt is decoded strictly
// (receipt.Parse) but not verified: call receipt.Verify with a roster.
//
// While no trusted checkpoint covers the record yet the node answers 503;
// the call retries as every GET does, then returns a *Error with code
// CodeUnavailable.
func (c *Client) Receipt(ctx context.Context, id string) (*receipt.Receipt, error) {
	return c.receipt(ctx, id, nil)
}

// ReceiptFrom is Receipt for a verifier holding the roster of digest from
// (GET /v1/evidence/{id}/receipt?from_roster=DIGEST): its roster path
// starts at that roster version, not at the genesis roster. A digest that
// is no roster version of the alliance is a *Error with code
// CodeBadRequest and field from_roster.
func (c *Client) ReceiptFrom(ctx context.Context, id string, from crypto.Hash) (*receipt.Receipt, error) {
	return c.receipt(ctx, id, url.Values{"from_roster": {from.String()}})
}

func (c *Client) receipt(ctx context.Context, id string, q url.Values) (*receipt.Receipt, error) {
	var raw json.RawMessage
	if err := c.get(ctx, c.endpoint(q, "evidence", id, "receipt"), &raw); err != nil {
		return nil, fmt.Errorf("receipt of %s: %w", id, err)
	}
	r, err := receipt.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: receipt of %s: %v", ErrBadResponse, id, err)
	}
	return r, nil
}

// Certificate returns the evidence certificate of record id, a PDF in
// language lang ("zh" or "en"; "" for the node's default, zh), issued and
// signed by the node's member (GET /v1/evidence/{id}/certificate). It is
// not verified: call certificate.Verify with a roster. A node without a
// CJK font answers a *Error with status 501.
func (c *Client) Certificate(ctx context.Context, id, lang string) ([]byte, error) {
	var q url.Values
	if lang != "" {
		q = url.Values{"lang": {lang}}
	}
	body := rawBody{contentType: "application/pdf"}
	if err := c.get(ctx, c.endpoint(q, "evidence", id, "certificate"), &body); err != nil {
		return nil, fmt.Errorf("certificate of %s: %w", id, err)
	}
	return body.data, nil
}

// LatestCheckpoint returns the most recent trusted checkpoint
// (GET /v1/checkpoints/latest). It is not verified: call
// receipt.VerifyCheckpoint with a roster.
func (c *Client) LatestCheckpoint(ctx context.Context) (*receipt.CheckpointFile, error) {
	var f receipt.CheckpointFile
	if err := c.get(ctx, c.endpoint(nil, "checkpoints", "latest"), &f); err != nil {
		return nil, fmt.Errorf("latest checkpoint: %w", err)
	}
	return &f, nil
}

// Checkpoint returns the trusted checkpoint taken after block height
// (GET /v1/checkpoints/{height}); a *Error with code CodeNotFound when that
// height has none. It is not verified: call receipt.VerifyCheckpoint.
func (c *Client) Checkpoint(ctx context.Context, height int64) (*receipt.CheckpointFile, error) {
	var f receipt.CheckpointFile
	if err := c.get(ctx, c.endpoint(nil, "checkpoints", strconv.FormatInt(height, 10)), &f); err != nil {
		return nil, fmt.Errorf("checkpoint of height %d: %w", height, err)
	}
	return &f, nil
}

// ConsistencyProof returns the RFC 9162 consistency proof between the log
// at tree sizes from and to (GET /v1/proofs/consistency). Verify it with
// receipt.VerifyConsistency against two trusted checkpoints; the roots in
// the response are the node's word only.
func (c *Client) ConsistencyProof(ctx context.Context, from, to uint64) (*ConsistencyProof, error) {
	q := url.Values{}
	q.Set("from", strconv.FormatUint(from, 10))
	q.Set("to", strconv.FormatUint(to, 10))
	var p ConsistencyProof
	if err := c.get(ctx, c.endpoint(q, "proofs", "consistency"), &p); err != nil {
		return nil, fmt.Errorf("consistency proof from %d to %d: %w", from, to, err)
	}
	return &p, nil
}

// InclusionProof returns the RFC 9162 inclusion proof of entry index in
// the tree of size entries (GET /v1/proofs/inclusion). Verify it with
// ledger.VerifyInclusion against a trusted root.
func (c *Client) InclusionProof(ctx context.Context, index, size uint64) (*InclusionProof, error) {
	q := url.Values{}
	q.Set("index", strconv.FormatUint(index, 10))
	q.Set("size", strconv.FormatUint(size, 10))
	var p InclusionProof
	if err := c.get(ctx, c.endpoint(q, "proofs", "inclusion"), &p); err != nil {
		return nil, fmt.Errorf("inclusion proof of entry %d in tree size %d: %w", index, size, err)
	}
	return &p, nil
}

// Roster returns the committed roster in its roster-file form and its
// digest (GET /v1/roster). The digest is recomputed from the roster
// received; a mismatch is ErrBadResponse.
func (c *Client) Roster(ctx context.Context) (*ledger.Roster, crypto.Hash, error) {
	var r RosterResponse
	if err := c.get(ctx, c.endpoint(nil, "roster"), &r); err != nil {
		return nil, crypto.Hash{}, fmt.Errorf("roster: %w", err)
	}
	return &r.Roster, r.Digest, nil
}

// SubmitEvidence asks the node to build, sign with its own client key and
// submit an evidence transaction (POST /v1/evidence): one record, or a
// batch when req.Records is set. token is one of the node's API tokens,
// sent as "Authorization: Bearer token" (it overrides WithToken). The call
// waits for the commit, as Submit with wait does, and never retries.
//
// A node that does not sign for clients answers a *Error with code
// CodeForbidden; a wrong token, CodeUnauthorized; a bad field, code
// CodeBadRequest naming it in Field.
func (c *Client) SubmitEvidence(ctx context.Context, token string, req EvidenceRequest) (*SubmitResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("submit evidence: encode the request: %w", err)
	}
	q := url.Values{}
	q.Set("wait", WaitCommit)
	if t := commitTimeout(ctx); t != "" {
		q.Set("timeout", t)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(q, "evidence"), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("submit evidence: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	var r SubmitResult
	if err := c.do(hr, &r); err != nil {
		return nil, fmt.Errorf("submit evidence: %w", err)
	}
	return &r, nil
}

// Timestamp returns the time-stamp token of the trusted checkpoint of
// height (GET /v1/checkpoints/{height}/timestamp); a *Error with code
// CodeNotFound when it has none (yet). It is not verified here.
func (c *Client) Timestamp(ctx context.Context, height int64) (*Timestamp, error) {
	var ts Timestamp
	if err := c.get(ctx, c.endpoint(nil, "checkpoints", strconv.FormatInt(height, 10), "timestamp"), &ts); err != nil {
		return nil, fmt.Errorf("timestamp of checkpoint %d: %w", height, err)
	}
	return &ts, nil
}
