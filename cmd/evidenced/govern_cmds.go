package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
)

// Governance commands: propose (one subcommand per kind of roster
// change), vote, proposals, roster versions; and tx build propose/vote
// for members whose member key signs outside the node.

// addGovernCommands registers propose, vote and proposals.
func addGovernCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newProposeCmd(g), newVoteCmd(g), newProposalsCmd(g))
}

// proposeOpts are the flags of the propose subcommands.
type proposeOpts struct {
	seat, member, key, role, reason string
	power, deadline                 uint64
	tsaName, tsaCert, tsaHashes     string // add-tsa, remove-tsa
	flags                           *pflag.FlagSet
}

// powerSet reports whether --power was given.
func (o *proposeOpts) powerSet() bool { return o.flags.Changed("power") }

// changeSpec is one kind of roster change as the CLI takes it: its flags
// and how they make the request. members maps each current member to its
// voting power (nil when offline: tx build with --chain-id).
type changeSpec struct {
	kind    string
	use     string
	short   string
	example string
	flags   func(f *pflag.FlagSet, o *proposeOpts)
	build   func(o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error)
}

func memberFlag(f *pflag.FlagSet, o *proposeOpts) {
	f.StringVar(&o.member, "member", "", "the member the change is about")
}

func seatFlag(f *pflag.FlagSet, o *proposeOpts, what string) {
	f.StringVar(&o.seat, "seat", "", what)
}

