package merkle

import (
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// benchSizes are the log sizes the benchmarks compare: the costs should grow
// with log₂ of the size (10 vs 20), not with the size.
var benchSizes = []struct {
	name string
	n    int64
}{
	{"leaves=1k", 1 << 10},
	{"leaves=1M", 1 << 20},
}

func benchStore(b *testing.B, h *Hasher, n int64) *MemoryStore {
	b.Helper()
	if testing.Short() && n > 1<<16 {
		b.Skip("1M-leaf log skipped in -short mode")
	}
	return buildStore(b, h, n)
}

// BenchmarkAppend measures appending with SM3 over a MemoryStore:
// "worst" is StoredHashes for leaf 2^k-1, which completes k subtrees (k reads
// and k+1 hashes); "amortized" is Append of consecutive leaves (about two
// hashes per leaf on average).
func BenchmarkAppend(b *testing.B) {
	h := NewHasher(sm3.New)
	data := []byte("benchmark leaf data of a typical evidence entry, about one hundred bytes long........")
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			s := benchStore(b, h, sz.n)
			b.Run("worst", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := h.StoredHashes(sz.n-1, data, s); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("amortized", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Append(h, data); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkInclusionProof measures making and verifying SM3 inclusion proofs
// for leaves spread over the log.
func BenchmarkInclusionProof(b *testing.B) {
	h := NewHasher(sm3.New)
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			s := benchStore(b, h, sz.n)
			root := s.Root()
			b.Run("prove", func(b *testing.B) {
				b.ReportAllocs()
				i := int64(0)
				for b.Loop() {
					i = (i + 7919) % sz.n
					if _, err := h.InclusionProof(i, sz.n, s); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("verify", func(b *testing.B) {
				const idx = 12345 % 1000
				p, err := h.InclusionProof(idx, sz.n, s)
				if err != nil {
					b.Fatal(err)
				}
				leaf := h.HashLeaf(leafData(idx))
				b.ReportAllocs()
				for b.Loop() {
					if err := h.VerifyInclusion(idx, sz.n, leaf, p, root); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkTreeHash measures TreeHash with SM3 for a size that is a power of
// two (one stored hash) and one that is not (one stored hash per one bit).
func BenchmarkTreeHash(b *testing.B) {
	h := NewHasher(sm3.New)
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			s := benchStore(b, h, sz.n)
			for _, n := range []int64{sz.n, sz.n - 1} {
				b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := h.TreeHash(n, s); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
