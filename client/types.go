package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// The JSON types in this file are the wire form of the evidenced HTTP API v1
// (docs: notes/api.md). The server (package api) marshals its responses
// with these same types, so client and server cannot drift apart. Hashes,
// tx ids, key ids and commitments travel as 64 lowercase hex digits
// (crypto.Hash, crypto.KeyID); byte blobs as standard base64 ([]byte);
// times as RFC 3339 with nanoseconds in UTC (time.Time: callers that build
// responses must pass UTC times).

// Values of SubmitResult.Status.
const (
	// StatusCommitted means the transaction is in a committed block.
	StatusCommitted = "committed"
	// StatusPending means CheckTx accepted the transaction into the mempool
	// (wait=sync); it is not committed yet.
	StatusPending = "pending"
	// StatusRejected means the ledger rejected the transaction (a bundle
	// item only; a single submission answers 4xx instead).
	StatusRejected = "rejected"
	// StatusUnavailable means the node could not take the transaction now
	// (mempool full, not ready): resubmit it later (a bundle item only).
	StatusUnavailable = "unavailable"
)

// Values of the wait query parameter of POST /v1/txs.
const (
	// WaitCommit makes POST /v1/txs return after the block holding the
	// transaction is committed. It is the default.
	WaitCommit = "commit"
	// WaitSync makes POST /v1/txs return after CheckTx accepted the
	// transaction into the mempool.
	WaitSync = "sync"
)

// Values of Error.Code that are not ledger.Code names.
const (
	// CodeBadRequest is an undecodable request body or parameter (400).
	CodeBadRequest = "bad_request"
	// CodeNotFound is a missing entry, transaction, chain or commitment (404).
	CodeNotFound = "not_found"
	// CodeTimeout means the node stopped waiting for the commit (504); the
	// transaction may still commit (Error.TxID names it).
	CodeTimeout = "timeout"
	// CodeUnavailable is overload or a node that is not ready (503, with
	// Retry-After).
	CodeUnavailable = "unavailable"
	// CodeInternal is a server failure (500).
	CodeInternal = "internal"
)

// MaxTxBody is the largest request body POST /v1/txs accepts: 1 MiB + 1 KiB.
// Larger bodies get 413.
const MaxTxBody = 1<<20 + 1<<10

// MaxBundleBody is the largest request body POST /v1/bundles accepts: 8 MiB.
// The node splits what it accepts into bundles within the chain's size limit.
const MaxBundleBody = 8 << 20

// BundleItem is the outcome of one transaction of POST /v1/bundles.
type BundleItem struct {
	TxID   crypto.Hash `json:"tx_id"`
	Status string      `json:"status"` // committed, pending, rejected or unavailable
	Code   ledger.Code `json:"code"`   // the ledger code; 0 unless rejected
	// Message and Hint say why, for rejected and unavailable items.
	Message string `json:"message,omitempty"`
	Hint    string `json:"hint,omitempty"`
	// The fields below are set only when Status is StatusCommitted (Height
	// also for a rejection by a committed block).
	Index  uint64     `json:"index,omitempty"`
	Height int64      `json:"height,omitempty"`
	Time   *time.Time `json:"time,omitempty"`
	Signer string     `json:"signer,omitempty"`
	Type   string     `json:"type,omitempty"`
	Chains []string   `json:"chains,omitempty"`
}

// BundleResult answers POST /v1/bundles: one item per transaction, in the
// order sent, and how many ended in each status.
type BundleResult struct {
	Committed   int          `json:"committed"`
	Pending     int          `json:"pending"`
	Rejected    int          `json:"rejected"`
	Unavailable int          `json:"unavailable"`
	Results     []BundleItem `json:"results"`
}

// HexBytes is a byte string whose JSON (text) form is lowercase hex. It is
// used for public keys (65-byte uncompressed SM2 points) and salts.
type HexBytes = ledger.HexBytes

// ErrorResponse is the body of every non-2xx response: {"error": {...}}.
type ErrorResponse struct {
	Error *Error `json:"error"`
}