// changeSpecs are the propose subcommands, in the ledger's order of kinds.
var changeSpecs = []changeSpec{
	{
		kind: "add", use: "add --seat SEAT.json --power N [--role ROLE]",
		short:   "Propose adding a member from the seat file its `evidenced join` wrote",
		example: "  evidenced propose add --seat bank-b/seat.json --power 10 --reason \"董事会决议 2026-12 号\"",
		flags: func(f *pflag.FlagSet, o *proposeOpts) {
			seatFlag(f, o, "the new member's seat file (HOME/seat.json, written by evidenced join)")
			f.Uint64Var(&o.power, "power", 0, "the new member's voting power (0 for none: a regulator, say)")
			f.StringVar(&o.role, "role", "", "the new member's role, overriding the seat file's")
		},
		build: func(o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error) {
			st, err := readSeat(o.seat)
			if err != nil {
				return client.ProposalRequest{}, err
			}
			if !o.powerSet() {
				return client.ProposalRequest{}, errors.New("--power N is required: the new member's voting power (0 for none)")
			}
			if _, ok := members[st.Name]; ok {
				return client.ProposalRequest{}, fmt.Errorf("%s is already a member of the alliance", st.Name)
			}
			power := o.power
			r := client.ProposalRequest{Change: "add", Member: st.Name, Role: st.Role.String(), Power: &power, Keys: st.Keys, Node: st.Node, Peer: st.Peer, Addrs: st.Addrs}
			if o.role != "" {
				r.Role = o.role
			}
			if power > 0 {
				if len(st.Validator) == 0 {
					return r, fmt.Errorf("%s names no validator key, which a member with power needs: use the seat file `evidenced join` wrote", o.seat)
				}
				r.Validator = st.Validator
			}
			return r, nil
		},
	},
	{
		kind: "remove", use: "remove --member NAME", short: "Propose removing a member",
		example: "  evidenced propose remove --member arbitration --reason \"left the alliance\"",
		flags:   memberFlag,
		build: func(o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error) {
			return client.ProposalRequest{Change: "remove", Member: o.member}, nil
		},
	},
	{
		kind: "rotate", use: "rotate --member NAME --seat ROTATE-SEAT.json", short: "Propose replacing a member's member key (and with it its node's keys)",
		example: "  evidenced propose rotate --member notary --seat notary/rotate-seat.json",
		flags: func(f *pflag.FlagSet, o *proposeOpts) {
			memberFlag(f, o)
			seatFlag(f, o, "the seat file \"evidenced keys rotate\" wrote (HOME/rotate-seat.json)")
		},
		build: func(o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error) {
			st, err := readSeat(o.seat)
			if err != nil {
				return client.ProposalRequest{}, err
			}
			if st.Name != o.member {
				return client.ProposalRequest{}, fmt.Errorf("%s is the seat of %s, not of %s", o.seat, st.Name, o.member)
			}
			r := client.ProposalRequest{Change: "rotate", Member: o.member, Keys: st.Keys[:1], Node: st.Node, Peer: st.Peer, Addrs: st.Addrs}
			// The new validator key counts only for a member with power.
			if members == nil || members[o.member] > 0 {
				r.Validator = st.Validator
			}
			return r, nil
		},
	},
	{
		kind: "add-key", use: "add-key --member NAME --key HEX|PUBKEY.pem", short: "Propose adding a client key to a member",
		example: "  evidenced propose add-key --member bank-a --key core-banking.pub.pem",
		flags: func(f *pflag.FlagSet, o *proposeOpts) {
			memberFlag(f, o)
			f.StringVar(&o.key, "key", "", "the client key: 130 hex digits or a PUBLIC KEY PEM file")
		},
		build: func(o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error) {
			k, err := parseKeyArg(o.key)
			return client.ProposalRequest{Change: "add-key", Member: o.member, Keys: []client.HexBytes{k}}, err
		},
	},
	{
		kind: "remove-key", use: "remove-key --member NAME --key HEX|PUBKEY.pem", short: "Propose removing a client key from a member",
		example: "  evidenced propose remove-key --member bank-a --key old-client.pub.pem",
		flags: func(f *pflag.FlagSet, o *proposeOpts) {
			memberFlag(f, o)
			f.StringVar(&o.key, "key", "", "the client key: 130 hex digits or a PUBLIC KEY PEM file")
		},
		build: func(o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error) {
			k, err := parseKeyArg(o.key)
			return client.ProposalRequest{Change: "remove-key", Member: o.member, Keys: []client.HexBytes{k}}, err
		},
	},
	{
		kind: "set-power", use: "set-power --member NAME --power N [--seat SEAT.json]", short: "Propose changing a member's voting power",
		example: "  evidenced propose set-power --member bank-b --power 20\n  evidenced propose set-power --member observer --power 5 --seat observer/seat.json",
		flags: func(f *pflag.FlagSet, o *proposeOpts) {
			memberFlag(f, o)
			f.Uint64Var(&o.power, "power", 0, "the new voting power (0 for none)")
			seatFlag(f, o, "the member's seat file, for its validator key when its power goes from 0 to more")
		},
		build: func(o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error) {
			if !o.powerSet() {
				return client.ProposalRequest{}, errors.New("--power N is required")
			}
			power := o.power
			r := client.ProposalRequest{Change: "set-power", Member: o.member, Power: &power}
			if o.seat != "" {
				st, err := readSeat(o.seat)
				if err != nil {
					return r, err
				}
				if st.Name != o.member {
					return r, fmt.Errorf("%s is the seat of %s, not of %s", o.seat, st.Name, o.member)
				}
				if power > 0 {
					r.Validator = st.Validator
				}
			} else if cur, ok := members[o.member]; ok && cur == 0 && power > 0 {
				return r, fmt.Errorf("%s has no voting power now, so its node's validator key is needed: add --seat with its seat file (HOME/seat.json)", o.member)
			}
			return r, nil
		},
	},
	{
		kind: "set-role", use: "set-role --member NAME --role ROLE", short: "Propose changing a member's role",
		example: "  evidenced propose set-role --member observer --role regulator",
		flags: func(f *pflag.FlagSet, o *proposeOpts) {
			memberFlag(f, o)
			f.StringVar(&o.role, "role", "", "the new role: bank, notary, arbitration, court or regulator")
		},
		build: func(o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error) {
			if o.role == "" {
				return client.ProposalRequest{}, errors.New("--role ROLE is required")
			}
			return client.ProposalRequest{Change: "set-role", Member: o.member, Role: o.role}, nil
		},
	},
	{
		kind: "add-tsa", use: "add-tsa --name NAME --cert FILE.pem --hashes sm3[,sha256]",
		short:   "Propose trusting a time-stamping authority (RFC 3161 TSA)",
		example: "  evidenced propose add-tsa --name ntsc-tsa --cert ntsc-tsa.pem --hashes sm3 --reason \"联盟决议 2026-15 号\"",
		flags: func(f *pflag.FlagSet, o *proposeOpts) {
			f.StringVar(&o.tsaName, "name", "", "the TSA's name in the roster (letters, digits and . _ - :)")
			f.StringVar(&o.tsaCert, "cert", "", "the TSA's certificate, PEM or DER: its signing certificate or the CA certificate that issued it")
			f.StringVar(&o.tsaHashes, "hashes", "", "the hash algorithms of its message imprints: sm3, sha256 or sm3,sha256")
		},
		build: func(o *proposeOpts, _ map[string]uint64) (client.ProposalRequest, error) {
			switch {
			case o.tsaName == "":
				return client.ProposalRequest{}, errors.New("--name NAME is required: the TSA's name in the roster")
			case o.tsaCert == "":
				return client.ProposalRequest{}, errors.New("--cert FILE is required: the TSA's certificate (PEM or DER)")
			case o.tsaHashes == "":
				return client.ProposalRequest{}, errors.New("--hashes is required: sm3, sha256 or sm3,sha256")
			}
			data, err := readLimited(o.tsaCert, 4*ledger.MaxTSACertBytes)
			if err != nil {
				return client.ProposalRequest{}, err
			}
			der, err := ledger.ParseTSACert(data)
			if err != nil {
				return client.ProposalRequest{}, fmt.Errorf("--cert %s: %w", o.tsaCert, err)
			}
			hs, err := ledger.ParseTSAHashes(o.tsaHashes)
			if err != nil {
				return client.ProposalRequest{}, fmt.Errorf("--hashes: %w", err)
			}
			t := ledger.TSA{Name: o.tsaName, Cert: der, Hashes: hs}
			if err := t.Validate(); err != nil {
				return client.ProposalRequest{}, fmt.Errorf("--cert %s: %w", o.tsaCert, err)
			}
			return client.ProposalRequest{Change: "add-tsa", TSA: o.tsaName, TSACert: der, TSAHashes: hs}, nil
		},
	},
	{
		kind: "remove-tsa", use: "remove-tsa --name NAME", short: "Propose no longer trusting a time-stamping authority",
		example: "  evidenced propose remove-tsa --name old-tsa --reason \"certificate revoked\"",
		flags: func(f *pflag.FlagSet, o *proposeOpts) {
			f.StringVar(&o.tsaName, "name", "", "the TSA's name in the roster (evidenced roster export lists them)")
		},
		build: func(o *proposeOpts, _ map[string]uint64) (client.ProposalRequest, error) {
			if o.tsaName == "" {
				return client.ProposalRequest{}, errors.New("--name NAME is required: the TSA's name in the roster")
			}
			return client.ProposalRequest{Change: "remove-tsa", TSA: o.tsaName}, nil
		},
	},
}

