//go:build js && wasm

// Command verifywasm is the receipt verifier of the explorer's verify page,
// compiled to WebAssembly (GOOS=js GOARCH=wasm; make wasm). It runs
// package receipt's Verify in the browser, so a person checks a file and a
// receipt against the alliance roster without the file leaving the machine:
// the same code as `evidenced verify`, not a port of it.
//
// It defines one JavaScript function:
//
//	evidencedVerify(receiptJSON, rosterJSON, saltHex, withFile) → session
//
// where session.write(Uint8Array) → Promise feeds the original in chunks
// (none when withFile is false), session.close() ends it, and
// session.result is a Promise of the receipt.Report as JSON. rosterJSON is
// a roster file or the body of GET /v1/roster (its digest field is ignored:
// Verify recomputes it). A malformed receipt, roster or salt resolves
// result to {"error": "..."}.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall/js"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
	"github.com/evidenced/evidenced/sidecar"
)

func main() {
	js.Global().Set("evidencedVerify", js.FuncOf(start))
	select {} // keep the functions alive for the page's lifetime
}

// start is evidencedVerify: it parses the inputs and runs Verify in a
// goroutine that reads the original from a pipe fed by session.write.
func start(_ js.Value, args []js.Value) any {
	if len(args) != 4 {
		panic("evidencedVerify(receiptJSON, rosterJSON, saltHex, withFile)")
	}
	rec, roster, salt, err := parseInputs(args[0].String(), args[1].String(), args[2].String())
	withFile := args[3].Truthy()

	pr, pw := io.Pipe()
	session := js.Global().Get("Object").New()
	result, resolve := promise()
	session.Set("result", result)
	session.Set("write", js.FuncOf(func(_ js.Value, a []js.Value) any {
		chunk := make([]byte, a[0].Get("length").Int())
		js.CopyBytesToGo(chunk, a[0])
		p, done := promise()
		go func() {
			// Write returns once Verify has read the chunk, or with an
			// error once Verify stopped reading (session.result says why).
			pw.Write(chunk)
			done("")
		}()
		return p
	}))
	// The two funcs live as long as the page: a session is one click of
	// the verify button, and JavaScript may call close after the result.
	session.Set("close", js.FuncOf(func(js.Value, []js.Value) any {
		pw.Close()
		return nil
	}))
	go func() {
		if err != nil {
			pr.CloseWithError(err)
			resolve(errorJSON(err))
			return
		}
		opts := receipt.VerifyOptions{Salt: salt}
		if withFile {
			opts.File = pr
		}
		rep := receipt.Verify(rec, roster, opts)
		pr.CloseWithError(io.ErrClosedPipe) // release writers of a file Verify did not read
		out, jerr := json.Marshal(rep)
		if jerr != nil {
			resolve(errorJSON(jerr))
			return
		}
		resolve(string(out))
	}()
	return session
}

// parseInputs parses the receipt, the roster (a roster file or a
// GET /v1/roster body) and the optional hex salt.
func parseInputs(receiptJSON, rosterJSON, saltHex string) (*receipt.Receipt, *ledger.Roster, []byte, error) {
	rec, err := receipt.Parse([]byte(receiptJSON))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the receipt file: %w", err)
	}
	roster, err := parseRoster([]byte(rosterJSON))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the roster: %w", err)
	}
	salt, err := sidecar.ParseSalt(saltHex)
	switch {
	case errors.Is(err, sidecar.ErrNoSalt):
		salt = nil // the receipt's own salt, if it has one
	case err != nil:
		return nil, nil, nil, err
	}
	return rec, roster, salt, nil
}

// parseRoster accepts a roster file, or the API's roster response, which is
// the roster with a digest field added.
func parseRoster(data []byte) (*ledger.Roster, error) {
	r, err := receipt.ParseRoster(data)
	if err == nil {
		return r, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil || m["digest"] == nil {
		return nil, err
	}
	delete(m, "digest")
	stripped, merr := json.Marshal(m)
	if merr != nil {
		return nil, err
	}
	return receipt.ParseRoster(bytes.TrimSpace(stripped))
}

func errorJSON(err error) string {
	out, _ := json.Marshal(map[string]string{"error": err.Error()})
	return string(out)
}

// promise returns a new JavaScript Promise and a func that resolves it.
func promise() (js.Value, func(string)) {
	var resolve js.Value
	ready := make(chan struct{})
	p := js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, a []js.Value) any {
		resolve = a[0]
		close(ready)
		return nil
	}))
	<-ready // the executor runs synchronously inside new Promise
	return p, func(v string) { resolve.Invoke(v) }
}
