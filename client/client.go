package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/crypto"
)

var (
	// ErrBadURL is returned by New when the base URL is not an absolute
	// http or https URL with a host.
	ErrBadURL = errors.New("bad node URL")

	// ErrUnreachable is returned when the request could not be sent or its
	// response not read: connection refused, DNS failure, TLS failure, reset.
	// The node may be down or the URL wrong.
	ErrUnreachable = errors.New("cannot reach the node")

	// ErrBadResponse is returned when a 2xx response body is not the JSON the
	// API contract promises (wrong shape, bad hex, too large). It means the URL
	// points at something other than an evidenced node, or at an incompatible
	// version.
	ErrBadResponse = errors.New("unexpected response from the node")
)

// maxResponse bounds how much of a response body the client reads.
const maxResponse = 32 << 20

// getRetries is how many times a GET is retried after a 503.
const getRetries = 3

// defaultRetryWait is the wait before retrying a 503 without Retry-After.
const defaultRetryWait = time.Second

// Client is a client of one node's HTTP API v1. It is safe for concurrent
// use. Make one with New.
type Client struct {
	base  *url.URL
	hc    *http.Client
	token string
	// wait pauses before a retry; tests replace it.
	wait func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc instead of
// http.DefaultClient (for TLS settings, proxies or transport timeouts).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithToken makes the Client send "Authorization: Bearer token" with every
// request.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// New returns a Client for the node whose API is at baseURL, for example
// "http://127.0.0.1:8080". A path in baseURL is kept as a prefix of /v1.
// The Client sets no timeout of its own: bound each call with its context.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadURL, baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w %q: the scheme must be http or https, as in http://127.0.0.1:8080", ErrBadURL, baseURL)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w %q: no host; use a URL like http://127.0.0.1:8080", ErrBadURL, baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w %q: no user info, query or fragment allowed; use a URL like http://127.0.0.1:8080", ErrBadURL, baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{base: u, hc: http.DefaultClient, wait: sleepCtx}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the node URL the Client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// Status returns the node's status (GET /v1/status).
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	if err := c.get(ctx, c.endpoint(nil, "status"), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Submit sends signed transaction bytes (POST /v1/txs). With wait it
// returns after the block holding the transaction is committed
// (wait=commit); otherwise after CheckTx accepted it into the mempool
// (wait=sync), with Status StatusPending and only TxID set.
//
// When ctx has a deadline and wait is set, the node is asked to wait a
// little less than the time left (the timeout parameter), so that a slow
// commit ends in a *Error with code CodeTimeout and the TxID rather than a
// lost context.
//
// Submit never retries: a 503 comes back as a *Error with RetryAfter set,
// and the caller decides. A rejection is a *Error with IsRejection true.
func (c *Client) Submit(ctx context.Context, tx []byte, wait bool) (*SubmitResult, error) {
	q := waitQuery(ctx, wait)
	u := c.endpoint(q, "txs")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(tx))
	if err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	var r SubmitResult
	if err := c.do(req, &r); err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	return &r, nil
}

// SubmitBundle sends a bundle (ledger.EncodeBundle of individually signed
// transactions) with POST /v1/bundles. With wait it returns once every
// accepted transaction is committed or the node's wait ends (items still
// pending then say so); otherwise once CheckTx has taken them. Each item
// carries its own outcome; an error means the bundle as a whole was not
// taken.
func (c *Client) SubmitBundle(ctx context.Context, bundle []byte, wait bool) (*BundleResult, error) {
	q := waitQuery(ctx, wait)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(q, "bundles"), bytes.NewReader(bundle))
	if err != nil {
		return nil, fmt.Errorf("submit bundle: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	var r BundleResult
	if err := c.do(req, &r); err != nil {
		return nil, fmt.Errorf("submit bundle: %w", err)
	}
	return &r, nil
}

// waitQuery is the wait (and timeout) parameters of a submission.
func waitQuery(ctx context.Context, wait bool) url.Values {
	q := url.Values{}
	if !wait {
		q.Set("wait", WaitSync)
		return q
	}
	q.Set("wait", WaitCommit)
	if t := commitTimeout(ctx); t != "" {
		q.Set("timeout", t)
	}
	return q
}

// commitTimeout is the timeout parameter of a submission under ctx: a
// little less than the time left, so that the node answers 504 with the tx
// id before ctx ends. It is "" when ctx has no deadline.
func commitTimeout(ctx context.Context) string {
	dl, ok := ctx.Deadline()
	if !ok {
		return ""
	}
	left := time.Until(dl)
	left -= min(time.Second, left/10)
	if left <= time.Millisecond {
		return ""
	}
	return left.Truncate(time.Millisecond).String()
}

// Entry returns log entry index (GET /v1/entries/{index}).
func (c *Client) Entry(ctx context.Context, index uint64) (*Entry, error) {
	var e Entry
	if err := c.get(ctx, c.endpoint(nil, "entries", strconv.FormatUint(index, 10)), &e); err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	return &e, nil
}

// EntryByTx returns the entry holding the accepted transaction id
// (GET /v1/txs/{txid}).
func (c *Client) EntryByTx(ctx context.Context, id crypto.Hash) (*Entry, error) {
	var e Entry
	if err := c.get(ctx, c.endpoint(nil, "txs", id.String()), &e); err != nil {
		return nil, fmt.Errorf("transaction %s: %w", id, err)
	}
	return &e, nil
}

// Chain returns the head of evidence chain chain and up to limit of its
// steps from step from on (GET /v1/chains/{chain}). from 0 and limit <= 0
// leave the choice to the node (from step 1, its default page size).
func (c *Client) Chain(ctx context.Context, chain string, from uint32, limit int) (*Chain, error) {
	q := url.Values{}
	if from > 0 {
		q.Set("from", strconv.FormatUint(uint64(from), 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var ch Chain
	if err := c.get(ctx, c.endpoint(q, "chains", chain), &ch); err != nil {
		return nil, fmt.Errorf("evidence chain %s: %w", chain, err)
	}
	return &ch, nil
}

// Commitment returns every record carrying commitment
// (GET /v1/commitments/{hex}).
func (c *Client) Commitment(ctx context.Context, commitment crypto.Hash) (*CommitmentRecords, error) {
	var r CommitmentRecords
	if err := c.get(ctx, c.endpoint(nil, "commitments", commitment.String()), &r); err != nil {
		return nil, fmt.Errorf("commitment %s: %w", commitment, err)
	}
	return &r, nil
}

// Members returns the alliance members in the node's order
// (GET /v1/members).
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	var r MembersResponse
	if err := c.get(ctx, c.endpoint(nil, "members"), &r); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return r.Members, nil
}

// endpoint returns the URL of /v1/segments…?q, escaping each segment.
func (c *Client) endpoint(q url.Values, segments ...string) string {
	u := *c.base
	raw := u.EscapedPath() + "/v1"
	path := u.Path + "/v1"
	for _, s := range segments {
		raw += "/" + url.PathEscape(s)
		path += "/" + s
	}
	u.Path, u.RawPath = path, raw
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// get fetches u into out, retrying up to getRetries times on 503.
func (c *Client) get(ctx context.Context, u string, out any) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		err = c.do(req, out)
		var apiErr *Error
		if attempt >= getRetries || !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
			return err
		}
		d := apiErr.RetryAfter
		if d <= 0 {
			d = defaultRetryWait
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return err // no time left to wait; report the 503
		}
		if werr := c.wait(ctx, d); werr != nil {
			return err
		}
	}
}

// do sends req and decodes a 2xx JSON body into out; any other status
// becomes a *Error.
func (c *Client) do(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ctxErr)
		}
		return fmt.Errorf("%w at %s: %v", ErrUnreachable, c.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ctxErr)
		}
		return fmt.Errorf("%w at %s: reading the response: %v", ErrUnreachable, c.base, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseError(resp.StatusCode, resp.Header, body, time.Now())
	}
	if len(body) > maxResponse {
		return fmt.Errorf("%w: %s %s: the response is larger than %d bytes", ErrBadResponse, req.Method, req.URL.Path, maxResponse)
	}
	if rb, ok := out.(*rawBody); ok {
		if ct := resp.Header.Get("Content-Type"); ct != rb.contentType {
			return fmt.Errorf("%w: %s %s: HTTP %d body is %q, not %s; is %s an evidenced node?",
				ErrBadResponse, req.Method, req.URL.Path, resp.StatusCode, ct, rb.contentType, c.base)
		}
		rb.data = body
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: %s %s: HTTP %d body is not the expected JSON (%v); is %s an evidenced node?",
			ErrBadResponse, req.Method, req.URL.Path, resp.StatusCode, err, c.base)
	}
	if ch, ok := out.(checker); ok {
		if err := ch.check(); err != nil {
			return fmt.Errorf("%w: %s %s: %v", ErrBadResponse, req.Method, req.URL.Path, err)
		}
	}
	return nil
}

