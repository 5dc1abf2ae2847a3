package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
	"github.com/evidenced/evidenced/sidecar"
)

// envToken names the environment variable with the node's API token.
const envToken = "EVIDENCED_TOKEN"

// submitTimeout bounds a command that waits for a transaction's commit.
const submitTimeout = 2 * time.Minute

// addCustodyCommands registers grant, revoke, custody and fetch.
func addCustodyCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newGrantCmd(g), newRevokeCmd(g), newCustodyCmd(g), newFetchCmd(g))
}

// authFlags binds --node and --token-file of a command that acts through
// the node's member (grants, fetches): those need the node's API token.
type authFlags struct {
	node, tokenFile string
}

func (a *authFlags) bind(cmd *cobra.Command) {
	nodeFlag(cmd, &a.node)
	cmd.Flags().StringVar(&a.tokenFile, "token-file", "", "file whose first line is the node's API token (default: $"+envToken+")")
}

// client returns a client for the node that sends the token.
func (a *authFlags) client() (*client.Client, error) {
	token, err := apiToken(a.tokenFile)
	if err != nil {
		return nil, err
	}
	c, err := newNodeClient(a.node)
	if err != nil {
		return nil, err
	}
	return client.New(c.BaseURL(), client.WithToken(token))
}

func newGrantCmd(g *globals) *cobra.Command {
	var auth authFlags
	var chain, to, purpose, expires string
	var answers uint64
	cmd := &cobra.Command{
		Use:   "grant [ID] --to MEMBER --purpose TEXT | grant --request N",
		Short: "Give another member access to an original (one record, or a whole evidence chain)",
		Long: `Give another alliance member access to the encrypted original of one of
your member's records (ID: an entry index, INDEX.POS or a transaction id),
or of every record with an original in an evidence chain (--chain).

The owner's node unwraps each data key with its member key and wraps it to
the grantee's member key; the grant goes on chain with its purpose (a case
number, say) and an optional expiry. Only the grantee can read the key.
Revoke it with ` + "`evidenced revoke GRANT`" + `.

With --request N the grant answers retrieval request N (` + "`evidenced requests`" + `):
the record or chain, the grantee and the purpose come from the request.
The purpose is UTF-8 text, normalised to NFC before signing.`,
		Example: `  evidenced grant 12 --to court --purpose "(2026)沪0115民初1234号" --token-file api-token
  evidenced grant --chain LOAN-2026-000001 --to arbitration --purpose "case 17" --expires 720h
  evidenced grant --request 31 --expires 720h`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := client.GrantRequest{Chain: chain, Grantee: to, Purpose: ledger.NormalizeText(purpose), Request: answers}
			if len(args) == 1 {
				req.Record = args[0]
			}
			if answers == 0 || req.Record != "" || chain != "" {
				if (req.Record == "") == (chain == "") {
					return errors.New("name one record (ID) or one evidence chain (--chain), not both (or answer a request: --request N)")
				}
			}
			if answers == 0 && (to == "" || purpose == "") {
				return errors.New("--to MEMBER and --purpose TEXT are required (or answer a request: --request N)")
			}
			if req.Purpose != "" {
				if err := ledger.CheckText("--purpose", req.Purpose, ledger.MaxPurposeLen); err != nil {
					return errors.New(err.(*ledger.RejectError).Msg)
				}
			}
			if expires != "" {
				t, err := parseExpiry(expires, time.Now())
				if err != nil {
					return err
				}
				req.Expires = t.UTC().Format(time.RFC3339)
			}
			c, err := auth.client()
			if err != nil {
				return err
			}
			return request(cmd, g, c, submitTimeout, func(ctx context.Context, c *client.Client) (*client.SubmitResult, error) {
				return c.Grant(ctx, req)
			}, func(w io.Writer, res *client.SubmitResult) error {
				if answers != 0 {
					_, err := fmt.Fprintf(w, "granted request %d: grant %d, committed in block %d\n", answers, res.Index, res.Height)
					return err
				}
				what := "record " + req.Record
				if chain != "" {
					what = "evidence chain " + chain
				}
				_, err := fmt.Fprintf(w, "granted %s to %s (%s): grant %d, committed in block %d\n", what, to, req.Purpose, res.Index, res.Height)
				return err
			})
		},
	}
	auth.bind(cmd)
	cmd.Flags().StringVar(&chain, "chain", "", "grant every record with an original of this evidence chain")
	cmd.Flags().StringVar(&to, "to", "", "the member given access")
	cmd.Flags().StringVar(&purpose, "purpose", "", "why, e.g. a case number (UTF-8, normalised to NFC; no control characters)")
	cmd.Flags().Uint64Var(&answers, "request", 0, "answer this retrieval request (its entry index): record or chain, grantee and purpose come from it")
	cmd.Flags().StringVar(&expires, "expires", "", "when the grant ends: an RFC 3339 time or a duration from now (720h); default: until revoked")
	return cmd
}