// readLimited reads file path, failing when it is larger than max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return data, nil
}

// readSeat reads a seat file.
func readSeat(path string) (*client.Seat, error) {
	if path == "" {
		return nil, errors.New("--seat FILE is required: the seat file `evidenced join` (HOME/seat.json) or `evidenced keys rotate` (HOME/rotate-seat.json) wrote")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the seat file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, client.MaxSeatFile+1))
	if err != nil {
		return nil, fmt.Errorf("read the seat file %s: %w", path, err)
	}
	st, err := client.ParseSeat(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// parseKeyArg reads --key: a PUBLIC KEY PEM file, or the hex of a 65-byte
// SM2 public key.
func parseKeyArg(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("--key HEX|PUBKEY.pem is required: the client key")
	}
	if _, err := os.Stat(s); err == nil {
		k, err := readPublicKey(s)
		if err != nil {
			return nil, err
		}
		return k.Bytes(), nil
	}
	b, err := hex.DecodeString(s)
	if err == nil {
		_, err = crypto.ParsePublicKey(b)
	}
	if err != nil {
		return nil, fmt.Errorf("--key %q is neither a PUBLIC KEY PEM file nor the 130 hex digits of an SM2 public key: %v", s, err)
	}
	return b, nil
}

// makeProposal builds and checks the request of spec from o: the member
// must (or, to add, must not) be in members (when known), and the
// proposal must be one the ledger can encode.
func makeProposal(spec *changeSpec, o *proposeOpts, members map[string]uint64) (client.ProposalRequest, error) {
	if spec.kind != "add" && spec.kind != "add-tsa" && spec.kind != "remove-tsa" {
		if o.member == "" {
			return client.ProposalRequest{}, errors.New("--member NAME is required: the member the change is about")
		}
		if _, ok := members[o.member]; members != nil && !ok {
			return client.ProposalRequest{}, fmt.Errorf("%s is not a member of the alliance (`evidenced members` lists them)", o.member)
		}
	}
	r, err := spec.build(o, members)
	if err != nil {
		return r, err
	}
	r.Deadline, r.Reason = o.deadline, o.reason
	check := r
	if check.Deadline == 0 {
		check.Deadline = 1 // the node sets it; check the rest
	}
	if _, err := check.Proposal(); err != nil {
		var fe *client.FieldError
		if errors.As(err, &fe) {
			return r, fmt.Errorf("the proposal is not valid: %s", fe.Msg)
		}
		return r, err
	}
	return r, nil
}

