package certificate

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// Names of the certificate's own verification steps, run before the
// receipt's (receipt.Steps).
const (
	StepCertificate = "certificate"           // the PDF holds receipt.json and certificate.json, and both parse
	StepSignature   = "certificate_signature" // the issuer's member key in the roster signed the content
	StepReceipt     = "certificate_receipt"   // the content names receipt.json (SM3) and states the receipt's facts
)

// Reasons a certificate step failed (receipt.Step.Reason).
const (
	ReasonNotCertificate = "not_certificate" // certificate: the attachments are missing or malformed
	ReasonContent        = "content"         // certificate: certificate.json or its content does not parse
	ReasonReceiptParse   = "receipt_parse"   // certificate: receipt.json is not a receipt
	ReasonUnknownIssuer  = "unknown_issuer"  // certificate_signature: no roster the receipt establishes has the issuer (facts: issuer)
	ReasonIssuerRole     = "issuer_role"     // certificate_signature: the issuer's role is not the roster's (facts: issuer, role, want)
	ReasonSignature      = "signature"       // certificate_signature: the signature does not verify (facts: issuer, key)
	ReasonReceiptDigest  = "receipt_digest"  // certificate_receipt: SM3 of receipt.json is not the content's (facts: computed, signed)
	ReasonFacts          = "facts"           // certificate_receipt: the signed facts are not the receipt's (facts: fields)
	ReasonAfterFailure   = receipt.ReasonAfterFailure
)

// Steps returns the names of every step Verify reports, in order: the
// certificate's, then the receipt's.
func Steps() []string {
	return append([]string{StepCertificate, StepSignature, StepReceipt}, receipt.Steps()...)
}

// Report is the outcome of Verify.
type Report struct {
	OK         bool           `json:"ok"`                    // every step that ran passed, and the receipt verified
	Steps      []receipt.Step `json:"steps"`                 // the certificate's steps, then the receipt's
	FailedStep string         `json:"failed_step,omitempty"` // name of the step that failed
	// Content is the signed content, once it parsed (informative until OK).
	Content *Content `json:"content,omitempty"`
	// Receipt is the embedded receipt, once it parsed.
	Receipt *receipt.Receipt `json:"-"`
}

