package certificate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/receipt"
	"github.com/evidenced/evidenced/tsa"
)

// Version is the version of the signed content (Content.Version).
const Version = 1

// SignaturePrefix is the domain separation of the issuer's signature: the
// issuer signs SignaturePrefix ‖ the canonical JSON of Content.
const SignaturePrefix = "evidenced certificate v1\n"

// Languages of the certificate's labels.
const (
	LangZH = "zh" // Chinese (the default)
	LangEN = "en"
)

// Names of the two attachments of a certificate PDF.
const (
	ReceiptName     = "receipt.json"
	CertificateName = "certificate.json"
)

// Limits of what Verify and Extract accept.
const (
	MaxPDFSize         = 32 << 20 // a certificate PDF (the font subset and the receipt make most of it)
	MaxReceiptSize     = 8 << 20  // receipt.json: a receipt with a long roster path
	MaxCertificateSize = 1 << 20  // certificate.json
	MaxListed          = 100      // attestations and custody events listed on a certificate
)

// Record is the certified record, as its receipt describes it.
type Record struct {
	Index      uint64      `json:"index"` // log entry
	Pos        uint16      `json:"pos"`   // position in the entry
	Chain      string      `json:"chain"` // the evidence chain (保全号)
	Step       uint32      `json:"step"`
	Kind       string      `json:"kind"`
	Commitment crypto.Hash `json:"commitment"`
	Size       uint64      `json:"size"`
	Submitter  string      `json:"submitter"` // the bank that signed the record
	TxID       crypto.Hash `json:"tx_id"`
	Height     int64       `json:"height"` // block height
	Time       time.Time   `json:"time"`   // block time, UTC
}

// TrustedTime is the RFC 3161 time of the receipt's time step.
type TrustedTime struct {
	TSA  string    `json:"tsa"`  // the TSA's name in the roster
	Time time.Time `json:"time"` // the token's genTime, UTC
}

// Attestation is an attestation covering the record.
type Attestation struct {
	Entry     uint64    `json:"entry"` // its log entry
	Member    string    `json:"member"`
	Statement string    `json:"statement"`
	Note      string    `json:"note,omitempty"`
	Time      time.Time `json:"time"` // block time, UTC
}

// CustodyEvent is a grant, access or other custody entry touching the
// record's original.
type CustodyEvent struct {
	Entry  uint64    `json:"entry"`  // its log entry
	Type   string    `json:"type"`   // the transaction type: grant, access, …
	Member string    `json:"member"` // who signed it
	Detail string    `json:"detail,omitempty"`
	Time   time.Time `json:"time"` // block time, UTC
}

// Issuer is the member that issues and signs a certificate.
type Issuer struct {
	Member string `json:"member"`
	Role   string `json:"role"`
}

// Facts are what a certificate states about a record: the record, its
// receipt's checkpoint signers and trusted time, and what the ledger held
// about it when the certificate was issued.
type Facts struct {
	ChainID      string         `json:"chain_id"` // the alliance chain
	Record       Record         `json:"record"`
	TreeSize     uint64         `json:"tree_size"`    // of the receipt's checkpoint
	Cosigners    []string       `json:"cosigners"`    // members whose signatures the receipt carries, in its order
	TrustedTime  *TrustedTime   `json:"trusted_time"` // null when the receipt has no time
	Attestations []Attestation  `json:"attestations"`
	Custody      []CustodyEvent `json:"custody"`
}

// Data is everything a certificate shows and carries.
type Data struct {
	Facts     Facts
	Issuer    Issuer
	IssuedAt  time.Time
	Lang      string // LangZH or LangEN
	VerifyURL string // the explorer's verify page for the record (the QR code)
	Receipt   []byte // the complete receipt JSON, embedded as receipt.json
}

