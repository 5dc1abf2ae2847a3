package main

import "github.com/spf13/cobra"

// addReceiptCommands registers receipt, verify, verify-consistency and roster.
func addReceiptCommands(root *cobra.Command, g *globals) {}
