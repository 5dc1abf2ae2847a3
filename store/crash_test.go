package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/ledger"
)

const crashDirEnv = "EVIDENCED_STORE_CRASH_DIR"

// crashKeysPerHeight is how many 'A' keys each crash-test height writes.
const crashKeysPerHeight = 50

// crashChanges returns the change set of height h in the crash test: 50
// new 'A' keys, 'Z' overwritten with h, 'D'‖h set and 'D'‖h-1 deleted.
func crashChanges(h int64) []ledger.KV {
	var changes []ledger.KV
	for i := range crashKeysPerHeight {
		changes = append(changes, ledger.KV{Key: k('A', uint64(h), uint64(i)), Value: crashValue(h, i)})
	}
	changes = append(changes,
		ledger.KV{Key: []byte{'Z'}, Value: binary.BigEndian.AppendUint64(nil, uint64(h))},
		ledger.KV{Key: k('D', uint64(h)), Value: []byte("d")},
	)
	if h > 0 {
		changes = append(changes, ledger.KV{Key: k('D', uint64(h-1)), Delete: true})
	}
	return changes
}

func crashValue(h int64, i int) []byte {
	return fmt.Appendf(nil, "height %d key %d %s", h, i, strings.Repeat("x", 150))
}

func crashAppHash(h int64) []byte { return fmt.Appendf(nil, "app-hash-%d", h) }

// TestHelperProcess is not a test: run by TestCrashRecovery in a child
// process, it commits heights in a loop, printing each one once committed,
// until it is killed.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashRecovery")
	}
	db, err := Open(dir, diskOpts())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	h, _, err := db.Committed()
	if err == nil {
		h++
	}
	for ; ; h++ {
		if err := db.Commit(Commit{Height: h, AppHash: crashAppHash(h), Time: h, Changes: crashChanges(h)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("committed %d\n", h)
	}
}

// TestCrashRecovery SIGKILLs a process that is committing in a loop, then
// checks that the reopened store holds every change of every committed
// height and nothing of a later one. It repeats, continuing from the
// recovered height each round.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	for round := range 3 {
		reported := runAndKill(t, dir, 25)
		db, err := Open(dir, diskOpts())
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		h := checkCrashState(t, db)
		if h < reported {
			t.Fatalf("round %d: committed height %d after reopen, but the child reported %d committed", round, h, reported)
		}
		t.Logf("round %d: child reported %d, store holds %d", round, reported, h)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runAndKill starts the helper on dir, waits until it has reported n more
// commits, kills it with SIGKILL and returns the last height it reported.
func runAndKill(t *testing.T, dir string, n int) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	last, seen := int64(-1), 0
	for seen < n && sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "committed ")
		if !ok {
			continue
		}
		h, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			t.Fatalf("helper printed %q", sc.Text())
		}
		last, seen = h, seen+1
	}
	// Kill mid-stream: the child is in the middle of later commits.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if seen < n {
		t.Fatalf("helper stopped after %d commits: %s", seen, stderr.String())
	}
	return last
}

// checkCrashState verifies the crash-test invariants and returns the
// committed height.
func checkCrashState(t *testing.T, db *DB) int64 {
	t.Helper()
	h, hash, err := db.Committed()
	if err != nil {
		t.Fatalf("Committed: %v", err)
	}
	if string(hash) != string(crashAppHash(h)) {
		t.Errorf("app hash %q at height %d", hash, h)
	}
	if tm, _ := db.CommittedTime(); tm != h {
		t.Errorf("commit time %d at height %d", tm, h)
	}
	kvs, err := db.Scan([]byte{'A'}, nil, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if want := int(h+1) * crashKeysPerHeight; len(kvs) != want {
		t.Fatalf("height %d: %d 'A' keys, want %d", h, len(kvs), want)
	}
	for j, kv := range kvs {
		hh, i := int64(j/crashKeysPerHeight), j%crashKeysPerHeight
		if string(kv.Key) != string(k('A', uint64(hh), uint64(i))) || string(kv.Value) != string(crashValue(hh, i)) {
			t.Fatalf("pair %d = %x %q; want height %d key %d", j, kv.Key, kv.Value, hh, i)
		}
	}
	z, found, err := db.Get([]byte{'Z'})
	if err != nil || !found || int64(binary.BigEndian.Uint64(z)) != h {
		t.Errorf("Z = %x, %v, %v; want %d", z, found, err, h)
	}
	ds, err := db.Scan([]byte{'D'}, nil, 10)
	if err != nil || len(ds) != 1 || string(ds[0].Key) != string(k('D', uint64(h))) {
		t.Errorf("D keys = %v, %v; want only D‖%d", keysOf(ds), err, h)
	}
	return h
}
