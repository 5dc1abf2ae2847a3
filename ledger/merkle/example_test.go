package merkle_test

import (
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"

	"github.com/evidenced/evidenced/ledger/merkle"
)

func ExampleMemoryStore() {
	h := merkle.NewHasher(sm3.New)
	var log merkle.MemoryStore
	for _, entry := range []string{"a", "b", "c"} {
		i, err := log.Append(h, []byte(entry))
		if err != nil {
			panic(err)
		}
		fmt.Println("appended leaf", i)
	}
	fmt.Printf("size %d root %x\n", log.Size(), log.Root())
	// Output:
	// appended leaf 0
	// appended leaf 1
	// appended leaf 2
	// size 3 root 2706e4e4d41c1ed9c3fe7f7822bf360a67abcc052cc2c00022c1313ec3ded965
}

func ExampleHasher_StoredHashes() {
	h := merkle.NewHasher(sm3.New)
	stored := map[int64][]byte{} // stands in for a key-value store
	r := merkle.HashReaderFunc(func(indexes []int64) ([][]byte, error) {
		out := make([][]byte, len(indexes))
		for i, x := range indexes {
			v, ok := stored[x]
			if !ok {
				return nil, fmt.Errorf("stored hash %d is missing", x)
			}
			out[i] = append([]byte(nil), v...)
		}
		return out, nil
	})
	for n, entry := range []string{"a", "b", "c", "d"} {
		hashes, err := h.StoredHashes(int64(n), []byte(entry), r)
		if err != nil {
			panic(err)
		}
		base := merkle.StoredHashIndex(0, int64(n))
		for i, hh := range hashes {
			stored[base+int64(i)] = hh
		}
		fmt.Printf("leaf %d stored %d hashes from position %d\n", n, len(hashes), base)
	}
	root, err := h.TreeHash(4, r)
	if err != nil {
		panic(err)
	}
	fmt.Printf("root %x\n", root)
	// Output:
	// leaf 0 stored 1 hashes from position 0
	// leaf 1 stored 2 hashes from position 1
	// leaf 2 stored 1 hashes from position 3
	// leaf 3 stored 3 hashes from position 4
	// root 0f89a82a10fb130d6e6095696f6ac64980252b730196457bc0d5e47aa3dc054c
}

func ExampleHasher_VerifyInclusion() {
	h := merkle.NewHasher(sm3.New)
	var log merkle.MemoryStore
	for _, entry := range []string{"a", "b", "c", "d", "e"} {
		if _, err := log.Append(h, []byte(entry)); err != nil {
			panic(err)
		}
	}
	root := log.Root()
	proof, err := h.InclusionProof(2, 5, &log)
	if err != nil {
		panic(err)
	}
	fmt.Println("proof hashes:", len(proof))
	fmt.Println("c at 2:", h.VerifyInclusion(2, 5, h.HashLeaf([]byte("c")), proof, root))
	err = h.VerifyInclusion(2, 5, h.HashLeaf([]byte("x")), proof, root)
	fmt.Println("x at 2 mismatches:", errors.Is(err, merkle.ErrProofMismatch))
	// Output:
	// proof hashes: 3
	// c at 2: <nil>
	// x at 2 mismatches: true
}

func ExampleHasher_VerifyConsistency() {
	h := merkle.NewHasher(sm3.New)
	var log merkle.MemoryStore
	for _, entry := range []string{"a", "b", "c"} {
		if _, err := log.Append(h, []byte(entry)); err != nil {
			panic(err)
		}
	}
	oldRoot := log.Root() // a checkpoint at size 3
	for _, entry := range []string{"d", "e"} {
		if _, err := log.Append(h, []byte(entry)); err != nil {
			panic(err)
		}
	}
	proof, err := h.ConsistencyProof(3, 5, &log)
	if err != nil {
		panic(err)
	}
	fmt.Println("3 is a prefix of 5:", h.VerifyConsistency(3, 5, proof, oldRoot, log.Root()))
	_, err = h.ConsistencyProof(0, 5, &log)
	fmt.Println("from the empty tree:", errors.Is(err, merkle.ErrInvalidSize))
	// Output:
	// 3 is a prefix of 5: <nil>
	// from the empty tree: true
}
