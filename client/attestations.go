package client

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// MaxAttestBody bounds the body of POST /v1/attestations: 256 record ids
// and a note fit in a few KiB.
const MaxAttestBody = 32 << 10

// AttestRequest is the body of POST /v1/attestations: the node's member (a
// notary, arbitration centre or court) attests either the records named
// by Records or every step of evidence chain Chain up to its head when
// the node reads it, never both.
type AttestRequest struct {
	Statement string   `json:"statement"`         // statement kind: notarised, reviewed, admitted, arbitration-filed, …
	Records   []string `json:"records,omitempty"` // record ids: 12 or 12.3
	Chain     string   `json:"chain,omitempty"`   // an evidence chain id
	// ThroughStep, with Chain, names the head to cover: steps 1 to
	// ThroughStep exactly. The node waits (up to its commit wait) until it
	// has that step; 0 covers the chain up to the head the node has.
	ThroughStep uint32       `json:"through_step,omitempty"`
	Document    *crypto.Hash `json:"document,omitempty"` // SM3 of the certificate or report, hex; absent if none
	Note        string       `json:"note,omitempty"`     // free UTF-8 text (NFC), e.g. a certificate number
}

// AttestResult is the answer of POST /v1/attestations: the committed
// attest entry, the records it names and, for a chain, the head it
// covered.
type AttestResult struct {
	TxID   crypto.Hash `json:"tx_id"`
	Status string      `json:"status"` // StatusCommitted
	Code   ledger.Code `json:"code"`
	Index  uint64      `json:"index"` // the attest entry
	Height int64       `json:"height"`
	Time   time.Time   `json:"time"`
	Signer string      `json:"signer"` // the attesting member
	Type   string      `json:"type"`   // attest

	Statement string   `json:"statement"`
	Note      string   `json:"note"`    // as signed (NFC)
	Targets   []string `json:"targets"` // record ids, in the attestation's (log) order
	// Chain, HeadStep and Head are set when a chain was attested: the
	// attestation covers its steps 1 to HeadStep, Head being the record
	// id of that step.
	Chain    string `json:"chain,omitempty"`
	HeadStep uint32 `json:"head_step,omitempty"`
	Head     string `json:"head,omitempty"`
}

// AttestationInfo is one committed attestation, as listed by
// GET /v1/evidence/{id}/attestations.
type AttestationInfo struct {
	Index     uint64       `json:"index"` // the attest entry
	TxID      crypto.Hash  `json:"tx_id"`
	Height    int64        `json:"height"`
	Time      time.Time    `json:"time"`
	Signer    string       `json:"signer"` // the attesting member
	Role      string       `json:"role"`   // its role: notary, arbitration or court
	Statement string       `json:"statement"`
	Targets   []string     `json:"targets"` // record ids
	Document  *crypto.Hash `json:"document,omitempty"`
	Note      string       `json:"note"`
}

// Attestations is the response of GET /v1/evidence/{id}/attestations: the
// attestations naming a record, oldest first.
type Attestations struct {
	Record       string            `json:"record"` // INDEX.POS
	Attestations []AttestationInfo `json:"attestations"`
}

// ChainAttestation is an attestation covering a step of a ChainRecord.
type ChainAttestation struct {
	Index     uint64 `json:"index"`  // the attest entry
	Signer    string `json:"signer"` // the attesting member
	Statement string `json:"statement"`
}

// NormalizeText returns s in Unicode normalisation form C, the form the
// ledger's texts (notes, purposes) are signed in.
func NormalizeText(s string) string { return norm.NFC.String(s) }

// Attest asks the node to sign an attestation with its member key and
// submit it (POST /v1/attestations, bearer token with scope attest); it
// waits for the commit. The note is normalised to NFC first.
func (c *Client) Attest(ctx context.Context, a AttestRequest) (*AttestResult, error) {
	a.Note = NormalizeText(a.Note)
	var r AttestResult
	if err := c.postJSON(ctx, c.endpoint(nil, "attestations"), a, &r); err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	return &r, nil
}

// Attestations lists the attestations naming record id
// (GET /v1/evidence/{id}/attestations).
func (c *Client) Attestations(ctx context.Context, id string) (*Attestations, error) {
	var r Attestations
	if err := c.get(ctx, c.endpoint(nil, "evidence", id, "attestations"), &r); err != nil {
		return nil, fmt.Errorf("attestations of %s: %w", id, err)
	}
	return &r, nil
}
