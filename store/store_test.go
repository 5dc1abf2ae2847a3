package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/evidenced/evidenced/ledger"
)

const testChain = "evidenced-test-1"

// openMem opens an in-memory store closed at the end of the test.
func openMem(t testing.TB) *DB {
	t.Helper()
	db, err := Open("", Options{InMemory: true, ChainID: testChain})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// openDir opens an on-disk store in dir, closed at the end of the test.
func openDir(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func diskOpts() Options {
	o := DefaultOptions()
	o.ChainID = testChain
	return o
}

// mustCommit commits c or fails the test.
func mustCommit(t testing.TB, db *DB, c Commit) {
	t.Helper()
	if err := db.Commit(c); err != nil {
		t.Fatalf("Commit(height %d): %v", c.Height, err)
	}
}

// set returns a change that sets key to value.
func set(key []byte, value string) ledger.KV { return ledger.KV{Key: key, Value: []byte(value)} }

// del returns a change that deletes key.
func del(key []byte) ledger.KV { return ledger.KV{Key: key, Delete: true} }

// k builds a key from a prefix byte and big-endian u64s.
func k(prefix byte, ns ...uint64) []byte {
	key := []byte{prefix}
	for _, n := range ns {
		key = binary.BigEndian.AppendUint64(key, n)
	}
	return key
}

// keysOf returns the keys of kvs.
func keysOf(kvs []ledger.KV) [][]byte {
	out := make([][]byte, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Key
	}
	return out
}

func equalKeys(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestGetScan(t *testing.T) {
	db := openMem(t)
	keys := [][]byte{
		{0x01},
		{'E'},
		k('E', 1),
		k('E', 2),
		k('E', 3),
		append(k('E', 3), 0x00),
		{'E', 0xff, 0xff},
		{'F'},
		k('F', 1),
		{0xfe, 0xff},
		{0xff},
		{0xff, 0x00},
		{0xff, 0xff},
		{0xff, 0xff, 0xff},
	}
	var changes []ledger.KV
	for _, key := range keys {
		changes = append(changes, set(key, fmt.Sprintf("v%x", key)))
	}
	mustCommit(t, db, Commit{Height: 0, AppHash: []byte("h0"), Changes: changes})

	t.Run("get", func(t *testing.T) {
		for _, key := range keys {
			v, found, err := db.Get(key)
			if err != nil || !found || string(v) != fmt.Sprintf("v%x", key) {
				t.Errorf("Get(%x) = %q, %v, %v; want %q", key, v, found, err, fmt.Sprintf("v%x", key))
			}
		}
		for _, key := range [][]byte{{'G'}, k('E', 4), {0xff, 0xfe}, {0x01, 0x00}} {
			v, found, err := db.Get(key)
			if err != nil || found || v != nil {
				t.Errorf("Get(%x) = %q, %v, %v; want absent", key, v, found, err)
			}
		}
	})

	tests := []struct {
		name          string
		prefix, start []byte
		limit         int
		want          [][]byte
	}{
		{"prefix E", []byte{'E'}, nil, 100, [][]byte{{'E'}, k('E', 1), k('E', 2), k('E', 3), append(k('E', 3), 0x00), {'E', 0xff, 0xff}}},
		{"prefix E limit 2", []byte{'E'}, nil, 2, [][]byte{{'E'}, k('E', 1)}},
		{"prefix E limit 0", []byte{'E'}, nil, 0, nil},
		{"prefix E limit -1", []byte{'E'}, nil, -1, nil},
		{"prefix E start inside", []byte{'E'}, k('E', 2), 100, [][]byte{k('E', 2), k('E', 3), append(k('E', 3), 0x00), {'E', 0xff, 0xff}}},
		{"prefix E start between", []byte{'E'}, append(k('E', 2), 0x00), 2, [][]byte{k('E', 3), append(k('E', 3), 0x00)}},
		{"prefix E start before prefix", []byte{'E'}, []byte{'A'}, 1, [][]byte{{'E'}}},
		{"prefix E start after prefix", []byte{'E'}, []byte{'F'}, 100, nil},
		{"prefix E start past last", []byte{'E'}, []byte{'E', 0xff, 0xff, 0x00}, 100, nil},
		{"long prefix", k('E', 3), nil, 100, [][]byte{k('E', 3), append(k('E', 3), 0x00)}},
		{"prefix equals key only", k('F', 1), nil, 100, [][]byte{k('F', 1)}},
		{"absent prefix", []byte{'G'}, nil, 100, nil},
		{"prefix ff", []byte{0xff}, nil, 100, [][]byte{{0xff}, {0xff, 0x00}, {0xff, 0xff}, {0xff, 0xff, 0xff}}},
		{"prefix ff ff", []byte{0xff, 0xff}, nil, 100, [][]byte{{0xff, 0xff}, {0xff, 0xff, 0xff}}},
		{"prefix ff start ff 01", []byte{0xff}, []byte{0xff, 0x01}, 100, [][]byte{{0xff, 0xff}, {0xff, 0xff, 0xff}}},
		{"prefix fe", []byte{0xfe}, nil, 100, [][]byte{{0xfe, 0xff}}},
		{"empty prefix skips reserved", nil, nil, 3, [][]byte{{0x01}, {'E'}, k('E', 1)}},
		{"empty prefix reserved start", nil, []byte{0x00, 0x03}, 1, [][]byte{{0x01}}},
		{"empty prefix start", nil, []byte{0xff, 0xff}, 100, [][]byte{{0xff, 0xff}, {0xff, 0xff, 0xff}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Scan(tc.prefix, tc.start, tc.limit)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if !equalKeys(keysOf(got), tc.want) {
				t.Fatalf("Scan(%x, %x, %d) keys = %x; want %x", tc.prefix, tc.start, tc.limit, keysOf(got), tc.want)
			}
			for _, kv := range got {
				if string(kv.Value) != fmt.Sprintf("v%x", kv.Key) || kv.Delete {
					t.Errorf("Scan pair %x = %q, delete=%v", kv.Key, kv.Value, kv.Delete)
				}
			}
		})
	}
}

func TestScanBigEndianOrder(t *testing.T) {
	db := openMem(t)
	nums := []uint64{65536, 1, 256, 0, 1 << 40, 255, 2, 1<<64 - 1}
	var changes []ledger.KV
	for _, n := range nums {
		changes = append(changes, set(k('E', n), fmt.Sprint(n)))
	}
	mustCommit(t, db, Commit{Height: 0, Changes: changes})
	got, err := db.Scan([]byte{'E'}, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0", "1", "2", "255", "256", "65536", fmt.Sprint(uint64(1 << 40)), fmt.Sprint(uint64(1<<64 - 1))}
	if len(got) != len(want) {
		t.Fatalf("Scan returned %d pairs, want %d", len(got), len(want))
	}
	for i, kv := range got {
		if string(kv.Value) != want[i] {
			t.Errorf("pair %d = %s, want %s", i, kv.Value, want[i])
		}
	}
	// Resume a paged scan from just after the last key seen.
	page, err := db.Scan([]byte{'E'}, k('E', 256), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || string(page[0].Value) != "256" || string(page[1].Value) != "65536" {
		t.Errorf("Scan from 256 = %v", page)
	}
}

func TestReturnedSlicesOwnedByCaller(t *testing.T) {
	db := openMem(t)
	key := k('E', 1)
	mustCommit(t, db, Commit{Height: 0, Changes: []ledger.KV{set(key, "value")}})
	v, _, _ := db.Get(key)
	v[0] = 'X'
	kvs, _ := db.Scan([]byte{'E'}, nil, 1)
	kvs[0].Key[0], kvs[0].Value[0] = 'Q', 'Y'
	v2, _, _ := db.Get(key)
	if string(v2) != "value" {
		t.Fatalf("stored value changed through a returned slice: %q", v2)
	}
}

func TestReservedKeys(t *testing.T) {
	db := openMem(t)
	mustCommit(t, db, Commit{Height: 0})
	for _, key := range [][]byte{nil, {}, {0x00}, keyHeight, keySchema} {
		if _, _, err := db.Get(key); !errors.Is(err, ErrReservedKey) {
			t.Errorf("Get(%x) error = %v, want ErrReservedKey", key, err)
		}
		err := db.Commit(Commit{Height: 1, Changes: []ledger.KV{set(k('E', 1), "ok"), set(key, "bad")}})
		if !errors.Is(err, ErrReservedKey) {
			t.Errorf("Commit with key %x error = %v, want ErrReservedKey", key, err)
		}
		if err := db.Commit(Commit{Height: 1, Changes: []ledger.KV{del(key)}}); !errors.Is(err, ErrReservedKey) {
			t.Errorf("Commit deleting %x error = %v, want ErrReservedKey", key, err)
		}
	}
	if _, err := db.Scan([]byte{0x00}, nil, 10); !errors.Is(err, ErrReservedKey) {
		t.Errorf("Scan(0x00) error = %v, want ErrReservedKey", err)
	}
	// The rejected commits wrote nothing.
	if h, _, err := db.Committed(); err != nil || h != 0 {
		t.Errorf("Committed() = %d, %v; want 0", h, err)
	}
	if _, found, _ := db.Get(k('E', 1)); found {
		t.Error("a change of a rejected commit was written")
	}
	snap := db.Snapshot()
	defer snap.Close()
	if _, _, err := snap.Get([]byte{0x00, 0x01}); !errors.Is(err, ErrReservedKey) {
		t.Errorf("Snapshot.Get(reserved) error = %v", err)
	}
	if _, err := snap.Scan([]byte{0x00}, nil, 1); !errors.Is(err, ErrReservedKey) {
		t.Errorf("Snapshot.Scan(reserved) error = %v", err)
	}
}

func TestCommitHeights(t *testing.T) {
	tests := []struct {
		name    string
		heights []int64
		wantErr []bool // per height
	}{
		{"sequence from 0", []int64{0, 1, 2, 3}, []bool{false, false, false, false}},
		{"first must be 0", []int64{1, 0, 1}, []bool{true, false, false}},
		{"negative", []int64{-1, 0}, []bool{true, false}},
		{"gap", []int64{0, 2, 1, 3}, []bool{false, true, false, true}},
		{"repeat", []int64{0, 1, 1, 0, 2}, []bool{false, false, true, true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openMem(t)
			last := int64(-1)
			for i, h := range tc.heights {
				err := db.Commit(Commit{Height: h, AppHash: []byte{byte(h)}, Changes: []ledger.KV{set(k('E', uint64(h)), "x")}})
				if tc.wantErr[i] {
					if !errors.Is(err, ErrHeightGap) {
						t.Fatalf("Commit(%d) error = %v, want ErrHeightGap", h, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Commit(%d): %v", h, err)
				}
				last = h
			}
			got, hash, err := db.Committed()
			if err != nil || got != last || !bytes.Equal(hash, []byte{byte(last)}) {
				t.Fatalf("Committed() = %d, %x, %v; want %d", got, hash, err, last)
			}
		})
	}
}

func TestHeightGapMessage(t *testing.T) {
	db := openMem(t)
	err := db.Commit(Commit{Height: 5})
	if err == nil || !strings.Contains(err.Error(), "first commit must be height 0") {
		t.Errorf("error = %v", err)
	}
	mustCommit(t, db, Commit{Height: 0})
	err = db.Commit(Commit{Height: 5})
	if err == nil || !strings.Contains(err.Error(), "last committed height is 0, so the next must be 1") {
		t.Errorf("error = %v", err)
	}
}

func TestCommitted(t *testing.T) {
	db := openMem(t)
	h, hash, err := db.Committed()
	if !errors.Is(err, ErrNothingCommitted) || h != 0 || hash != nil {
		t.Fatalf("Committed() on empty store = %d, %x, %v", h, hash, err)
	}
	if _, err := db.CommittedTime(); !errors.Is(err, ErrNothingCommitted) {
		t.Fatalf("CommittedTime() on empty store error = %v", err)
	}
	mustCommit(t, db, Commit{Height: 0, AppHash: []byte("genesis"), Time: 1_700_000_000_000_000_000})
	mustCommit(t, db, Commit{Height: 1, AppHash: []byte("one"), Time: 1_700_000_001_000_000_000})
	h, hash, err = db.Committed()
	if err != nil || h != 1 || string(hash) != "one" {
		t.Fatalf("Committed() = %d, %q, %v; want 1, one", h, hash, err)
	}
	hash[0] = 'X'
	if _, hash2, _ := db.Committed(); string(hash2) != "one" {
		t.Errorf("app hash changed through returned slice: %q", hash2)
	}
	if tm, err := db.CommittedTime(); err != nil || tm != 1_700_000_001_000_000_000 {
		t.Errorf("CommittedTime() = %d, %v", tm, err)
	}
}

func TestChangesInOrder(t *testing.T) {
	db := openMem(t)
	a, b, c := k('E', 1), k('E', 2), k('E', 3)
	mustCommit(t, db, Commit{Height: 0, Changes: []ledger.KV{set(a, "a0"), set(b, "b0"), set(c, "c0")}})
	mustCommit(t, db, Commit{Height: 1, Changes: []ledger.KV{
		del(a),
		set(b, "b1"), set(b, "b2"), // later wins
		del(c), set(c, "c1"), // set after delete wins
		set(k('E', 4), "d1"), del(k('E', 4)), // delete after set wins
		set(k('E', 5), ""), // empty value is a value
	}})
	want := map[string]struct {
		v     string
		found bool
	}{
		string(a):         {"", false},
		string(b):         {"b2", true},
		string(c):         {"c1", true},
		string(k('E', 4)): {"", false},
		string(k('E', 5)): {"", true},
	}
	for key, w := range want {
		v, found, err := db.Get([]byte(key))
		if err != nil || found != w.found || string(v) != w.v {
			t.Errorf("Get(%x) = %q, %v, %v; want %q, %v", key, v, found, err, w.v, w.found)
		}
	}
	got, _ := db.Scan([]byte{'E'}, nil, 10)
	if want := [][]byte{b, c, k('E', 5)}; !equalKeys(keysOf(got), want) {
		t.Errorf("Scan keys = %x, want %x", keysOf(got), want)
	}
}

func TestReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := Open(dir, diskOpts())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	mustCommit(t, db, Commit{Height: 0, AppHash: []byte("h0"), Changes: []ledger.KV{set(k('E', 1), "one")}})
	mustCommit(t, db, Commit{Height: 1, AppHash: []byte("h1"), Time: 42, Changes: []ledger.KV{set(k('E', 2), "two")}})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDir(t, dir, diskOpts())
	h, hash, err := db.Committed()
	if err != nil || h != 1 || string(hash) != "h1" {
		t.Fatalf("after reopen Committed() = %d, %q, %v", h, hash, err)
	}
	if tm, _ := db.CommittedTime(); tm != 42 {
		t.Errorf("CommittedTime = %d, want 42", tm)
	}
	got, err := db.Scan([]byte{'E'}, nil, 10)
	if err != nil || len(got) != 2 || string(got[0].Value) != "one" || string(got[1].Value) != "two" {
		t.Fatalf("after reopen Scan = %v, %v", got, err)
	}
	mustCommit(t, db, Commit{Height: 2})
}

func TestOpenErrors(t *testing.T) {
	t.Run("no chain id", func(t *testing.T) {
		_, err := Open(t.TempDir(), Options{SyncWrites: true})
		if !errors.Is(err, ErrNoChainID) {
			t.Fatalf("error = %v, want ErrNoChainID", err)
		}
	})
	t.Run("chain mismatch", func(t *testing.T) {
		dir := t.TempDir()
		db, err := Open(dir, Options{ChainID: "chain-a"})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		_, err = Open(dir, Options{ChainID: "chain-b"})
		if !errors.Is(err, ErrChainMismatch) {
			t.Fatalf("error = %v, want ErrChainMismatch", err)
		}
		for _, s := range []string{`"chain-a"`, `"chain-b"`, dir} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not name %s", err, s)
			}
		}
		// The failed Open released the directory: the right chain opens.
		openDir(t, dir, Options{ChainID: "chain-a"})
	})
	t.Run("schema mismatch", func(t *testing.T) {
		dir := t.TempDir()
		db, err := Open(dir, diskOpts())
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		rawSet(t, dir, keySchema, binary.BigEndian.AppendUint32(nil, 7))
		_, err = Open(dir, diskOpts())
		if !errors.Is(err, ErrSchemaMismatch) {
			t.Fatalf("error = %v, want ErrSchemaMismatch", err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("found 7, this binary supports %d", SchemaVersion)) {
			t.Errorf("error %q does not give both versions", err)
		}
	})
	t.Run("corrupt schema", func(t *testing.T) {
		dir := t.TempDir()
		db, err := Open(dir, diskOpts())
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		rawSet(t, dir, keySchema, []byte{1})
		if _, err = Open(dir, diskOpts()); !errors.Is(err, ledger.ErrStoreCorrupt) {
			t.Fatalf("error = %v, want ErrStoreCorrupt", err)
		}
	})
	t.Run("foreign badger data", func(t *testing.T) {
		dir := t.TempDir()
		rawSet(t, dir, []byte("someone else's key"), []byte("v"))
		_, err := Open(dir, diskOpts())
		if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "no schema version") {
			t.Fatalf("error = %v, want ErrSchemaMismatch (no schema version)", err)
		}
	})
	t.Run("directory in use", func(t *testing.T) {
		dir := t.TempDir()
		openDir(t, dir, diskOpts())
		_, err := Open(dir, diskOpts())
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Fatalf("second Open error = %v, want one naming %s", err, dir)
		}
	})
	t.Run("dir is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(f, diskOpts()); err == nil || !strings.Contains(err.Error(), f) {
			t.Fatalf("Open(file) error = %v", err)
		}
	})
}

// rawSet writes key=value into the Badger database in dir directly.
func rawSet(t *testing.T, dir string, key, value []byte) {
	t.Helper()
	bdb, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(txn *badger.Txn) error { return txn.Set(key, value) })
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestSnapshot(t *testing.T) {
	db := openMem(t)
	empty := db.Snapshot()
	if empty.Height() != -1 {
		t.Errorf("snapshot of empty store Height() = %d, want -1", empty.Height())
	}
	empty.Close()

	key := k('E', 1)
	mustCommit(t, db, Commit{Height: 0, Changes: []ledger.KV{set(key, "v0")}})
	snap := db.Snapshot()
	defer snap.Close()
	mustCommit(t, db, Commit{Height: 1, Changes: []ledger.KV{set(key, "v1"), set(k('E', 2), "new")}})
	mustCommit(t, db, Commit{Height: 2, Changes: []ledger.KV{del(key)}})

	if snap.Height() != 0 {
		t.Errorf("Height() = %d, want 0", snap.Height())
	}
	if v, found, err := snap.Get(key); err != nil || !found || string(v) != "v0" {
		t.Errorf("snapshot Get = %q, %v, %v; want v0", v, found, err)
	}
	if kvs, err := snap.Scan([]byte{'E'}, nil, 10); err != nil || len(kvs) != 1 || string(kvs[0].Value) != "v0" {
		t.Errorf("snapshot Scan = %v, %v; want only v0", kvs, err)
	}
	if _, found, _ := db.Get(key); found {
		t.Error("DB.Get sees a deleted key")
	}
	later := db.Snapshot()
	if later.Height() != 2 {
		t.Errorf("later Height() = %d, want 2", later.Height())
	}
	later.Close()
	later.Close() // twice is fine
	if _, _, err := later.Get(key); !errors.Is(err, ErrClosed) {
		t.Errorf("Get on closed snapshot error = %v, want ErrClosed", err)
	}
	if _, err := later.Scan(nil, nil, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Scan on closed snapshot error = %v, want ErrClosed", err)
	}
}

// TestRead: Read shows one consistent snapshot with its height, releases
// it when fn returns, and passes fn's error through.
func TestRead(t *testing.T) {
	db := openMem(t)
	key := k('E', 1)
	var h int64
	if err := db.Read(func(_ ledger.Reader, height int64) error { h = height; return nil }); err != nil || h != -1 {
		t.Errorf("Read of an empty store: height %d, %v; want -1", h, err)
	}
	mustCommit(t, db, Commit{Height: 0, Changes: []ledger.KV{set(key, "v0")}})
	var kept ledger.Reader
	err := db.Read(func(r ledger.Reader, height int64) error {
		mustCommit(t, db, Commit{Height: 1, Changes: []ledger.KV{set(key, "v1")}})
		v, found, err := r.Get(key)
		if err != nil || !found || string(v) != "v0" || height != 0 {
			t.Errorf("Read at height %d sees %q, %v, %v; want v0 at height 0", height, v, found, err)
		}
		kept = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := kept.Get(key); !errors.Is(err, ErrClosed) {
		t.Errorf("a reader kept after Read returned: %v, want ErrClosed", err)
	}
	want := errors.New("fn failed")
	if err := db.Read(func(ledger.Reader, int64) error { return want }); err != want {
		t.Errorf("Read = %v, want fn's error", err)
	}
	db.mu.RLock()
	open := len(db.snaps)
	db.mu.RUnlock()
	if open != 0 {
		t.Errorf("%d snapshots still open after Read", open)
	}
}

func TestClose(t *testing.T) {
	db, err := Open("", Options{InMemory: true, ChainID: testChain})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, db, Commit{Height: 0})
	snap := db.Snapshot()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	snap.Close() // after DB.Close: no-op
	snap.Close()
	checks := map[string]error{}
	_, _, checks["Get"] = db.Get(k('E', 1))
	_, checks["Scan"] = db.Scan(nil, nil, 1)
	checks["Commit"] = db.Commit(Commit{Height: 1})
	_, _, checks["Committed"] = db.Committed()
	_, checks["CommittedTime"] = db.CommittedTime()
	_, _, checks["Snapshot.Get"] = snap.Get(k('E', 1))
	s2 := db.Snapshot()
	_, checks["new Snapshot.Scan"] = s2.Scan(nil, nil, 1)
	s2.Close()
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: error = %v, want ErrClosed", name, err)
		}
	}
	if lsm, vlog := db.Size(); lsm != 0 || vlog != 0 {
		t.Errorf("Size after Close = %d, %d", lsm, vlog)
	}
}

