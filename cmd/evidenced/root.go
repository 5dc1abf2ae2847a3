package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	output string // "text" or "json"
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "evidenced",
		Short: "An alliance ledger that preserves electronic evidence for finance (区块链存证保全)",
		Long: `evidenced runs a member node of an evidence-preservation alliance and talks to one.

Banks record the key steps of online lending and e-contracts as salted SM3
commitments signed with SM2; notaries, arbitration centres, courts and
regulators run witness nodes; CometBFT orders everything into an RFC 9162
Merkle log.

Environment: EVIDENCED_HOME is the default --home (else ~/.evidenced) of
init, join, start, tokens, keys rotate, roster export and config; EVIDENCED_NODE
is the default --node (else http://127.0.0.1:8080) of client commands.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.output != "text" && g.output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", g.output)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	addNodeCommands(root, g)
	addClientCommands(root, g)
	addReceiptCommands(root, g)
	addTxCommands(root, g)
	addCustodyCommands(root, g)
	addRequestCommands(root, g)
	addGovernCommands(root, g)
	addAttestCommands(root, g)
	root.AddCommand(newTokensCmd(g))
	root.AddCommand(newTSACmd())
	root.AddCommand(newVersionCmd(g))
	root.AddCommand(newConfigCmd(g))
	return root
}

// exitError ends the process with a given code after its message was printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// emit prints v as JSON when --output json, or calls text otherwise.
func (g *globals) emit(w io.Writer, v any, text func(io.Writer) error) error {
	if g.output == "json" {
		return printJSON(w, v)
	}
	return text(w)
}
