package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/crypto"
)

// GrantRequest is the body of POST /v1/grants: the node's member (the
// owner) grants Grantee access to one record or to every record with an
// original of an evidence chain.
type GrantRequest struct {
	Record  string `json:"record,omitempty"` // record id: 12, 12.3 or a tx id
	Chain   string `json:"chain,omitempty"`
	Grantee string `json:"grantee"`
	Purpose string `json:"purpose"`           // e.g. a case number
	Expires string `json:"expires,omitempty"` // RFC 3339; empty: until revoked
	// Request is the retrieval request the grant answers (its entry); 0:
	// none. The node fills an empty record/chain, grantee and purpose
	// from the request.
	Request uint64 `json:"request,omitempty"`
}

// Grant is a committed grant (GET /v1/grants/{index}).
type Grant struct {
	Index     uint64     `json:"index"`
	Owner     string     `json:"owner"`
	Grantee   string     `json:"grantee"`
	Purpose   string     `json:"purpose"`
	Chain     string     `json:"chain,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *uint64    `json:"revoked_at,omitempty"` // the revoke's entry
	Records   []string   `json:"records"`              // INDEX.POS of each record granted
	Request   uint64     `json:"request,omitempty"`    // the retrieval request it answers
}

// Custody is the chain of custody of a record's original
// (GET /v1/evidence/{id}/custody): the grants covering it and every
// retrieval, in log order.
type Custody struct {
	Record     string         `json:"record"` // INDEX.POS
	Owner      string         `json:"owner"`
	Cipher     *crypto.Hash   `json:"cipher,omitempty"` // SM3 address of the kept ciphertext
	CipherSize uint64         `json:"cipher_size,omitempty"`
	Events     []CustodyEvent `json:"events"`
}

// CustodyEvent is one grant or access of a Custody.
type CustodyEvent struct {
	Index    uint64    `json:"index"` // its log entry
	Type     string    `json:"type"`  // grant or access
	Member   string    `json:"member"`
	Height   int64     `json:"height"`
	Time     time.Time `json:"time"`
	Grant    *Grant    `json:"grant,omitempty"`     // for a grant
	ViaGrant *uint64   `json:"via_grant,omitempty"` // for an access through a grant
}

// Trailers of GET /v1/evidence/{id}/original, sent after the last byte:
// "ok" once the whole original matched its commitment, the entry of the
// access that logged the retrieval, and the commitment salt (hex: the
// grantee may know it, and needs it to check the file against a receipt).
const (
	VerifiedTrailer = "X-Evidenced-Verified"
	AccessTrailer   = "X-Evidenced-Access"
	SaltTrailer     = "X-Evidenced-Salt"
)

// FetchedOriginal is what FetchOriginal learned besides the bytes.
type FetchedOriginal struct {
	Size   int64
	Access uint64 // the access entry
	Salt   []byte // the commitment salt
}

// ErrNotVerified is returned by FetchOriginal when the transfer ended
// without the node's "verified" trailer: what was written is not the
// original.
var ErrNotVerified = errors.New("the node did not confirm that the original matched its commitment")

// Grant asks the node to grant access (POST /v1/grants, bearer token).
func (c *Client) Grant(ctx context.Context, g GrantRequest) (*SubmitResult, error) {
	body, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(nil, "grants"), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var r SubmitResult
	if err := c.do(req, &r); err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	return &r, nil
}

// Revoke withdraws the grant at entry index (POST /v1/grants/{index}/revoke).
func (c *Client) Revoke(ctx context.Context, index uint64) (*SubmitResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(nil, "grants", strconv.FormatUint(index, 10), "revoke"), nil)
	if err != nil {
		return nil, fmt.Errorf("revoke: %w", err)
	}
	var r SubmitResult
	if err := c.do(req, &r); err != nil {
		return nil, fmt.Errorf("revoke grant %d: %w", index, err)
	}
	return &r, nil
}

// GrantInfo returns the grant at entry index (GET /v1/grants/{index}).
func (c *Client) GrantInfo(ctx context.Context, index uint64) (*Grant, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(nil, "grants", strconv.FormatUint(index, 10)), nil)
	if err != nil {
		return nil, err
	}
	var g Grant
	if err := c.do(req, &g); err != nil {
		return nil, fmt.Errorf("grant %d: %w", index, err)
	}
	return &g, nil
}

// Custody returns the chain of custody of record id.
func (c *Client) Custody(ctx context.Context, id string) (*Custody, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(nil, "evidence", id, "custody"), nil)
	if err != nil {
		return nil, err
	}
	var out Custody
	if err := c.do(req, &out); err != nil {
		return nil, fmt.Errorf("custody of %s: %w", id, err)
	}
	return &out, nil
}

// FetchOriginal has the node retrieve the original of record id (logging
// the access on chain first) and copies it to w. It returns the bytes
// written, and ErrNotVerified unless the node confirmed, after the last
// byte, that the original matched its commitment: write to a temporary
// file and keep it only on success.
func (c *Client) FetchOriginal(ctx context.Context, id string, w io.Writer) (*FetchedOriginal, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(nil, "evidence", id, "original"), nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, c.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return nil, fmt.Errorf("original of %s: %w", id, parseError(resp.StatusCode, resp.Header, body, time.Now()))
	}
	out := &FetchedOriginal{}
	out.Size, err = io.Copy(w, resp.Body)
	if err != nil {
		return out, fmt.Errorf("original of %s: the transfer broke after %d bytes: %w", id, out.Size, err)
	}
	if resp.Trailer.Get(VerifiedTrailer) != "ok" {
		return out, fmt.Errorf("original of %s: %w", id, ErrNotVerified)
	}
	out.Access, _ = strconv.ParseUint(resp.Trailer.Get(AccessTrailer), 10, 64)
	out.Salt, _ = hex.DecodeString(resp.Trailer.Get(SaltTrailer))
	return out, nil
}

// Webhook is a subscription of a business system to the node's entries
// (GET /v1/webhooks); the secret is never shown.
type Webhook struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Types  []string `json:"types,omitempty"`
	Chain  string   `json:"chain,omitempty"`
	Kind   string   `json:"kind,omitempty"`
	Source string   `json:"source"` // config (evidenced.toml) or api
	// Owner is the id of the API token that subscribed it (the first 16
	// hex digits of its SM3 digest), or "admin" for a configured one or
	// one subscribed before owners were recorded: only that token, or one
	// with the admin scope, lists and deletes it.
	Owner string `json:"owner"`
	// Cursor is where its deliveries stand: "NEXT BLOCK", the next entry
	// index and the next block whose checkpoint it will consider.
	Cursor string `json:"cursor"`
	// Delivered and Failed count, since the node started, the deliveries
	// the receiver took and the attempts that failed (each is retried);
	// LastDelivery and LastFailure are the times of the last of each, and
	// LastError says why the last failed attempt failed.
	Delivered    uint64     `json:"delivered"`
	Failed       uint64     `json:"failed"`
	LastDelivery *time.Time `json:"last_delivery,omitempty"`
	LastFailure  *time.Time `json:"last_failure,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	// Outbox is how many log entries it has yet to consider.
	Outbox uint64 `json:"outbox_entries"`
}
