// Package api is the HTTP API of an evidenced node: JSON over HTTP under /v1,
// as specified in docs/API.md (evidenced HTTP API v1). Business systems and the
// evidenced CLI submit signed transactions and query the committed evidence
// log, evidence chains, commitments and the alliance roster through it.
//
// The package knows nothing of CometBFT or Badger. The node provides a
// Backend: consistent read-only snapshots of committed state (a *ledger.View),
// transaction submission, and the node's status. Handlers answer queries from
// one snapshot each, so every response describes one committed height.
//
// The JSON types are those of package client, so the server and the Go client
// share one definition of the wire format. Every response, including every
// error, is application/json; errors have the shape
//
//	{"error": {"status": 422, "code": "chain_step", "result_code": 11,
//	           "message": "...", "hint": "...", "field": "step"}}
//
// where code is the ledger.Code name of a rejected transaction (with its number
// in result_code and ledger.Code.Hint in hint), or one of bad_request,
// not_found, timeout, unavailable, internal.
//
// Besides raw signed transactions (POST /v1/txs), a node with a client key
// and API tokens (Options.Signer, Options.Tokens) builds and signs evidence
// for business systems that send JSON with a bearer token
// (POST /v1/evidence). Each token carries scopes (Scopes: submit,
// originals, grant, webhooks, admin), and each endpoint that acts through
// the node's member or keys needs one of them (the routes table; 403
// otherwise); the tokens file format is ParseTokens'. For offline verification it serves receipts built by
// package receipt on co-signed checkpoints (GET /v1/evidence/{id}/receipt),
// the checkpoints themselves, RFC 9162 consistency and inclusion proofs, and
// the roster file with its digest. GET /v1/openapi.json is the OpenAPI 3.0
// description of every endpoint (openapi.json, embedded), checked against
// the handlers by the tests.
//
// Routing uses Go 1.22 method patterns. What never changes once committed
// (entries, receipts, checkpoints by height, proofs) is served with
// "Cache-Control: public, max-age=31536000, immutable"; everything else, and
// every error, with "no-store".
package api