// Error is an API error: the "error" object of a non-2xx response, plus the
// Retry-After header. The client returns a *Error for every non-2xx response.
type Error struct {
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Code is the ledger.Code name (ledger.Code.String) for a ledger
	// rejection, else one of CodeBadRequest, CodeNotFound, CodeTimeout,
	// CodeUnavailable, CodeInternal.
	Code string `json:"code"`
	// ResultCode is the numeric ledger.Code of a ledger rejection; zero
	// otherwise.
	ResultCode uint32 `json:"result_code,omitempty"`
	// Message says what was wrong.
	Message string `json:"message"`
	// Hint says what to do about it (ledger.Code.Hint for a rejection).
	Hint string `json:"hint,omitempty"`
	// Field names the offending request field or parameter, if any.
	Field string `json:"field,omitempty"`
	// TxID is the transaction id when a submission timed out (504) or was
	// rejected after decoding: lowercase hex.
	TxID string `json:"tx_id,omitempty"`
	// Height is the block height of a FinalizeBlock rejection.
	Height int64 `json:"height,omitempty"`
	// RetryAfter is the Retry-After header of a 503 (zero if absent). It is
	// not part of the JSON body.
	RetryAfter time.Duration `json:"-"`
}

// Error returns "code: message (hint)", without the parenthesis when there
// is no hint.
func (e *Error) Error() string {
	s := e.Code
	if s == "" {
		s = fmt.Sprintf("http_%d", e.Status)
	}
	s += ": " + e.Message
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// IsRejection reports whether e is a ledger rejection of a transaction
// (CheckTx or FinalizeBlock returned a non-zero ledger.Code), as opposed to a
// transport, request or server problem.
func (e *Error) IsRejection() bool { return e.ResultCode != 0 }

// LedgerCode returns the ledger.Code of a rejection (ledger.CodeOK if e is
// not one).
func (e *Error) LedgerCode() ledger.Code { return ledger.Code(e.ResultCode) }

// SubmitResult is the response of POST /v1/txs: 200 with Status
// StatusCommitted after the commit (wait=commit), or 202 with only TxID and
// Status StatusPending after mempool acceptance (wait=sync).
type SubmitResult struct {
	TxID   crypto.Hash `json:"tx_id"`
	Status string      `json:"status"`
	// The fields below are set only when Status is StatusCommitted.
	Code   ledger.Code `json:"code"`
	Index  uint64      `json:"index"`  // entry index in the evidence log
	Height int64       `json:"height"` // block height
	Time   time.Time   `json:"time"`   // block time
	Signer string      `json:"signer"` // member name
	Type   string      `json:"type"`   // ledger.TxType.String: evidence, batch, attest, grant, …
	Chains []string    `json:"chains"` // evidence chains extended, in record order
}

// MarshalJSON writes only tx_id and status for a pending result, and every
// field otherwise, as the contract shows.
func (r SubmitResult) MarshalJSON() ([]byte, error) {
	type full SubmitResult
	if r.Status == StatusPending {
		return json.Marshal(struct {
			TxID   crypto.Hash `json:"tx_id"`
			Status string      `json:"status"`
		}{r.TxID, r.Status})
	}
	return json.Marshal(full(r))
}

// Status is the response of GET /v1/status: the node and its committed head.
type Status struct {
	ChainID    string      `json:"chain_id"`    // alliance (CometBFT) chain id; bodies must name it
	Moniker    string      `json:"moniker"`     // the node's CometBFT moniker
	Member     string      `json:"member"`      // the member running the node
	Role       string      `json:"role"`        // that member's ledger.Role name
	Height     int64       `json:"height"`      // last committed height
	AppHash    crypto.Hash `json:"app_hash"`    // app hash at Height
	LogSize    uint64      `json:"log_size"`    // entries in the evidence log
	Records    uint64      `json:"records"`     // evidence records accepted since genesis (each record of a batch counts)
	LogRoot    crypto.Hash `json:"log_root"`    // RFC 9162 SM3 root of the log
	BlockTime  time.Time   `json:"block_time"`  // time of the block at Height
	CatchingUp bool        `json:"catching_up"` // the node is still syncing
	Validators int         `json:"validators"`  // number of validators
}

// Entry is the response of GET /v1/entries/{index} and GET /v1/txs/{txid}:
// one log entry, its exact bytes and its decoded transaction.
type Entry struct {
	Index    uint64      `json:"index"`
	Height   int64       `json:"height"`
	Time     time.Time   `json:"time"`      // block time
	LeafHash crypto.Hash `json:"leaf_hash"` // ledger.LeafHash(Entry): the next step's Prev
	Entry    []byte      `json:"entry"`     // exact entry bytes (ledger.Entry encoding), base64

	TxID    crypto.Hash `json:"tx_id"`
	Type    string      `json:"type"` // the ledger.TxTypeInfo name: evidence, batch, attest, register, grant, …
	ChainID string      `json:"chain_id"`
	Signer  string      `json:"signer"` // member name
	// SignerKey is the signing key id; zero (omitted) for a register entry.
	SignerKey  crypto.KeyID `json:"signer_key,omitzero"`
	ClientTime time.Time    `json:"client_time"`

	// Records are the evidence records the transaction carries (evidence
	// and batch entries).
	Records []Record `json:"records,omitempty"`
	// Details is what else the transaction carries, in the public form its
	// type defines (ledger.TxTypeInfo.NewDetails): in the JSON, under the
	// type's JSONKey ("attestation" for attest, "member" for register,
	// "custody" for grant, revoke and access). Nil when there is none, or
	// when this client does not know the entry's type.
	Details ledger.Details `json:"-"`
}

// MarshalJSON writes the entry with its Details under its type's JSONKey.
func (e Entry) MarshalJSON() ([]byte, error) {
	type plain Entry // the fields without the methods
	b, err := json.Marshal(plain(e))
	if err != nil || e.Details == nil {
		return b, err
	}
	info := ledger.TxTypeNamed(e.Type)
	if info == nil || info.JSONKey == "" {
		return nil, fmt.Errorf("entry %d: type %q has no details to show, yet details are set", e.Index, e.Type)
	}
	d, err := json.Marshal(e.Details)
	if err != nil {
		return nil, fmt.Errorf("entry %d details: %w", e.Index, err)
	}
	key, err := json.Marshal(info.JSONKey)
	if err != nil {
		return nil, err
	}
	out := append(b[:len(b)-1:len(b)-1], ',')
	out = append(out, key...)
	out = append(out, ':')
	out = append(out, d...)
	return append(out, '}'), nil
}

// UnmarshalJSON reads an entry, and its Details when this client knows
// its type.
func (e *Entry) UnmarshalJSON(b []byte) error {
	type plain Entry
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	e.Details = nil
	info := ledger.TxTypeNamed(e.Type)
	if info == nil || info.JSONKey == "" {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	raw, ok := fields[info.JSONKey]
	if !ok || string(raw) == "null" {
		return nil
	}
	d := info.NewDetails()
	if err := json.Unmarshal(raw, d); err != nil {
		return fmt.Errorf("entry %d %s: %w", e.Index, info.JSONKey, err)
	}
	e.Details = d
	return nil
}

// Record is one evidence record inside an Entry.
type Record = ledger.RecordDetails

// Attestation is the payload of an attest Entry (its Details).
type Attestation = ledger.Attestation

// RecordRef names one record: its entry index and position in the entry.
type RecordRef = ledger.RecordRef

// MemberRegistration is the payload of a register Entry (its Details).
type MemberRegistration = ledger.MemberRegistration

// Chain is the response of GET /v1/chains/{chain}: the head of an evidence
// chain and one page of its steps.
type Chain struct {
	Chain string `json:"chain"`
	Owner string `json:"owner"` // member name
	Steps uint32 `json:"steps"` // steps so far; the next step is Steps+1
	// HeadLeafHash is the leaf hash of the entry holding the last step:
	// what the next step must put in Prev.
	HeadLeafHash crypto.Hash   `json:"head_leaf_hash"`
	HeadIndex    uint64        `json:"head_index"` // entry index of the last step
	Records      []ChainRecord `json:"records"`    // the requested page, in step order
}

// ChainRecord is one step of an evidence chain.
type ChainRecord struct {
	Step       uint32      `json:"step"`
	Index      uint64      `json:"index"`
	Pos        uint16      `json:"pos"`
	Height     int64       `json:"height"`
	Time       time.Time   `json:"time"`
	TxID       crypto.Hash `json:"tx_id"`
	Kind       string      `json:"kind"`
	Commitment crypto.Hash `json:"commitment"`
	Size       uint64      `json:"size"`
	Prev       crypto.Hash `json:"prev"`
	// Attestations are those covering the step, oldest first (absent when
	// none).
	Attestations []ChainAttestation `json:"attestations,omitempty"`
}

// CommitmentRecords is the response of GET /v1/commitments/{hex}: every
// record carrying a commitment.
type CommitmentRecords struct {
	Commitment crypto.Hash        `json:"commitment"`
	Records    []CommitmentRecord `json:"records"`
}

// CommitmentRecord is one record carrying a given commitment.
type CommitmentRecord struct {
	Index  uint64      `json:"index"`
	Pos    uint16      `json:"pos"`
	Chain  string      `json:"chain"`
	Step   uint32      `json:"step"`
	Height int64       `json:"height"`
	Time   time.Time   `json:"time"`
	TxID   crypto.Hash `json:"tx_id"`
}

// MembersResponse is the response of GET /v1/members.
type MembersResponse struct {
	Members []Member `json:"members"`
}

// Member is a registered alliance member.
type Member struct {
	Name  string      `json:"name"`
	Role  ledger.Role `json:"role"`
	Power uint64      `json:"power"`
	Keys  []MemberKey `json:"keys"` // the first is the member (co-signing) key
}

// MemberKey is one of a member's SM2 keys.
type MemberKey struct {
	ID        crypto.KeyID `json:"id"`
	PublicKey HexBytes     `json:"public_key"` // 65-byte uncompressed point
}

// check reports a decoded members list that the contract does not allow.
func (r *MembersResponse) check() error {
	for i, m := range r.Members {
		if !m.Role.Valid() {
			return fmt.Errorf("member %d (%q) has no valid role", i, m.Name)
		}
	}
	return nil
}

// check reports a decoded entry that the contract does not allow.
func (e *Entry) check() error {
	if m, ok := e.Details.(*MemberRegistration); ok && !m.Role.Valid() {
		return fmt.Errorf("registered member %q has no valid role", m.Name)
	}
	return nil
}

// OriginalResult is the response of POST /v1/originals: the outcome of the
// evidence transaction (the fields of SubmitResult) and the original the
// node keeps encrypted. 200 with Status StatusCommitted after the commit
// (wait=commit); 202 with Status StatusPending after mempool acceptance
// (wait=sync), where only TxID, Status and the original's fields are set.
//
// Salt is the secret that proves the original against Commitment: the node
// keeps it only wrapped to its member key, so the client must save it (the
// CLI writes it to FILE.evidence.json).
type OriginalResult struct {
	TxID   crypto.Hash `json:"tx_id"`
	Status string      `json:"status"`
	// Set only when Status is StatusCommitted.
	Code   ledger.Code `json:"code"`
	Index  uint64      `json:"index"`  // entry index in the evidence log
	Height int64       `json:"height"` // block height
	Time   time.Time   `json:"time"`   // block time
	Signer string      `json:"signer"` // member name: the original's owner
	Type   string      `json:"type"`   // "evidence"
	Chains []string    `json:"chains"` // the evidence chain extended

	// The record and the kept original, always set.
	Chain      string      `json:"chain"`
	Step       uint32      `json:"step"`
	Commitment crypto.Hash `json:"commitment"`  // SM3(salt ‖ original)
	Size       uint64      `json:"size"`        // bytes of the original
	Salt       HexBytes    `json:"salt"`        // the 32-byte commitment salt, hex
	Cipher     crypto.Hash `json:"cipher"`      // SM3 address of the ciphertext in the node's store
	CipherSize uint64      `json:"cipher_size"` // bytes of ciphertext stored
}

// MarshalJSON leaves out the fields that only a committed result has when
// the result is pending, as SubmitResult does.
func (r OriginalResult) MarshalJSON() ([]byte, error) {
	type full OriginalResult
	if r.Status == StatusPending {
		return json.Marshal(struct {
			TxID       crypto.Hash `json:"tx_id"`
			Status     string      `json:"status"`
			Chain      string      `json:"chain"`
			Step       uint32      `json:"step"`
			Commitment crypto.Hash `json:"commitment"`
			Size       uint64      `json:"size"`
			Salt       HexBytes    `json:"salt"`
			Cipher     crypto.Hash `json:"cipher"`
			CipherSize uint64      `json:"cipher_size"`
		}{r.TxID, r.Status, r.Chain, r.Step, r.Commitment, r.Size, r.Salt, r.Cipher, r.CipherSize})
	}
	return json.Marshal(full(r))
}

// SubmitResult returns the transaction outcome part of r.
func (r *OriginalResult) SubmitResult() *SubmitResult {
	return &SubmitResult{TxID: r.TxID, Status: r.Status, Code: r.Code, Index: r.Index, Height: r.Height,
		Time: r.Time, Signer: r.Signer, Type: r.Type, Chains: r.Chains}
}
