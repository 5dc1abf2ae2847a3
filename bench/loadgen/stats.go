package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. It returns 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// Distribution summarises a set of durations in milliseconds.
type Distribution struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	N   int     `json:"n"`
}

// summarise sorts ds in place and returns its distribution.
func summarise(ds []time.Duration) Distribution {
	slices.Sort(ds)
	d := Distribution{N: len(ds)}
	if len(ds) == 0 {
		return d
	}
	d.P50 = ms(percentile(ds, 50))
	d.P95 = ms(percentile(ds, 95))
	d.P99 = ms(percentile(ds, 99))
	d.Max = ms(ds[len(ds)-1])
	return d
}

// ms converts d to milliseconds rounded to 0.01 ms.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

// pacer spaces transactions evenly for an open-loop load: transaction i is
// due at start + i/txPerSec seconds (rounded up to the nanosecond). The due
// time of each transaction is computed from its index, so a submitter that
// fell behind catches up instead of drifting.
type pacer struct {
	start     time.Time
	intervalN float64 // nanoseconds between transactions
}

// newPacer returns a pacer for txPerSec > 0 transactions per second from start.
func newPacer(start time.Time, txPerSec float64) pacer {
	return pacer{start: start, intervalN: float64(time.Second) / txPerSec}
}

// offset returns how long after start transaction i is due.
func (p pacer) offset(i int) time.Duration {
	return time.Duration(math.Ceil(float64(i) * p.intervalN))
}

// due returns when transaction i is due.
func (p pacer) due(i int) time.Time { return p.start.Add(p.offset(i)) }

// dueBy returns how many transactions are due by time t (transactions
// 0 … dueBy-1); 0 before start. It agrees exactly with due.
func (p pacer) dueBy(t time.Time) int {
	el := t.Sub(p.start)
	if el < 0 {
		return 0
	}
	k := int(float64(el) / p.intervalN) // the last due index, up to rounding
	for k > 0 && p.offset(k) > el {
		k--
	}
	for p.offset(k+1) <= el {
		k++
	}
	return k + 1
}
