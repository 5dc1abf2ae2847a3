package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Default closed-loop pool sizes, in records: enough for the 35 s of a
// default run at several times the targets (5,000 signed records/s, 50,000
// batched records/s), and small enough to sign in seconds on two cores.
const (
	defaultClosedRecords      = 250_000
	defaultClosedBatchRecords = 3_000_000
	// maxPoolRecords bounds any pool, whatever the flags ask.
	maxPoolRecords = 20_000_000
	// openLoopMargin is how much more than rate × (warmup + duration) an
	// open-loop pool holds, for catching up after back-offs.
	openLoopMargin = 1.05
)

// kvTxSize is the length of a kv-mode transaction, like CometBFT's own
// load tests ("k…=v…").
const kvTxSize = 100

// ErrPoolTooLarge is returned by poolSize when the flags ask for more than
// maxPoolRecords records: lower --rate, --duration or --max-txs.
var ErrPoolTooLarge = errors.New("transaction pool too large")

// poolSize returns how many transactions to build before the run. In an
// open loop (rate > 0) that is what the pace needs over warmup + duration
// (plus a margin and one per submitter), capped by maxTxs when set; in a
// closed loop it is maxTxs, or by default a mode-dependent number of
// records' worth.
func poolSize(c *config) (int, error) {
	rpt := c.recordsPerTx()
	var n int
	switch {
	case c.rate > 0:
		need := c.rate / float64(rpt) * (c.warmup + c.duration).Seconds() * openLoopMargin
		n = int(math.Ceil(need)) + c.concurrency
		if c.maxTxs > 0 {
			n = min(n, c.maxTxs)
		}
	case c.maxTxs > 0:
		n = c.maxTxs
	case c.mode == modeBatch:
		n = (defaultClosedBatchRecords + rpt - 1) / rpt
	default:
		n = (defaultClosedRecords + rpt - 1) / rpt
	}
	if n < 1 {
		n = 1
	}
	if int64(n)*int64(rpt) > maxPoolRecords {
		return 0, fmt.Errorf("%w: %d transactions of %d records is more than %d records", ErrPoolTooLarge, n, rpt, maxPoolRecords)
	}
	return n, nil
}

// generator builds the transactions of one run. Evidence chain ids start
// with a random run id, so runs against the same chain never collide; every
// record opens its own evidence chain (step 1) with a random commitment.
type generator struct {
	mode      string
	chainID   string
	key       *crypto.PrivateKey // signed and batch modes
	batchSize int
	bundle    int
	runID     string
	rand      io.Reader
	now       func() time.Time
}

// newGenerator returns a generator drawing randomness from rnd.
func newGenerator(c *config, key *crypto.PrivateKey, rnd io.Reader, now func() time.Time) (*generator, error) {
	id := make([]byte, 6)
	if _, err := io.ReadFull(rnd, id); err != nil {
		return nil, fmt.Errorf("draw run id: %w", err)
	}
	return &generator{mode: c.mode, chainID: c.chainID, key: key, batchSize: c.batchSize, bundle: c.bundle,
		runID: hex.EncodeToString(id), rand: rnd, now: now}, nil
}

// record returns record number n of the run.
func (g *generator) record(n int) (ledger.Record, error) {
	r := ledger.Record{Kind: "bench", Chain: fmt.Sprintf("BENCH-%s-%d", g.runID, n), Step: 1, Size: 1024}
	if _, err := io.ReadFull(g.rand, r.Commitment[:]); err != nil {
		return r, fmt.Errorf("draw commitment: %w", err)
	}
	return r, nil
}

// tx builds transaction i of the run.
func (g *generator) tx(i int) ([]byte, error) {
	switch g.mode {
	case modeKV:
		return kvTx(g.rand)
	case modeSigned:
		if g.bundle > 1 {
			txs := make([][]byte, g.bundle)
			for j := range txs {
				tx, err := g.signed(i*g.bundle + j)
				if err != nil {
					return nil, err
				}
				txs[j] = tx
			}
			return ledger.EncodeBundle(txs)
		}
		return g.signed(i)
	case modeBatch:
		recs := make([]ledger.Record, g.batchSize)
		for j := range recs {
			r, err := g.record(i*g.batchSize + j)
			if err != nil {
				return nil, err
			}
			recs[j] = r
		}
		body, err := ledger.BatchBody(g.chainID, g.now().UnixNano(), recs)
		if err != nil {
			return nil, err
		}
		return ledger.SignTx(g.key, g.rand, body)
	}
	return nil, fmt.Errorf("unknown mode %q", g.mode)
}

// signed builds the individually signed evidence transaction of record n.
func (g *generator) signed(n int) ([]byte, error) {
	r, err := g.record(n)
	if err != nil {
		return nil, err
	}
	body, err := ledger.EvidenceBody(g.chainID, g.now().UnixNano(), r)
	if err != nil {
		return nil, err
	}
	return ledger.SignTx(g.key, g.rand, body)
}

// kvTx returns a kvstore transaction of kvTxSize bytes: "k<hex>=v<hex>".
func kvTx(rnd io.Reader) ([]byte, error) {
	raw := make([]byte, kvTxSize/2)
	if _, err := io.ReadFull(rnd, raw); err != nil {
		return nil, fmt.Errorf("draw kv transaction: %w", err)
	}
	h := hex.EncodeToString(raw) // kvTxSize hex digits
	const keyLen = 32
	tx := make([]byte, 0, kvTxSize)
	tx = append(tx, 'k')
	tx = append(tx, h[:keyLen-1]...)
	tx = append(tx, '=', 'v')
	tx = append(tx, h[keyLen-1:kvTxSize-3]...)
	return tx, nil
}

// presign builds n transactions on workers goroutines, calling progress
// (from one goroutine at a time) with the number built so far about every
// tenth of the pool. It stops early when ctx is done.
func presign(ctx context.Context, g *generator, n, workers int, progress func(done int)) ([][]byte, error) {
	if workers < 1 {
		workers = runtime.NumCPU()
	}
	pool := make([][]byte, n)
	var (
		next     atomic.Int64
		done     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	step := int64(max(1, n/10))
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				tx, err := g.tx(i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("build transaction %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				pool[i] = tx
				if d := done.Add(1); progress != nil && (d%step == 0 || d == int64(n)) {
					mu.Lock()
					progress(int(d))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build transactions: %w", err)
	}
	return pool, nil
}
