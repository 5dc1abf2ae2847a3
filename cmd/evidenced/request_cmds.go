package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// addRequestCommands registers request, refuse and requests (retrieval
// requests, 调取); grant --request answers one.
func addRequestCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newRequestCmd(g), newRefuseCmd(g), newRequestsCmd(g))
}

func newRequestCmd(g *globals) *cobra.Command {
	var auth authFlags
	var chain, purpose string
	cmd := &cobra.Command{
		Use:   "request ID|--chain CHAIN --purpose TEXT",
		Short: "Ask the owner of a record or evidence chain for its originals (调取; courts and arbitration centres)",
		Long: `File a retrieval request on chain, signed by this node's member (a court or
an arbitration centre): for the original of one record (ID: an entry index,
INDEX.POS or a transaction id) or for every original of an evidence chain
(--chain), with its purpose, the case number (案号). The text is UTF-8 and is
normalised to NFC before signing; control characters are refused.

The owner's node sees it as an event (and webhook) and answers it once:
` + "`evidenced grant --request N`" + ` or ` + "`evidenced refuse N --reason TEXT`" + `. N, the
request's id, is its entry index, printed here.`,
		Example: `  evidenced request 12 --purpose "(2026)沪0115民初1234号" --token-file api-token
  evidenced request --chain LOAN-2026-000001 --purpose "(2026)沪仲字第17号"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b := client.RetrievalRequestBody{Chain: chain, Purpose: ledger.NormalizeText(purpose)}
			if len(args) == 1 {
				b.Record = args[0]
			}
			if (b.Record == "") == (chain == "") {
				return errors.New("name one record (ID) or one evidence chain (--chain), not both")
			}
			if b.Purpose == "" {
				return errors.New("--purpose TEXT is required: the case number")
			}
			if err := ledger.CheckText("--purpose", b.Purpose, ledger.MaxPurposeLen); err != nil {
				return errors.New(err.(*ledger.RejectError).Msg)
			}
			c, err := auth.client()
			if err != nil {
				return err
			}
			return request(cmd, g, c, submitTimeout, func(ctx context.Context, c *client.Client) (*client.SubmitResult, error) {
				return c.FileRequest(ctx, b)
			}, func(w io.Writer, res *client.SubmitResult) error {
				what := "record " + b.Record
				if chain != "" {
					what = "evidence chain " + chain
				}
				_, err := fmt.Fprintf(w, "request %d: %s asks for the originals of %s (%s), committed in block %d\n", res.Index, res.Signer, what, b.Purpose, res.Height)
				return err
			})
		},
	}
	auth.bind(cmd)
	cmd.Flags().StringVar(&chain, "chain", "", "request every original of this evidence chain")
	cmd.Flags().StringVar(&purpose, "purpose", "", "the case number (UTF-8, normalised to NFC; no control characters)")
	return cmd
}

func newRefuseCmd(g *globals) *cobra.Command {
	var auth authFlags
	var reason string
	cmd := &cobra.Command{
		Use:   "refuse N --reason TEXT",
		Short: "Refuse a retrieval request for your member's records, with a reason",
		Long: `Refuse retrieval request N (its entry index, as ` + "`evidenced requests`" + ` lists it)
on chain, signed by this node's member, the owner of what it names. The
reason is UTF-8, normalised to NFC before signing. A request is answered
once: refused, or granted with ` + "`evidenced grant --request N`" + `.`,
		Example: `  evidenced refuse 31 --reason "该记录已依法移交，请向上海分行调取" --token-file api-token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("request %q is not an entry index: see `evidenced requests --open` for the requests to answer", args[0])
			}
			reason = ledger.NormalizeText(reason)
			if reason == "" {
				return errors.New("--reason TEXT is required")
			}
			if err := ledger.CheckText("--reason", reason, ledger.MaxNoteLen); err != nil {
				return errors.New(err.(*ledger.RejectError).Msg)
			}
			c, err := auth.client()
			if err != nil {
				return err
			}
			return request(cmd, g, c, submitTimeout, func(ctx context.Context, c *client.Client) (*client.SubmitResult, error) {
				return c.Refuse(ctx, index, reason)
			}, func(w io.Writer, res *client.SubmitResult) error {
				_, err := fmt.Fprintf(w, "request %d refused at entry %d, block %d\n", index, res.Index, res.Height)
				return err
			})
		},
	}
	auth.bind(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (UTF-8, normalised to NFC; no control characters)")
	return cmd
}

func newRequestsCmd(g *globals) *cobra.Command {
	var node, owner, requester string
	var open bool
	var from uint64
	var limit int
	cmd := &cobra.Command{
		Use:   "requests [--open] [--for MEMBER] [--by MEMBER]",
		Short: "List retrieval requests, oldest first",
		Example: `  evidenced requests --open --for bank-a
  evidenced requests --by court -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := client.RequestsQuery{Owner: owner, Requester: requester, Open: open, From: from, Limit: limit}
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.RetrievalRequests, error) {
				return c.Requests(ctx, q)
			}, printRequests)
		},
	}
	nodeFlag(cmd, &node)
	cmd.Flags().BoolVar(&open, "open", false, "only the requests not answered yet")
	cmd.Flags().StringVar(&owner, "for", "", "only requests for this member's records (the member that answers them)")
	cmd.Flags().StringVar(&requester, "by", "", "only requests this member filed")
	cmd.Flags().Uint64Var(&from, "from", 0, "from this entry on (the next of the previous page)")
	cmd.Flags().IntVar(&limit, "limit", 0, "page size (default: the node's)")
	return cmd
}

func printRequests(w io.Writer, rs *client.RetrievalRequests) error {
	if len(rs.Requests) == 0 {
		_, err := fmt.Fprintln(w, "no retrieval requests")
		return err
	}
	err := table(w, func(ew *errWriter) {
		ew.printf("REQUEST\tSTATUS\tREQUESTER\tOWNER\tASKS FOR\tPURPOSE\tANSWER\n")
		for _, r := range rs.Requests {
			what := "record " + r.Record
			if r.Chain != "" {
				what = "chain " + r.Chain
			}
			answer := "-"
			if r.Answer != nil {
				answer = fmt.Sprintf("entry %d", *r.Answer)
				if r.Reason != "" {
					answer += ": " + r.Reason
				}
			}
			ew.printf("%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Index, r.Status, r.Requester, r.Owner, what, r.Purpose, answer)
		}
	})
	if err == nil && rs.Next != nil {
		_, err = fmt.Fprintf(w, "more: --from %d\n", *rs.Next)
	}
	return err
}
