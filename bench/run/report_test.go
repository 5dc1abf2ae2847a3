package main

import (
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{7}, 7},
		{"odd unsorted", []float64{5, 1, 3}, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestMedianLatency(t *testing.T) {
	rs := []*loadResult{
		{Latency: &percentiles{P50: 10, P95: 20, P99: 30, N: 5}},
		{Latency: &percentiles{P50: 30, P95: 40, P99: 90, N: 7}, ReceiptLag: &percentiles{P50: 1, P95: 2, P99: 3, N: 1}},
		{Latency: &percentiles{P50: 20, P95: 30, P99: 60, N: 6}},
		{Latency: &percentiles{}}, // no samples: ignored
	}
	got := medianLatency(rs, false)
	want := percentiles{P50: 20, P95: 30, P99: 60, N: 6}
	if got == nil || *got != want {
		t.Errorf("medianLatency = %+v, want %+v", got, want)
	}
	lag := medianLatency(rs, true)
	if lag == nil || *lag != (percentiles{P50: 1, P95: 2, P99: 3, N: 1}) {
		t.Errorf("receipt lag = %+v", lag)
	}
	if got := medianLatency(nil, false); got != nil {
		t.Errorf("medianLatency(nil) = %+v, want nil", got)
	}
}

func TestPerRecord(t *testing.T) {
	tests := []struct {
		name          string
		before, after []int64
		records       int64
		want          float64
	}{
		{"mean over nodes", []int64{0, 100}, []int64{1000, 1300}, 10, 110},
		{"no records", []int64{0}, []int64{10}, 0, 0},
		{"mismatched", []int64{0}, []int64{10, 20}, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := perRecord(tc.before, tc.after, tc.records); got != tc.want {
				t.Errorf("perRecord = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tevidenced\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n"
	if got, want := parseVmHWM(status), int64(51200*1024); got != want {
		t.Errorf("parseVmHWM = %d, want %d", got, want)
	}
	if got := parseVmHWM("Name:\tx\n"); got != 0 {
		t.Errorf("parseVmHWM without the line = %d, want 0", got)
	}
}

func TestRatioAndHolds(t *testing.T) {
	if got := ratio(6000, 3000); got != "2.00×" {
		t.Errorf("ratio = %q", got)
	}
	if got := ratio(1, 0); got != "—" {
		t.Errorf("ratio with no baseline = %q", got)
	}
	for _, tc := range []struct {
		measured, ok bool
		want         string
	}{{true, true, "yes"}, {true, false, "NO"}, {false, true, "—"}} {
		if got := holds(tc.measured, tc.ok); got != tc.want {
			t.Errorf("holds(%v, %v) = %q, want %q", tc.measured, tc.ok, got, tc.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	if err := writeTable(&b, []row{{"records/s", "6000/s", "3000/s", "2.00×", "≥ 5,000/s", "yes"}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("table has %d lines, want 3:\n%s", len(lines), b.String())
	}
	w := len([]rune(lines[0]))
	for i, l := range lines {
		if len([]rune(l)) != w {
			t.Errorf("line %d is %d runes wide, want %d (aligned):\n%s", i, len([]rune(l)), w, b.String())
		}
	}
	if !strings.Contains(lines[2], "| 6000/s ") || !strings.Contains(lines[2], "| yes    |") {
		t.Errorf("row = %q", lines[2])
	}
}

func TestParseFlagsAndPlan(t *testing.T) {
	o, err := parseFlags([]string{"--duration", "10s", "--runs", "1", "--warmup", "2s"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	steps := o.plan()
	if len(steps) != 6 || steps[1].scenario != "signed-single-max" {
		t.Fatalf("plan has %d steps, want 6 with the one-per-request run second: %+v", len(steps), steps)
	}
	// 60 build + 2×45 clusters + 6 runs × (2+10+8).
	if got, want := o.estimate(), 270*time.Second; got != want {
		t.Errorf("estimate = %v, want %v", got, want)
	}
	for _, bad := range [][]string{{"--systems", "etcd"}, {"--batch-size", "5000"}, {"--runs", "0"}, {"--duration", "10ms"}, {"--bundle", "0"}, {"--single-runs", "-1"}} {
		if _, err := parseFlags(bad, &strings.Builder{}); err == nil {
			t.Errorf("parseFlags(%v) accepted", bad)
		}
	}
}

func TestDefaultPlanFits15Minutes(t *testing.T) {
	o, err := parseFlags(nil, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if est := o.estimate(); est > 15*time.Minute {
		t.Errorf("default plan estimates %v, over the 15 minutes make bench must fit", est)
	}
}
