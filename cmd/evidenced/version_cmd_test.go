package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	cmtversion "github.com/cometbft/cometbft/version"
)

func TestBuildVersion(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/evidenced/evidenced", Version: "v1.2.3"},
		Deps: []*debug.Module{
			{Path: "github.com/spf13/cobra", Version: "v1.10.2"},
			{Path: cometbftModule, Version: "v0.40.0"},
			{Path: gmsmModule, Version: "v0.44.1", Replace: &debug.Module{Path: "../gmsm", Version: "v0.44.1-local"}},
		},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "004c443abc"},
			{Key: "vcs.time", Value: "2026-12-03T04:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want versionReport
	}{
		{"full", bi, versionReport{Version: "v1.2.3", Commit: "004c443abc", Time: "2026-12-03T04:00:00Z", Dirty: true,
			Go: "go1.26.0", CometBFT: "v0.40.0", GMSM: "v0.44.1-local", BuildInfo: true}},
		{"devel", &debug.BuildInfo{Main: debug.Module{Path: "github.com/evidenced/evidenced"}}, versionReport{Version: "(devel)",
			Go: "go0.0-test", CometBFT: "v" + cmtversion.TMCoreSemVer, GMSM: "unknown", BuildInfo: true}},
		{"none", nil, versionReport{Version: "(devel)", Go: "go0.0-test", CometBFT: "v" + cmtversion.TMCoreSemVer, GMSM: "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := buildVersion(tc.bi, "go0.0-test")
			tc.want.ABCI = cmtversion.ABCISemVer
			tc.want.GoOSArch = runtime.GOOS + "/" + runtime.GOARCH
			if got != tc.want {
				t.Fatalf("buildVersion:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	var out bytes.Buffer
	if err := lines(&out, func(ew *errWriter) { writeVersion(ew, buildVersion(bi, "")) }); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"evidenced v1.2.3\n", "commit    004c443abc (dirty)\n", "cometbft  v0.40.0 (ABCI ", "gmsm      v0.44.1-local\n", "go        go1.26.0 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
}

func TestVersionCmd(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version", "-o", "json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var r versionReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	// A test binary has build info with the real dependencies linked in.
	if r.Version == "" || r.Go != runtime.Version() || !strings.HasPrefix(r.CometBFT, "v0.") || !strings.HasPrefix(r.GMSM, "v0.") {
		t.Fatalf("version -o json: %+v", r)
	}
	out.Reset()
	root = newRootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "evidenced ") || !strings.Contains(out.String(), "gmsm      "+r.GMSM) {
		t.Fatalf("version text:\n%s", out.String())
	}
}
