package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// addAttestCommands registers attest and attestations.
func addAttestCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newAttestCmd(g), newAttestationsCmd(g))
}

func newAttestCmd(g *globals) *cobra.Command {
	var auth authFlags
	var chain, statement, note, document string
	var through uint32
	cmd := &cobra.Command{
		Use:   "attest [ID...] --statement KIND [--chain CHAIN] [--note TEXT] [--document FILE]",
		Short: "Attest records or a whole evidence chain (notaries, arbitration centres and courts)",
		Long: `Attest evidence records as a notary, arbitration centre or court: the
member's node signs an attestation with its member key and puts it on
chain. Name the records (ID: an entry index, INDEX.POS or a transaction
id), or one evidence chain with --chain: the node then names every step of
the chain up to its current head (or, with --through STEP, steps 1 to STEP
exactly, once the node has committed that step), and the answer says which head was
covered (the attestation covers exactly those steps, not later ones).

--statement is the kind of statement, in the ledger's identifier form
(lowercase letters, digits, - and _): notarised, reviewed, admitted,
arbitration-filed, certificate-issued, … --note is free text (UTF-8, such
as a notarial certificate number 公证书编号), normalised to NFC before
signing. --document FILE commits to a certificate or report: its SM3
digest goes on chain, and ` + "`evidenced verify --file FILE`" + ` checks it against
the attestation's receipt.

Banks and regulators cannot attest: the ledger refuses it
(role_not_allowed). The attestation shows in ` + "`get`, `chain`" + ` and
` + "`attestations ID`" + `; ` + "`evidenced receipt ENTRY`" + ` of its entry is a receipt
that proves it offline.`,
		Example: `  evidenced attest --chain LOAN-2026-000001 --statement notarised --note "(2026)沪东证字第1234号" --document notarial-certificate.pdf --token-file api-token
  evidenced attest 12 13.1 --statement admitted --note "(2026)沪0115民初1234号" --token-file api-token
  evidenced attest --chain LOAN-2026-000002 --statement arbitration-filed -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == (chain == "") {
				return errors.New("name the records (ID...) or one evidence chain (--chain), not both")
			}
			if statement == "" {
				return errors.New("--statement KIND is required: notarised, reviewed, admitted, arbitration-filed, …")
			}
			if len(args) > ledger.MaxTargets {
				return fmt.Errorf("%d records, more than the %d one attestation names: attest them in several", len(args), ledger.MaxTargets)
			}
			if through > 0 && chain == "" {
				return errors.New("--through names the head step of a chain: give --chain too")
			}
			req := client.AttestRequest{Statement: statement, Records: args, Chain: chain, ThroughStep: through, Note: client.NormalizeText(note)}
			if document != "" {
				d, err := documentDigest(document)
				if err != nil {
					return err
				}
				req.Document = &d
			}
			c, err := auth.client()
			if err != nil {
				return err
			}
			return request(cmd, g, c, submitTimeout, func(ctx context.Context, c *client.Client) (*client.AttestResult, error) {
				res, err := c.Attest(ctx, req)
				return res, attestError(err)
			}, printAttest)
		},
	}
	auth.bind(cmd)
	cmd.Flags().StringVar(&chain, "chain", "", "attest every step of this evidence chain up to its current head")
	cmd.Flags().Uint32Var(&through, "through", 0, "with --chain, cover steps 1 to this `STEP` exactly; the node waits until it has committed that step")
	cmd.Flags().StringVar(&statement, "statement", "", "the kind of statement: notarised, reviewed, admitted, arbitration-filed, …")
	cmd.Flags().StringVar(&note, "note", "", "free text (UTF-8), e.g. a certificate or case number; no personal data")
	cmd.Flags().StringVar(&document, "document", "", "a certificate or report file whose SM3 digest the attestation commits to")
	return cmd
}

// documentDigest returns the SM3 digest of the file at path.
func documentDigest(path string) (crypto.Hash, error) {
	f, err := os.Open(path)
	if err != nil {
		return crypto.Hash{}, fmt.Errorf("--document: %w", err)
	}
	defer f.Close()
	h := crypto.NewSM3()
	if _, err := io.Copy(h, f); err != nil {
		return crypto.Hash{}, fmt.Errorf("--document: read %s: %w", path, err)
	}
	var d crypto.Hash
	h.Sum(d[:0])
	return d, nil
}

// attestError rewords the ledger's refusal of an attestation by a member
// that may not attest: the rule and what to do instead.
func attestError(err error) error {
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.LedgerCode() == ledger.CodeRoleNotAllowed {
		return fmt.Errorf("the ledger refused the attestation (role_not_allowed, code %d): %s; only notary, arbitration and court members attest, so run `evidenced attest` against such a member's node with its API token: %w",
			apiErr.ResultCode, apiErr.Message, err)
	}
	return err
}

func printAttest(w io.Writer, res *client.AttestResult) error {
	return lines(w, func(ew *errWriter) {
		what := "records " + strings.Join(res.Targets, ", ")
		if res.Chain != "" {
			what = fmt.Sprintf("evidence chain %s up to step %d (head record %s): records %s", res.Chain, res.HeadStep, res.Head, strings.Join(res.Targets, ", "))
		}
		ew.printf("%s attested %s: %s\n", res.Signer, res.Statement, what)
		if res.Note != "" {
			ew.printf("  note %s\n", res.Note)
		}
		ew.printf("  attestation entry %d, tx %s, committed in block %d at %s\n", res.Index, res.TxID, res.Height, formatTime(res.Time))
		if res.Chain != "" {
			ew.printf("  steps added to the chain later are not covered: attest again to cover them\n")
		}
		ew.printf("  its receipt: evidenced receipt %d --out attestation.receipt.json\n", res.Index)
	})
}

func newAttestationsCmd(g *globals) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:     "attestations ID",
		Short:   "List the attestations of a record: who attested what, when",
		Example: `  evidenced attestations 12`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.Attestations, error) {
				return c.Attestations(ctx, args[0])
			}, printAttestations)
		},
	}
	nodeFlag(cmd, &node)
	return cmd
}

func printAttestations(w io.Writer, as *client.Attestations) error {
	return lines(w, func(ew *errWriter) {
		if len(as.Attestations) == 0 {
			ew.printf("record %s has no attestations\n", as.Record)
			return
		}
		ew.printf("record %s, %d attestation(s):\n", as.Record, len(as.Attestations))
		for _, a := range as.Attestations {
			ew.printf("  %s  entry %-6d %s (%s) %s, records %s", a.Time.Format(time.RFC3339), a.Index, a.Signer, orDash(a.Role), a.Statement, strings.Join(a.Targets, ", "))
			if a.Note != "" {
				ew.printf(", note %s", a.Note)
			}
			if a.Document != nil {
				ew.printf(", document %s", shortHash(a.Document.String()))
			}
			ew.printf("\n")
		}
	})
}
