package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// httpError is an error response: the JSON error object and, for 5xx, the
// cause that is logged but never sent.
type httpError struct {
	body  client.Error
	cause error
	// retryAfter overrides Options.RetryAfter for a 503 when non-zero.
	retryAfter time.Duration
	// quiet logs the response at Debug rather than Warn: a refusal that
	// the node's metrics count, which a flood would repeat in the log.
	quiet bool
}

func (e *httpError) Error() string {
	if e.cause != nil {
		cause := e.cause.Error()
		if strings.Contains(cause, e.body.Message) {
			// The message was drawn from the cause: say it once.
			return fmt.Sprintf("%d %s: %s", e.body.Status, e.body.Code, cause)
		}
		return fmt.Sprintf("%d %s: %s: %s", e.body.Status, e.body.Code, e.body.Message, cause)
	}
	return fmt.Sprintf("%d %s: %s", e.body.Status, e.body.Code, e.body.Message)
}

func (e *httpError) Unwrap() error { return e.cause }

func newError(status int, code, field, format string, args ...any) *httpError {
	return &httpError{body: client.Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}}
}

func badRequest(field, format string, args ...any) *httpError {
	return newError(http.StatusBadRequest, client.CodeBadRequest, field, format, args...)
}

func notFound(field, format string, args ...any) *httpError {
	return newError(http.StatusNotFound, client.CodeNotFound, field, format, args...)
}

func internal(cause error) *httpError {
	e := newError(http.StatusInternalServerError, client.CodeInternal, "",
		"the node failed to answer; the failure is in its log")
	e.body.Hint = "retry later; if it persists, tell the node's operator"
	e.cause = cause
	return e
}

func unavailable(cause error) *httpError {
	e := newError(http.StatusServiceUnavailable, client.CodeUnavailable, "", "%s", unavailableMessage(cause))
	e.body.Hint = "retry after the number of seconds in the Retry-After header"
	e.cause = cause
	return e
}

func unavailableMessage(cause error) string {
	switch {
	case errors.Is(cause, ledger.ErrNotInitialized):
		return "the node has no committed genesis yet"
	case errors.Is(cause, context.Canceled):
		return "the request was cancelled"
	}
	return "the node is overloaded or not ready"
}

func timeout(txID crypto.Hash) *httpError {
	if txID == (crypto.Hash{}) {
		e := newError(http.StatusGatewayTimeout, client.CodeTimeout, "", "the node did not answer in time")
		e.body.Hint = "retry later"
		return e
	}
	e := newError(http.StatusGatewayTimeout, client.CodeTimeout, "",
		"transaction %s was not committed before the timeout; it may still commit", txID)
	e.body.Hint = "look it up with GET /v1/txs/" + txID.String() + " before resubmitting, or wait longer with a larger timeout parameter"
	e.body.TxID = txID.String()
	return e
}

// rejection answers a ledger rejection: 409 for a duplicate, 422 otherwise.
// txID is zero when the bytes did not decode; height is zero for a CheckTx
// rejection.
func rejection(rej *ledger.RejectError, txID crypto.Hash, height int64) *httpError {
	status := http.StatusUnprocessableEntity
	if rej.Code == ledger.CodeDuplicate {
		status = http.StatusConflict
	}
	msg := rej.Msg
	if msg == "" {
		msg = rej.Code.Doc()
	}
	e := newError(status, rej.Code.String(), rejectionField(rej.Code), "%s", msg)
	e.body.ResultCode = uint32(rej.Code)
	e.body.Hint = rej.Code.Hint()
	e.body.Height = height
	if txID != (crypto.Hash{}) {
		e.body.TxID = txID.String()
	}
	return e
}

// rejectionField names the part of a transaction a rejection code is about,
// in the field names of the Entry JSON; "body" for the encoding as a whole.
func rejectionField(c ledger.Code) string {
	switch c {
	case ledger.CodeMalformed, ledger.CodeUnsupported, ledger.CodeTooLarge,
		ledger.CodeBadUTF8, ledger.CodeTextNotNFC, ledger.CodeControlChar: // the message names the text
		return "body"
	case ledger.CodeWrongChain:
		return "chain_id"
	case ledger.CodeUnknownKey, ledger.CodeRoleNotAllowed:
		return "signer_key"
	case ledger.CodeBadSignature:
		return "signature"
	case ledger.CodeTimeWindow:
		return "client_time"
	case ledger.CodeGenesisOnly:
		return "type"
	case ledger.CodeChainStep:
		return "step"
	case ledger.CodeChainPrev:
		return "prev"
	case ledger.CodeChainOwner:
		return "chain"
	case ledger.CodeUnknownTarget:
		return "targets"
	case ledger.CodeBatchTooLarge, ledger.CodeBatchChainRepeat:
		return "records"
	}
	return ""
}

// backendError maps an error from the Backend or a View to a response.
// txID (zero if none) goes into a 504 and a rejection.
func backendError(err error, txID crypto.Hash) *httpError {
	var he *httpError
	var cre *CommitRejectError
	var rej *ledger.RejectError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &cre) && cre.Err != nil:
		return rejection(cre.Err, txID, cre.Height)
	case errors.As(err, &rej):
		return rejection(rej, txID, 0)
	case errors.Is(err, ErrOverloaded), errors.Is(err, ledger.ErrNotInitialized), errors.Is(err, context.Canceled):
		return unavailable(err)
	case errors.Is(err, context.DeadlineExceeded):
		return timeout(txID)
	}
	return internal(err)
}
