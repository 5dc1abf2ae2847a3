// Package client is the Go client of the evidenced HTTP API v1 (JSON over
// HTTP, served by every node under /v1), and the home of that API's wire
// types: the server package api marshals its responses with the types in
// types.go, so the two sides share one definition.
//
// Every method takes a context first; a Client has no timeout of its own.
// Every non-2xx response becomes a *Error carrying the status, the stable
// code (a ledger.Code name for a rejected transaction), the message and the
// hint. GET requests are retried on 503 up to three times, honouring
// Retry-After and bounded by the context; Submit never retries on its own,
// since the caller decides whether resubmitting is safe (nor does
// SubmitEvidence).
//
// Receipt, LatestCheckpoint and Checkpoint return package receipt's types
// unverified: verify them offline with receipt.Verify and
// receipt.VerifyCheckpoint against a roster file (Roster fetches one).
package client
