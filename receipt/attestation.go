package receipt

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Attestation is the decoded attestation a receipt of an attest entry
// proves (Receipt.Attestation), with the facts of its transaction and
// block. Every field is derived from the leaf, and Verify checks it
// against the leaf.
type Attestation struct {
	Statement string             `json:"statement"`         // statement kind: "notarised", "reviewed", …
	Targets   []ledger.RecordRef `json:"targets"`           // the attested records, strictly increasing
	Document  crypto.Hash        `json:"document,omitzero"` // SM3 of the certificate or report; absent if none
	Note      string             `json:"note"`              // free UTF-8 text, e.g. a notarial certificate number
	Signer    string             `json:"signer"`            // member that signed the transaction
	Role      ledger.Role        `json:"role"`              // that member's role: notary, arbitration or court
	SignerKey crypto.KeyID       `json:"signer_key"`        // SM3 of the signing public key
	TxID      crypto.Hash        `json:"tx_id"`             // SM3 of the transaction body
	Height    int64              `json:"height"`            // block height
	Time      time.Time          `json:"time"`              // block time, UTC
	// ClientTime is the signer's time in the body, UTC.
	ClientTime time.Time `json:"client_time"`
}

// BuildAttestation makes the receipt of the attestation in the attest
// entry at index, as Build does for a record: its leaf is the attest
// entry, and it carries Attestation instead of Record. Errors as Build;
// ledger.ErrNotFound also when the entry is not an attest entry.
func BuildAttestation(v *ledger.View, index uint64) (*Receipt, error) {
	genesis, err := v.RosterVersion(0)
	if err != nil {
		return nil, err
	}
	return build(v, ledger.RecordRef{Index: index}, genesis, true)
}

// BuildAttestationFrom is BuildAttestation with the roster path from the
// roster version whose digest is from, as BuildFrom.
func BuildAttestationFrom(v *ledger.View, index uint64, from crypto.Hash) (*Receipt, error) {
	start, err := RosterVersionByDigest(v, from)
	if err != nil {
		return nil, err
	}
	return build(v, ledger.RecordRef{Index: index}, start, true)
}

// isAttestation returns nil when the entry at index is an attest entry,
// an error wrapping ledger.ErrNotFound when it is missing or of another
// type.
func isAttestation(v *ledger.View, index uint64) error {
	_, tx, err := v.Entry(index)
	if err != nil {
		return fmt.Errorf("receipt for attestation %d: %w", index, err)
	}
	if t := tx.Body.Type(); t != ledger.TxAttest {
		return fmt.Errorf("receipt for attestation %d: entry %d is a %s entry: %w", index, index, t, ledger.ErrNotFound)
	}
	return nil
}

// describeAttestation decodes the attestation of a leaf, naming the signer
// from the rosters, and returns it with the leaf's transaction.
func describeAttestation(leaf []byte, rosters rosterSet) (*Attestation, *ledger.Tx, error) {
	e, err := ledger.DecodeEntry(leaf)
	if err != nil {
		return nil, nil, fmt.Errorf("the leaf is not a log entry: %w", err)
	}
	tx, err := ledger.DecodeTx(e.TxBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("the leaf's transaction does not decode: %w", err)
	}
	la, ok := tx.Body.Payload.(*ledger.Attestation)
	if !ok {
		return nil, nil, fmt.Errorf("the leaf holds a %s transaction, not an attestation", tx.Body.Type())
	}
	a := &Attestation{
		Statement:  la.Statement,
		Targets:    slices.Clone(la.Targets),
		Document:   la.Document,
		Note:       la.Note,
		SignerKey:  tx.Body.Signer,
		TxID:       tx.ID(),
		Height:     e.Height,
		Time:       time.Unix(0, e.Time).UTC(),
		ClientTime: time.Unix(0, tx.Body.Time).UTC(),
	}
	if k := rosters.key(tx.Body.Signer); k != nil {
		a.Signer, a.Role = k.member.Name, k.member.Role
	}
	return a, tx, nil
}

