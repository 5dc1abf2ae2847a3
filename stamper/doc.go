// Package stamper obtains RFC 3161 time-stamp tokens (package tsa) over the
// alliance's trusted checkpoints and hands them to the node to submit in
// timestamp transactions: trusted time (可信时间戳) for receipts.
//
// A Stamper runs on a node designated as a stamper ([timestamp] stamp =
// true in evidenced.toml). After each commit (Committed, which never
// blocks) it reads the latest trusted checkpoint from its Source. When the
// checkpoint's log has grown since the last checkpoint it stamped (new
// records), no token on chain stamps it yet, and Config.Interval has passed
// since its last token, it asks the first configured TSA for a token over
// the checkpoint's text, falling back to the next TSA when one fails. It
// verifies the token against the TSA anchors the roster holds (the same
// check the ledger makes, so a token the ledger would refuse is never
// submitted) and submits it. A round in which every TSA failed is retried
// after a backoff: Config.MinBackoff doubling up to Config.MaxBackoff,
// with jitter.
//
// It never blocks consensus and never stops the node: a TSA that is down,
// slow, answers garbage, stamps another imprint, is not trusted or whose
// certificate has expired gets a WARN line naming the TSA, its URL, what
// was wrong and what the operator can do, a count in Metrics.Requested
// under one of the Result values, and a retry. The records keep
// committing; their receipts get a time step once a token covers them.
//
// # Wiring
//
// The node gives a Stamper its committed state (Source: the latest trusted
// checkpoint, whether a height is stamped, the roster's TSA anchors), a
// SubmitFunc that puts a Stamp on chain and returns once it is committed,
// and Metrics. Nothing here reads the ledger's state directly.
//
// A checkpoint's "new records" are measured by its tree size. Timestamp
// transactions are state, not log entries (ledger.TxTypeInfo.StateOnly),
// so a token never makes the next checkpoint look new.
package stamper