// memberPowers asks the node for the members and their power.
func memberPowers(cmd *cobra.Command, c *client.Client) (map[string]uint64, error) {
	ms, err := callNode(cmd, c, queryTimeout, func(ctx context.Context, c *client.Client) ([]client.Member, error) { return c.Members(ctx) })
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(ms))
	for _, m := range ms {
		out[m.Name] = m.Power
	}
	return out, nil
}

func newProposeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "propose",
		Short: "Propose a change to the alliance roster, signed by the node's member key",
		Long: `Propose one change to the roster: the node signs a propose transaction
with its member key (the API token needs the govern scope) and waits for
its commit. The proposal is named by its entry index; members with voting
power vote on it with ` + "`evidenced vote PROPOSAL approve|reject`" + ` until its
deadline height (--deadline; default the current height + 1000). It passes
when approvals hold more than 2/3 of the voting power, and takes effect at
the next checkpoint the roster in force co-signs.`,
	}
	for i := range changeSpecs {
		cmd.AddCommand(newProposeKindCmd(g, &changeSpecs[i]))
	}
	return cmd
}

// deadlineFlags binds --deadline and --reason.
func deadlineFlags(f *pflag.FlagSet, o *proposeOpts) {
	f.Uint64Var(&o.deadline, "deadline", 0, "last block height at which votes count (default: the current height + 1000)")
	f.StringVar(&o.reason, "reason", "", "why, for the record (UTF-8), e.g. a board resolution number")
}

func newProposeKindCmd(g *globals, spec *changeSpec) *cobra.Command {
	var auth authFlags
	o := &proposeOpts{}
	cmd := &cobra.Command{
		Use:     spec.use + " [--deadline H] [--reason TEXT]",
		Short:   spec.short,
		Example: spec.example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := auth.client()
			if err != nil {
				return err
			}
			members, err := memberPowers(cmd, c)
			if err != nil {
				return err
			}
			req, err := makeProposal(spec, o, members)
			if err != nil {
				return err
			}
			return request(cmd, g, c, submitTimeout, func(ctx context.Context, c *client.Client) (*client.GovernResult, error) {
				return c.Propose(ctx, req)
			}, func(w io.Writer, res *client.GovernResult) error {
				about := res.Member
				if res.TSA != "" {
					about = "TSA " + res.TSA
				}
				_, err := fmt.Fprintf(w, "Proposal %d (%s %s) submitted by %s; votes count until height %d.\n", res.Proposal, res.Change, about, res.Signer, res.Deadline)
				return err
			})
		},
	}
	o.flags = cmd.Flags()
	auth.bind(cmd)
	spec.flags(cmd.Flags(), o)
	deadlineFlags(cmd.Flags(), o)
	return cmd
}

