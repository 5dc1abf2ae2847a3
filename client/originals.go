package client

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/crypto"
)

// OriginalParams are the evidence record fields of an upload
// (POST /v1/originals); the node fills in the commitment, the sizes, the
// ciphertext address and the wrapped data key.
type OriginalParams struct {
	Kind  string // what the evidence is, e.g. "loan-contract"
	Chain string // evidence chain id (保全号)
	Step  uint32 // 1 starts a new chain
	// Prev is the leaf hash of the entry holding step Step-1; zero lets the
	// node fill in the chain's head.
	Prev   crypto.Hash
	Labels map[string]string // non-personal labels
	// Wait makes the call return after the block holding the record is
	// committed; otherwise after CheckTx accepted it (Status
	// StatusPending).
	Wait bool
	// Timeout is how long the node waits for the commit after the upload
	// (the timeout parameter); zero leaves the node's default.
	Timeout time.Duration
}

// UploadOriginal streams an original from r to the node (POST
// /v1/originals), which keeps it encrypted under a fresh data key and
// commits its evidence record, signed with the node's client key: the
// Client needs a token (WithToken). size is the number of bytes r yields,
// sent as Content-Length so that the node refuses an oversized original
// before it is sent; -1 if unknown (chunked). r is read once, never held
// in memory as a whole; if it is an io.Closer it is not closed.
//
// The result carries the commitment salt, which the node keeps only
// wrapped: save it with the file. A rejection is a *Error with IsRejection
// true (the node then keeps nothing); a timeout is a *Error with
// CodeTimeout, and the record may still commit.
func (c *Client) UploadOriginal(ctx context.Context, r io.Reader, size int64, p OriginalParams) (*OriginalResult, error) {
	q := url.Values{}
	q["kind"] = []string{p.Kind}
	q["chain"] = []string{p.Chain}
	q["step"] = []string{strconv.FormatUint(uint64(p.Step), 10)}
	if p.Prev != (crypto.Hash{}) {
		q["prev"] = []string{p.Prev.String()}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
		q["label"] = append(q["label"], k+"="+p.Labels[k])
	}
	if p.Wait {
		q["wait"] = []string{WaitCommit}
	} else {
		q["wait"] = []string{WaitSync}
	}
	if p.Timeout > 0 {
		q["timeout"] = []string{p.Timeout.String()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(q, "originals"), io.NopCloser(r))
	if err != nil {
		return nil, fmt.Errorf("upload original: %w", err)
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	var res OriginalResult
	if err := c.do(req, &res); err != nil {
		return nil, fmt.Errorf("upload original: %w", err)
	}
	return &res, nil
}