// Verify checks a certificate PDF offline against roster (the roster the
// verifier trusts, as for receipt.Verify), in the order of Steps, stopping
// at the first failing step:
//
//   - certificate: Extract finds receipt.json and certificate.json, the
//     content is canonical JSON of a known version, and the receipt parses;
//   - certificate_signature: the issuer named in the content is a member of
//     roster or of a roster version on the receipt's roster path (newest
//     first), with the role the content states, and the SM2 signature of
//     SignaturePrefix ‖ content verifies under its member key;
//   - certificate_receipt: SM3 of receipt.json is the content's
//     receipt_sm3, and the content's facts (record, chain, tree size,
//     co-signers, trusted time) are the receipt's (ReceiptFacts);
//   - then receipt.Verify's steps on the embedded receipt, with opts (the
//     original and its salt; no File skips the file step). A roster version taken from the path in
//     certificate_signature holds only once roster_path passes.
//
// The attestations and custody listed are the issuer's signed statement of
// the ledger at issue time: no receipt in the PDF proves them.
// Verify returns an error only when roster is nil.
func Verify(pdf []byte, roster *ledger.Roster, opts receipt.VerifyOptions) (*Report, error) {
	if roster == nil {
		return nil, errors.New("verify certificate: no roster")
	}
	rep := &Report{OK: true}
	var receiptJSON, sig []byte
	var content []byte
	steps := []struct {
		name string
		run  func() (string, map[string]string, error)
	}{
		{StepCertificate, func() (string, map[string]string, error) {
			rj, cj, err := Extract(pdf)
			if err != nil {
				return "", nil, stepErr(ReasonNotCertificate, nil, "%v", err)
			}
			f, err := ParseFile(cj)
			if err != nil {
				return "", nil, stepErr(ReasonContent, nil, "%v", err)
			}
			c, err := ParseContent(f.Content)
			if err != nil {
				return "", nil, stepErr(ReasonContent, nil, "%v", err)
			}
			rc, err := receipt.Parse(rj)
			if err != nil {
				return "", nil, stepErr(ReasonReceiptParse, nil, "receipt.json: %v", err)
			}
			receiptJSON, content, sig, rep.Content, rep.Receipt = rj, f.Content, f.Signature, c, rc
			return fmt.Sprintf("receipt.json (%d bytes) and certificate.json extracted: certificate of record %s issued by %s at %s",
					len(rj), recordID(c.Facts.Record.Index, c.Facts.Record.Pos), c.Issuer.Member, formatTime(c.IssuedAt)),
				map[string]string{"issuer": c.Issuer.Member, "issued_at": c.IssuedAt.Format("2006-01-02T15:04:05.999999999Z07:00"), "receipt_size": fmt.Sprint(len(rj))}, nil
		}},
		{StepSignature, func() (string, map[string]string, error) {
			return checkSignature(rep.Content, content, sig, roster, rep.Receipt)
		}},
		{StepReceipt, func() (string, map[string]string, error) {
			return checkFacts(rep.Content, receiptJSON, rep.Receipt)
		}},
	}
	for _, s := range steps {
		if rep.FailedStep != "" {
			rep.Steps = append(rep.Steps, receipt.Step{Name: s.name, Skipped: true, Detail: "not run: the " + rep.FailedStep + " step failed",
				Reason: ReasonAfterFailure, Facts: map[string]string{"step": rep.FailedStep}})
			continue
		}
		detail, fs, err := s.run()
		if err != nil {
			rep.OK, rep.FailedStep = false, s.name
			st := receipt.Step{Name: s.name, Detail: err.Error()}
			var se *stepError
			if errors.As(err, &se) {
				st.Reason, st.Facts = se.reason, se.facts
			}
			rep.Steps = append(rep.Steps, st)
			continue
		}
		rep.Steps = append(rep.Steps, receipt.Step{Name: s.name, OK: true, Detail: detail, Facts: fs})
	}
	if rep.FailedStep != "" {
		for _, name := range receipt.Steps() {
			rep.Steps = append(rep.Steps, receipt.Step{Name: name, Skipped: true, Detail: "not run: the " + rep.FailedStep + " step failed",
				Reason: ReasonAfterFailure, Facts: map[string]string{"step": rep.FailedStep}})
		}
		return rep, nil
	}
	rr := receipt.Verify(rep.Receipt, roster, opts)
	rep.Steps = append(rep.Steps, rr.Steps...)
	if !rr.OK {
		rep.OK, rep.FailedStep = false, rr.FailedStep
	}
	return rep, nil
}

type stepError struct {
	reason string
	facts  map[string]string
	msg    string
}

func (e *stepError) Error() string { return e.msg }

func stepErr(reason string, facts map[string]string, format string, args ...any) error {
	return &stepError{reason: reason, facts: facts, msg: fmt.Sprintf(format, args...)}
}

// candidateRosters are the rosters the receipt may establish, newest
// first: its roster path's versions (decoded, not yet checked), then the
// verifier's.
func candidateRosters(roster *ledger.Roster, rc *receipt.Receipt) []*ledger.Roster {
	var out []*ledger.Roster
	if rc.RosterPath != nil {
		for _, st := range rc.RosterPath.Steps {
			e, err := ledger.DecodeEntry(st.Leaf)
			if err != nil {
				continue
			}
			tx, err := ledger.DecodeTx(e.TxBytes)
			if err != nil {
				continue
			}
			if u, ok := tx.Body.Payload.(*ledger.RosterUpdate); ok {
				out = append(out, u.Roster(rc.ChainID))
			}
		}
		slices.Reverse(out)
	}
	return append(out, roster)
}

