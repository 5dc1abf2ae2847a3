package main

import "github.com/spf13/cobra"

// addTxCommands registers tx build and tx attach (external signing).
func addTxCommands(root *cobra.Command, g *globals) {}
