package main

import (
	"io"
	"runtime"
	"runtime/debug"

	cmtversion "github.com/cometbft/cometbft/version"
	"github.com/spf13/cobra"
)

const (
	cometbftModule = "github.com/cometbft/cometbft"
	gmsmModule     = "github.com/emmansun/gmsm"
)

// versionReport is what `evidenced version` prints.
type versionReport struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Time      string `json:"commit_time,omitempty"`
	Dirty     bool   `json:"dirty"`
	Go        string `json:"go"`
	CometBFT  string `json:"cometbft"`
	GMSM      string `json:"gmsm"`
	ABCI      string `json:"abci"`
	GoOSArch  string `json:"platform"`
	BuildInfo bool   `json:"build_info"`
}

// buildVersion derives the report from build information; bi may be nil
// when the binary carries none. goVersion is used when bi is nil.
func buildVersion(bi *debug.BuildInfo, goVersion string) versionReport {
	r := versionReport{
		Version:  "(devel)",
		Go:       goVersion,
		CometBFT: "v" + cmtversion.TMCoreSemVer,
		GMSM:     "unknown",
		ABCI:     cmtversion.ABCISemVer,
		GoOSArch: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi == nil {
		return r
	}
	r.BuildInfo = true
	if bi.Main.Version != "" {
		r.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		r.Go = bi.GoVersion
	}
	for _, d := range bi.Deps {
		m := d
		if m.Replace != nil {
			m = m.Replace
		}
		switch d.Path {
		case cometbftModule:
			r.CometBFT = m.Version
		case gmsmModule:
			r.GMSM = m.Version
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			r.Commit = s.Value
		case "vcs.time":
			r.Time = s.Value
		case "vcs.modified":
			r.Dirty = s.Value == "true"
		}
	}
	return r
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the evidenced version, its commit and the versions of Go, CometBFT and gmsm",
		Long: `version prints the version of this binary (the module version, or
"(devel)" for a build from a work tree), the VCS commit and its time with
"dirty" when the tree had uncommitted changes, and the versions of Go,
CometBFT and emmansun/gmsm it was built with. Attach it to bug reports.`,
		Example: `  evidenced version
  evidenced version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			bi, ok := debug.ReadBuildInfo()
			if !ok {
				bi = nil
			}
			r := buildVersion(bi, runtime.Version())
			return g.emit(cmd.OutOrStdout(), r, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) { writeVersion(ew, r) })
			})
		},
	}
}

// writeVersion prints r as plain text.
func writeVersion(ew *errWriter, r versionReport) {
	ew.printf("evidenced %s\n", r.Version)
	if r.Commit != "" {
		dirty := ""
		if r.Dirty {
			dirty = " (dirty)"
		}
		ew.printf("  commit    %s%s\n", r.Commit, dirty)
	}
	if r.Time != "" {
		ew.printf("  built at  %s (commit time)\n", r.Time)
	}
	ew.printf("  go        %s %s\n", r.Go, r.GoOSArch)
	ew.printf("  cometbft  %s (ABCI %s)\n", r.CometBFT, r.ABCI)
	ew.printf("  gmsm      %s\n", r.GMSM)
}
