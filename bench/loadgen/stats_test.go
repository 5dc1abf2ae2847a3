package main

import (
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", durations(7), 50, 7 * time.Millisecond},
		{"one value p99", durations(7), 99, 7 * time.Millisecond},
		{"1..100 p50", hundred, 50, 50 * time.Millisecond},
		{"1..100 p95", hundred, 95, 95 * time.Millisecond},
		{"1..100 p99", hundred, 99, 99 * time.Millisecond},
		{"1..100 p100", hundred, 100, 100 * time.Millisecond},
		{"four values p50 is the 2nd", durations(10, 20, 30, 40), 50, 20 * time.Millisecond},
		{"four values p51 is the 3rd", durations(10, 20, 30, 40), 51, 30 * time.Millisecond},
		{"four values p99 is the max", durations(10, 20, 30, 40), 99, 40 * time.Millisecond},
		{"tiny p is the min", durations(10, 20, 30, 40), 0.1, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want Distribution
	}{
		{"empty", nil, Distribution{}},
		{"unsorted input", durations(40, 10, 30, 20), Distribution{P50: 20, P95: 40, P99: 40, Max: 40, N: 4}},
		{"sub-millisecond rounding", []time.Duration{1234567 * time.Nanosecond}, Distribution{P50: 1.23, P95: 1.23, P99: 1.23, Max: 1.23, N: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarise(tt.in); got != tt.want {
				t.Errorf("summarise = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPacer(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		txPerSec  float64
		i         int
		wantDue   time.Duration // after start
		at        time.Duration // after start
		wantDueBy int
	}{
		{"first tx is due at start", 100, 0, 0, 0, 1},
		{"100/s: tx 1 at 10ms", 100, 1, 10 * time.Millisecond, 9 * time.Millisecond, 1},
		{"100/s: one second holds 101 due", 100, 100, time.Second, time.Second, 101},
		{"5000/s: tx 5000 at 1s", 5000, 5000, time.Second, 999 * time.Millisecond, 4996},
		{"0.5/s: tx 3 at 6s", 0.5, 3, 6 * time.Second, 5 * time.Second, 3},
		{"before start nothing is due", 100, 2, 20 * time.Millisecond, -time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPacer(start, tt.txPerSec)
			if got := p.due(tt.i).Sub(start); got != tt.wantDue {
				t.Errorf("due(%d) = start+%v, want start+%v", tt.i, got, tt.wantDue)
			}
			if got := p.dueBy(start.Add(tt.at)); got != tt.wantDueBy {
				t.Errorf("dueBy(start+%v) = %d, want %d", tt.at, got, tt.wantDueBy)
			}
		})
	}
}

// TestPacerConsistent checks that due and dueBy agree: transaction i is due
// by due(i) and not a nanosecond before.
func TestPacerConsistent(t *testing.T) {
	start := time.Unix(1000, 0)
	for _, rate := range []float64{1, 3, 50, 777, 6200} {
		p := newPacer(start, rate)
		for i := 1; i < 2000; i += 37 {
			d := p.due(i)
			if got := p.dueBy(d); got < i+1 {
				t.Fatalf("rate %v: dueBy(due(%d)) = %d, want ≥ %d", rate, i, got, i+1)
			}
			if got := p.dueBy(d.Add(-time.Nanosecond)); got > i {
				t.Fatalf("rate %v: dueBy(due(%d)-1ns) = %d, want ≤ %d", rate, i, got, i)
			}
		}
	}
}