// parseExpiry reads an RFC 3339 time or a duration from now, within what
// the ledger can hold (ledger.GrantExpiry).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	var t time.Time
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--expires %s is not in the future", s)
		}
		t = now.Add(d)
	} else if t, err = time.Parse(time.RFC3339, s); err != nil {
		return time.Time{}, fmt.Errorf("--expires %q is neither a duration (720h) nor an RFC 3339 time (2027-01-31T00:00:00+08:00)", s)
	}
	if _, err := ledger.GrantExpiry(t); err != nil {
		return time.Time{}, fmt.Errorf("--expires %s: %s", s, err.(*ledger.RejectError).Msg)
	}
	return t, nil
}

func newRevokeCmd(g *globals) *cobra.Command {
	var auth authFlags
	cmd := &cobra.Command{
		Use:     "revoke GRANT",
		Short:   "Withdraw a grant (GRANT is the grant's entry index)",
		Example: `  evidenced revoke 31 --token-file api-token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("GRANT %q is not an entry index: see `evidenced custody ID` for the grants of a record", args[0])
			}
			c, err := auth.client()
			if err != nil {
				return err
			}
			return request(cmd, g, c, submitTimeout, func(ctx context.Context, c *client.Client) (*client.SubmitResult, error) {
				return c.Revoke(ctx, index)
			}, func(w io.Writer, res *client.SubmitResult) error {
				_, err := fmt.Fprintf(w, "grant %d revoked at entry %d, block %d\n", index, res.Index, res.Height)
				return err
			})
		},
	}
	auth.bind(cmd)
	return cmd
}

func newCustodyCmd(g *globals) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:     "custody ID",
		Short:   "Show the chain of custody of a record's original: every grant and every retrieval",
		Example: `  evidenced custody 12`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.Custody, error) {
				return c.Custody(ctx, args[0])
			}, printCustody)
		},
	}
	nodeFlag(cmd, &node)
	return cmd
}

func printCustody(w io.Writer, cu *client.Custody) error {
	return lines(w, func(ew *errWriter) {
		if cu.Cipher == nil {
			ew.printf("record %s (owner %s) has no original kept by the alliance\n", cu.Record, cu.Owner)
		} else {
			ew.printf("record %s, owner %s, original %s (%d bytes encrypted)\n", cu.Record, cu.Owner, cu.Cipher.String()[:16], cu.CipherSize)
		}
		if len(cu.Events) == 0 {
			ew.printf("  nobody has been given or has taken it\n")
		}
		for _, e := range cu.Events {
			at := e.Time.Format(time.RFC3339)
			switch {
			case e.Grant != nil:
				state := "live"
				if e.Grant.Revoked {
					state = fmt.Sprintf("revoked at entry %d", *e.Grant.RevokedAt)
				} else if e.Grant.Expires != nil {
					state = "until " + e.Grant.Expires.Format(time.RFC3339)
				}
				if e.Grant.Request != 0 {
					state += fmt.Sprintf(", answering request %d", e.Grant.Request)
				}
				ew.printf("  %s  entry %-6d %s granted %s access (%s), %s\n", at, e.Index, e.Member, e.Grant.Grantee, e.Grant.Purpose, state)
			case e.ViaGrant != nil:
				ew.printf("  %s  entry %-6d %s retrieved it under grant %d\n", at, e.Index, e.Member, *e.ViaGrant)
			default:
				ew.printf("  %s  entry %-6d %s (owner) retrieved it\n", at, e.Index, e.Member)
			}
		}
	})
}

// fetched is what fetch prints with --output json.
type fetched struct {
	File    string `json:"file"`
	Size    int64  `json:"size"`
	Access  uint64 `json:"access"`
	Sidecar string `json:"sidecar"`
	Receipt string `json:"receipt_check"`
}

func newFetchCmd(g *globals) *cobra.Command {
	var auth authFlags
	var out string
	cmd := &cobra.Command{
		Use:   "fetch ID --out FILE",
		Short: "Retrieve an original you own or were granted, checked against its record",
		Long: `Retrieve the original of a record through this member's node: the node logs
the access on chain first, gets the ciphertext (from its own store, the
owner's node or a replica), decrypts it with the member key and checks it
against the record's commitment while writing. FILE appears only when the
whole original matched. The salt and the record (commitment, chain, step,
kind, transaction, entry, chain id) go into FILE.evidence.json (0600), the
sidecar submit writes, so that 'evidenced receipt ID --sidecar
FILE.evidence.json' and 'evidenced verify --sidecar' use it; the record's
receipt is then checked against the roster and the file.`,
		Example: `  evidenced fetch 12 --out contract.pdf --token-file api-token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out FILE is required")
			}
			c, err := auth.client()
			if err != nil {
				return err
			}
			ctx, cancel := commandContext(cmd, 30*time.Minute)
			defer cancel()
			tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".part-*")
			if err != nil {
				return fmt.Errorf("create the output file: %w", err)
			}
			defer os.Remove(tmp.Name())
			f, err := c.FetchOriginal(ctx, args[0], tmp)
			if cerr := tmp.Close(); err == nil && cerr != nil {
				err = cerr
			}
			if err != nil {
				return nodeError(c, err)
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return fmt.Errorf("keep the original: %w", err)
			}
			res := fetched{File: out, Size: f.Size, Access: f.Access, Sidecar: sidecar.Path(out)}
			if err := writeFetchSidecar(cmd, c, args[0], res.Sidecar, out, f); err != nil {
				return err
			}
			res.Receipt = checkFetched(cmd, c, args[0], out, f)
			return g.emit(cmd.OutOrStdout(), res, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) {
					ew.printf("original of record %s written to %s (%d bytes); it matches the record's commitment\n", args[0], out, f.Size)
					ew.printf("  the retrieval is logged on chain at entry %d\n", f.Access)
					ew.printf("  salt saved to %s (0600)\n", res.Sidecar)
					ew.printf("  receipt check: %s\n", res.Receipt)
				})
			})
		},
	}
	auth.bind(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write the original to this file")
	return cmd
}