// largeBlock returns the changes of a block of n evidence records: per
// record an entry (910 bytes), a tx-id index and a commitment index, so
// about 3n keys and n KB.
func largeBlock(n int, seed uint64) []ledger.KV {
	changes := make([]ledger.KV, 0, 3*n)
	for i := range n {
		idx := seed + uint64(i)
		entry := bytes.Repeat([]byte{byte(idx)}, 910)
		txid := make([]byte, 33)
		txid[0] = 'T'
		binary.BigEndian.PutUint64(txid[1:], idx)
		commit := make([]byte, 1+32+8+2)
		commit[0] = 'c'
		binary.BigEndian.PutUint64(commit[1:], ^idx)
		changes = append(changes,
			ledger.KV{Key: k('E', idx), Value: entry},
			ledger.KV{Key: txid, Value: binary.BigEndian.AppendUint64(nil, idx)},
			ledger.KV{Key: commit, Value: []byte{}},
		)
	}
	return changes
}

func changeBytes(changes []ledger.KV) int {
	n := 0
	for _, kv := range changes {
		n += len(kv.Key) + len(kv.Value)
	}
	return n
}

func TestLargeCommit(t *testing.T) {
	db := openMem(t)
	if got := db.bdb.MaxBatchSize(); got != MaxCommitBytes {
		t.Errorf("Badger MaxBatchSize = %d, MaxCommitBytes = %d", got, MaxCommitBytes)
	}
	t.Logf("max commit: %d bytes, %d keys", db.bdb.MaxBatchSize(), db.bdb.MaxBatchCount())

	block := largeBlock(10_000, 0)
	if len(block) != 30_000 || changeBytes(block) < 10_000_000 {
		t.Fatalf("test block has %d keys, %d bytes; want 30000 keys, >= 10 MB", len(block), changeBytes(block))
	}
	mustCommit(t, db, Commit{Height: 0, AppHash: []byte("big"), Changes: block})
	for _, i := range []uint64{0, 4999, 9999} {
		v, found, err := db.Get(k('E', i))
		if err != nil || !found || len(v) != 910 || v[0] != byte(i) {
			t.Fatalf("Get(E %d) = %d bytes, %v, %v", i, len(v), found, err)
		}
	}
	kvs, err := db.Scan([]byte{'T'}, nil, 20_000)
	if err != nil || len(kvs) != 10_000 {
		t.Fatalf("Scan(T) = %d pairs, %v; want 10000", len(kvs), err)
	}

	// Twice the size does not fit and leaves nothing behind.
	tooBig := largeBlock(20_000, 100_000)
	err = db.Commit(Commit{Height: 1, AppHash: []byte("too big"), Changes: tooBig})
	if !errors.Is(err, ErrCommitTooBig) || !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("Commit of %d bytes error = %v, want ErrCommitTooBig", changeBytes(tooBig), err)
	}
	if h, hash, _ := db.Committed(); h != 0 || string(hash) != "big" {
		t.Errorf("after failed commit Committed() = %d, %q", h, hash)
	}
	if _, found, _ := db.Get(k('E', 100_000)); found {
		t.Error("first change of the failed commit was written")
	}
	mustCommit(t, db, Commit{Height: 1, AppHash: []byte("next")})
}

