package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Values of Error.Code for the endpoints that need a token that are not
// ledger.Code names.
const (
	// CodeUnauthorized means the request came without a valid
	// "Authorization: Bearer" token (401).
	CodeUnauthorized = "unauthorized"
	// CodeForbidden means the token lacks the scope the endpoint needs,
	// the node has no tokens configured, the node does not sign evidence
	// for clients (no client key), or a webhook subscription belongs to
	// another token (403).
	CodeForbidden = "forbidden"
)

// EvidenceRecord is one record of a POST /v1/evidence request: what a
// business system knows about one original. The node adds the chain id,
// the client time, its own client key as signer and, for a step after the
// first when Prev is zero, the current head of the evidence chain.
type EvidenceRecord struct {
	Kind  string `json:"kind"`  // what the evidence is, e.g. "loan-contract"
	Chain string `json:"chain"` // evidence-chain id
	Step  uint32 `json:"step"`  // 1 for the first step, then 2, 3, …
	// Prev is the leaf hash of the entry holding the previous step. Zero
	// (omitted) lets the node fill in the chain's current head for a step
	// after the first; it must be zero for step 1.
	Prev       crypto.Hash       `json:"prev,omitzero"`
	Commitment crypto.Hash       `json:"commitment"` // SM3(salt ‖ original)
	Size       uint64            `json:"size"`       // size of the original in bytes
	Cipher     *crypto.Hash      `json:"cipher,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"` // non-personal labels
}

// EvidenceRequest is the body of POST /v1/evidence: one record (the
// embedded EvidenceRecord), or a batch when Records is non-nil. It encodes
// as the record's own fields, or as {"records": [...]}.
type EvidenceRequest struct {
	EvidenceRecord
	Records []EvidenceRecord `json:"records,omitempty"`
}

// MarshalJSON writes the single-record form, or {"records": [...]} when
// Records is non-nil (the single record is then ignored).
func (r EvidenceRequest) MarshalJSON() ([]byte, error) {
	if r.Records != nil {
		return json.Marshal(struct {
			Records []EvidenceRecord `json:"records"`
		}{r.Records})
	}
	return json.Marshal(r.EvidenceRecord)
}

// IsBatch reports whether r is a batch (Records is non-nil).
func (r *EvidenceRequest) IsBatch() bool { return r.Records != nil }

// ConsistencyProof is the response of GET /v1/proofs/consistency: the RFC
// 9162 consistency proof between the log at tree sizes From and To, with
// the roots at both sizes as the node computes them. A verifier takes the
// roots from trusted checkpoints, not from this response.
type ConsistencyProof struct {
	From     uint64      `json:"from"`
	To       uint64      `json:"to"`
	Proof    [][]byte    `json:"proof"` // SM3 hashes, standard base64, RFC 9162 order
	FromRoot crypto.Hash `json:"from_root"`
	ToRoot   crypto.Hash `json:"to_root"`
}

// InclusionProof is the response of GET /v1/proofs/inclusion: the RFC 9162
// inclusion proof of entry Index in the tree of Size entries, and that
// tree's root.
type InclusionProof struct {
	Index uint64      `json:"index"`
	Size  uint64      `json:"size"`
	Proof [][]byte    `json:"proof"` // SM3 hashes, standard base64, leaf to root
	Root  crypto.Hash `json:"root"`
}

// RosterResponse is the response of GET /v1/roster: the committed roster
// in the roster-file form a verifier uses, and its digest
// (ledger.Roster.Digest).
type RosterResponse struct {
	ledger.Roster
	Digest crypto.Hash `json:"digest"`
}

// check reports proof hashes that are not SM3 hashes.
func (p *ConsistencyProof) check() error { return checkProof(p.Proof) }

// check reports proof hashes that are not SM3 hashes.
func (p *InclusionProof) check() error { return checkProof(p.Proof) }

func checkProof(proof [][]byte) error {
	for i, h := range proof {
		if len(h) != crypto.HashSize {
			return fmt.Errorf("proof hash %d is %d bytes, not %d", i, len(h), crypto.HashSize)
		}
	}
	return nil
}

// check reports a roster whose digest is not the one sent with it.
func (r *RosterResponse) check() error {
	d, err := r.Roster.Digest()
	if err != nil {
		return err
	}
	if d != r.Digest {
		return fmt.Errorf("roster digest %s does not match the roster sent (its digest is %s)", r.Digest, d)
	}
	return nil
}

// Timestamp is the response of GET /v1/checkpoints/{height}/timestamp: the
// RFC 3161 time-stamp token the ledger accepted for a trusted checkpoint
// (the first one; it never changes), and what it states. The ledger
// verified it against the roster's TSA when it accepted it; a verifier
// checks it again with tsa.ParseToken and Token.Verify against the
// roster's anchors and the checkpoint's text.
type Timestamp struct {
	Height   int64     `json:"height"`   // the stamped checkpoint's block height
	Accepted int64     `json:"accepted"` // the height of the block that accepted the token
	TSA      string    `json:"tsa"`      // the TSA's name in the roster
	GenTime  time.Time `json:"gen_time"` // the time the token states, UTC
	Serial   string    `json:"serial"`   // the token's serial number, 0x and hex
	Hash     string    `json:"hash"`     // the imprint's hash algorithm: sm3 or sha256
	Token    []byte    `json:"token"`    // the TimeStampToken (DER), standard base64
}
