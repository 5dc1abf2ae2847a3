package main

import (
	"context"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
)

// The scaffolding of a command that asks a node something and prints the
// answer: a client for --node, a context with a time limit, the call, its
// error in plain words (nodeError), then JSON (-o json) or text.

// query runs a read-only command against the node at url (--node): call
// gets a context bounded by queryTimeout, and its result is printed as JSON
// with -o json and by text otherwise.
func query[T any](cmd *cobra.Command, g *globals, url string, call func(context.Context, *client.Client) (T, error), text func(io.Writer, T) error) error {
	c, err := newNodeClient(url)
	if err != nil {
		return err
	}
	return request(cmd, g, c, queryTimeout, call, text)
}

// request is query through client c (one that sends a token, say) with
// time limit timeout.
func request[T any](cmd *cobra.Command, g *globals, c *client.Client, timeout time.Duration, call func(context.Context, *client.Client) (T, error), text func(io.Writer, T) error) error {
	v, err := callNode(cmd, c, timeout, call)
	if err != nil {
		return err
	}
	return g.emit(cmd.OutOrStdout(), v, func(w io.Writer) error { return text(w, v) })
}

// callNode calls call on c with cmd's context bounded by timeout, and
// rewords its error for people (nodeError; errors.As still finds a
// *client.Error in it).
func callNode[T any](cmd *cobra.Command, c *client.Client, timeout time.Duration, call func(context.Context, *client.Client) (T, error)) (T, error) {
	ctx, cancel := commandContext(cmd, timeout)
	defer cancel()
	v, err := call(ctx, c)
	if err != nil {
		var zero T
		return zero, nodeError(c, err)
	}
	return v, nil
}

// lines prints with print through an errWriter on w and returns the first
// write error.
func lines(w io.Writer, print func(ew *errWriter)) error {
	ew := &errWriter{w: w}
	print(ew)
	return ew.err
}

// table prints rows whose cells print separates with tabs, aligned in
// columns two spaces apart, and returns the first write error.
func table(w io.Writer, print func(ew *errWriter)) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if err := lines(tw, print); err != nil {
		return err
	}
	return tw.Flush()
}
