// Command loadgen drives a running alliance with transactions and measures
// what it commits: committed records per second, submit→commit latency and
// receipt availability lag (docs/PERFORMANCE.md; issue 5).
//
// Three modes share one submission engine:
//
//   - signed: one evidence record per transaction, each with its own SM2
//     signature (ledger.TxEvidence), POSTed to the evidenced HTTP API v1
//     (POST /v1/txs, docs/API.md);
//   - batch: --batch-size records under one signature (ledger.TxBatch), to
//     the same API;
//   - kv: unsigned ~100-byte "k…=v…" transactions to CometBFT's JSON-RPC
//     broadcast_tx_async, for CometBFT's own abci/example/kvstore app (the
//     baseline).
//
// Every transaction is built and signed before the clock starts, on one
// goroutine per core, so signing is the client's cost and not the ledger's.
// With --rate 0 the load is a closed loop of --concurrency submitters; with
// --rate N transactions are due at a fixed pace of N records per second
// (open loop, at most --concurrency in flight). A 503 (or CometBFT's
// "mempool is full") is counted and the same transaction is retried after
// Retry-After. Every --latency-sample'th transaction is submitted with
// wait=commit (kv: broadcast_tx_commit) and timed; with --receipt-lag its
// receipt is then polled until the node serves it.
//
// Throughput is measured on the chain, not at the client: the log size
// (evidenced GET /v1/status) or the transactions in blocks (CometBFT
// /status and /blockchain) at the end of the timed window minus at its
// start, over the block-time difference of the two heights.
//
// Usage:
//
//	loadgen --mode signed --targets http://127.0.0.1:26602,http://127.0.0.1:26612 \
//	        --key DIR/client/bank-client.pem --duration 30s --warmup 5s --out signed.json
//	loadgen --mode kv --targets http://127.0.0.1:27601 --rate 1000 --out kv.json
//
// The result is one JSON object (see result) written to --out (or stdout)
// and a one-line summary on stderr.
package main