// record is one slog record seen by recordingHandler.
type record struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// recordingHandler is a slog.Handler that keeps every record.
type recordingHandler struct {
	mu    *sync.Mutex
	recs  *[]record
	attrs []slog.Attr
}

func newRecordingHandler() *recordingHandler {
	return &recordingHandler{mu: &sync.Mutex{}, recs: &[]record{}}
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	rec := record{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, rec)
	return nil
}

func (h *recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &h2
}

func (h *recordingHandler) WithGroup(string) slog.Handler { return h }

func (h *recordingHandler) records() []record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]record(nil), *h.recs...)
}

func TestBadgerLogs(t *testing.T) {
	h := newRecordingHandler()
	opts := diskOpts()
	opts.Logger = slog.New(h)
	db, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, db, Commit{Height: 0})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	recs := h.records()
	var info int
	for _, r := range recs {
		if r.attrs["component"] != "badger" {
			t.Errorf("record %q has component=%q, want badger", r.msg, r.attrs["component"])
		}
		if strings.HasSuffix(r.msg, "\n") {
			t.Errorf("record %q ends in a newline", r.msg)
		}
		if r.level == slog.LevelDebug {
			info++
		}
	}
	if info == 0 {
		t.Fatalf("no Badger info line (logged at Debug) among %d records", len(recs))
	}

	t.Run("levels", func(t *testing.T) {
		h := newRecordingHandler()
		l := newBadgerLogger(slog.New(h))
		l.Errorf("e %d\n", 1)
		l.Warningf("w %s", "x")
		l.Infof("i")
		l.Debugf("d")
		want := []record{
			{slog.LevelError, "e 1", nil},
			{slog.LevelWarn, "w x", nil},
			{slog.LevelDebug, "i", nil},
			{slog.LevelDebug, "d", nil},
		}
		got := h.records()
		if len(got) != len(want) {
			t.Fatalf("got %d records, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].level != want[i].level || got[i].msg != want[i].msg || got[i].attrs["component"] != "badger" {
				t.Errorf("record %d = %v %q %v; want %v %q component=badger", i, got[i].level, got[i].msg, got[i].attrs, want[i].level, want[i].msg)
			}
		}
	})
	t.Run("nil logger", func(t *testing.T) {
		db, err := Open(t.TempDir(), diskOpts()) // Logger nil: discarded, no panic
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
	})
}

