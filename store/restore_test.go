package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/evidenced/evidenced/ledger"
)

// exportAll returns every pair Export gives.
func exportAll(t *testing.T, s *Snapshot) []ledger.KV {
	t.Helper()
	var out []ledger.KV
	if err := s.Export(func(k, v []byte) error {
		out = append(out, ledger.KV{Key: bytes.Clone(k), Value: bytes.Clone(v)})
		return nil
	}); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return out
}

func TestExport(t *testing.T) {
	db := openMem(t)
	// Enough bytes for several pages, with values around the page size.
	var changes []ledger.KV
	for i := range 300 {
		changes = append(changes, ledger.KV{Key: fmt.Appendf(nil, "E%05d", i), Value: bytes.Repeat([]byte{byte(i)}, 9000+i)})
	}
	changes = append(changes, ledger.KV{Key: []byte("P"), Value: bytes.Repeat([]byte("p"), exportPageBytes-1000)})
	mustCommit(t, db, Commit{Height: 0, AppHash: []byte("genesis"), Time: 7, Changes: changes})
	snap := db.Snapshot()
	defer snap.Close()
	mustCommit(t, db, Commit{Height: 1, AppHash: []byte("later"), Changes: []ledger.KV{set([]byte("E00000"), "changed")}})

	got := exportAll(t, snap)
	if len(got) != len(changes) {
		t.Fatalf("Export gave %d pairs, want %d", len(got), len(changes))
	}
	for i, kv := range got {
		if !bytes.Equal(kv.Key, changes[i].Key) || !bytes.Equal(kv.Value, changes[i].Value) {
			t.Fatalf("pair %d: got key %q (%d bytes), want %q (%d bytes)", i, kv.Key, len(kv.Value), changes[i].Key, len(changes[i].Value))
		}
	}
	h, hash, tm, err := snap.Committed()
	if err != nil || h != 0 || string(hash) != "genesis" || tm != 7 {
		t.Fatalf("Committed() = %d, %q, %d, %v; want 0, genesis, 7", h, hash, tm, err)
	}
	stop := errors.New("stop")
	n := 0
	if err := snap.Export(func(k, v []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Export stopped by fn: %v after %d calls, want stop after 1", err, n)
	}
	empty := openMem(t).Snapshot()
	defer empty.Close()
	if got := exportAll(t, empty); len(got) != 0 {
		t.Fatalf("an empty store exported %d pairs", len(got))
	}
	if _, _, _, err := empty.Committed(); !errors.Is(err, ErrNothingCommitted) {
		t.Fatalf("Committed() of an empty store: %v, want ErrNothingCommitted", err)
	}
}

func TestRestore(t *testing.T) {
	src := openMem(t)
	var changes []ledger.KV
	for i := range 100 {
		changes = append(changes, set(fmt.Appendf(nil, "K%03d", i), fmt.Sprint("value ", i)))
	}
	mustCommit(t, src, Commit{Height: 0, AppHash: []byte("h0"), Changes: changes})
	mustCommit(t, src, Commit{Height: 1, AppHash: []byte("h1"), Time: 42, Changes: []ledger.KV{set([]byte("K000"), "new")}})
	snap := src.Snapshot()
	defer snap.Close()
	pairs := exportAll(t, snap)

	dst := openMem(t)
	r, err := dst.BeginRestore()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.BeginRestore(); !errors.Is(err, ErrRestoring) {
		t.Fatalf("a second BeginRestore: %v, want ErrRestoring", err)
	}
	for _, kv := range pairs[:50] {
		if err := r.Put(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Put([]byte{0, 3}, []byte("x")); !errors.Is(err, ErrReservedKey) {
		t.Fatalf("Put of a reserved key: %v, want ErrReservedKey", err)
	}
	// Readers see an empty store until Commit; the restore sees its pairs.
	if v, found, err := dst.Get([]byte("K001")); err != nil || found {
		t.Fatalf("Get during a restore = %q, %v, %v; want not found", v, found, err)
	}
	if err := dst.Read(func(r ledger.Reader, h int64) error {
		kvs, err := r.Scan(nil, nil, 10)
		if err != nil || len(kvs) != 0 || h != -1 {
			return fmt.Errorf("a reader during a restore saw %d pairs at height %d (%v)", len(kvs), h, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Commit(Commit{Height: 0}); !errors.Is(err, ErrRestoring) {
		t.Fatalf("Commit during a restore: %v, want ErrRestoring", err)
	}
	if err := r.Read(func(rd ledger.Reader) error {
		kvs, err := rd.Scan(nil, nil, 1000)
		if err != nil || len(kvs) != 50 {
			return fmt.Errorf("the restore's reader saw %d pairs (%v), want 50", len(kvs), err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, kv := range pairs[50:] {
		if err := r.Put(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	if r.Pairs() != len(pairs) {
		t.Fatalf("Pairs() = %d, want %d", r.Pairs(), len(pairs))
	}
	if err := r.Commit(1, []byte("h1"), 42); err != nil {
		t.Fatal(err)
	}
	if err := r.Put([]byte("K"), nil); err == nil {
		t.Fatal("Put after Commit succeeded")
	}
	h, hash, err := dst.Committed()
	if err != nil || h != 1 || string(hash) != "h1" {
		t.Fatalf("Committed() after the restore = %d, %q, %v", h, hash, err)
	}
	if tm, err := dst.CommittedTime(); err != nil || tm != 42 {
		t.Fatalf("CommittedTime() after the restore = %d, %v", tm, err)
	}
	got := exportAll(t, dst.Snapshot())
	if len(got) != len(pairs) {
		t.Fatalf("restored %d pairs, want %d", len(got), len(pairs))
	}
	for i := range got {
		if !bytes.Equal(got[i].Key, pairs[i].Key) || !bytes.Equal(got[i].Value, pairs[i].Value) {
			t.Fatalf("pair %d: %q=%q, want %q=%q", i, got[i].Key, got[i].Value, pairs[i].Key, pairs[i].Value)
		}
	}
	mustCommit(t, dst, Commit{Height: 2, AppHash: []byte("h2")})
	if _, err := dst.BeginRestore(); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("BeginRestore on a store with state: %v, want ErrNotEmpty", err)
	}
}

func TestRestoreAbort(t *testing.T) {
	db := openMem(t)
	r, err := db.BeginRestore()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := r.Put(fmt.Appendf(nil, "K%02d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Read(func(ledger.Reader) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := r.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := r.Abort(); err != nil {
		t.Fatalf("a second Abort: %v", err)
	}
	if kvs, err := db.Scan(nil, nil, 100); err != nil || len(kvs) != 0 {
		t.Fatalf("after Abort the store holds %d pairs (%v)", len(kvs), err)
	}
	// The store takes a new restore, or a genesis.
	r2, err := db.BeginRestore()
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Abort(); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, db, Commit{Height: 0, AppHash: []byte("genesis"), Changes: []ledger.KV{set([]byte("P"), "p")}})
}

// An Open after a crash during a restore discards the restore's data.
func TestRestoreInterrupted(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, diskOpts())
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.BeginRestore()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := r.Put(fmt.Appendf(nil, "K%02d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Read(func(ledger.Reader) error { return nil }); err != nil { // writes the pairs out
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // as if the process ended here
		t.Fatal(err)
	}
	if err := r.Put([]byte("K99"), []byte("v")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v, want ErrClosed", err)
	}
	db = openDir(t, dir, diskOpts())
	if kvs, err := db.Scan(nil, nil, 100); err != nil || len(kvs) != 0 {
		t.Fatalf("the reopened store holds %d pairs of the unfinished restore (%v)", len(kvs), err)
	}
	if _, _, err := db.Committed(); !errors.Is(err, ErrNothingCommitted) {
		t.Fatalf("Committed() after the unfinished restore: %v, want ErrNothingCommitted", err)
	}
	mustCommit(t, db, Commit{Height: 0, AppHash: []byte("genesis")})
}
