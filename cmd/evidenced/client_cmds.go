package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
)

// envNode names the environment variable that gives the default --node.
const envNode = "EVIDENCED_NODE"

// defaultNode is the node URL used when neither --node nor EVIDENCED_NODE
// is set.
const defaultNode = "http://127.0.0.1:8080"

// queryTimeout bounds each read-only command.
const queryTimeout = 30 * time.Second

// addClientCommands registers submit, get, chain, status, members and keys.
func addClientCommands(root *cobra.Command, g *globals) {
	root.AddCommand(
		newSubmitCmd(g),
		newGetCmd(g),
		newChainCmd(g),
		newStatusCmd(g),
		newMembersCmd(g),
		newKeysCmd(g),
	)
}

// nodeFlag adds --node to cmd, bound to *url.
func nodeFlag(cmd *cobra.Command, url *string) {
	def := os.Getenv(envNode)
	if def == "" {
		def = defaultNode
	}
	cmd.Flags().StringVar(url, "node", def, "URL of the node's HTTP API (default from "+envNode+")")
}

// newNodeClient returns a client for the --node URL, with the URL error in
// plain words.
func newNodeClient(url string) (*client.Client, error) {
	c, err := client.New(url)
	if err != nil {
		return nil, fmt.Errorf("--node %q is not a node URL: use http://HOST:PORT, for example %s", url, defaultNode)
	}
	return c, nil
}

// nodeError rewords client errors for people: an unreachable node, a
// timeout, a missing resource.
func nodeError(c *client.Client, err error) error {
	var apiErr *client.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrUnreachable):
		return unreachable(c.BaseURL(), err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the node at %s did not answer in time: %w", c.BaseURL(), err)
	case errors.As(err, &apiErr) && apiErr.Code == client.CodeUnavailable:
		msg := fmt.Sprintf("the node at %s is busy or not ready: %s", c.BaseURL(), apiErr.Message)
		if apiErr.RetryAfter > 0 {
			msg += fmt.Sprintf("; try again in %s", apiErr.RetryAfter)
		}
		return fmt.Errorf("%s: %w", msg, err)
	}
	return err
}

// unreachableError is a node that could not be reached, said once: its
// text replaces the client's, which it wraps.
type unreachableError struct {
	msg string
	err error
}

func (e *unreachableError) Error() string { return e.msg }
func (e *unreachableError) Unwrap() error { return e.err }

// unreachable says that the node at url could not be reached and why (the
// cause err gives after its own "cannot reach the node at URL"), and where
// a node's API usually is.
func unreachable(url string, err error) error {
	cause := err.Error()
	if _, after, ok := strings.Cut(cause, client.ErrUnreachable.Error()+" at "+url+": "); ok {
		cause = after
	}
	tried := url
	if url == defaultNode && os.Getenv(envNode) == "" {
		tried += " (the default: no --node given and " + envNode + " unset)"
	}
	return &unreachableError{err: err, msg: fmt.Sprintf("cannot reach the node at %s: %s; "+
		"check that the node runs, and pass --node URL or set %s to its API: "+
		"after make testnet the members' APIs are http://127.0.0.1:26602, :26612, :26622, … (testnet-out/alliance.json lists them), "+
		"after make run it is %s", tried, cause, envNode, defaultNode)}
}

// commandContext returns cmd's context (or Background) bounded by d.
func commandContext(cmd *cobra.Command, d time.Duration) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, d)
}

// shortHash returns the first 16 hex digits of a hex string, for tables.
func shortHash(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// formatTime formats a time for people: UTC, RFC 3339 with nanoseconds.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// formatLabels returns labels as "k=v, k=v" in key order.
func formatLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ", ")
}

// errWriter writes formatted text to w and keeps the first error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
