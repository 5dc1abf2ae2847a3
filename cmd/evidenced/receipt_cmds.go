package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
	"github.com/evidenced/evidenced/sidecar"
	"github.com/evidenced/evidenced/tsa"
)

// exitVerifyFailed is the exit status of verify and verify-consistency
// when the input was usable but does not verify. Unusable input (a file
// that cannot be read or parsed) exits 1.
const exitVerifyFailed = 3

// addReceiptCommands registers receipt, verify, certificate,
// verify-consistency and roster.
func addReceiptCommands(root *cobra.Command, g *globals) {
	root.AddCommand(
		newReceiptCmd(g),
		newVerifyCmd(g),
		newCertificateCmd(g),
		newVerifyConsistencyCmd(g),
		newRosterCmd(g),
	)
}

// receiptSaved is what `receipt --out` prints with --output json.
type receiptSaved struct {
	File             string       `json:"file"`
	LeafIndex        uint64       `json:"leaf_index"`
	Pos              uint16       `json:"pos"`
	TxID             crypto.Hash  `json:"tx_id"`
	Attestation      bool         `json:"attestation,omitempty"` // the receipt proves an attestation (leaf_index is its entry)
	TreeSize         uint64       `json:"tree_size"`
	Signers          []string     `json:"signers"`
	SaltIncluded     bool         `json:"salt_included"`
	RosterDigest     crypto.Hash  `json:"roster_digest"`
	CheckpointHeight int64        `json:"checkpoint_height"`
	RosterPath       *pathSummary `json:"roster_path,omitempty"`
	Time             *timeSummary `json:"time,omitempty"`
}

// timeSummary is what a fetched receipt's token says (unverified: verify
// checks it), as `receipt --out` prints it with --output json.
type timeSummary struct {
	TSA           string    `json:"tsa"`
	GenTime       time.Time `json:"gen_time"`
	StampedHeight int64     `json:"stamped_height"`
	StampedSize   uint64    `json:"stamped_tree_size"`
}

// summarizeTime summarizes the receipt's time (nil without one).
func summarizeTime(r *receipt.Receipt) (*timeSummary, error) {
	if r.Time == nil {
		return nil, nil
	}
	cp, err := ledger.ParseCheckpoint([]byte(r.Time.Checkpoint))
	if err != nil {
		return nil, fmt.Errorf("the node sent a receipt whose stamped checkpoint is malformed: %w", err)
	}
	tok, err := tsa.ParseToken(r.Time.Token)
	if err != nil {
		return nil, fmt.Errorf("the node sent a receipt whose timestamp token is malformed: %w", err)
	}
	return &timeSummary{TSA: r.Time.TSA, GenTime: tok.GenTime().UTC(), StampedHeight: cp.Height, StampedSize: cp.Size}, nil
}

// pathSummary is the roster path of a fetched receipt, as `receipt --out`
// prints it with --output json.
type pathSummary struct {
	FromVersion uint32        `json:"from_version"`
	FromDigest  crypto.Hash   `json:"from_digest"`
	Steps       []pathVersion `json:"steps"`
}

// pathVersion is one step of a pathSummary.
type pathVersion struct {
	Version          uint32      `json:"version"`
	Digest           crypto.Hash `json:"digest"`
	Entry            uint64      `json:"entry"`
	AttestedAtHeight int64       `json:"attested_at_height"`
	Signers          []string    `json:"signers"`
}

// summarizePath summarizes the receipt's roster path (nil without one).
func summarizePath(r *receipt.Receipt) (*pathSummary, error) {
	p := r.RosterPath
	if p == nil {
		return nil, nil
	}
	out := &pathSummary{FromVersion: p.FromVersion, FromDigest: p.FromDigest}
	for _, st := range p.Steps {
		cp, err := ledger.ParseCheckpoint([]byte(st.Checkpoint))
		if err != nil {
			return nil, fmt.Errorf("the node sent a receipt whose roster path step %d has a malformed checkpoint: %w", st.Version, err)
		}
		v := pathVersion{Version: st.Version, Digest: st.Digest, Entry: st.LeafIndex, AttestedAtHeight: cp.Height, Signers: []string{}}
		for _, s := range st.Signatures {
			v.Signers = append(v.Signers, s.Member)
		}
		out.Steps = append(out.Steps, v)
	}
	return out, nil
}

