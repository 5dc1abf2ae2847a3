package snapshots

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/store"
)

const testChain = "evidenced-snapshots-test"

// chain is a ledger history committed to a real Badger store, block by
// block, as the ABCI app commits it.
type chain struct {
	t      *testing.T
	a      *ledgertest.Alliance
	l      *ledger.Ledger
	db     *store.DB
	height int64
	now    int64
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{ChainID: testChain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newChain commits the alliance's genesis to a new store.
func newChain(t *testing.T, a *ledgertest.Alliance) *chain {
	t.Helper()
	c := &chain{t: t, a: a, l: ledger.New(ledger.Options{}), db: openStore(t), now: ledgertest.GenesisTime}
	var out *ledger.Outcome
	err := c.db.Read(func(r ledger.Reader, _ int64) (err error) {
		out, err = c.l.InitChain(r, a.Genesis)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.db.Commit(store.Commit{Height: 0, AppHash: out.AppHash[:], Time: a.Genesis.Time, Changes: out.Changes}); err != nil {
		t.Fatal(err)
	}
	return c
}

func newAlliance(t *testing.T) *ledgertest.Alliance {
	t.Helper()
	a, err := ledgertest.NewAlliance(rand.Reader, testChain)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// block applies txs as the next block and commits it; every tx must be accepted.
func (c *chain) block(txs ...[]byte) *ledger.Outcome {
	c.t.Helper()
	c.height++
	c.now += int64(time.Second)
	var out *ledger.Outcome
	err := c.db.Read(func(r ledger.Reader, _ int64) (err error) {
		out, err = c.l.Apply(r, ledger.Block{Height: c.height, Time: c.now, Txs: txs})
		return err
	})
	if err != nil {
		c.t.Fatalf("apply block %d: %v", c.height, err)
	}
	for i, res := range out.Results {
		if res.Code != ledger.CodeOK {
			c.t.Fatalf("block %d tx %d: %s %s", c.height, i, res.Code, res.Log)
		}
	}
	if err := c.db.Commit(store.Commit{Height: c.height, AppHash: out.AppHash[:], Time: c.now, Changes: out.Changes}); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// history builds blocks of evidence: singles, a batch and an attestation,
// with the same transactions on every chain of the same alliance.
func history(a *ledgertest.Alliance, blocks int) [][][]byte {
	bank, notary := a.Key("bank-a"), a.Key("notary")
	t := ledgertest.GenesisTime
	var out [][][]byte
	for b := range blocks {
		t += int64(time.Second)
		var txs [][]byte
		for i := range 3 {
			txs = append(txs, a.Evidence(bank, t, ledger.Record{Kind: "loan-contract", Chain: fmt.Sprintf("LOAN-%d-%d", b, i), Step: 1,
				Commitment: ledgertest.Commitment(fmt.Sprint(b, i)), Size: 100,
				Labels: []ledger.Label{{Key: "product", Value: "consumer-loan"}}}))
		}
		if b%5 == 4 {
			var recs []ledger.Record
			for i := range 20 {
				recs = append(recs, ledger.Record{Kind: "repayment", Chain: fmt.Sprintf("BATCH-%d-%d", b, i), Step: 1,
					Commitment: ledgertest.Commitment(fmt.Sprint("batch", b, i)), Size: 10})
			}
			txs = append(txs, a.Batch(bank, t, recs))
		}
		if b%7 == 6 {
			txs = append(txs, a.Attest(notary, t, "notarised", ledger.RecordRef{Index: uint64(b), Pos: 0}))
		}
		out = append(out, txs)
	}
	return out
}

// build commits the blocks of history to c.
func (c *chain) build(blocks [][][]byte) {
	c.t.Helper()
	for _, txs := range blocks {
		c.block(txs...)
	}
}

func newManager(t *testing.T, db *store.DB, dir string, cfg Config) *Manager {
	t.Helper()
	cfg.Dir, cfg.ChainID = dir, testChain
	if cfg.Keep == 0 {
		cfg.Keep = 2
	}
	m, err := New(cfg, nil, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// pairs returns every pair of db's committed state and its height, app
// hash and block time.
func pairs(t *testing.T, db *store.DB) (kvs []ledger.KV, height int64, appHash []byte, blockTime int64) {
	t.Helper()
	s := db.Snapshot()
	defer s.Close()
	height, appHash, blockTime, err := s.Committed()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Export(func(k, v []byte) error {
		kvs = append(kvs, ledger.KV{Key: bytes.Clone(k), Value: bytes.Clone(v)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return kvs, height, appHash, blockTime
}

// restoreFrom restores the latest snapshot src serves into dst through
// Offer and ApplyChunk, with chunks passed through tamper (when set).
func restoreFrom(t *testing.T, src, dst *Manager, trusted []byte, tamper func(i uint32, chunk []byte) []byte) error {
	t.Helper()
	list := src.List()
	if len(list) == 0 {
		t.Fatal("the source serves no snapshot")
	}
	s := list[len(list)-1]
	if err := dst.Offer(s, trusted); err != nil {
		return err
	}
	for i := uint32(0); i < s.Chunks; i++ {
		chunk, err := src.LoadChunk(s.Height, s.Format, i)
		if err != nil || chunk == nil {
			t.Fatalf("LoadChunk(%d, %d, %d) = %d bytes, %v", s.Height, s.Format, i, len(chunk), err)
		}
		if tamper != nil {
			chunk = tamper(i, chunk)
		}
		done, err := dst.ApplyChunk(i, chunk, "source-node")
		if err != nil {
			return err
		}
		if done != (i == s.Chunks-1) {
			t.Fatalf("ApplyChunk(%d of %d) reported done=%v", i, s.Chunks, done)
		}
	}
	return nil
}

func TestRoundTrip(t *testing.T) {
	a := newAlliance(t)
	blocks := history(a, 40)
	src := newChain(t, a)
	src.build(blocks[:30])
	ms := newManager(t, src.db, t.TempDir(), Config{ChunkSize: MinChunkSize})
	meta, err := ms.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want, height, appHash, blockTime := pairs(t, src.db)
	if meta.Height != uint64(height) || meta.AppHash != crypto.Hash(appHash) || meta.Time != blockTime || meta.Pairs != uint64(len(want)) {
		t.Fatalf("metadata %+v does not describe height %d, app hash %x, time %d, %d pairs", meta, height, appHash, blockTime, len(want))
	}
	if len(meta.Chunks) < 10 {
		t.Fatalf("%d chunks of %d bytes: want many, to restore across chunk boundaries", len(meta.Chunks), MinChunkSize)
	}
	src.build(blocks[30:32]) // the source moves on; the snapshot stays at its height

	// A joining node: an empty store, no genesis.
	dst := &chain{t: t, a: a, l: ledger.New(ledger.Options{}), db: openStore(t)}
	md := newManager(t, dst.db, t.TempDir(), Config{})
	if err := restoreFrom(t, ms, md, appHash, nil); err != nil {
		t.Fatalf("restore: %v", err)
	}
	got, gotHeight, gotHash, gotTime := pairs(t, dst.db)
	if gotHeight != height || !bytes.Equal(gotHash, appHash) || gotTime != blockTime {
		t.Fatalf("restored height %d, app hash %x, time %d; want %d, %x, %d", gotHeight, gotHash, gotTime, height, appHash, blockTime)
	}
	if len(got) != len(want) {
		t.Fatalf("restored %d pairs, the source had %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Fatalf("pair %d: restored %x = %x, the source had %x = %x", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
	}
	var head ledger.LogHead
	if err := dst.db.Read(func(r ledger.Reader, _ int64) (err error) { head, err = ledger.NewView(r).Head(); return err }); err != nil {
		t.Fatal(err)
	}
	if head.AppHash != crypto.Hash(appHash) {
		t.Fatalf("the restored view's app hash is %s, want %x", head.AppHash, appHash)
	}
	// The restored node follows the chain: after the blocks the source
	// applied since, it has the source's app hash.
	dst.height, dst.now = height, blockTime
	dst.build(blocks[30:32])
	srcHeight, srcHash, err := src.db.Committed()
	if err != nil {
		t.Fatal(err)
	}
	dstHeight, dstHash, err := dst.db.Committed()
	if err != nil {
		t.Fatal(err)
	}
	if dstHeight != srcHeight || !bytes.Equal(dstHash, srcHash) {
		t.Fatalf("after the next blocks the restored node is at %d with app hash %x, the source at %d with %x", dstHeight, dstHash, srcHeight, srcHash)
	}
}

// restored is a source chain with a snapshot and an empty joining store.
type restored struct {
	src     *chain
	ms, md  *Manager
	dst     *store.DB
	appHash []byte
}

func setupRestore(t *testing.T, blocks int) *restored {
	t.Helper()
	a := newAlliance(t)
	src := newChain(t, a)
	src.build(history(a, blocks))
	ms := newManager(t, src.db, t.TempDir(), Config{ChunkSize: MinChunkSize})
	if _, err := ms.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, appHash, err := src.db.Committed()
	if err != nil {
		t.Fatal(err)
	}
	dst := openStore(t)
	return &restored{src: src, ms: ms, md: newManager(t, dst, t.TempDir(), Config{}), dst: dst, appHash: appHash}
}

// empty fails the test unless db shows nothing committed and holds no key.
func empty(t *testing.T, db *store.DB) {
	t.Helper()
	if h, _, err := db.Committed(); !errors.Is(err, store.ErrNothingCommitted) {
		t.Fatalf("the store is at height %d (%v), want nothing committed", h, err)
	}
	if kvs, err := db.Scan(nil, nil, 1); err != nil || len(kvs) != 0 {
		t.Fatalf("the store holds %d keys (%v), want none", len(kvs), err)
	}
}

func TestCorruptChunkIsRefetched(t *testing.T) {
	r := setupRestore(t, 12)
	s := r.ms.List()[0]
	if err := r.md.Offer(s, r.appHash); err != nil {
		t.Fatal(err)
	}
	for i := uint32(0); i < s.Chunks; i++ {
		chunk, err := r.ms.LoadChunk(s.Height, s.Format, i)
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			bad := bytes.Clone(chunk)
			bad[len(bad)/2] ^= 0x01
			_, err := r.md.ApplyChunk(i, bad, "liar")
			var bce *BadChunkError
			if !errors.As(err, &bce) || bce.Index != 2 || bce.Sender != "liar" {
				t.Fatalf("a corrupted chunk: %v, want a *BadChunkError of chunk 2 from liar", err)
			}
			// Nothing of it was written; the same chunk from another node is taken.
		}
		if _, err := r.md.ApplyChunk(i, chunk, "honest"); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	want, _, _, _ := pairs(t, r.src.db)
	got, _, gotHash, _ := pairs(t, r.dst)
	if len(got) != len(want) || !bytes.Equal(gotHash, r.appHash) {
		t.Fatalf("restored %d pairs with app hash %x, want %d with %x", len(got), gotHash, len(want), r.appHash)
	}
}

func TestOfferRefused(t *testing.T) {
	r := setupRestore(t, 4)
	good := r.ms.List()[0]
	meta, err := DecodeMetadata(good.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(m *Metadata)) Snapshot {
		m := *meta
		m.Chunks = slices.Clone(meta.Chunks)
		f(&m)
		h := m.Hash()
		return Snapshot{Height: m.Height, Format: Format, Chunks: uint32(len(m.Chunks)), Hash: h[:], Metadata: m.Encode()}
	}
	other := crypto.SM3([]byte("another app hash"))
	cases := []struct {
		name    string
		s       Snapshot
		trusted []byte
		want    error
	}{
		{"another format", Snapshot{Height: good.Height, Format: 2, Chunks: good.Chunks, Hash: good.Hash, Metadata: good.Metadata}, r.appHash, ErrUnknownFormat},
		{"metadata that does not decode", Snapshot{Height: good.Height, Format: Format, Chunks: good.Chunks, Hash: good.Hash, Metadata: good.Metadata[:40]}, r.appHash, ErrForged},
		{"a hash that is not the chunks'", Snapshot{Height: good.Height, Format: Format, Chunks: good.Chunks, Hash: other[:], Metadata: good.Metadata}, r.appHash, ErrForged},
		{"another height than the metadata's", Snapshot{Height: good.Height + 1, Format: Format, Chunks: good.Chunks, Hash: good.Hash, Metadata: good.Metadata}, r.appHash, ErrForged},
		{"an app hash other than the trusted one", good, other[:], ErrForged},
		{"an app hash claimed other than the trusted one", with(func(m *Metadata) { m.AppHash = other }), r.appHash, ErrForged},
		{"another chain", with(func(m *Metadata) { m.ChainID = "another-chain" }), r.appHash, ErrUnusable},
		{"another store schema", with(func(m *Metadata) { m.Schema++ }), r.appHash, ErrUnusable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.md.Offer(tc.s, tc.trusted); !errors.Is(err, tc.want) {
				t.Fatalf("Offer: %v, want %v", err, tc.want)
			}
			empty(t, r.dst)
		})
	}
	// A node with committed state restores nothing.
	if err := newManager(t, r.src.db, t.TempDir(), Config{}).Offer(good, r.appHash); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("Offer to a node with state: %v, want store.ErrNotEmpty", err)
	}
	if _, err := r.md.ApplyChunk(0, []byte{1}, "x"); !errors.Is(err, ErrNoRestore) {
		t.Fatalf("ApplyChunk without an Offer: %v, want ErrNoRestore", err)
	}
}

// A snapshot whose chunks match its metadata but whose state does not
// match the trusted app hash is refused after the last chunk, and nothing
// of it stays.
func TestForgedSnapshotRefused(t *testing.T) {
	r := setupRestore(t, 6)
	good := r.ms.List()[0]
	meta, err := DecodeMetadata(good.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	// forge rewrites every chunk with f, and the metadata to match.
	forge := func(f func(key, value []byte) []byte) (Snapshot, [][]byte) {
		m := *meta
		m.Chunks = nil
		var chunks [][]byte
		var last []byte
		for i := range good.Chunks {
			chunk, err := r.ms.LoadChunk(good.Height, Format, i)
			if err != nil {
				t.Fatal(err)
			}
			var kvs []ledger.KV
			if _, last, err = DecodeChunk(chunk, last, func(k, v []byte) error {
				kvs = append(kvs, ledger.KV{Key: k, Value: f(k, v)})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			forged, err := EncodeChunk(kvs)
			if err != nil {
				t.Fatal(err)
			}
			chunks = append(chunks, forged)
			m.Chunks = append(m.Chunks, crypto.SM3(forged))
		}
		h := m.Hash()
		return Snapshot{Height: m.Height, Format: Format, Chunks: uint32(len(m.Chunks)), Hash: h[:], Metadata: m.Encode()}, chunks
	}
	entry := []byte{'E', 0, 0, 0, 0, 0, 0, 0, 9}
	cases := []struct {
		name string
		f    func(key, value []byte) []byte
	}{
		{"an entry changed", func(k, v []byte) []byte {
			if bytes.Equal(k, entry) {
				return append(bytes.Clone(v), 0)
			}
			return v
		}},
		{"the log's head changed", func(k, v []byte) []byte {
			if bytes.Equal(k, []byte("L")) {
				v = bytes.Clone(v)
				v[len(v)-1] ^= 1 // the state digest
			}
			return v
		}},
		{"the block record changed", func(k, v []byte) []byte {
			if k[0] == 'B' && bytes.Equal(k[1:], []byte{0, 0, 0, 0, 0, 0, 0, byte(good.Height)}) {
				v = bytes.Clone(v)
				v[len(v)-1] ^= 1 // the block time
			}
			return v
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, chunks := forge(tc.f)
			if err := r.md.Offer(s, r.appHash); err != nil {
				t.Fatal(err)
			}
			var err error
			for i, c := range chunks {
				if _, err = r.md.ApplyChunk(uint32(i), c, fmt.Sprint("sender-", i%2)); err != nil {
					break
				}
			}
			var fe *ForgedError
			if !errors.As(err, &fe) || !errors.Is(err, ErrForged) {
				t.Fatalf("restoring a forged snapshot: %v, want a *ForgedError", err)
			}
			t.Logf("refused: %v", err)
			if len(chunks) > 1 && !slices.Equal(fe.Senders, []string{"sender-0", "sender-1"}) {
				t.Fatalf("the error names senders %v, want sender-0 and sender-1", fe.Senders)
			}
			empty(t, r.dst)
		})
	}
}

// Snapshots are local files, but two nodes with the same state write the
// same bytes.
func TestSnapshotsDeterministic(t *testing.T) {
	a := newAlliance(t)
	blocks := history(a, 15)
	var dirs []string
	for range 2 {
		c := newChain(t, a)
		c.build(blocks)
		dir := t.TempDir()
		if _, err := newManager(t, c.db, dir, Config{ChunkSize: MinChunkSize}).Create(context.Background()); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.Join(dir, "15"))
	}
	files, err := os.ReadDir(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("the snapshot has %d files", len(files))
	}
	for _, f := range files {
		b0, err0 := os.ReadFile(filepath.Join(dirs[0], f.Name()))
		b1, err1 := os.ReadFile(filepath.Join(dirs[1], f.Name()))
		if err0 != nil || err1 != nil || !bytes.Equal(b0, b1) {
			t.Fatalf("%s differs between two nodes with the same state (%v, %v)", f.Name(), err0, err1)
		}
	}
}

func TestSnapshotsTakenAfterCommit(t *testing.T) {
	a := newAlliance(t)
	c := newChain(t, a)
	dir := t.TempDir()
	m := newManager(t, c.db, dir, Config{Interval: 5, Keep: 2})
	for _, txs := range history(a, 17) {
		c.block(txs...)
		m.Committed(c.height)
		m.wg.Wait() // the background write, so that none is skipped
	}
	var heights []uint64
	for _, s := range m.List() {
		heights = append(heights, s.Height)
	}
	if !slices.Equal(heights, []uint64{10, 15}) {
		t.Fatalf("snapshots of heights %v, want the latest two: 10 and 15", heights)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"10", "15"}) {
		t.Fatalf("the snapshot directory holds %v, want 10 and 15", names)
	}

	// A restart lists them again and drops what an interrupted write left.
	if err := os.Mkdir(filepath.Join(dir, ".20.partial"), 0o700); err != nil {
		t.Fatal(err)
	}
	m2 := newManager(t, c.db, dir, Config{Interval: 5, Keep: 2})
	if got := m2.List(); len(got) != 2 || got[1].Height != 15 || !bytes.Equal(got[1].Metadata, m.List()[1].Metadata) {
		t.Fatalf("after a restart the manager lists %d snapshots", len(got))
	}
	if _, err := os.Stat(filepath.Join(dir, ".20.partial")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the partial snapshot is still there: %v", err)
	}

	// A chunk damaged on disk is not served, and its snapshot is dropped.
	path := filepath.Join(dir, "15", chunkFile(0))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if chunk, err := m2.LoadChunk(15, Format, 0); chunk != nil || err != nil {
		t.Fatalf("a damaged chunk was served: %d bytes, %v", len(chunk), err)
	}
	if got := m2.List(); len(got) != 1 || got[0].Height != 10 {
		t.Fatalf("after a damaged chunk the manager lists %v", got)
	}
	if chunk, err := m2.LoadChunk(10, Format, 99); chunk != nil || err != nil {
		t.Fatalf("a chunk beyond the snapshot: %d bytes, %v", len(chunk), err)
	}
}
