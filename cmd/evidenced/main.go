// Command evidenced runs and uses an evidenced node: an alliance ledger that
// preserves electronic evidence for finance.
//
// Node commands (init, testnet, start) set up and run a member's node;
// client commands (submit, get, chain, status, members, keys) talk to a
// node's HTTP API or manage SM2 keys. Every command prints plain words by
// default and JSON with --output json.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks the command to stop cleanly; a second one
	// gets the default behaviour and ends the process at once.
	context.AfterFunc(ctx, stop)
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