// rawBody is a response that is not JSON: do keeps its bytes when its
// Content-Type is contentType.
type rawBody struct {
	contentType string
	data        []byte
}

// checker is a decoded response that checks what JSON decoding alone
// cannot (a required enum present).
type checker interface{ check() error }

// unwrapURLError drops the *url.Error wrapper, whose text repeats the
// method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseError turns a non-2xx response into a *Error. A body in the contract's
// shape is used as is (its status replaced by the real one); anything else
// (a proxy's HTML page, an empty body) becomes a generic error for the
// status, quoting the start of the body.
func parseError(status int, h http.Header, body []byte, now time.Time) *Error {
	var er ErrorResponse
	e := &Error{}
	if json.Unmarshal(body, &er) == nil && er.Error != nil && (er.Error.Code != "" || er.Error.Message != "") {
		e = er.Error
	} else {
		e.Code = statusCode(status)
		e.Message = fmt.Sprintf("the node answered HTTP %d %s", status, http.StatusText(status))
		if snippet := printable(body, 200); snippet != "" {
			e.Message += ": " + snippet
		}
	}
	e.Status = status
	if e.Code == "" {
		e.Code = statusCode(status)
	}
	e.RetryAfter = parseRetryAfter(h.Get("Retry-After"), now)
	return e
}

// statusCode is the Error.Code for a status when the body gives none.
func statusCode(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return CodeBadRequest
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return "duplicate"
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	case http.StatusGatewayTimeout:
		return CodeTimeout
	case http.StatusInternalServerError:
		return CodeInternal
	}
	return "http_" + strconv.Itoa(status)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). It returns zero when the header is absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// printable returns up to max bytes of b with control and non-ASCII bytes
// replaced, trimmed, for quoting an unexpected body in an error.
func printable(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = ' '
		}
		out[i] = c
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
