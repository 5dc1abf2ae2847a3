package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// submitBundle is POST /v1/bundles?wait=commit|sync&timeout=30s: a bundle
// of individually signed transactions (ledger.EncodeBundle), each with its
// own outcome. 200 whenever the bundle itself decodes, whatever its items'
// outcomes.
func (s *server) submitBundle(w http.ResponseWriter, r *http.Request) error {
	waitCommit, wait, err := s.parseWait(r)
	if err != nil {
		return err
	}
	body, err := readBodyMax(w, r, client.MaxBundleBody)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return badRequest("body", "the request body is empty: send a bundle of signed transactions (Content-Type: application/octet-stream)")
	}
	inner, err := ledger.DecodeBundle(body)
	if err != nil {
		rej, ok := errors.AsType[*ledger.RejectError](err)
		if !ok {
			return badRequest("body", "the body is not a bundle: %v", err)
		}
		e := rejection(rej, [32]byte{}, 0)
		if len(body) > 0 && body[0] == ledger.TxFormat {
			e.body.Message += "; the body is a single transaction: send it to POST /v1/txs, or wrap it with ledger.EncodeBundle"
		}
		return e
	}
	ids := make([]txName, len(inner))
	for i, raw := range inner {
		// The tx id of an undecodable item stays zero; the backend rejects it.
		if tx, err := ledger.DecodeTx(raw); err == nil {
			ids[i] = txName{tx.ID(), tx.Body.Type()}
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	outs, err := s.b.SubmitBundle(ctx, inner, waitCommit)
	if err != nil {
		return backendError(err, [32]byte{})
	}
	if len(outs) != len(inner) {
		return internal(fmt.Errorf("submit bundle: the backend returned %d outcomes for %d transactions", len(outs), len(inner)))
	}
	res := client.BundleResult{Results: make([]client.BundleItem, len(inner))}
	for i, o := range outs {
		it := bundleItem(ids[i], o, waitCommit)
		switch it.Status {
		case client.StatusCommitted:
			res.Committed++
		case client.StatusPending:
			res.Pending++
		case client.StatusRejected:
			res.Rejected++
		default:
			res.Unavailable++
		}
		res.Results[i] = it
	}
	s.writeJSON(w, http.StatusOK, cacheNone, res)
	return nil
}

// txName is what the answer to a bundle says of an item before its outcome.
type txName struct {
	ID   crypto.Hash
	Type ledger.TxType
}

// bundleItem turns one backend outcome into its JSON item.
func bundleItem(id txName, o BundleOutcome, waitCommit bool) client.BundleItem {
	it := client.BundleItem{TxID: id.ID}
	var cre *CommitRejectError
	var rej *ledger.RejectError
	switch {
	case o.Err == nil && o.Committed != nil && waitCommit:
		c := o.Committed
		t := c.Time.UTC()
		it.Status, it.Index, it.Height, it.Time, it.Signer, it.Type, it.Chains =
			client.StatusCommitted, c.Result.Index, c.Height, &t, c.Result.Signer, id.Type.String(), c.Result.Chains
	case o.Err == nil:
		it.Status = client.StatusPending
	case errors.As(o.Err, &cre) && cre.Err != nil:
		it.Status, it.Code, it.Message, it.Hint, it.Height = client.StatusRejected, cre.Err.Code, cre.Err.Msg, cre.Err.Code.Hint(), cre.Height
	case errors.As(o.Err, &rej):
		it.Status, it.Code, it.Message, it.Hint = client.StatusRejected, rej.Code, rej.Msg, rej.Code.Hint()
	case errors.Is(o.Err, context.DeadlineExceeded):
		it.Status = client.StatusPending
		it.Message = "not committed before the timeout; it may still commit"
		it.Hint = "look it up with GET /v1/txs/" + id.ID.String() + " before resubmitting"
	default:
		it.Status = client.StatusUnavailable
		it.Message = o.Err.Error()
		it.Hint = "resubmit this transaction later"
	}
	return it
}
