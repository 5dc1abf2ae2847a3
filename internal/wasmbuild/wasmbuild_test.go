package wasmbuild_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/internal/wasmbuild"
)

var update = flag.Bool("update", false, "rebuild the committed verifier (make wasm)")

const root = "../.."

// TestVerifierCurrent fails when the committed verifier was built from
// other sources than the tree's; `make wasm` rebuilds it.
func TestVerifierCurrent(t *testing.T) {
	if *update {
		if err := wasmbuild.Build(root); err != nil {
			t.Fatal(err)
		}
	}
	want, err := wasmbuild.Digest(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, wasmbuild.InputsFile))
	if err != nil {
		t.Fatalf("the committed verifier's inputs: %v (run make wasm)", err)
	}
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("%s was built from other sources than this tree's (inputs %s, tree %s): the verify page would check receipts with old code; run make wasm and commit explorer/assets",
			wasmbuild.WasmFile, strings.TrimSpace(string(got)), want)
	}
	for _, f := range []string{wasmbuild.WasmFile, wasmbuild.ExecFile} {
		if fi, err := os.Stat(filepath.Join(root, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s is missing or empty (%v): run make wasm", f, err)
		}
	}
}
