package store

import (
	"math/rand/v2"
	"testing"

	"github.com/evidenced/evidenced/ledger"
)

// benchBlock returns the changes of a block of n records: 3 keys per record
// of 100–300 bytes each (key + value), at heights-distinct keys.
func benchBlock(rng *rand.Rand, height int64, n int) ([]ledger.KV, int) {
	changes := make([]ledger.KV, 0, 3*n)
	size := 0
	for i := range 3 * n {
		key := k('E', uint64(height), uint64(i))
		value := make([]byte, 100+rng.IntN(201)-len(key))
		for j := range value {
			value[j] = byte(rng.Uint32())
		}
		changes = append(changes, ledger.KV{Key: key, Value: value})
		size += len(key) + len(value)
	}
	return changes, size
}

func BenchmarkCommit_1000Records(b *testing.B) {
	for _, bc := range []struct {
		name string
		sync bool
	}{{"sync=on", true}, {"sync=off", false}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := diskOpts()
			opts.SyncWrites = bc.sync
			db := openDir(b, b.TempDir(), opts)
			rng := rand.New(rand.NewPCG(1, 2))
			// Prepare the blocks up front so only Commit is timed.
			const distinct = 16
			blocks := make([][]ledger.KV, distinct)
			var size int
			for i := range blocks {
				blocks[i], size = benchBlock(rng, int64(i), 1000)
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			h := int64(0)
			for b.Loop() {
				if err := db.Commit(Commit{Height: h, AppHash: []byte("hash"), Changes: blocks[h%distinct]}); err != nil {
					b.Fatal(err)
				}
				h++
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	db := openDir(b, b.TempDir(), diskOpts())
	rng := rand.New(rand.NewPCG(3, 4))
	const heights = 34 // ~100k keys
	for h := range int64(heights) {
		changes, _ := benchBlock(rng, h, 1000)
		if err := db.Commit(Commit{Height: h, Changes: changes}); err != nil {
			b.Fatal(err)
		}
	}
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = k('E', rng.Uint64N(heights), rng.Uint64N(3000))
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		_, found, err := db.Get(keys[i%len(keys)])
		if err != nil || !found {
			b.Fatalf("Get: %v, %v", found, err)
		}
		i++
	}
}