// Content is the signed content of a certificate: the facts shown, the SM3
// of the embedded receipt.json, the issuer and the issue time.
type Content struct {
	Version    int         `json:"version"`
	Facts      Facts       `json:"facts"`
	ReceiptSM3 crypto.Hash `json:"receipt_sm3"` // SM3 of receipt.json's bytes
	Issuer     Issuer      `json:"issuer"`
	IssuedAt   time.Time   `json:"issued_at"` // UTC
	Language   string      `json:"language"`
	VerifyURL  string      `json:"verify_url"`
}

// File is certificate.json: the content and the issuer's signature.
type File struct {
	Content   json.RawMessage `json:"content"`   // canonical JSON of Content
	Signature []byte          `json:"signature"` // SM2 DER signature of SignaturePrefix ‖ Content, standard base64
}

// Encode returns the canonical JSON of c: encoding/json's encoding of the
// struct, fields in declaration order, no insignificant white space.
func (c *Content) Encode() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode certificate content: %w", err)
	}
	return b, nil
}

// SignedMessage returns the bytes the issuer signs: SignaturePrefix ‖
// content.
func SignedMessage(content []byte) []byte {
	return append([]byte(SignaturePrefix), content...)
}

// ParseContent decodes canonical content JSON: unknown fields, trailing
// data and any encoding other than Encode's are refused.
func ParseContent(b []byte) (*Content, error) {
	if len(b) > MaxCertificateSize {
		return nil, fmt.Errorf("certificate content of %d bytes: over the limit of %d", len(b), MaxCertificateSize)
	}
	var c Content
	if err := decodeStrict(b, &c); err != nil {
		return nil, fmt.Errorf("certificate content: %w", err)
	}
	if c.Version != Version {
		return nil, fmt.Errorf("certificate content version %d: this verifier knows version %d", c.Version, Version)
	}
	again, err := c.Encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, errors.New("certificate content is not in canonical form (compact JSON, fields in order, UTC times)")
	}
	return &c, nil
}

// ParseFile decodes certificate.json.
func ParseFile(b []byte) (*File, error) {
	if len(b) > MaxCertificateSize {
		return nil, fmt.Errorf("certificate.json of %d bytes: over the limit of %d", len(b), MaxCertificateSize)
	}
	var f File
	if err := decodeStrict(b, &f); err != nil {
		return nil, fmt.Errorf("certificate.json: %w", err)
	}
	if len(f.Content) == 0 || len(f.Signature) == 0 {
		return nil, errors.New("certificate.json: content or signature missing")
	}
	return &f, nil
}

func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// content returns d's signed content.
func (d *Data) content() *Content {
	return &Content{Version: Version, Facts: d.Facts, ReceiptSM3: crypto.SM3(d.Receipt), Issuer: d.Issuer,
		IssuedAt: d.IssuedAt.UTC(), Language: d.Lang, VerifyURL: d.VerifyURL}
}

// ReceiptFacts returns the facts a receipt states about its record: every
// field of Facts but the attestations and custody (empty), which come from
// the ledger (Collect).
func ReceiptFacts(rc *receipt.Receipt) (*Facts, error) {
	r := &rc.Record
	f := &Facts{ChainID: rc.ChainID, TreeSize: rc.TreeSize, Cosigners: []string{},
		Attestations: []Attestation{}, Custody: []CustodyEvent{},
		Record: Record{Index: rc.LeafIndex, Pos: r.Pos, Chain: r.Chain, Step: r.Step, Kind: r.Kind,
			Commitment: r.Commitment, Size: r.Size, Submitter: r.Submitter, TxID: r.TxID, Height: r.Height,
			Time: r.Time.UTC()}}
	for _, s := range rc.Signatures {
		f.Cosigners = append(f.Cosigners, s.Member)
	}
	if rc.Time != nil {
		tok, err := tsa.ParseToken(rc.Time.Token)
		if err != nil {
			return nil, fmt.Errorf("the receipt's timestamp token: %w", err)
		}
		f.TrustedTime = &TrustedTime{TSA: rc.Time.TSA, Time: tok.GenTime().UTC()}
	}
	return f, nil
}
