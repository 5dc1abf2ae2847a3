package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// chainPageSize is how many steps `chain` asks for per request.
const chainPageSize = 100

func newStatusCmd(g *globals) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a node's chain id, height and evidence-log head",
		Long: `Show the status of a node: the alliance chain id, the member running the
node, the last committed height and block time, the app hash, the size and
SM3 Merkle root of the evidence log, and whether the node is catching up.`,
		Example: `  evidenced status
  evidenced status --node http://10.0.0.5:8080 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, node, nodeStatus, printStatus)
		},
	}
	nodeFlag(cmd, &node)
	return cmd
}

// nodeStatus asks c for the node's status (query and callNode take it).
func nodeStatus(ctx context.Context, c *client.Client) (*client.Status, error) { return c.Status(ctx) }

func printStatus(w io.Writer, st *client.Status) error {
	return table(w, func(ew *errWriter) {
		ew.printf("chain id\t%s\n", st.ChainID)
		ew.printf("node\t%s (member %s, role %s)\n", st.Moniker, orDash(st.Member), orDash(st.Role))
		ew.printf("height\t%d\n", st.Height)
		ew.printf("block time\t%s\n", formatTime(st.BlockTime))
		ew.printf("app hash\t%s\n", st.AppHash)
		ew.printf("log size\t%d entries\n", st.LogSize)
		ew.printf("log root\t%s\n", st.LogRoot)
		ew.printf("validators\t%d\n", st.Validators)
		ew.printf("catching up\t%s\n", yesNo(st.CatchingUp))
	})
}

func newMembersCmd(g *globals) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the alliance members, their roles, voting power and keys",
		Long: `List the members registered on the alliance chain: name, role (bank,
notary, arbitration, court, regulator), voting power and the short ids of
their SM2 keys (the first key is the member key that co-signs checkpoints).
Use -o json for the full key ids and public keys.`,
		Example: `  evidenced members
  evidenced members -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (client.MembersResponse, error) {
				ms, err := c.Members(ctx)
				if ms == nil {
					ms = []client.Member{}
				}
				return client.MembersResponse{Members: ms}, err
			}, printMembers)
		},
	}
	nodeFlag(cmd, &node)
	return cmd
}

func printMembers(w io.Writer, r client.MembersResponse) error {
	return table(w, func(ew *errWriter) {
		ew.printf("NAME\tROLE\tPOWER\tKEYS\n")
		for _, m := range r.Members {
			ids := make([]string, len(m.Keys))
			for i, k := range m.Keys {
				ids[i] = k.ID.Short()
			}
			ew.printf("%s\t%s\t%d\t%s\n", m.Name, m.Role, m.Power, strings.Join(ids, ","))
		}
	})
}

func newGetCmd(g *globals) *cobra.Command {
	var node, commitment string
	cmd := &cobra.Command{
		Use:   "get INDEX|TXID",
		Short: "Show a log entry by index or transaction id, or the records of a commitment",
		Long: `Show one entry of the evidence log, named by its index (a decimal number)
or by the id of the transaction it holds (64 hex digits): its type, block
height and time, signer, and its evidence records (chain, step, kind,
commitment, size, labels), attestation or member registration.

With --commitment HEX instead, list every record carrying that salted SM3
commitment (the commitment is in the file's .evidence.json sidecar).`,
		Example: `  evidenced get 12
  evidenced get 3f4c…e1 -o json
  evidenced get --commitment 9a0b…77`,
		Args: func(cmd *cobra.Command, args []string) error {
			if commitment != "" {
				if len(args) != 0 {
					return errors.New("give either INDEX|TXID or --commitment HEX, not both")
				}
				return nil
			}
			if len(args) != 1 {
				return errors.New("give one entry INDEX (a decimal number) or TXID (64 hex digits), or --commitment HEX")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if commitment != "" {
				h, err := parseHash("--commitment", commitment)
				if err != nil {
					return err
				}
				return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.CommitmentRecords, error) {
					return c.Commitment(ctx, h)
				}, printCommitment)
			}
			arg := args[0]
			if idx, err := strconv.ParseUint(arg, 10, 64); err == nil && len(arg) < 64 {
				return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.Entry, error) {
					return c.Entry(ctx, idx)
				}, printEntry)
			}
			id, err := parseHash("transaction id", arg)
			if err != nil {
				return fmt.Errorf("%q is neither an entry index (a decimal number) nor a transaction id (64 hex digits)", arg)
			}
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.Entry, error) {
				return c.EntryByTx(ctx, id)
			}, printEntry)
		},
	}
	nodeFlag(cmd, &node)
	cmd.Flags().StringVar(&commitment, "commitment", "", "list the records carrying this commitment (64 hex digits)")
	return cmd
}

// parseHash parses 64 hex digits (either case) for the named input.
func parseHash(what, s string) (crypto.Hash, error) {
	var h crypto.Hash
	if err := h.UnmarshalText([]byte(strings.ToLower(strings.TrimSpace(s)))); err != nil {
		return h, fmt.Errorf("%s %q: want 64 hex digits", what, s)
	}
	return h, nil
}