// label names roster version n in a path: genesis for 0.
func versionLabel(n uint32) string {
	if n == 0 {
		return "genesis"
	}
	return fmt.Sprintf("v%d", n)
}

func newReceiptCmd(g *globals) *cobra.Command {
	var node, out, sidecarPath, fromRoster string
	cmd := &cobra.Command{
		Use:   "receipt ID",
		Short: "Fetch the receipt of an evidence record: a proof anyone can check offline",
		Long: `Fetch the receipt of an evidence record from a node and write it to a file.

ID is an entry index ("12"), INDEX.POS for a record of a batch ("12.3"), or
a transaction id (64 hex digits). The receipt holds the exact log entry, its
RFC 9162 inclusion proof up to a checkpoint co-signed by the alliance
members, and the decoded record; ` + "`evidenced verify`" + ` checks it later with
no network, given only the alliance roster (` + "`evidenced roster export`" + `).
docs/RECEIPT.md describes it field by field.

A receipt is available a few seconds after the record is committed, once a
trusted checkpoint covers it; before that the node answers "not yet".

For the entry of an attestation (` + "`evidenced attest`" + `), ID being its index or
transaction id, the receipt proves the attestation instead: it carries
"attestation" (statement, targets, note, signer and role, document) in place
of "record", and ` + "`evidenced verify`" + ` checks it with an attestation step
(and, with --file, the attested document). docs/RECEIPT.md §2.3.

When the alliance's roster changed between genesis and the checkpoint, the
receipt carries the roster path: for each roster version after the genesis
roster, the ledger's roster entry, its inclusion proof and the checkpoint
co-signed by more than 2/3 of the version before that put it in force, so
it verifies with the genesis roster alone. With --from-roster DIGEST (the
digest ` + "`evidenced roster export`" + ` prints) the path starts at that roster
version instead; the node refuses a digest that is none of its versions.

With --sidecar FILE.evidence.json (written by ` + "`evidenced submit`" + `) the
salt of the commitment is put into the receipt (record.salt), after
checking that the sidecar's commitment is the record's, so the receipt and
the original alone prove the file. The salt is a secret: such a receipt is
written with mode 0600. Without --out the receipt is printed.`,
		Example: `  evidenced receipt 12 --out contract.receipt.json
  evidenced receipt 12.3 --out r.json
  evidenced receipt 4f1c…e9 --sidecar contract.pdf.evidence.json --out contract.receipt.json
  evidenced receipt 12 --from-roster 1495a759…b718ab --out r.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var from *crypto.Hash
			if fromRoster != "" {
				var h crypto.Hash
				if err := h.UnmarshalText([]byte(strings.ToLower(fromRoster))); err != nil {
					return fmt.Errorf("--from-roster %q is not a roster digest: pass the 64 hex digits `evidenced roster export` prints", fromRoster)
				}
				from = &h
			}
			var sc *sidecar.File
			if sidecarPath != "" {
				s, err := sidecar.Load(sidecarPath)
				if err != nil {
					return err
				}
				sc = s
			}
			c, err := newNodeClient(node)
			if err != nil {
				return err
			}
			r, err := callNode(cmd, c, queryTimeout, func(ctx context.Context, c *client.Client) (*receipt.Receipt, error) {
				var r *receipt.Receipt
				var err error
				if from != nil {
					r, err = c.ReceiptFrom(ctx, args[0], *from)
				} else {
					r, err = c.Receipt(ctx, args[0])
				}
				var apiErr *client.Error
				if errors.As(err, &apiErr) && apiErr.Code == client.CodeUnavailable && apiErr.Status == 503 {
					return nil, fmt.Errorf("no receipt for %s yet: %s; retry in a few seconds", args[0], apiErr.Message)
				}
				return r, err
			})
			if err != nil {
				return err
			}
			if sc != nil && r.Attestation != nil {
				return fmt.Errorf("%s is the receipt of an attestation, which has no salt: leave --sidecar out", args[0])
			}
			if sc != nil {
				if sc.Commitment != r.Record.Commitment {
					return fmt.Errorf("%s is the sidecar of commitment %s, but record %s has commitment %s: pass the sidecar of this record", sidecarPath, sc.Commitment, args[0], r.Record.Commitment)
				}
				r.Record.Salt = receipt.HexBytes(sc.Salt)
			}
			data, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				return err
			}
			data = append(data, '\n')
			if out == "" {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			perm := os.FileMode(0o644)
			if len(r.Record.Salt) > 0 {
				perm = 0o600
			}
			if err := atomicfile.WriteFile(out, data, perm); err != nil {
				return fmt.Errorf("write the receipt: %w", err)
			}
			cp, err := ledger.ParseCheckpoint([]byte(r.Checkpoint))
			if err != nil {
				return fmt.Errorf("the node sent a receipt with a malformed checkpoint: %w", err)
			}
			saved := receiptSaved{File: out, LeafIndex: r.LeafIndex, Pos: r.Record.Pos, TxID: r.Record.TxID, TreeSize: r.TreeSize,
				SaltIncluded: len(r.Record.Salt) > 0, RosterDigest: r.RosterDigest, CheckpointHeight: cp.Height}
			if a := r.Attestation; a != nil {
				saved.TxID, saved.Attestation = a.TxID, true
			}
			for _, s := range r.Signatures {
				saved.Signers = append(saved.Signers, s.Member)
			}
			if saved.RosterPath, err = summarizePath(r); err != nil {
				return err
			}
			if saved.Time, err = summarizeTime(r); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), saved, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) {
					ew.printf("receipt of %s written to %s\n", receiptSubject(r), out)
					ew.printf("  proven in the log of %d entries, checkpoint after block %d, signed by %s\n", r.TreeSize, cp.Height, strings.Join(saved.Signers, ", "))
					ew.printf("  roster digest %s\n", r.RosterDigest)
					if p := saved.RosterPath; p != nil {
						ew.printf("  roster path  %s", versionLabel(p.FromVersion))
						for _, st := range p.Steps {
							ew.printf(" → v%d (entry %d, attested at height %d by %s)", st.Version, st.Entry, st.AttestedAtHeight, strings.Join(st.Signers, ", "))
						}
						ew.printf("\n  verify it with the roster of digest %s (%s)\n", p.FromDigest, versionLabel(p.FromVersion))
					}
					if tm := saved.Time; tm != nil {
						ew.printf("  trusted time %s, RFC 3161 token of TSA %s over the checkpoint after block %d (verify checks it)\n", formatTime(tm.GenTime), tm.TSA, tm.StampedHeight)
					} else {
						ew.printf("  no trusted time yet: no TSA has stamped a checkpoint holding the record; fetch the receipt again later for one\n")
					}
					if saved.SaltIncluded {
						ew.printf("  the receipt holds the salt (mode 0600): whoever has it and the file can prove the file\n")
					}
					if r.Attestation != nil {
						ew.printf("  check it offline: evidenced verify --receipt %s --roster ROSTER.json [--file DOCUMENT]\n", out)
					} else {
						ew.printf("  check it offline: evidenced verify --receipt %s --roster ROSTER.json --file ORIGINAL\n", out)
					}
				})
			})
		},
	}
	nodeFlag(cmd, &node)
	cmd.Flags().StringVar(&out, "out", "", "write the receipt to this file (default: print it)")
	cmd.Flags().StringVar(&sidecarPath, "sidecar", "", "FILE.evidence.json whose salt to include in the receipt")
	cmd.Flags().StringVar(&fromRoster, "from-roster", "", "digest of the roster you verify with: the roster path starts there (default: the genesis roster)")
	return cmd
}

// readRoster reads and parses a roster file; failure is unusable input
// (exit 1).
func readRoster(path string) (*ledger.Roster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the roster: %w", err)
	}
	r, err := receipt.ParseRoster(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func newVerifyCmd(g *globals) *cobra.Command {
	var receiptPath, certPath, rosterPath, filePath, sidecarPath, saltHex string
	cmd := &cobra.Command{
		Use:   "verify (--receipt R.json | --certificate CERT.pdf) --roster ROSTER.json [--file ORIGINAL]",
		Short: "Check a receipt or an evidence certificate offline against the alliance roster (no network)",
		Long: `Check a receipt with no network access, given only the alliance roster, and
say step by step what was checked:

  roster      the roster is of the receipt's chain and is the one that
              signed the checkpoint, or where the receipt's roster path
              starts (its digest)
  roster_path after roster changes: each later roster version's entry is
              in a checkpoint co-signed by more than 2/3 of the version
              before, and comes before the receipt's checkpoint
  file        SM3(salt ‖ file) is the record's commitment (with --file)
  record      the record is in the log entry, signed with SM2 by a bank
              of the roster (attestation, for the receipt of an attest
              entry: the attestation is in the log entry, signed by a
              notary, arbitration or court member of the roster; its file
              step checks SM3(file) against the attested document)
  checkpoint  the checkpoint text is well formed, of the chain and tree size
  inclusion   the RFC 9162 inclusion proof leads from the entry to the
              checkpoint's SM3 root
  signatures  members holding more than 2/3 of the voting power signed the
              checkpoint with their SM2 member keys
  time        a TSA the roster trusts stamped, with an RFC 3161 token, a
              checkpoint whose tree holds the record (linked to the
              receipt's by a consistency proof): the record existed no
              later than the token's time (skipped while the receipt
              carries no token: fetch it again later)

Give the genesis roster (evidenced roster export --home) for a receipt
fetched without --from-roster: the roster path leads from it, through every
roster change, to the roster that signed the checkpoint.

Verification stops at the first failing step. The salt for --file comes
from --salt, --sidecar or the receipt's record.salt.

With --certificate CERT.pdf (from evidenced certificate) the receipt is the
one the PDF carries, and three steps come first:

  certificate           the PDF holds receipt.json and certificate.json
  certificate_signature the issuer's member key in the roster (or in a
                        roster version of the receipt's path) signed the
                        certificate's content with SM2
  certificate_receipt   the content names receipt.json by its SM3, and
                        states the receipt's record, checkpoint signers
                        and trusted time

Exit status: 0 when the receipt verifies, 3 when it does not (the failing
step is named), 1 when an input cannot be read or parsed.`,
		Example: `  evidenced verify --receipt contract.receipt.json --roster roster.json
  evidenced verify --receipt contract.receipt.json --roster roster.json --file contract.pdf --sidecar contract.pdf.evidence.json
  evidenced verify --receipt r.json --roster roster.json --file contract.pdf --salt 9f0e…41 -o json
  evidenced verify --certificate cert.pdf --roster roster.json --file contract.pdf --sidecar contract.pdf.evidence.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (receiptPath == "") == (certPath == "") || rosterPath == "" {
				return errors.New("--roster and one of --receipt or --certificate are required")
			}
			if sidecarPath != "" && saltHex != "" {
				return errors.New("pass --sidecar or --salt, not both")
			}
			roster, err := readRoster(rosterPath)
			if err != nil {
				return err
			}
			var opts receipt.VerifyOptions
			switch {
			case sidecarPath != "":
				sc, err := sidecar.Load(sidecarPath)
				if err != nil {
					return err
				}
				opts.Salt = sc.Salt
			case saltHex != "":
				if opts.Salt, err = sidecar.ParseSalt(saltHex); err != nil {
					return fmt.Errorf("--salt: %w", err)
				}
			}
			if filePath != "" {
				f, err := os.Open(filePath)
				if err != nil {
					return fmt.Errorf("open the original: %w", err)
				}
				defer f.Close()
				opts.File = f
			}
			if certPath != "" {
				return verifyCertificate(cmd, g, certPath, roster, opts)
			}
			data, err := os.ReadFile(receiptPath)
			if err != nil {
				return fmt.Errorf("read the receipt: %w", err)
			}
			r, err := receipt.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", receiptPath, err)
			}
			rep := receipt.Verify(r, roster, opts)
			if err := g.emit(cmd.OutOrStdout(), rep, func(w io.Writer) error { return printReport(w, r, rep) }); err != nil {
				return err
			}
			if !rep.OK {
				return &exitError{code: exitVerifyFailed, err: fmt.Errorf("the receipt does not verify: the %s step failed", rep.FailedStep)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&receiptPath, "receipt", "", "the receipt file")
	cmd.Flags().StringVar(&certPath, "certificate", "", "an evidence certificate PDF (evidenced certificate), instead of --receipt")
	cmd.Flags().StringVar(&rosterPath, "roster", "", "the alliance `ROSTER.json` file (required; write it with evidenced roster export)")
	cmd.Flags().StringVar(&filePath, "file", "", "the original file, to check its salted commitment (for an attestation: the attested document)")
	cmd.Flags().StringVar(&sidecarPath, "sidecar", "", "FILE.evidence.json holding the salt")
	cmd.Flags().StringVar(&saltHex, "salt", "", "the salt, in hex")
	return cmd
}

// printReport prints a verification report for people.
func printReport(w io.Writer, r *receipt.Receipt, rep *receipt.Report) error {
	return lines(w, func(ew *errWriter) {
		ew.printf("receipt of %s on chain %q\n", receiptSubject(r), r.ChainID)
		for _, s := range rep.Steps {
			mark := "✓"
			switch {
			case s.Skipped:
				mark = "–"
			case !s.OK:
				mark = "✗"
			}
			ew.printf("%s %-11s %s\n", mark, s.Name, s.Detail)
			if s.Name == receipt.StepRosterPath {
				for i := 1; s.Facts["step"+strconv.Itoa(i)] != ""; i++ {
					ew.printf("    %s\n", s.Facts["step"+strconv.Itoa(i)])
				}
			}
		}
		if rep.OK && r.Attestation != nil {
			a := r.Attestation
			ew.printf("VERIFIED: attestation %d (%s) by %s %s of records %s was accepted by the alliance in block %d at %s\n",
				r.LeafIndex, a.Statement, a.Role, a.Signer, refList(a.Targets), a.Height, formatTime(a.Time))
		}
		if rep.OK && r.Attestation == nil {
			ew.printf("VERIFIED: record %d.%d was accepted by the alliance in block %d at %s\n", r.LeafIndex, r.Record.Pos, r.Record.Height, formatTime(r.Record.Time))
		}
		if rep.OK {
			if st := rep.Steps[len(rep.Steps)-1]; st.Name == receipt.StepTime && st.OK {
				ew.printf("TRUSTED TIME: it existed no later than %s, as TSA %s states (RFC 3161 token, %s, serial %s)\n",
					st.Facts["gen_time"], st.Facts["tsa"], st.Facts["hash"], st.Facts["serial"])
			}
		} else {
			ew.printf("NOT VERIFIED: the %s step failed\n", rep.FailedStep)
		}
	})
}

// receiptSubject says what receipt r proves, for a heading.
func receiptSubject(r *receipt.Receipt) string {
	if a := r.Attestation; a != nil {
		s := fmt.Sprintf("attestation %d (%s by %s %s, records %s", r.LeafIndex, a.Statement, a.Role, orDash(a.Signer), refList(a.Targets))
		if a.Note != "" {
			s += fmt.Sprintf(", note %q", a.Note)
		}
		return s + ")"
	}
	return fmt.Sprintf("record %d.%d (%s %q step %d)", r.LeafIndex, r.Record.Pos, r.Record.Kind, r.Record.Chain, r.Record.Step)
}

// refList lists record refs as ids: "6, 8.1".
func refList(refs []ledger.RecordRef) string {
	ids := make([]string, len(refs))
	for i, t := range refs {
		ids[i] = t.String()
	}
	return strings.Join(ids, ", ")
}

// consistencyResult is what verify-consistency prints with --output json.
type consistencyResult struct {
	OK         bool   `json:"ok"`
	OldSize    uint64 `json:"old_tree_size"`
	NewSize    uint64 `json:"new_tree_size"`
	OldHeight  int64  `json:"old_height"`
	NewHeight  int64  `json:"new_height"`
	Detail     string `json:"detail"`
	ProofFrom  string `json:"proof_from"` // "node URL", "file PATH" or "none needed"
	ProofCount int    `json:"proof_hashes"`
}

func newVerifyConsistencyCmd(g *globals) *cobra.Command {
	var oldPath, newPath, proofPath, rosterPath, node string
	cmd := &cobra.Command{
		Use:   "verify-consistency --old OLD.json --new NEW.json --roster ROSTER.json [--node URL | --proof P.json]",
		Short: "Check that a later checkpoint extends an earlier one (the history was not rewritten)",
		Long: `Check that the log a later checkpoint commits to extends the log of an
earlier one: both checkpoints must be trusted under the roster (valid SM2
signatures from more than 2/3 of the voting power), of the same chain, and
an RFC 9162 consistency proof must lead from the old root to the new one.
A party holding an old receipt detects a rewritten history this way.

OLD and NEW are checkpoint files (as served by GET /v1/checkpoints/latest)
or receipts (their checkpoint and signatures are used). The proof comes
from a node (--node; it need not be trusted: the proof is checked against
the signed roots) or from a file (--proof, JSON {"from":N,"to":M,"proof":[…]}).

Exit status: 0 when NEW extends OLD, 3 when it does not or a checkpoint is
not trusted, 1 when an input cannot be read.`,
		Example: `  evidenced verify-consistency --old contract.receipt.json --new latest.json --roster roster.json --node http://10.0.0.5:8080
  evidenced verify-consistency --old old.json --new new.json --roster roster.json --proof proof.json -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if oldPath == "" || newPath == "" || rosterPath == "" {
				return errors.New("--old, --new and --roster are required")
			}
			if proofPath != "" && cmd.Flags().Changed("node") {
				return errors.New("pass --node or --proof, not both")
			}
			older, err := readCheckpointFile(oldPath)
			if err != nil {
				return err
			}
			newer, err := readCheckpointFile(newPath)
			if err != nil {
				return err
			}
			roster, err := readRoster(rosterPath)
			if err != nil {
				return err
			}
			res := consistencyResult{OldSize: older.TreeSize, NewSize: newer.TreeSize, OldHeight: older.Height, NewHeight: newer.Height, ProofFrom: "none needed"}
			var proof [][]byte
			if older.TreeSize < newer.TreeSize {
				var p *client.ConsistencyProof
				if proofPath != "" {
					res.ProofFrom = "file " + proofPath
					if p, err = readConsistencyProof(proofPath); err != nil {
						return err
					}
				} else {
					c, err := newNodeClient(node)
					if err != nil {
						return err
					}
					res.ProofFrom = "node " + c.BaseURL()
					if p, err = callNode(cmd, c, queryTimeout, func(ctx context.Context, c *client.Client) (*client.ConsistencyProof, error) {
						return c.ConsistencyProof(ctx, older.TreeSize, newer.TreeSize)
					}); err != nil {
						return err
					}
				}
				if p.From != older.TreeSize || p.To != newer.TreeSize {
					return fmt.Errorf("the proof is from tree size %d to %d, but the checkpoints have sizes %d and %d", p.From, p.To, older.TreeSize, newer.TreeSize)
				}
				proof = p.Proof
				res.ProofCount = len(proof)
			}
			verr := receipt.VerifyConsistency(older, newer, proof, roster)
			res.OK = verr == nil
			if res.OK {
				res.Detail = fmt.Sprintf("the checkpoint of %d entries (block %d) extends the checkpoint of %d entries (block %d): both are signed by more than 2/3 of the voting power",
					newer.TreeSize, newer.Height, older.TreeSize, older.Height)
			} else {
				res.Detail = verr.Error()
			}
			if err := g.emit(cmd.OutOrStdout(), res, func(w io.Writer) error {
				mark := "✓ CONSISTENT"
				if !res.OK {
					mark = "✗ NOT CONSISTENT"
				}
				_, err := fmt.Fprintf(w, "%s: %s\n", mark, res.Detail)
				return err
			}); err != nil {
				return err
			}
			if !res.OK {
				return &exitError{code: exitVerifyFailed, err: verr}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&oldPath, "old", "", "the earlier checkpoint file or receipt (required)")
	cmd.Flags().StringVar(&newPath, "new", "", "the later checkpoint file or receipt (required)")
	cmd.Flags().StringVar(&rosterPath, "roster", "", "the alliance roster file (required)")
	cmd.Flags().StringVar(&proofPath, "proof", "", "consistency proof file, instead of asking --node")
	nodeFlag(cmd, &node)
	return cmd
}

func readCheckpointFile(path string) (*receipt.CheckpointFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the checkpoint: %w", err)
	}
	f, err := receipt.ParseCheckpointFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func readConsistencyProof(path string) (*client.ConsistencyProof, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the proof: %w", err)
	}
	p := &client.ConsistencyProof{}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(p); err != nil {
		return nil, fmt.Errorf("%s is not a consistency proof file: %w", path, err)
	}
	return p, nil
}

// rosterExported is what `roster export` prints with --output json.
type rosterExported struct {
	File    string      `json:"file,omitempty"`
	ChainID string      `json:"chain_id"`
	Members int         `json:"members"`
	Digest  crypto.Hash `json:"digest"`
	Source  string      `json:"source"`
}

func newRosterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "roster",
		Short: "Work with the alliance roster file that receipts are verified against",
		Args:  cobra.NoArgs,
	}
	var home, node, out string
	var version uint32
	export := &cobra.Command{
		Use:   "export [--home DIR | --node URL [--version N]] [--out ROSTER.json]",
		Short: "Write the alliance roster file (members, roles, power, SM2 keys) and print its digest",
		Long: `Write the roster file a verifier needs: the chain id and every member's
name, role, voting power and SM2 public keys (the first is the member key
that co-signs checkpoints), and print its SM3 digest, which receipts name
in roster_digest.

With --home (the default when --node is not given: $EVIDENCED_HOME, else
~/.evidenced) it is read offline from the node home's config/genesis.json
(the genesis roster); with --node it is fetched from GET /v1/roster and its
digest checked. Keep the roster file with the receipts; compare its digest
with the alliance's published one.`,
		Example: `  evidenced roster export --home ~/.evidenced --out roster.json
  evidenced roster export --node http://10.0.0.5:8080 --out roster.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if home != "" && cmd.Flags().Changed("node") {
				return errors.New("pass one of --home and --node, not both")
			}
			if !cmd.Flags().Changed("node") {
				var err error
				if home, err = nodeHome(home); err != nil {
					return err
				}
			}
			if home != "" && cmd.Flags().Changed("version") {
				return errors.New("--version needs --node: a home's genesis holds only version 0")
			}
			var (
				r      *ledger.Roster
				source string
				err    error
			)
			if home != "" {
				source = filepath.Join(home, "config", "genesis.json")
				if r, err = rosterFromGenesis(source); err != nil {
					return err
				}
			} else {
				c, err := newNodeClient(node)
				if err != nil {
					return err
				}
				source = c.BaseURL()
				if r, err = callNode(cmd, c, queryTimeout, func(ctx context.Context, c *client.Client) (*ledger.Roster, error) {
					if cmd.Flags().Changed("version") {
						r, _, err := c.RosterOf(ctx, version)
						return r, err
					}
					r, _, err := c.Roster(ctx)
					return r, err
				}); err != nil {
					return err
				}
			}
			digest, err := r.Digest()
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				return err
			}
			data = append(data, '\n')
			if _, err := receipt.ParseRoster(data); err != nil {
				return fmt.Errorf("the roster from %s is not usable: %w", source, err)
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			if err := atomicfile.WriteFile(out, data, 0o644); err != nil {
				return fmt.Errorf("write the roster: %w", err)
			}
			res := rosterExported{File: out, ChainID: r.ChainID, Members: len(r.Members), Digest: digest, Source: source}
			return g.emit(cmd.OutOrStdout(), res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "roster of chain %q (%d members) written to %s\ndigest %s\n", r.ChainID, len(r.Members), out, digest)
				return err
			})
		},
	}
	export.Flags().StringVar(&home, "home", "", "node home whose config/genesis.json holds the roster, unless --node is given"+homeUsage)
	export.Flags().StringVar(&out, "out", "", "write the roster to this file (default: print it)")
	nodeFlag(export, &node)
	export.Flags().Uint32Var(&version, "version", 0, "with --node, export roster version `N` (0 is genesis; evidenced roster versions lists them) rather than the one in force")
	cmd.AddCommand(export, newRosterVersionsCmd(g))
	return cmd
}

// rosterFromGenesis builds the roster from a CometBFT genesis file: its
// chain_id and the app_state members, keys in canonical lowercase hex.
func rosterFromGenesis(path string) (*ledger.Roster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the genesis: %w", err)
	}
	var doc struct {
		ChainID  string          `json:"chain_id"`
		AppState json.RawMessage `json:"app_state"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s is not a genesis file: %w", path, err)
	}
	if doc.ChainID == "" || len(doc.AppState) == 0 {
		return nil, fmt.Errorf("%s has no chain_id or app_state", path)
	}
	gs, err := ledger.ParseGenesisState(doc.AppState)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err) // the error names app_state or the member
	}
	r, err := gs.Roster(doc.ChainID)
	if err != nil {
		return nil, fmt.Errorf("%s app_state: %w", path, err)
	}
	return r, nil
}