// parseProposalArg parses a proposal's entry index.
func parseProposalArg(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proposal %q is not an entry index: a proposal is named by the entry index `evidenced propose` printed", s)
	}
	return n, nil
}

// parseDecision parses approve or reject.
func parseDecision(s string) (ledger.Decision, error) {
	var d ledger.Decision
	if err := d.UnmarshalText([]byte(s)); err != nil {
		return 0, err
	}
	return d, nil
}

func newVoteCmd(g *globals) *cobra.Command {
	var auth authFlags
	cmd := &cobra.Command{
		Use:   "vote PROPOSAL approve|reject",
		Short: "Vote on a roster proposal, signed by the node's member key",
		Long: `Approve or reject a roster proposal (PROPOSAL: its entry index) with the
node's member key (the API token needs the govern scope), and print the
tally after the vote. Each member with voting power votes once, until the
proposal's deadline height.`,
		Example: `  evidenced vote 57 approve --token-file alliance/client/bank-a-api-token`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := parseProposalArg(args[0])
			if err != nil {
				return err
			}
			d, err := parseDecision(args[1])
			if err != nil {
				return err
			}
			c, err := auth.client()
			if err != nil {
				return err
			}
			return request(cmd, g, c, submitTimeout, func(ctx context.Context, c *client.Client) (*client.GovernResult, error) {
				return c.Vote(ctx, index, d.String())
			}, func(w io.Writer, res *client.GovernResult) error {
				return lines(w, func(ew *errWriter) {
					ew.printf("%s voted %s on proposal %d (%s %s) in block %d.\n", res.Signer, res.Decision, res.Proposal, res.Change, res.Member, res.Height)
					ew.printf("Tally: approve %d, reject %d of %d (passes above %s); status %s", res.Tally.Approve, res.Tally.Reject, res.Tally.Total, twoThirds(res.Tally.Total), res.ProposalStatus)
					if res.ProposalStatus == "passed" {
						ew.printf(": roster version %d", res.Version)
					}
					ew.printf(".\n")
				})
			})
		},
	}
	auth.bind(cmd)
	return cmd
}

// twoThirds prints 2/3 of total.
func twoThirds(total uint64) string {
	whole, rest := total*2/3, total*2%3
	switch rest {
	case 1:
		return fmt.Sprintf("%d⅓", whole)
	case 2:
		return fmt.Sprintf("%d⅔", whole)
	}
	return strconv.FormatUint(whole, 10)
}

func newProposalsCmd(g *globals) *cobra.Command {
	var node, status string
	var limit int
	cmd := &cobra.Command{
		Use:   "proposals [--status open|passed|rejected|failed|expired]",
		Short: "List roster proposals, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.ProposalsResponse, error) {
				return c.Proposals(ctx, status, 0, limit)
			}, func(w io.Writer, r *client.ProposalsResponse) error {
				if len(r.Proposals) == 0 {
					_, err := fmt.Fprintln(w, "no proposals")
					return err
				}
				return table(w, func(ew *errWriter) {
					ew.printf("PROPOSAL\tCHANGE\tMEMBER\tPROPOSER\tSTATUS\tAPPROVE\tREJECT\tTOTAL\tDEADLINE\tREASON\n")
					for _, p := range r.Proposals {
						ew.printf("%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", p.Proposal, p.Change, p.Member, p.Proposer, p.Status, p.Tally.Approve, p.Tally.Reject, p.Tally.Total, p.Deadline, p.Reason)
					}
					if r.Next != 0 {
						ew.printf("(more: raise --limit)\n")
					}
				})
			})
		},
	}
	nodeFlag(cmd, &node)
	cmd.Flags().StringVar(&status, "status", "", "only proposals with this status: open, passed, rejected, failed or expired")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many (default: the node's page size)")
	cmd.AddCommand(newProposalShowCmd(g))
	return cmd
}