func printEntry(w io.Writer, e *client.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ew := &errWriter{w: tw}
	ew.printf("entry\t%d\n", e.Index)
	ew.printf("type\t%s\n", e.Type)
	ew.printf("height\t%d\n", e.Height)
	ew.printf("block time\t%s\n", formatTime(e.Time))
	ew.printf("client time\t%s\n", formatTime(e.ClientTime))
	ew.printf("tx id\t%s\n", e.TxID)
	ew.printf("leaf hash\t%s\n", e.LeafHash)
	ew.printf("chain id\t%s\n", e.ChainID)
	signer := e.Signer
	if e.SignerKey != (crypto.KeyID{}) {
		signer += " (key " + e.SignerKey.Short() + ")"
	}
	ew.printf("signer\t%s\n", signer)
	for _, r := range e.Records {
		ew.printf("record %d\tchain %s step %d, kind %s\n", r.Pos, r.Chain, r.Step, r.Kind)
		ew.printf("\tcommitment %s, size %d\n", r.Commitment, r.Size)
		if r.Step > 1 {
			ew.printf("\tprev %s\n", r.Prev)
		}
		if r.Cipher != nil {
			ew.printf("\tcipher %s\n", *r.Cipher)
		}
		if len(r.Labels) > 0 {
			ew.printf("\tlabels %s\n", formatLabels(r.Labels))
		}
	}
	if e.Details != nil {
		printDetails(ew, e.Details)
	}
	if ew.err != nil {
		return ew.err
	}
	return tw.Flush()
}

// printDetails prints what an entry's transaction carries beyond its
// records, field by field, whatever its type: one "name<TAB>value" line a
// field, keys one per line with their ids.
func printDetails(ew *errWriter, d ledger.Details) {
	for _, f := range d.Fields() {
		label := strings.ReplaceAll(f.Name, "_", " ")
		keys, ok := f.Value.([]ledger.HexBytes)
		if !ok {
			ew.printf("%s\t%s\n", label, f.Text())
			continue
		}
		for i, k := range keys {
			ew.printf("%s\t%d %s %s\n", label, i, crypto.KeyID(crypto.SM3(k)).Short(), k)
			label = ""
		}
	}
}

func printCommitment(w io.Writer, r *client.CommitmentRecords) error {
	if len(r.Records) == 0 {
		return lines(w, func(ew *errWriter) { ew.printf("no record carries commitment %s\n", r.Commitment) })
	}
	if err := lines(w, func(ew *errWriter) { ew.printf("commitment %s: %d record(s)\n", r.Commitment, len(r.Records)) }); err != nil {
		return err
	}
	return table(w, func(ew *errWriter) {
		ew.printf("ENTRY\tPOS\tCHAIN\tSTEP\tHEIGHT\tTIME\tTX\n")
		for _, c := range r.Records {
			ew.printf("%d\t%d\t%s\t%d\t%d\t%s\t%s\n", c.Index, c.Pos, c.Chain, c.Step, c.Height, formatTime(c.Time), shortHash(c.TxID.String()))
		}
	})
}

func newChainCmd(g *globals) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:   "chain ID",
		Short: "Show an evidence chain step by step",
		Long: `Show evidence chain ID (保全号), for example a loan's LOAN-2026-000001:
its owner, how many steps it has, the leaf hash the next step must name as
prev, and every step in order with its entry index, block height and time,
kind and commitment. Long chains are fetched page by page.`,
		Example: `  evidenced chain LOAN-2026-000001
  evidenced chain LOAN-2026-000001 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.Chain, error) {
				return fetchChain(ctx, c, args[0])
			}, printChain)
		},
	}
	nodeFlag(cmd, &node)
	return cmd
}

func printChain(w io.Writer, ch *client.Chain) error {
	if err := lines(w, func(ew *errWriter) {
		ew.printf("chain %s, owner %s, %d step(s); next step %d names prev %s (entry %d)\n",
			ch.Chain, ch.Owner, ch.Steps, ch.Steps+1, ch.HeadLeafHash, ch.HeadIndex)
	}); err != nil {
		return err
	}
	return table(w, func(ew *errWriter) {
		ew.printf("STEP\tENTRY\tHEIGHT\tTIME\tKIND\tCOMMITMENT\tATTESTED\n")
		for _, r := range ch.Records {
			ew.printf("%d\t%d\t%d\t%s\t%s\t%s\t%s\n", r.Step, r.Index, r.Height, formatTime(r.Time), r.Kind, r.Commitment, chainAttested(r.Attestations))
		}
	})
}

// chainAttested lists a step's attestations for the chain table:
// "notarised by notary (entry 9); …", or "-".
func chainAttested(as []client.ChainAttestation) string {
	if len(as) == 0 {
		return "-"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("%s by %s (entry %d)", a.Statement, a.Signer, a.Index)
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// fetchChain returns evidence chain id with all its steps, fetched
// chainPageSize at a time. The head fields are those of the last page.
func fetchChain(ctx context.Context, c *client.Client, id string) (*client.Chain, error) {
	all := []client.ChainRecord{}
	from := uint32(1)
	for {
		page, err := c.Chain(ctx, id, from, chainPageSize)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Records...)
		if len(page.Records) == 0 || uint64(len(all)) >= uint64(page.Steps) {
			page.Records = all
			return page, nil
		}
		last := page.Records[len(page.Records)-1].Step
		if last < from {
			return nil, fmt.Errorf("%w: evidence chain %s: asked for steps from %d, got up to step %d", client.ErrBadResponse, id, from, last)
		}
		from = last + 1
	}
}
