package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// defaultBackoff is the back-off after a 503 that carries no Retry-After,
// as the evidenced client's (and the API's default Retry-After).
const defaultBackoff = time.Second

// Error classes of receipt polling.
const (
	errReceiptTimeout = "receipt_timeout"
)

// recorder collects what the submitters observe. It is safe for concurrent use.
type recorder struct {
	windowStart, windowEnd time.Time

	mu                sync.Mutex
	errors            map[string]int64
	latencies         []time.Duration
	receiptLags       []time.Duration
	submitted         int64
	submittedInWindow int64
}

func newRecorder(windowStart, windowEnd time.Time) *recorder {
	return &recorder{windowStart: windowStart, windowEnd: windowEnd, errors: map[string]int64{}}
}

// inWindow reports whether t lies in the timed window.
func (r *recorder) inWindow(t time.Time) bool {
	return !t.Before(r.windowStart) && t.Before(r.windowEnd)
}

func (r *recorder) countError(class string) {
	r.mu.Lock()
	r.errors[class]++
	r.mu.Unlock()
}

func (r *recorder) accepted(sentAt time.Time) {
	r.mu.Lock()
	r.submitted++
	if r.inWindow(sentAt) {
		r.submittedInWindow++
	}
	r.mu.Unlock()
}

func (r *recorder) latency(d time.Duration) {
	r.mu.Lock()
	r.latencies = append(r.latencies, d)
	r.mu.Unlock()
}

func (r *recorder) receiptLag(d time.Duration) {
	r.mu.Lock()
	r.receiptLags = append(r.receiptLags, d)
	r.mu.Unlock()
}

// engine submits a pre-built pool of transactions for one run.
type engine struct {
	cfg     *config
	sub     submitter
	hc      *http.Client // for receipt polling
	pool    [][]byte
	rec     *recorder
	start   time.Time
	sampled chan struct{} // semaphore bounding in-flight timed submissions

	next          atomic.Int64
	exhausted     atomic.Bool
	receiptsTaken atomic.Int64
	samplers      sync.WaitGroup
}

// newEngine returns an engine whose load starts at start; the timed window
// is [start+warmup, start+warmup+duration).
func newEngine(cfg *config, sub submitter, hc *http.Client, pool [][]byte, start time.Time) *engine {
	ws := start.Add(cfg.warmup)
	return &engine{cfg: cfg, sub: sub, hc: hc, pool: pool, rec: newRecorder(ws, ws.Add(cfg.duration)),
		start: start, sampled: make(chan struct{}, cfg.maxSampling)}
}

// load runs the submitters until ctx ends or the pool is used up, then
// waits for timed submissions under sampleCtx, which bounds how long they
// may take.
func (e *engine) load(ctx, sampleCtx context.Context) {
	var wg sync.WaitGroup
	if e.cfg.rate > 0 {
		work := make(chan int)
		for range e.cfg.concurrency {
			wg.Go(func() {
				for i := range work {
					e.send(ctx, sampleCtx, i)
				}
			})
		}
		e.dispatch(ctx, work)
		close(work)
	} else {
		for range e.cfg.concurrency {
			wg.Go(func() {
				for ctx.Err() == nil {
					i := e.next.Add(1) - 1
					if i >= int64(len(e.pool)) {
						e.exhausted.Store(true)
						return
					}
					e.send(ctx, sampleCtx, int(i))
				}
			})
		}
	}
	wg.Wait()
	e.samplers.Wait()
}

