// Package wasmbuild builds the explorer's WebAssembly receipt verifier
// (explorer/verifywasm) and says whether the committed build is current.
//
// The verifier is committed, gzipped, under explorer/assets, so that a plain
// `go build` or `go install` of the node embeds a working verify page
// without a JavaScript or WebAssembly toolchain. Beside it,
// verify.wasm.inputs holds the digest of what the build depends on: the Go
// files of this module's packages it imports and the versions of the other
// modules. The package's test fails when the digest no longer matches, and
// `make wasm` rebuilds.
package wasmbuild

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evidenced/evidenced/crypto"
)

// Package is the import path of the verifier program.
const Package = "github.com/evidenced/evidenced/explorer/verifywasm"

// Files under the module root, written by Build.
const (
	WasmFile   = "explorer/assets/verify.wasm.gz" // the gzipped program
	ExecFile   = "explorer/assets/wasm_exec.js"   // Go's JavaScript support file of the same toolchain
	InputsFile = "explorer/assets/verify.wasm.inputs"
)

// listed is the part of `go list -json` output Digest reads.
type listed struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	EmbedFiles []string
	Module     *struct {
		Path    string
		Version string
		Main    bool
	}
}

// Digest returns the hex SM3 digest of the verifier's inputs, as seen from
// the module root: for each package it imports (GOOS=js GOARCH=wasm), in
// import path order, its path and either the name and content of each of
// its Go and embedded files (this module) or its module version (others).
// The standard library and the toolchain are left out: the committed
// wasm_exec.js is the one of the toolchain that built the program, so
// they always match.
func Digest(root string) (string, error) {
	cmd := exec.Command("go", "list", "-deps", "-json", Package)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list the verifier's packages: %w: %s", err, stderr.Bytes())
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("go list output: %w", err)
		}
		if !p.Standard {
			pkgs = append(pkgs, p)
		}
	}
	slices.SortFunc(pkgs, func(a, b listed) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	h := crypto.NewSM3()
	for _, p := range pkgs {
		fmt.Fprintf(h, "package %s\n", p.ImportPath)
		if p.Module != nil && !p.Module.Main {
			fmt.Fprintf(h, "module %s@%s\n", p.Module.Path, p.Module.Version)
			continue
		}
		files := append(slices.Clone(p.GoFiles), p.EmbedFiles...)
		slices.Sort(files)
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "file %s %d\n", f, len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Build compiles the verifier with the go command on PATH and writes
// WasmFile, ExecFile and InputsFile under root. The build is reproducible
// (-trimpath, no build id, gzip without a name or time).
func Build(root string) error {
	digest, err := Digest(root)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "verifywasm")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wasm := filepath.Join(tmp, "verify.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", wasm, Package)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the verifier: %w: %s", err, out)
	}
	raw, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	execJS, err := os.ReadFile(filepath.Join(string(bytes.TrimSpace(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return fmt.Errorf("the toolchain's wasm_exec.js: %w", err)
	}
	for name, data := range map[string][]byte{
		WasmFile:   gz.Bytes(),
		ExecFile:   execJS,
		InputsFile: []byte(digest + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
