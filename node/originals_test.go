package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/testutil"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
)

// startBank starts the single bank node of a fresh alliance and returns it
// with an API client holding the node's bearer token.
func startBank(t testing.TB, chainID string) (*testnet.Alliance, *node.Node, *client.Client) {
	t.Helper()
	return startBankWith(t, chainID, nil)
}

// startBankWith is startBank with edit, when not nil, applied to the bank's
// evidenced.toml first.
func startBankWith(t testing.TB, chainID string, edit func(*config.Config)) (*testnet.Alliance, *node.Node, *client.Client) {
	t.Helper()
	a := generateBank(t, chainID, edit)
	n, cl := startMember(t, a)
	return a, n, cl
}

// generateBank makes a one-member alliance, its config changed by edit
// when not nil, without starting it.
func generateBank(t testing.TB, chainID string, edit func(*config.Config)) *testnet.Alliance {
	t.Helper()
	a, err := testnet.Generate(testnet.Options{Out: filepath.Join(t.TempDir(), chainID), ChainID: chainID, Members: []string{"bank"},
		BasePort: testutil.FreePortBase(t, 40000, 2000, 10), TimeoutCommit: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		cfg, err := config.Load(a.Members[0].Home)
		if err != nil {
			t.Fatal(err)
		}
		edit(cfg)
		if err := cfg.Save(a.Members[0].Home); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// startMember starts the node of a's first member, stopped at the end of
// the test, and a client with its dev token.
func startMember(t testing.TB, a *testnet.Alliance) (*node.Node, *client.Client) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.New(a.Members[0].Home, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	cl, err := client.New(n.APIURL(), client.WithToken(readToken(t, a.TokensFile)))
	if err != nil {
		t.Fatal(err)
	}
	return n, cl
}

// readToken returns the first token of a tokens file.
func readToken(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	t.Fatalf("no token in %s", path)
	return ""
}

// committedRecord decodes the record of a committed single-record entry.
func committedRecord(t *testing.T, e *client.Entry) *ledger.Record {
	t.Helper()
	entry, err := ledger.DecodeEntry(e.Entry)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.DecodeTx(entry.TxBytes)
	if err != nil || len(tx.Body.EvidenceRecords()) != 1 {
		t.Fatalf("entry %d: %v, record %v", e.Index, err, tx)
	}
	return &tx.Body.EvidenceRecords()[0]
}

func TestUploadOriginal(t *testing.T) {
	a, n, cl := startBank(t, "evidenced-upload-test")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const size = 3<<20 + 12345
	res, err := cl.UploadOriginal(ctx, testutil.NewGenReader(size), size,
		client.OriginalParams{Kind: "loan-contract", Chain: "LOAN-UP1", Step: 1, Labels: map[string]string{"product": "consumer-loan"}, Wait: true})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if res.Status != client.StatusCommitted || res.Signer != "bank" || res.Size != size || len(res.Salt) != crypto.SaltSize || res.CipherSize <= size {
		t.Fatalf("result %+v", res)
	}
	e, err := cl.Entry(ctx, res.Index)
	if err != nil || e.TxID != res.TxID {
		t.Fatalf("entry %d: %+v, %v", res.Index, e, err)
	}
	rec := committedRecord(t, e)
	if rec.Cipher == nil || *rec.Cipher != res.Cipher || rec.CipherSize != res.CipherSize || len(rec.OwnerKey) == 0 ||
		rec.Commitment != res.Commitment || rec.Size != size || rec.Chain != "LOAN-UP1" {
		t.Fatalf("committed record %+v does not match the result %+v", rec, res)
	}

	// Rejected after the upload (prev names no entry): nothing is kept.
	_, err = cl.UploadOriginal(ctx, testutil.NewGenReader(100<<10), -1,
		client.OriginalParams{Kind: "loan-contract", Chain: "LOAN-NONE", Step: 2, Prev: crypto.SM3([]byte("no such entry")), Wait: true})
	var ce *client.Error
	if !errors.As(err, &ce) || !ce.IsRejection() {
		t.Fatalf("step 2 of a missing chain: %v, want a rejection", err)
	}
	// Rejected before the upload (the node checks the chain first).
	_, err = cl.UploadOriginal(ctx, testutil.NewGenReader(100<<10), 100<<10,
		client.OriginalParams{Kind: "loan-contract", Chain: "LOAN-UP1", Step: 1, Wait: true})
	if !errors.As(err, &ce) || ce.LedgerCode() != ledger.CodeChainStep {
		t.Fatalf("step 1 of an existing chain: %v, want chain_step", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// On disk: exactly the one blob, at the recorded address and size.
	home := a.Members[0].Home
	store, err := blob.Open(filepath.Join(home, node.BlobDir))
	if err != nil {
		t.Fatal(err)
	}
	count, total, err := store.Usage()
	if err != nil || count != 1 || total != int64(res.CipherSize) || !store.Has(res.Cipher) {
		t.Fatalf("blob store holds %d blobs of %d bytes (%v), want only %s of %d bytes", count, total, err, res.Cipher, res.CipherSize)
	}
	// The owner's member key unwraps key and salt; the original decrypts
	// and matches its commitment, byte for byte.
	memberKey, err := keyfile.Load(filepath.Join(home, "keys", "member.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key, salt, err := blob.UnwrapKey(memberKey, rec.OwnerKey)
	if err != nil || !bytes.Equal(salt, res.Salt) {
		t.Fatalf("unwrap with the member key: %v (salt %x, want %x)", err, salt, res.Salt)
	}
	var got bytes.Buffer
	if _, err := store.DecryptCommitted(res.Cipher, key, salt, rec.Commitment, &got); err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	want, _ := io.ReadAll(testutil.NewGenReader(size))
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("decrypted original (%d bytes) differs from the uploaded one (%d bytes)", got.Len(), len(want))
	}
	// The client key is not the owner's member key: it cannot unwrap.
	clientKey, err := keyfile.Load(a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := blob.UnwrapKey(clientKey, rec.OwnerKey); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("the client key unwraps the owner key: %v", err)
	}
}

// heapSampler records the largest HeapInuse seen while it runs.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	max  uint64
}

func sampleHeap() *heapSampler {
	s := &heapSampler{stop: make(chan struct{})}
	s.done.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			s.max = max(s.max, ms.HeapInuse)
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

// Stop ends the sampling and returns the peak.
func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	s.done.Wait()
	return s.max
}

// vmHWM returns the process's peak resident set size in KiB
// (/proc/self/status VmHWM), or 0 where it is not available.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// uploadBig uploads size generated bytes through a running node's HTTP API
// (client and node in this process) and returns the heap in use before
// (after a GC) and its peak during the upload. The running node's own
// heap (Badger's memtable arenas, CometBFT) is in both.
func uploadBig(t testing.TB, cl *client.Client, chain string, size int64) (base, peak uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base = ms.HeapInuse
	s := sampleHeap()
	res, err := cl.UploadOriginal(ctx, testutil.NewGenReader(size), size, client.OriginalParams{Kind: "recording", Chain: chain, Step: 1, Wait: true})
	peak = s.Stop()
	if err != nil {
		t.Fatalf("upload of %d MiB: %v", size>>20, err)
	}
	if res.Size != uint64(size) || res.Status != client.StatusCommitted {
		t.Fatalf("result %+v", res)
	}
	return base, peak
}

// TestUploadOriginalMemory uploads 1 GiB through the HTTP API of a real
// node to its blob store and checks that the heap in use grows by less
// than 64 MiB over the running node's, and that the process's peak RSS
// stays under 256 MiB. It takes a while: run it with EVIDENCED_BIG=1.
func TestUploadOriginalMemory(t *testing.T) {
	if os.Getenv("EVIDENCED_BIG") != "1" {
		t.Skip("uploads 1 GiB: set EVIDENCED_BIG=1 to run it")
	}
	_, _, cl := startBank(t, "evidenced-upload-big")
	const size = 1 << 30
	hwmBefore := vmHWM()
	start := time.Now()
	base, peak := uploadBig(t, cl, "REC-BIG-1", size)
	took := time.Since(start)
	hwm := vmHWM()
	t.Logf("1 GiB upload in %s (%.0f MiB/s): heap in use %d MiB before, peak %d MiB during; peak RSS (VmHWM) %d MiB before, %d MiB after",
		took.Round(time.Millisecond), float64(size>>20)/took.Seconds(), base>>20, peak>>20, hwmBefore>>10, hwm>>10)
	if peak > base+64<<20 {
		t.Errorf("the heap in use grew by %d MiB during a 1 GiB upload, want < 64 MiB", (peak-base)>>20)
	}
	if hwm > 256<<10 {
		t.Errorf("peak RSS %d MiB, want < 256 MiB", hwm>>10)
	}
}

// BenchmarkUploadOriginal uploads 256 MiB per iteration through a real
// node's HTTP API and reports the largest growth of the heap in use during
// an upload and the process's peak RSS.
func BenchmarkUploadOriginal(b *testing.B) {
	_, _, cl := startBank(b, "evidenced-upload-bench")
	const size = 256 << 20
	b.SetBytes(size)
	var growth uint64
	i := 0
	for b.Loop() {
		i++
		base, peak := uploadBig(b, cl, "REC-BENCH-"+strconv.Itoa(i), size)
		growth = max(growth, peak-min(peak, base))
	}
	b.ReportMetric(float64(growth>>20), "heap-growth-MiB")
	b.ReportMetric(float64(vmHWM()>>10), "peak-RSS-MiB")
}