// checkAttestation is the attestation step, in place of the record step
// for a receipt of an attestation.
func (v *verifier) checkAttestation() (string, map[string]string, error) {
	r := v.r
	if !r.Record.IsZero() {
		return "", nil, fail(ReasonAttestationDiffers, facts("fields", "record"),
			"the receipt carries both a record and an attestation; a receipt proves one of them")
	}
	want, tx, err := describeAttestation(r.Leaf, v.rosters)
	if err != nil {
		return "", nil, fail(ReasonLeaf, nil, "%v", err)
	}
	k, err := v.leafSigner(tx, func(k *rosterKey) error {
		if slices.Contains(ledger.TxAttest.Info().Roles, k.member.Role) {
			return nil
		}
		return fail(ReasonNotAttester, facts("member", k.member.Name, "role", k.member.Role),
			"the attestation is signed by %s, a %s; only notary, arbitration and court members attest", k.member.Name, k.member.Role)
	})
	if err != nil {
		return "", nil, err
	}
	if diff := attestationDiff(want, r.Attestation); len(diff) > 0 {
		return "", nil, fail(ReasonAttestationDiffers, facts("fields", strings.Join(diff, ", ")),
			"the receipt's attestation differs from the attestation in the leaf in: %s", strings.Join(diff, ", "))
	}
	targets := make([]string, len(want.Targets))
	for i, t := range want.Targets {
		targets[i] = t.String()
	}
	at := want.Time.Format(time.RFC3339Nano)
	fs := facts("type", ledger.TxAttest, "tx", want.TxID, "statement", want.Statement, "note", want.Note, "targets", strings.Join(targets, ", "),
		"count", len(targets), "member", k.member.Name, "role", k.member.Role, "key", tx.Body.Signer.Short(), "height", want.Height, "time", at)
	doc := ""
	if want.Document != (crypto.Hash{}) {
		fs["document"] = want.Document.String()
		doc = fmt.Sprintf(", document %s", want.Document)
	}
	return fmt.Sprintf("the leaf holds attestation transaction %s: %s, note %q, of %d %s (%s)%s; signed by %s %s with key %s, accepted in block %d at %s",
		want.TxID, want.Statement, want.Note, len(targets), plural(len(targets), "record", "records"), strings.Join(targets, ", "), doc,
		k.member.Role, k.member.Name, tx.Body.Signer.Short(), want.Height, at), fs, nil
}

// checkDocument is the file step of a receipt of an attestation: the file
// is the attested document, SM3(file) is the attestation's document.
func (v *verifier) checkDocument() (string, map[string]string, error) {
	d := v.r.Attestation.Document
	if d == (crypto.Hash{}) {
		return "", nil, fail(ReasonNoDocument, nil, "the attestation commits to no document, so no file can be checked against it: verify without a file")
	}
	h := crypto.NewSM3()
	n, err := io.Copy(h, v.opts.File)
	if err != nil {
		return "", nil, fail(ReasonFileUnreadable, nil, "reading the document failed: %v", err)
	}
	var c crypto.Hash
	h.Sum(c[:0])
	if c != d {
		return "", nil, fail(ReasonDocument, facts("computed", c, "document", d, "size", n),
			"SM3(file) is %s, not the attestation's document %s: the file is not the document that was attested", c, d)
	}
	return fmt.Sprintf("SM3 of the %d-byte file is %s, the attestation's document", n, c), facts("size", n, "document", c), nil
}

// attestationDiff names the fields of got that differ from want.
func attestationDiff(want, got *Attestation) []string {
	var d []string
	add := func(differs bool, name string) {
		if differs {
			d = append(d, name)
		}
	}
	add(want.Statement != got.Statement, "statement")
	add(!slices.Equal(want.Targets, got.Targets), "targets")
	add(want.Document != got.Document, "document")
	add(want.Note != got.Note, "note")
	add(want.Signer != got.Signer, "signer")
	add(want.Role != got.Role, "role")
	add(want.SignerKey != got.SignerKey, "signer_key")
	add(want.TxID != got.TxID, "tx_id")
	add(want.Height != got.Height, "height")
	add(!want.Time.Equal(got.Time), "time")
	add(!want.ClientTime.Equal(got.ClientTime), "client_time")
	return d
}

// IsZero reports whether r is the absent record of a receipt of an
// attestation: every field is zero or empty. JSON leaves such a record
// out.
func (r Record) IsZero() bool {
	return r.Pos == 0 && r.Type == "" && r.Kind == "" && r.Chain == "" && r.Step == 0 && r.Prev == (crypto.Hash{}) &&
		r.Commitment == (crypto.Hash{}) && r.Size == 0 && r.Cipher == nil && len(r.Labels) == 0 && len(r.Salt) == 0 && r.Submitter == "" &&
		r.SubmitterKey == (crypto.KeyID{}) && r.TxID == (crypto.Hash{}) && r.Height == 0 && r.Time.IsZero() && r.ClientTime.IsZero()
}
