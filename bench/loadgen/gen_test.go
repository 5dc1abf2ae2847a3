package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

func TestPoolSize(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
		want int
	}{
		{"closed signed default", config{mode: modeSigned, concurrency: 32}, defaultClosedRecords},
		{"closed kv default", config{mode: modeKV, concurrency: 32}, defaultClosedRecords},
		{"closed batch default", config{mode: modeBatch, batchSize: 1000, concurrency: 32}, defaultClosedBatchRecords / 1000},
		{"closed batch default rounds up", config{mode: modeBatch, batchSize: 4096, concurrency: 32}, 733},
		{"closed with max-txs", config{mode: modeSigned, maxTxs: 1234, concurrency: 32}, 1234},
		{"open signed: rate × 35s × 1.05 + concurrency", config{mode: modeSigned, rate: 1000, warmup: 5 * time.Second, duration: 30 * time.Second, concurrency: 8}, 36758},
		{"open batch: per-tx rate", config{mode: modeBatch, batchSize: 500, rate: 10000, warmup: 0, duration: 10 * time.Second, concurrency: 4}, 214},
		{"open capped by max-txs", config{mode: modeKV, rate: 1000, duration: 30 * time.Second, maxTxs: 500, concurrency: 8}, 500},
		{"open tiny rate still builds one per submitter", config{mode: modeKV, rate: 0.01, duration: time.Second, concurrency: 2}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := poolSize(&tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("poolSize = %d, want %d", got, tt.want)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		_, err := poolSize(&config{mode: modeBatch, batchSize: 4096, maxTxs: 100_000})
		if !errors.Is(err, ErrPoolTooLarge) {
			t.Fatalf("poolSize error = %v, want ErrPoolTooLarge", err)
		}
	})
}

// testGenerator returns a generator for mode with a fresh key.
func testGenerator(t *testing.T, mode string, batchSize int) (*generator, *crypto.PrivateKey) {
	t.Helper()
	key, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config{mode: mode, chainID: "bench-chain", batchSize: batchSize}
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	g, err := newGenerator(cfg, key, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	return g, key
}

func TestPresignSigned(t *testing.T) {
	for _, tt := range []struct {
		mode      string
		batchSize int
		n         int
	}{
		{modeSigned, 0, 50},
		{modeBatch, 7, 9},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			g, key := testGenerator(t, tt.mode, tt.batchSize)
			var progress []int
			pool, err := presign(context.Background(), g, tt.n, 3, func(d int) { progress = append(progress, d) })
			if err != nil {
				t.Fatal(err)
			}
			if len(pool) != tt.n {
				t.Fatalf("built %d transactions, want %d", len(pool), tt.n)
			}
			if len(progress) == 0 || progress[len(progress)-1] != tt.n {
				t.Errorf("progress calls %v, want the last to be %d", progress, tt.n)
			}
			chains := map[string]bool{}
			ids := map[crypto.Hash]bool{}
			for i, b := range pool {
				tx, err := ledger.DecodeTx(b)
				if err != nil {
					t.Fatalf("tx %d: %v", i, err)
				}
				if err := key.Public().Verify(tx.BodyBytes, tx.Signature); err != nil {
					t.Fatalf("tx %d: signature: %v", i, err)
				}
				if tx.Body.ChainID != "bench-chain" || tx.Body.Signer != key.Public().ID() || tx.Body.Time != 1_800_000_000*int64(time.Second) {
					t.Fatalf("tx %d: chain %q signer %v time %d", i, tx.Body.ChainID, tx.Body.Signer, tx.Body.Time)
				}
				recs := tx.Body.EvidenceRecords()
				switch tt.mode {
				case modeSigned:
					if tx.Body.Type() != ledger.TxEvidence {
						t.Fatalf("tx %d is %v, want evidence", i, tx.Body.Type())
					}
				case modeBatch:
					if tx.Body.Type() != ledger.TxBatch || len(recs) != tt.batchSize {
						t.Fatalf("tx %d is %v with %d records, want batch of %d", i, tx.Body.Type(), len(recs), tt.batchSize)
					}
				}
				for _, r := range recs {
					if r.Step != 1 || r.Kind != "bench" || r.Commitment == (crypto.Hash{}) {
						t.Fatalf("tx %d: record %+v", i, r)
					}
					if chains[r.Chain] {
						t.Fatalf("tx %d: chain %s repeats", i, r.Chain)
					}
					chains[r.Chain] = true
				}
				ids[tx.ID()] = true
			}
			if want := tt.n * max(1, tt.batchSize); len(chains) != want || len(ids) != tt.n {
				t.Errorf("%d distinct chains and %d distinct tx ids, want %d and %d", len(chains), len(ids), want, tt.n)
			}
		})
	}
}

// isValidKVTx is kvstore's own rule (abci/example/kvstore isValidTx) for
// "=" transactions.
func isValidKVTx(tx []byte) bool {
	return bytes.Count(tx, []byte("=")) == 1 && bytes.Count(tx, []byte(":")) == 0 &&
		tx[0] != '=' && tx[len(tx)-1] != '='
}

func TestPresignKV(t *testing.T) {
	g, _ := testGenerator(t, modeKV, 0)
	pool, err := presign(context.Background(), g, 200, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, tx := range pool {
		if len(tx) != kvTxSize || !isValidKVTx(tx) || tx[0] != 'k' || !bytes.Contains(tx, []byte("=v")) {
			t.Fatalf("tx %d = %q (%d bytes): want %d bytes of k…=v…", i, tx, len(tx), kvTxSize)
		}
		if seen[string(tx)] {
			t.Fatalf("tx %d repeats", i)
		}
		seen[string(tx)] = true
	}
}

func TestPresignCanceled(t *testing.T) {
	g, _ := testGenerator(t, modeSigned, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := presign(ctx, g, 1000, 2, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("presign after cancel: %v, want context.Canceled", err)
	}
}

// failingReader fails every read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestPresignReportsGeneratorError(t *testing.T) {
	g, _ := testGenerator(t, modeSigned, 0)
	g.rand = failingReader{}
	_, err := presign(context.Background(), g, 10, 2, nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("no entropy")) {
		t.Fatalf("presign with failing randomness: %v, want the cause", err)
	}
}
