package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// percentiles is a latency summary as loadgen writes it, in milliseconds.
type percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	N   float64 `json:"n"`
}

// loadResult is the JSON loadgen writes with --out (bench/loadgen's contract).
type loadResult struct {
	Mode             string         `json:"mode"`
	DurationS        float64        `json:"duration_s"`
	RecordsCommitted float64        `json:"records_committed"`
	RecordsPerS      float64        `json:"records_per_s"`
	TxsPerS          float64        `json:"txs_per_s"`
	Latency          *percentiles   `json:"latency_ms,omitempty"`
	ReceiptLag       *percentiles   `json:"receipt_lag_ms,omitempty"`
	Errors           map[string]any `json:"errors,omitempty"`
	Submitted        any            `json:"submitted,omitempty"`
}

// runRecord is one loadgen invocation as kept in the results file.
type runRecord struct {
	System   string      `json:"system"`
	Scenario string      `json:"scenario"`
	Run      int         `json:"run"`
	Args     []string    `json:"args"`
	Result   *loadResult `json:"result,omitempty"`
	Error    string      `json:"error,omitempty"`
	WallS    float64     `json:"wall_s"`
}

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// row is one line of the results table.
type row struct {
	Figure   string `json:"figure"`
	Ours     string `json:"evidenced"`
	Baseline string `json:"kvstore"`
	Ratio    string `json:"ratio"`
	Target   string `json:"target"`
	Holds    string `json:"holds"`
}

// ratio formats a/b, or "—" when either is unknown.
func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// holds formats whether a target holds: "—" when there is no target or
// no measurement.
func holds(measured bool, ok bool) string {
	switch {
	case !measured:
		return "—"
	case ok:
		return "yes"
	default:
		return "NO"
	}
}

// writeTable renders rows as an aligned Markdown table.
func writeTable(w io.Writer, rows []row) error {
	cells := [][]string{{"figure", "evidenced", "kvstore baseline", "ratio (ours/baseline)", "target", "holds?"}}
	for _, r := range rows {
		cells = append(cells, []string{r.Figure, r.Ours, r.Baseline, r.Ratio, r.Target, r.Holds})
	}
	width := make([]int, len(cells[0]))
	for _, c := range cells {
		for i, s := range c {
			width[i] = max(width[i], len([]rune(s)))
		}
	}
	var b strings.Builder
	line := func(c []string) {
		b.WriteString("|")
		for i, s := range c {
			b.WriteString(" " + s + strings.Repeat(" ", width[i]-len([]rune(s))) + " |")
		}
		b.WriteString("\n")
	}
	line(cells[0])
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, c := range cells[1:] {
		line(c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtRate formats records per second.
func fmtRate(x float64) string {
	if x <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f/s", x)
}

// fmtMiB formats bytes as MiB.
func fmtMiB(x float64) string {
	if x <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MiB", x/(1<<20))
}

// fmtBytes formats a byte count per record.
func fmtBytes(x float64) string {
	if x <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f B", x)
}

// fmtLat formats p50/p95/p99 latencies in ms, or "—" without samples.
func fmtLat(p *percentiles) string {
	if p == nil || p.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f ms", p.P50, p.P95, p.P99)
}
