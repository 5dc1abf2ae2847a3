package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// certificateSaved is what `certificate --out` prints with --output json.
type certificateSaved struct {
	File       string `json:"file"`
	Bytes      int    `json:"bytes"`
	Record     string `json:"record"`
	Chain      string `json:"chain"`
	Step       uint32 `json:"step"`
	Commitment string `json:"commitment"`
	Issuer     string `json:"issuer"`
	IssuedAt   string `json:"issued_at"`
	Language   string `json:"language"`
	VerifyURL  string `json:"verify_url"`
}

func newCertificateCmd(g *globals) *cobra.Command {
	var node, out, lang string
	cmd := &cobra.Command{
		Use:   "certificate ID --out cert.pdf [--lang zh|en] [--node URL]",
		Short: "Fetch the evidence certificate (存证证书) of a record: a signed PDF to print and file",
		Long: `Fetch the evidence certificate of a record from a node and write it to a PDF.

ID is an entry index ("12"), INDEX.POS for a record of a batch ("12.3"), or
a transaction id (64 hex digits). The node's member issues the certificate
and signs its content with its SM2 member key. The PDF shows the record
(chain as 保全号, step, kind, commitment, size, submitter), its block height
and time, the trusted (TSA) time of its receipt, the co-signing members,
the attestations covering it and the custody of its original, with a QR
code of the explorer's verify page; it carries the complete receipt
(receipt.json) and the signed content (certificate.json) as attachments, so
the PDF alone is the evidence. Labels are in Chinese (--lang zh, the
default) or English (--lang en).

Check it offline: evidenced verify --certificate cert.pdf --roster ROSTER.json.
docs/RECEIPT.md, "Certificates", describes the format.`,
		Example: `  evidenced certificate 12 --out LOAN-2026-000001-step1.pdf
  evidenced certificate 12.3 --lang en --out cert.pdf --node http://10.0.0.5:8080`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out FILE.pdf is required: the certificate is a PDF")
			}
			if lang != certificate.LangZH && lang != certificate.LangEN {
				return fmt.Errorf("--lang %q: use zh or en", lang)
			}
			c, err := newNodeClient(node)
			if err != nil {
				return err
			}
			pdf, err := callNode(cmd, c, queryTimeout, func(ctx context.Context, c *client.Client) ([]byte, error) {
				pdf, err := c.Certificate(ctx, args[0], lang)
				var apiErr *client.Error
				if errors.As(err, &apiErr) && apiErr.Code == client.CodeUnavailable && apiErr.Status == 503 {
					return nil, fmt.Errorf("no certificate for %s yet: %s; retry in a few seconds", args[0], apiErr.Message)
				}
				return pdf, err
			})
			if err != nil {
				return err
			}
			// Read back what the node sent before keeping it.
			_, cj, err := certificate.Extract(pdf)
			if err != nil {
				return fmt.Errorf("the node sent a malformed certificate: %w", err)
			}
			f, err := certificate.ParseFile(cj)
			if err != nil {
				return fmt.Errorf("the node sent a malformed certificate: %w", err)
			}
			content, err := certificate.ParseContent(f.Content)
			if err != nil {
				return fmt.Errorf("the node sent a malformed certificate: %w", err)
			}
			if err := atomicfile.WriteFile(out, pdf, 0o644); err != nil {
				return fmt.Errorf("write the certificate: %w", err)
			}
			r := &content.Facts.Record
			saved := certificateSaved{File: out, Bytes: len(pdf), Record: ledger.RecordRef{Index: r.Index, Pos: r.Pos}.String(),
				Chain: r.Chain, Step: r.Step, Commitment: r.Commitment.String(), Issuer: content.Issuer.Member,
				IssuedAt: formatTime(content.IssuedAt), Language: content.Language, VerifyURL: content.VerifyURL}
			return g.emit(cmd.OutOrStdout(), saved, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) {
					ew.printf("certificate of record %s (%s %q step %d) written to %s (%d bytes)\n", saved.Record, r.Kind, r.Chain, r.Step, out, len(pdf))
					ew.printf("  commitment %s\n", saved.Commitment)
					ew.printf("  issued by %s (%s) at %s, signed with its SM2 member key\n", content.Issuer.Member, content.Issuer.Role, saved.IssuedAt)
					ew.printf("  attestations %d, custody entries %d; QR code: %s\n", len(content.Facts.Attestations), len(content.Facts.Custody), content.VerifyURL)
					ew.printf("  check it offline: evidenced verify --certificate %s --roster ROSTER.json\n", out)
				})
			})
		},
	}
	nodeFlag(cmd, &node)
	cmd.Flags().StringVar(&out, "out", "", "write the certificate PDF to this file (required)")
	cmd.Flags().StringVar(&lang, "lang", certificate.LangZH, "language of the labels: zh or en")
	return cmd
}

// verifyCertificate is `verify --certificate`: it checks the PDF and prints
// the report.
func verifyCertificate(cmd *cobra.Command, g *globals, path string, roster *ledger.Roster, opts receipt.VerifyOptions) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read the certificate: %w", err)
	}
	if st.Size() > certificate.MaxPDFSize {
		return fmt.Errorf("%s: %d bytes, over the %d a certificate may have", path, st.Size(), certificate.MaxPDFSize)
	}
	pdf, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the certificate: %w", err)
	}
	rep, err := certificate.Verify(pdf, roster, opts)
	if err != nil {
		return err
	}
	if err := g.emit(cmd.OutOrStdout(), rep, func(w io.Writer) error { return printCertificateReport(w, rep) }); err != nil {
		return err
	}
	if !rep.OK {
		return &exitError{code: exitVerifyFailed, err: fmt.Errorf("the certificate does not verify: the %s step failed", rep.FailedStep)}
	}
	return nil
}

// printCertificateReport prints a certificate's verification report for
// people.
func printCertificateReport(w io.Writer, rep *certificate.Report) error {
	if err := lines(w, func(ew *errWriter) {
		if c := rep.Content; c != nil {
			r := &c.Facts.Record
			ew.printf("certificate of record %s (%s %q step %d) issued by %s (%s) at %s\n",
				ledger.RecordRef{Index: r.Index, Pos: r.Pos}, r.Kind, r.Chain, r.Step, c.Issuer.Member, c.Issuer.Role, formatTime(c.IssuedAt))
		}
		for _, s := range rep.Steps[:3] {
			ew.printf("%s %-21s %s\n", stepMark(s), s.Name, s.Detail)
		}
	}); err != nil {
		return err
	}
	if rep.Receipt == nil || rep.Steps[2].Skipped || !rep.Steps[2].OK {
		for _, s := range rep.Steps[3:] {
			if _, err := fmt.Fprintf(w, "%s %-21s %s\n", stepMark(s), s.Name, s.Detail); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(w, "NOT VERIFIED: the %s step failed\n", rep.FailedStep)
		return err
	}
	if err := printReport(w, rep.Receipt, &receipt.Report{OK: rep.OK, Steps: rep.Steps[3:], FailedStep: rep.FailedStep}); err != nil {
		return err
	}
	if rep.OK {
		c := rep.Content
		var atts []string
		for _, a := range c.Facts.Attestations {
			atts = append(atts, a.Member+" "+a.Statement)
		}
		if len(atts) > 0 {
			_, err := fmt.Fprintf(w, "ATTESTED (as the issuer states): %s\n", strings.Join(atts, "; "))
			return err
		}
	}
	return nil
}

func stepMark(s receipt.Step) string {
	switch {
	case s.Skipped:
		return "–"
	case !s.OK:
		return "✗"
	}
	return "✓"
}
