package wasmbuild_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/evidenced/evidenced/internal/wasmbuild"
	"github.com/evidenced/evidenced/receipt"
)

// harness runs the committed verifier in Node.js the way verify.js does
// in a browser: the original in chunks, then the result. It prints one
// JSON report per line: the example original, a tampered copy, and a
// malformed receipt.
const harness = `
const fs = require('fs');
globalThis.require = require; globalThis.fs = fs; globalThis.path = require('path');
require(process.argv[2]);
(async () => {
  const go = new Go();
  const {instance} = await WebAssembly.instantiate(fs.readFileSync(process.argv[3]), go.importObject);
  go.run(instance);
  const receipt = fs.readFileSync(process.argv[4], 'utf8');
  const roster = fs.readFileSync(process.argv[5], 'utf8');
  const original = fs.readFileSync(process.argv[6]);
  const tampered = Buffer.from(original); tampered[0] ^= 1;
  for (const file of [original, tampered]) {
    const s = evidencedVerify(receipt, roster, '', true);
    for (let i = 0; i < file.length; i += 7) await s.write(new Uint8Array(file.subarray(i, i + 7)));
    s.close();
    console.log(await s.result);
  }
  const s = evidencedVerify('{}', roster, '', false);
  console.log(await s.result);
  process.exit(0);
})();
`

// TestVerifierInNode runs the committed verifier (not a fresh build) on
// the receipt package's example: the original passes every step, a copy
// with one bit flipped fails the file step, a malformed receipt is an
// error. It needs node; CI installs it (EVIDENCED_REQUIRE_BROWSER=1).
func TestVerifierInNode(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("EVIDENCED_REQUIRE_BROWSER") != "" {
			t.Fatal("node is not installed: apt-get install nodejs")
		}
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	gz, err := os.ReadFile(filepath.Join(root, wasmbuild.WasmFile))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var wasm bytes.Buffer
	if _, err := wasm.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "harness.js")
	for name, data := range map[string][]byte{script: []byte(harness), filepath.Join(dir, "verify.wasm"): wasm.Bytes()} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	run := func(receiptFile, rosterFile, original string) [][]byte {
		out, err := exec.Command(nodeBin, script, abs(wasmbuild.ExecFile), filepath.Join(dir, "verify.wasm"),
			abs(receiptFile), abs(rosterFile), abs(original)).CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
		if len(lines) != 3 {
			t.Fatalf("node printed %d lines, want 3:\n%s", len(lines), out)
		}
		return lines
	}
	lines := run("receipt/testdata/example-receipt.json", "receipt/testdata/example-roster.json", "receipt/testdata/example-original.txt")
	var good, bad receipt.Report
	if err := json.Unmarshal(lines[0], &good); err != nil || !good.OK || len(good.Steps) != len(receipt.Steps()) {
		t.Errorf("the example original: %s (%v)", lines[0], err)
	}
	for i, s := range good.Steps {
		// The genesis roster signed the example's checkpoint: no path; no
		// TSA stamped it: no time.
		noPath := s.Name == receipt.StepRosterPath && s.Skipped && s.Reason == receipt.ReasonNoPath
		noTime := s.Name == receipt.StepTime && s.Skipped && s.Reason == receipt.ReasonNoTime
		if !s.OK && !noPath && !noTime || s.Name != receipt.Steps()[i] {
			t.Errorf("the example original: step %d = %+v, want %s passed", i, s, receipt.Steps()[i])
		}
	}
	if err := json.Unmarshal(lines[1], &bad); err != nil || bad.OK || bad.FailedStep != receipt.StepFile {
		t.Errorf("the tampered copy: %s (%v), want the file step failed", lines[1], err)
	}
	// A receipt after a roster change, with the genesis roster: every step
	// passes, the roster path too.
	pathLines := run("receipt/testdata/example-path-receipt.json", "receipt/testdata/example-roster.json", "receipt/testdata/example-path-original.txt")
	var withPath receipt.Report
	if err := json.Unmarshal(pathLines[0], &withPath); err != nil || !withPath.OK || len(withPath.Steps) != len(receipt.Steps()) {
		t.Errorf("the path example: %s (%v)", pathLines[0], err)
	}
	for i, s := range withPath.Steps {
		if !s.OK && (s.Name != receipt.StepTime || s.Reason != receipt.ReasonNoTime) {
			t.Errorf("the path example: step %d = %+v, want it passed", i, s)
		}
	}
	// A receipt with an ECDSA token, with its roster (which trusts the
	// TSA): the time step passes too.
	timeLines := run("receipt/testdata/example-time-receipt.json", "receipt/testdata/example-time-roster.json", "receipt/testdata/example-original.txt")
	var withTime receipt.Report
	if err := json.Unmarshal(timeLines[0], &withTime); err != nil || !withTime.OK || len(withTime.Steps) != len(receipt.Steps()) {
		t.Fatalf("the time example: %s (%v)", timeLines[0], err)
	}
	if st := withTime.Steps[len(withTime.Steps)-1]; st.Name != receipt.StepTime || !st.OK || st.Facts["tsa"] != "tsa-ec" || st.Facts["gen_time"] != "2026-11-01T00:00:06Z" {
		t.Errorf("the time example's time step: %+v", st)
	}
	// An attestation's receipt with its document: the attestation step
	// replaces the record step, and the file step checks the document; a
	// flipped bit in the document fails it.
	attLines := run("receipt/testdata/example-attestation-receipt.json", "receipt/testdata/example-roster.json", "receipt/testdata/example-attestation-document.txt")
	var att, attBad receipt.Report
	if err := json.Unmarshal(attLines[0], &att); err != nil || !att.OK || len(att.Steps) != len(receipt.Steps()) {
		t.Fatalf("the attestation example: %s (%v)", attLines[0], err)
	}
	if st := att.Steps[3]; st.Name != receipt.StepAttestation || !st.OK || st.Facts["statement"] != "notarised" || st.Facts["note"] != "(2026)沪东证字第1234号" {
		t.Errorf("the attestation example's attestation step: %+v", st)
	}
	if err := json.Unmarshal(attLines[1], &attBad); err != nil || attBad.OK || attBad.FailedStep != receipt.StepFile || attBad.Steps[2].Reason != receipt.ReasonDocument {
		t.Errorf("the attestation example with another document: %s (%v)", attLines[1], err)
	}
	var malformed struct{ Error string }
	if err := json.Unmarshal(lines[2], &malformed); err != nil || malformed.Error == "" {
		t.Errorf("a malformed receipt: %s, want an error", lines[2])
	}
}