func newProposalShowCmd(g *globals) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:   "show PROPOSAL",
		Short: "Show a roster proposal: its change, status, votes with their power, and tally",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := parseProposalArg(args[0])
			if err != nil {
				return err
			}
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.Proposal, error) {
				return c.ProposalInfo(ctx, index)
			}, func(w io.Writer, p *client.Proposal) error { return printProposal(w, p) })
		},
	}
	nodeFlag(cmd, &node)
	return cmd
}

// printProposal prints a proposal for people.
func printProposal(w io.Writer, p *client.Proposal) error {
	return lines(w, func(ew *errWriter) {
		ew.printf("Proposal %d: %s %s, proposed by %s in block %d\n", p.Proposal, p.Change, p.Member, p.Proposer, p.Height)
		if p.Role != nil {
			ew.printf("  role       %s\n", *p.Role)
		}
		if p.Power != nil {
			ew.printf("  power      %d\n", *p.Power)
		}
		for i, k := range p.Keys {
			id := "?"
			if pk, err := crypto.ParsePublicKey(k); err == nil {
				id = pk.ID().String()
			}
			ew.printf("  key %d      %s\n", i, id)
		}
		if len(p.Validator) > 0 {
			ew.printf("  validator  %x\n", []byte(p.Validator))
		}
		if p.Node != "" {
			ew.printf("  node       %s\n", p.Node)
		}
		if p.Peer != "" {
			ew.printf("  peer       %s %s\n", p.Peer, strings.Join(p.Addrs, " "))
		}
		if p.Reason != "" {
			ew.printf("  reason     %s\n", p.Reason)
		}
		ew.printf("  deadline   height %d\n", p.Deadline)
		ew.printf("  status     %s", p.Status)
		switch {
		case p.Version != nil:
			ew.printf(" (roster version %d, decided at entry %d)", *p.Version, p.Decided)
		case p.Failure != "":
			ew.printf(" (%s)", p.Failure)
		}
		ew.printf("\n  tally      approve %d, reject %d of %d (passes above %s)\n", p.Tally.Approve, p.Tally.Reject, p.Tally.Total, twoThirds(p.Tally.Total))
		if len(p.Votes) == 0 {
			ew.printf("  no votes yet\n")
		}
		for _, v := range p.Votes {
			ew.printf("  vote       %-12s %-7s power %d (entry %d)\n", v.Member, v.Decision, v.Power, v.Entry)
		}
	})
}

// newRosterVersionsCmd is `roster versions`.
func newRosterVersionsCmd(g *globals) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:   "versions",
		Short: "List the roster versions: digest, the height from which each signs checkpoints, the proposal that made it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, node, func(ctx context.Context, c *client.Client) (*client.RosterVersionsResponse, error) {
				return c.RosterVersions(ctx)
			}, func(w io.Writer, r *client.RosterVersionsResponse) error {
				return table(w, func(ew *errWriter) {
					ew.printf("VERSION\tDIGEST\tFROM\tATTESTED\tPROPOSAL\tENTRY\tMEMBERS\tPOWER\tSTATE\tTSAS\n")
					for _, v := range r.Versions {
						from, state := "-", "pending"
						if v.From != nil {
							from, state = strconv.FormatInt(*v.From, 10), "superseded"
						}
						if v.InForce {
							state = "in force"
						}
						tsas := "-"
						if len(v.TSAs) > 0 {
							names := make([]string, len(v.TSAs))
							for i, t := range v.TSAs {
								names[i] = t.Name + "(" + strings.Join(t.Hashes, ",") + ")"
							}
							tsas = strings.Join(names, " ")
						}
						ew.printf("%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", v.Version, v.Digest, from, v.Attested, v.Proposal, v.Entry, v.Members, v.Power, state, tsas)
					}
				})
			})
		},
	}
	nodeFlag(cmd, &node)
	return cmd
}