func checkSignature(c *Content, content, sig []byte, roster *ledger.Roster, rc *receipt.Receipt) (string, map[string]string, error) {
	fs := map[string]string{"issuer": c.Issuer.Member}
	for _, r := range candidateRosters(roster, rc) {
		i, found := slices.BinarySearchFunc(r.Members, c.Issuer.Member, func(m ledger.RosterMember, name string) int { return strings.Compare(m.Name, name) })
		if !found || len(r.Members[i].Keys) == 0 {
			continue
		}
		m := &r.Members[i]
		if m.Role.String() != c.Issuer.Role {
			fs["role"], fs["want"] = c.Issuer.Role, m.Role.String()
			return "", nil, stepErr(ReasonIssuerRole, fs, "the certificate says its issuer %s is a %s, but the roster makes it a %s", c.Issuer.Member, c.Issuer.Role, m.Role)
		}
		raw, err := hex.DecodeString(m.Keys[0])
		if err != nil {
			return "", nil, stepErr(ReasonUnknownIssuer, fs, "the roster's member key of %s is not hex: %v", c.Issuer.Member, err)
		}
		pub, err := crypto.ParsePublicKey(raw)
		if err != nil {
			return "", nil, stepErr(ReasonUnknownIssuer, fs, "the roster's member key of %s: %v", c.Issuer.Member, err)
		}
		fs["key"] = pub.ID().Short()
		if err := pub.Verify(SignedMessage(content), sig); err != nil {
			return "", nil, stepErr(ReasonSignature, fs, "the SM2 signature on the certificate content does not verify under %s's member key %s: %v (the content or the signature was changed)",
				c.Issuer.Member, pub.ID().Short(), err)
		}
		return fmt.Sprintf("the certificate content is signed (SM2) by %s (%s) with its member key %s", c.Issuer.Member, c.Issuer.Role, pub.ID().Short()), fs, nil
	}
	return "", nil, stepErr(ReasonUnknownIssuer, fs, "the issuer %s is not a member of the roster given or of any roster version on the receipt's path", c.Issuer.Member)
}

func checkFacts(c *Content, receiptJSON []byte, rc *receipt.Receipt) (string, map[string]string, error) {
	if got := crypto.SM3(receiptJSON); got != c.ReceiptSM3 {
		return "", nil, stepErr(ReasonReceiptDigest, map[string]string{"computed": got.String(), "signed": c.ReceiptSM3.String()},
			"SM3 of the embedded receipt.json is %s, but the signed content names %s: the receipt was changed after issue", got, c.ReceiptSM3)
	}
	want, err := ReceiptFacts(rc)
	if err != nil {
		return "", nil, stepErr(ReasonFacts, nil, "%v", err)
	}
	var diff []string
	got := &c.Facts
	if got.ChainID != want.ChainID {
		diff = append(diff, "chain_id")
	}
	gr, wr := got.Record, want.Record
	gr.Time, wr.Time = gr.Time.UTC(), wr.Time.UTC()
	if gr.Time.Equal(wr.Time) {
		gr.Time = wr.Time
	}
	if gr != wr {
		diff = append(diff, "record")
	}
	if got.TreeSize != want.TreeSize {
		diff = append(diff, "tree_size")
	}
	if !slices.Equal(got.Cosigners, want.Cosigners) {
		diff = append(diff, "cosigners")
	}
	switch {
	case (got.TrustedTime == nil) != (want.TrustedTime == nil):
		diff = append(diff, "trusted_time")
	case got.TrustedTime != nil && (got.TrustedTime.TSA != want.TrustedTime.TSA || !got.TrustedTime.Time.Equal(want.TrustedTime.Time)):
		diff = append(diff, "trusted_time")
	}
	if len(diff) > 0 {
		return "", nil, stepErr(ReasonFacts, map[string]string{"fields": strings.Join(diff, ",")},
			"the certificate states other facts than its receipt: %s differ", strings.Join(diff, ", "))
	}
	r := &got.Record
	return fmt.Sprintf("receipt.json is the one signed (SM3 %s), and the certificate's record (chain %s step %d, commitment %s) is the receipt's",
			c.ReceiptSM3.String()[:16], r.Chain, r.Step, r.Commitment),
		map[string]string{"receipt_sm3": c.ReceiptSM3.String(), "commitment": r.Commitment.String()}, nil
}
