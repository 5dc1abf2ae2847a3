// Package explorer is the block explorer every evidenced node serves under
// /explorer/ on its API server (issue 7): server-rendered pages over the
// node's committed state for alliance members, judges' assistants, notaries
// and regulators, in Chinese (the default) and English.
//
// Pages (all GET):
//
//	/explorer/                      home: chain head, latest evidence records, latest blocks (runs of empty blocks as one row) and trusted checkpoints (live)
//	/explorer/live                  Server-Sent Events (W3C HTML Living Standard §9.2): block and checkpoint events
//	/explorer/blocks/{height}       one block: its entries and its trusted checkpoint
//	/explorer/txs/{txid}            one log entry by transaction id
//	/explorer/entries/{index}       one log entry by index
//	/explorer/evidence/{id}         one evidence record (INDEX or INDEX.POS) and its receipt status
//	/explorer/evidence/{id}/custody the chain of custody of its original
//	/explorer/chains/{chain}        an evidence chain as a timeline
//	/explorer/members/{name}        a member, its keys and its entries
//	/explorer/alliance              the roster in force (version, digest, From height) and its members; which validators co-sign checkpoints; halted (no block for Options.StaleAfter) or idle
//	/explorer/governance            roster proposals, open and closed (?before=INDEX: older ones), and the roster versions
//	/explorer/proposals/{index}     one proposal (by its entry index): status, tally against 2/3, every vote
//	/explorer/rosters/{version}     one roster version: digest, From height, attesting checkpoint, seats
//	/explorer/search?q=             height, entry index, tx id, chain id, commitment or record id
//	/explorer/verify                offline verification of a receipt in the browser
//	/explorer/assets/...            the embedded stylesheet, scripts and WebAssembly
//
// The pages show metadata only. Salts, wrapped data keys, attestation notes
// and originals never appear: a record shows its kind, its labels (public
// chain metadata, never personal data: they are in the entry bytes every
// member and every receipt carries), whether an encrypted original is kept,
// and its salted SM3 commitment. Everything the
// pages need is embedded in the binary (no CDN), and every response carries
// a Content-Security-Policy that allows no inline script or style.
//
// The language is chosen by ?lang=zh|en, which also sets a cookie, then by
// that cookie; Chinese by default. All UI strings live in one catalog with
// the same keys in both languages.
package explorer