// govTxOpts are the flags of tx build propose and tx build vote.
type govTxOpts struct {
	keyID, pub, chainID, out, node string
	force                          bool
}

func (o *govTxOpts) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	nodeFlag(cmd, &o.node)
	f.StringVar(&o.keyID, "key-id", "", "key id (64 hex digits) of the member key that will sign")
	f.StringVar(&o.pub, "pub", "", "PUBLIC KEY PEM file of the member key that will sign")
	f.StringVar(&o.chainID, "chain-id", "", "alliance chain id, to build without asking the node (then --deadline is required for a proposal)")
	f.StringVar(&o.out, "out", "", "directory to write body.bin and body.json to")
	f.BoolVar(&o.force, "force", false, "overwrite existing body files")
}

// newTxBuildProposeCmd is `tx build propose KIND …`.
func newTxBuildProposeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "propose",
		Short: "Write the unsigned body of a roster proposal, for a member key held outside the node",
		Long: `Build a propose transaction (one subcommand per kind of change, with the
flags of ` + "`evidenced propose`" + `) without signing it: sign DIR/body.bin with the
member key, then ` + "`evidenced tx attach --submit`" + `. The deadline defaults to the
node's current height + 1000.`,
	}
	for i := range changeSpecs {
		spec := &changeSpecs[i]
		o := &govTxOpts{}
		po := &proposeOpts{}
		sub := &cobra.Command{
			Use:   spec.use + " --pub PUB.pem|--key-id HEX --out DIR [--deadline H] [--reason TEXT]",
			Short: spec.short + " (unsigned)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runTxBuildGov(cmd, g, o, func(c *client.Client, height int64) (ledger.Payload, error) {
					var members map[string]uint64
					if c != nil {
						var err error
						if members, err = memberPowers(cmd, c); err != nil {
							return nil, err
						}
					}
					req, err := makeProposal(spec, po, members)
					if err != nil {
						return nil, err
					}
					if req.Deadline == 0 {
						if c == nil {
							return nil, errors.New("--deadline H is required with --chain-id: the node's height is not known offline")
						}
						req.Deadline = uint64(height) + client.DefaultProposalWindow
					}
					return req.Proposal()
				})
			},
		}
		po.flags = sub.Flags()
		o.bind(sub)
		spec.flags(sub.Flags(), po)
		deadlineFlags(sub.Flags(), po)
		cmd.AddCommand(sub)
	}
	return cmd
}

// newTxBuildVoteCmd is `tx build vote PROPOSAL approve|reject`.
func newTxBuildVoteCmd(g *globals) *cobra.Command {
	o := &govTxOpts{}
	cmd := &cobra.Command{
		Use:   "vote PROPOSAL approve|reject --pub PUB.pem|--key-id HEX --out DIR",
		Short: "Write the unsigned body of a vote, for a member key held outside the node",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := parseProposalArg(args[0])
			if err != nil {
				return err
			}
			d, err := parseDecision(args[1])
			if err != nil {
				return err
			}
			return runTxBuildGov(cmd, g, o, func(*client.Client, int64) (ledger.Payload, error) {
				return &ledger.Vote{Proposal: index, Decision: d}, nil
			})
		},
	}
	o.bind(cmd)
	return cmd
}