func TestSize(t *testing.T) {
	db := openDir(t, t.TempDir(), diskOpts())
	mustCommit(t, db, Commit{Height: 0, Changes: largeBlock(1000, 0)})
	lsm, vlog := db.Size()
	if lsm <= 0 || vlog < 0 {
		t.Errorf("Size() = %d, %d; want lsm > 0", lsm, vlog)
	}
	// Pre-allocated sparse logs are not counted at their full length.
	if total := lsm + vlog; total > 64<<20 {
		t.Errorf("Size() = %d + %d bytes for ~1 MB of data", lsm, vlog)
	}
	if lsm, vlog := openMem(t).Size(); lsm != 0 || vlog != 0 {
		t.Errorf("in-memory Size() = %d, %d", lsm, vlog)
	}
}

// TestConcurrentUse exercises every method from several goroutines at once
// (for the race detector) while checking that readers see whole commits.
func TestConcurrentUse(t *testing.T) {
	db := openMem(t)
	mustCommit(t, db, Commit{Height: 0, Changes: []ledger.KV{set([]byte{'A'}, "0"), set([]byte{'B'}, "0")}})
	const heights = 200
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for h := int64(1); h <= heights; h++ {
			v := fmt.Sprint(h)
			if err := db.Commit(Commit{Height: h, Changes: []ledger.KV{set([]byte{'A'}, v), set([]byte{'B'}, v)}}); err != nil {
				errs <- err
				return
			}
		}
	})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				s := db.Snapshot()
				kvs, err := s.Scan(nil, nil, 10)
				h := s.Height()
				s.Close()
				if err != nil {
					errs <- err
					return
				}
				if len(kvs) != 2 || string(kvs[0].Value) != string(kvs[1].Value) || string(kvs[0].Value) != fmt.Sprint(h) {
					errs <- fmt.Errorf("snapshot at height %d saw %v", h, kvs)
					return
				}
				if _, _, err := db.Get([]byte{'A'}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
