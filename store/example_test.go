package store_test

import (
	"fmt"
	"log"
	"os"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "evidenced-store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	opts := store.DefaultOptions()
	opts.ChainID = "evidenced-example"
	db, err := store.Open(dir, opts)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// InitChain commits height 0, then every block commits the next height.
	if err := db.Commit(store.Commit{Height: 0, AppHash: []byte("genesis")}); err != nil {
		log.Fatal(err)
	}
	err = db.Commit(store.Commit{
		Height:  1,
		AppHash: []byte("after block 1"),
		Time:    1_793_491_200_000_000_000,
		Changes: []ledger.KV{
			{Key: []byte("E\x00\x00\x00\x00\x00\x00\x00\x01"), Value: []byte("entry 1")},
			{Key: []byte("E\x00\x00\x00\x00\x00\x00\x00\x02"), Value: []byte("entry 2")},
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	height, appHash, err := db.Committed()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("committed height %d, app hash %q\n", height, appHash)

	kvs, err := db.Scan([]byte("E"), nil, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, kv := range kvs {
		fmt.Printf("%x = %s\n", kv.Key, kv.Value)
	}
	// Output:
	// committed height 1, app hash "after block 1"
	// 450000000000000001 = entry 1
	// 450000000000000002 = entry 2
}

func ExampleDB_Snapshot() {
	db, err := store.Open("", store.Options{InMemory: true, ChainID: "evidenced-example"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	key := []byte("P")
	commit := func(h int64, v string) {
		c := store.Commit{Height: h, Changes: []ledger.KV{{Key: key, Value: []byte(v)}}}
		if err := db.Commit(c); err != nil {
			log.Fatal(err)
		}
	}

	commit(0, "old")
	snap := db.Snapshot() // a consistent view, e.g. for one HTTP request
	defer snap.Close()
	commit(1, "new")

	v, _, _ := snap.Get(key)
	fmt.Printf("snapshot at height %d sees %s\n", snap.Height(), v)
	v, _, _ = db.Get(key)
	fmt.Printf("db sees %s\n", v)
	// Output:
	// snapshot at height 0 sees old
	// db sees new
}

func ExampleDB_Commit_heightGap() {
	db, err := store.Open("", store.Options{InMemory: true, ChainID: "evidenced-example"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	_ = db.Commit(store.Commit{Height: 0})
	err = db.Commit(store.Commit{Height: 2})
	fmt.Println(err)
	// Output:
	// commit height 2: store: commit height out of sequence: last committed height is 0, so the next must be 1
}