// runTxBuildGov writes the unsigned body of the payload make returns
// (given the node's client and height, or nil and 0 offline).
func runTxBuildGov(cmd *cobra.Command, g *globals, o *govTxOpts, make func(*client.Client, int64) (ledger.Payload, error)) error {
	if o.out == "" {
		return errors.New("--out DIR is required: where to write body.bin and body.json")
	}
	pub, signer, err := txSigner(o.keyID, o.pub)
	if err != nil {
		return err
	}
	binPath, jsonPath := filepath.Join(o.out, bodyBinName), filepath.Join(o.out, bodyJSONName)
	if !o.force {
		for _, p := range []string{binPath, jsonPath} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s already exists: it may be the body of a transaction still being signed; choose another --out or pass --force", p)
			}
		}
	}
	var c *client.Client
	var height int64
	chainID := o.chainID
	if chainID == "" {
		if c, err = newNodeClient(o.node); err != nil {
			return err
		}
		st, err := callNode(cmd, c, queryTimeout, nodeStatus)
		if err != nil {
			return err
		}
		chainID, height = st.ChainID, st.Height
	}
	p, err := make(c, height)
	if err != nil {
		return err
	}
	body := &ledger.Body{ChainID: chainID, Time: time.Now().UnixNano(), Signer: signer, Payload: p}
	bodyBytes, u, uj, err := encodeUnsigned(body, pub, nil, o.out)
	if err != nil {
		return err
	}
	if err := writeBodyFiles(o.out, binPath, jsonPath, bodyBytes, uj, o.force); err != nil {
		return err
	}
	return g.emit(cmd.OutOrStdout(), u, func(w io.Writer) error { return printBuilt(w, u, binPath, jsonPath, len(bodyBytes)) })
}

// rotationStaged is what keys rotate prints with -o json.
type rotationStaged struct {
	Member  string       `json:"member"`
	KeyFile string       `json:"key_file"`
	KeyID   crypto.KeyID `json:"key_id"`
	Seat    *client.Seat `json:"seat"`
	File    string       `json:"seat_file"`
	Propose string       `json:"propose"`
}

func newKeysRotateCmd(g *globals) *cobra.Command {
	var home, passFile string
	cmd := &cobra.Command{
		Use:   "rotate [--home DIR]",
		Short: "Stage a new member key for the node: write it and the seat a rotation proposal needs",
		Long: `Draw the member's next SM2 member key into HOME/keys/member.next.pem (0600,
encrypted with the home's passphrase as member.pem is) and write
HOME/rotate-seat.json: the new key with the CometBFT validator key, node id
and libp2p peer derived from it. Propose the rotation with the command
printed; once it passes and the roster in force names the new key, restart
the node: at start it retires member.pem (keys/member.retired-KEYID.pem)
and uses the new key. Until then the node keeps its current key.`,
		Example: `  evidenced keys rotate --home ./notary --passphrase-file pass.txt`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := nodeHome(home)
			if err != nil {
				return err
			}
			var pass []byte
			if passFile != "" {
				var err error
				if pass, err = givenPassphrase(passFile, false); err != nil {
					return err
				}
			}
			r, err := node.StageRotation(home, pass)
			if err != nil {
				return err
			}
			out := rotationStaged{Member: r.Member, KeyFile: r.KeyFile, Seat: r.Seat, File: r.File,
				Propose: fmt.Sprintf("evidenced propose rotate --member %s --seat %s", r.Member, r.File)}
			if k, err := crypto.ParsePublicKey(r.Seat.Keys[0]); err == nil {
				out.KeyID = k.ID()
			}
			return g.emit(cmd.OutOrStdout(), out, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) {
					ew.printf("Staged the next member key of %s: %s (key %s)\n", r.Member, r.KeyFile, out.KeyID.Short())
					ew.printf("  seat file  %s (node %s, peer %s)\n", r.File, r.Seat.Node, r.Seat.Peer)
					ew.printf("propose it with: %s\n", out.Propose)
					ew.printf("Once it passes and the roster in force names the new key, restart the node to use it.\n")
				})
			})
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "the node home"+homeUsage)
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file whose first line is the home's key passphrase (default: keys.passphrase_file, EVIDENCED_PASSPHRASE)")
	return cmd
}