// dispatch hands out transaction indexes at the pace of cfg.rate until ctx
// ends or the pool is used up. It blocks while every submitter is busy, so
// at most cfg.concurrency transactions are in flight.
func (e *engine) dispatch(ctx context.Context, work chan<- int) {
	p := newPacer(e.start, e.cfg.rate/float64(e.cfg.recordsPerTx()))
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for i := range e.pool {
		if d := time.Until(p.due(i)); d > time.Millisecond {
			t.Reset(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
		select {
		case work <- i:
		case <-ctx.Done():
			return
		}
	}
	e.exhausted.Store(true)
}

// send submits transaction i: every cfg.latencySample'th one is timed to
// its commit on its own goroutine (if fewer than cfg.maxSampling are in
// flight), the others are submitted with wait=sync.
func (e *engine) send(ctx, sampleCtx context.Context, i int) {
	target := i % len(e.cfg.targets)
	if k := e.cfg.latencySample; k > 0 && i%k == 0 {
		select {
		case e.sampled <- struct{}{}:
			e.samplers.Go(func() {
				var once sync.Once
				release := func() { once.Do(func() { <-e.sampled }) }
				defer release()
				e.timed(sampleCtx, i, target, release)
			})
			return
		default:
			e.rec.countError("sample_skipped")
		}
	}
	e.deliver(ctx, i, target, false)
}

// deliver submits transaction i until it is accepted, rejected or ctx
// ends, backing off as a 503 asks. It returns the last outcome and when
// the last attempt was sent.
func (e *engine) deliver(ctx context.Context, i, target int, commit bool) (outcome, time.Time) {
	for {
		reqCtx, cancel := ctx, context.CancelFunc(func() {})
		if commit {
			reqCtx, cancel = context.WithTimeout(ctx, e.cfg.commitTimeout)
		}
		sent := time.Now()
		o := e.sub.submit(reqCtx, target, e.pool[i], commit)
		cancel()
		if o.errClass == errCanceled && ctx.Err() == nil {
			o.errClass = "commit_timeout" // our own per-request deadline
		}
		switch o.errClass {
		case "":
			e.rec.accepted(sent)
			return o, sent
		case errUnavailable:
			e.rec.countError(errUnavailable)
			d := o.retryAfter
			if d <= 0 {
				d = e.cfg.backoff
			}
			if sleepCtx(ctx, d) != nil {
				return outcome{errClass: errCanceled}, sent
			}
			continue
		case errCanceled:
		default:
			e.rec.countError(o.errClass)
		}
		return o, sent
	}
}

// timed submits transaction i waiting for its commit and records the
// latency if it was sent in the window; it then calls committed, and with
// cfg.receiptLag polls the record's receipt (at most cfg.receiptMax
// receipts in a run).
func (e *engine) timed(ctx context.Context, i, target int, committed func()) {
	o, sent := e.deliver(ctx, i, target, true)
	committed()
	if o.errClass != "" {
		return
	}
	at := time.Now()
	if !e.rec.inWindow(sent) {
		return
	}
	e.rec.latency(at.Sub(sent))
	if !e.cfg.receiptLag || o.txID == "" || e.receiptsTaken.Add(1) > int64(e.cfg.receiptMax) {
		return
	}
	lag, class := e.pollReceipt(ctx, target, o.txID, at)
	if class != "" {
		e.rec.countError(class)
		return
	}
	e.rec.receiptLag(lag)
}

// pollReceipt polls GET /v1/evidence/{txid}/receipt every
// cfg.receiptPoll until it answers 200, and returns how long after
// committed that was. 503 (no trusted checkpoint covers the record yet)
// and 404 (the node has not applied the block yet) are polled again;
// anything else, or cfg.receiptTimeout passing, ends polling with an
// error class.
func (e *engine) pollReceipt(ctx context.Context, target int, txID string, committed time.Time) (time.Duration, string) {
	ctx, cancel := context.WithDeadline(ctx, committed.Add(e.cfg.receiptTimeout))
	defer cancel()
	u := strings.TrimRight(e.cfg.targets[target], "/") + "/v1/evidence/" + url.PathEscape(txID) + "/receipt"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, "receipt_bad_url"
		}
		resp, err := e.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return 0, errReceiptTimeout
			}
			return 0, "receipt_" + errUnreachable
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxRPCResponse))
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return time.Since(committed), ""
		case http.StatusServiceUnavailable, http.StatusNotFound:
		default:
			return 0, fmt.Sprintf("receipt_http_%d", resp.StatusCode)
		}
		if sleepCtx(ctx, e.cfg.receiptPoll) != nil {
			return 0, errReceiptTimeout
		}
	}
}

// sleepCtx waits d or until ctx is done, returning ctx's error then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