// writeFetchSidecar saves the salt of a fetched original beside it (0600),
// in the sidecar shape submit writes: the record (commitment, chain, step,
// position, kind, labels), its transaction and entry, the chain id and
// where the alliance keeps the ciphertext, read from the node, so that
// receipt --sidecar and verify --sidecar accept it. When the record cannot
// be read the salt is saved alone, and the error says to fetch again.
func writeFetchSidecar(cmd *cobra.Command, c *client.Client, id, path, file string, f *client.FetchedOriginal) error {
	sc := &sidecar.File{Version: sidecar.Version, Name: filepath.Base(file), Size: uint64(f.Size), Salt: sidecar.Salt(f.Salt)}
	lookupErr := fillFetchSidecar(cmd, c, id, sc)
	if lookupErr != nil {
		// Not "committed": the sidecar does not hold the record yet.
		sc.Status = sidecar.StatusPending
	}
	if err := sidecar.Save(path, sc); err != nil {
		return fmt.Errorf("write the sidecar: %w", err)
	}
	if lookupErr != nil {
		return fmt.Errorf("%s holds the original's salt, but not its record, so receipt --sidecar cannot use it: %w; run evidenced fetch %s again", path, lookupErr, id)
	}
	return nil
}

// fillFetchSidecar completes sc with record id as the node has it: the
// custody endpoint names the record (INDEX.POS) and where its ciphertext is
// kept, its entry the record, transaction, block and chain id.
func fillFetchSidecar(cmd *cobra.Command, c *client.Client, id string, sc *sidecar.File) error {
	ctx, cancel := commandContext(cmd, queryTimeout)
	defer cancel()
	cu, err := c.Custody(ctx, id)
	if err != nil {
		return err
	}
	rid, err := api.ParseRecordID(cu.Record)
	if err != nil || rid.ByTx {
		return fmt.Errorf("%w: the node names record %q, not INDEX.POS", client.ErrBadResponse, cu.Record)
	}
	e, err := c.Entry(ctx, rid.Ref.Index)
	if err != nil {
		return err
	}
	var rec *client.Record
	for i := range e.Records {
		if e.Records[i].Pos == rid.Ref.Pos {
			rec = &e.Records[i]
		}
	}
	if rec == nil {
		return fmt.Errorf("%w: entry %d holds no record at position %d", client.ErrBadResponse, rid.Ref.Index, rid.Ref.Pos)
	}
	if rec.Size != sc.Size {
		return fmt.Errorf("%w: record %s is of %d bytes, but %d were fetched", client.ErrBadResponse, cu.Record, rec.Size, sc.Size)
	}
	sc.Commitment, sc.Chain, sc.Step, sc.Pos, sc.Kind, sc.Labels = rec.Commitment, rec.Chain, rec.Step, rec.Pos, rec.Kind, rec.Labels
	sc.TxID, sc.ChainID = e.TxID, e.ChainID
	sc.MarkCommitted(e.Index, e.Height, e.Time)
	if cu.Cipher != nil {
		sc.Kept = &sidecar.Kept{Cipher: *cu.Cipher, CipherSize: cu.CipherSize, Owner: cu.Owner}
	}
	return nil
}

// checkFetched verifies the record's receipt against the node's roster and
// the fetched file, and says how it went in one line.
func checkFetched(cmd *cobra.Command, c *client.Client, id, file string, f *client.FetchedOriginal) string {
	ctx, cancel := commandContext(cmd, queryTimeout)
	defer cancel()
	r, err := c.Receipt(ctx, id)
	if err != nil {
		return "not yet available (" + err.Error() + "); run `evidenced receipt " + id + "` later"
	}
	roster, _, err := c.Roster(ctx)
	if err != nil {
		return "no roster: " + err.Error()
	}
	fh, err := os.Open(file)
	if err != nil {
		return "cannot read the file back: " + err.Error()
	}
	defer fh.Close()
	rep := receipt.Verify(r, roster, receipt.VerifyOptions{File: fh, Salt: f.Salt})
	if !rep.OK {
		return "FAILED at step " + rep.FailedStep
	}
	var steps []string
	for _, s := range rep.Steps {
		steps = append(steps, s.Name)
	}
	return "verified (" + strings.Join(steps, ", ") + ") against the node's roster; for a court, check it with the published roster: evidenced verify"
}
