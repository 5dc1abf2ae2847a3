package merkle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// sm3Cat is SM3 over the concatenation of parts, straight from the sm3
// package.
func sm3Cat(parts ...[]byte) []byte {
	s := sm3.Sum(bytes.Join(parts, nil))
	return s[:]
}

// TestSM3KnownAnswers checks roots and proofs of small SM3 trees against
// hashes written out by hand: leaf = SM3(0x00 || d), node = SM3(0x01 || l || r).
func TestSM3KnownAnswers(t *testing.T) {
	h := NewHasher(sm3.New)
	leaf := func(d string) []byte { return sm3Cat([]byte{0x00}, []byte(d)) }
	node := func(l, r []byte) []byte { return sm3Cat([]byte{0x01}, l, r) }
	a, b, c, d, e := leaf("a"), leaf("b"), leaf("c"), leaf("d"), leaf("e")
	ab, cd := node(a, b), node(c, d)
	abcd := node(ab, cd)

	if got, want := h.Size(), 32; got != want {
		t.Fatalf("Size() = %d, want %d", got, want)
	}
	if got, want := h.EmptyRoot(), mustHex(t, "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"); !bytes.Equal(got, want) {
		t.Fatalf("EmptyRoot() = %x, want SM3(\"\") = %x", got, want)
	}
	if got, want := h.HashLeaf(nil), mustHex(t, "2daef60e7a0b8f5e024c81cd2ab3109f2b4f155cf83adeb2ae5532f74a157fdf"); !bytes.Equal(got, want) {
		t.Fatalf("HashLeaf(\"\") = %x, want %x", got, want)
	}
	if got := h.HashChildren(a, b); !bytes.Equal(got, ab) {
		t.Fatalf("HashChildren(a, b) = %x, want %x", got, ab)
	}

	roots := []struct {
		name   string
		leaves []string
		byHand []byte
		want   string
	}{
		{"a", []string{"a"}, a, "c688f41bcd570f9651ccb215058a545f66f52ab4eac2968896e1637af9443d8c"},
		{"ab", []string{"a", "b"}, ab, "2c537e31416ae684fd8a1552a3bcd5a452274e02a45d67c856405b3a1108ee90"},
		{"abc", []string{"a", "b", "c"}, node(ab, c), "2706e4e4d41c1ed9c3fe7f7822bf360a67abcc052cc2c00022c1313ec3ded965"},
		{"abcd", []string{"a", "b", "c", "d"}, abcd, "0f89a82a10fb130d6e6095696f6ac64980252b730196457bc0d5e47aa3dc054c"},
		{"abcde", []string{"a", "b", "c", "d", "e"}, node(abcd, e), "59d4ece8d4b1eb417ba6b83c5af20b91288413c61a2be15fb64e311c584aa5e8"},
	}
	for _, tc := range roots {
		t.Run("root/"+tc.name, func(t *testing.T) {
			want := mustHex(t, tc.want)
			if !bytes.Equal(tc.byHand, want) {
				t.Fatalf("hand computation %x disagrees with the recorded %x", tc.byHand, want)
			}
			s := new(MemoryStore)
			for _, l := range tc.leaves {
				if _, err := s.Append(h, []byte(l)); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.Root(); !bytes.Equal(got, want) {
				t.Fatalf("Root() = %x, want %x", got, want)
			}
		})
	}

	s := new(MemoryStore)
	for _, l := range []string{"a", "b", "c", "d", "e"} {
		if _, err := s.Append(h, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	proofs := []struct {
		name string
		make func() ([][]byte, error)
		want [][]byte
	}{
		// RFC 9162 §2.1.5 shapes, with 5 leaves a..e.
		{"inclusion(0,5)", func() ([][]byte, error) { return h.InclusionProof(0, 5, s) }, [][]byte{b, cd, e}},
		{"inclusion(2,5)", func() ([][]byte, error) { return h.InclusionProof(2, 5, s) }, [][]byte{d, ab, e}},
		{"inclusion(4,5)", func() ([][]byte, error) { return h.InclusionProof(4, 5, s) }, [][]byte{abcd}},
		{"inclusion(2,3)", func() ([][]byte, error) { return h.InclusionProof(2, 3, s) }, [][]byte{ab}},
		{"inclusion(0,1)", func() ([][]byte, error) { return h.InclusionProof(0, 1, s) }, [][]byte{}},
		{"consistency(1,5)", func() ([][]byte, error) { return h.ConsistencyProof(1, 5, s) }, [][]byte{b, cd, e}},
		{"consistency(2,5)", func() ([][]byte, error) { return h.ConsistencyProof(2, 5, s) }, [][]byte{cd, e}},
		{"consistency(3,5)", func() ([][]byte, error) { return h.ConsistencyProof(3, 5, s) }, [][]byte{c, d, ab, e}},
		{"consistency(4,5)", func() ([][]byte, error) { return h.ConsistencyProof(4, 5, s) }, [][]byte{e}},
		{"consistency(3,4)", func() ([][]byte, error) { return h.ConsistencyProof(3, 4, s) }, [][]byte{c, d, ab}},
		{"consistency(5,5)", func() ([][]byte, error) { return h.ConsistencyProof(5, 5, s) }, [][]byte{}},
	}
	for _, tc := range proofs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.make()
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(got, tc.want) {
				t.Fatalf("proof = %x, want %x", got, tc.want)
			}
		})
	}
}

// TestNaiveMTH checks TreeHash and the stored hashes against a recursive
// MTH for every prefix of a log.
func TestNaiveMTH(t *testing.T) {
	h := NewHasher(sm3.New)
	const n = 130
	s := buildStore(t, h, n)
	var leaves [][]byte
	for i := int64(0); i <= n; i++ {
		root, err := h.TreeHash(i, s)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveMTH(sm3.New, leaves); !bytes.Equal(root, want) {
			t.Fatalf("TreeHash(%d) = %x, naive MTH = %x", i, root, want)
		}
		leaves = append(leaves, leafData(i))
	}
	// Every stored hash is the MTH of the complete subtree it names.
	for x := range StoredHashCount(n) {
		level, k := SplitStoredHashIndex(x)
		lo, hi := k<<uint(level), (k+1)<<uint(level)
		got, err := s.ReadHashes([]int64{x})
		if err != nil {
			t.Fatal(err)
		}
		var sub [][]byte
		for i := lo; i < hi; i++ {
			sub = append(sub, leafData(i))
		}
		if want := naiveMTH(sm3.New, sub); !bytes.Equal(got[0], want) {
			t.Fatalf("stored hash %d (level %d, index %d) = %x, naive MTH of leaves [%d, %d) = %x", x, level, k, got[0], lo, hi, want)
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	h := NewHasher(sm3.New)
	s := buildStore(t, h, 8)
	root := s.Root()
	leaf := h.HashLeaf(leafData(0))
	tests := []struct {
		name string
		err  func() error
		want error
	}{
		{"StoredHashes negative", func() error { _, err := h.StoredHashes(-1, nil, s); return err }, ErrInvalidSize},
		{"StoredHashesForLeafHash short leaf", func() error { _, err := h.StoredHashesForLeafHash(8, leaf[:31], s); return err }, ErrInvalidSize},
		{"TreeHash negative", func() error { _, err := h.TreeHash(-1, s); return err }, ErrInvalidSize},
		{"InclusionProof index == size", func() error { _, err := h.InclusionProof(8, 8, s); return err }, ErrInvalidSize},
		{"InclusionProof negative index", func() error { _, err := h.InclusionProof(-1, 8, s); return err }, ErrInvalidSize},
		{"InclusionProof size 0", func() error { _, err := h.InclusionProof(0, 0, s); return err }, ErrInvalidSize},
		{"ConsistencyProof from 0", func() error { _, err := h.ConsistencyProof(0, 8, s); return err }, ErrInvalidSize},
		{"ConsistencyProof shrinking", func() error { _, err := h.ConsistencyProof(5, 4, s); return err }, ErrInvalidSize},
		{"ConsistencyProof negative", func() error { _, err := h.ConsistencyProof(-1, 4, s); return err }, ErrInvalidSize},
		{"VerifyInclusion index == size", func() error { return h.VerifyInclusion(8, 8, leaf, nil, root) }, ErrInvalidSize},
		{"VerifyInclusion negative index", func() error { return h.VerifyInclusion(-1, 8, leaf, nil, root) }, ErrInvalidSize},
		{"VerifyInclusion short leaf hash", func() error { return h.VerifyInclusion(0, 8, leaf[:5], nil, root) }, ErrInvalidSize},
		{"VerifyInclusion long root", func() error { return h.VerifyInclusion(0, 8, leaf, nil, append(root, 0)) }, ErrInvalidSize},
		{"VerifyConsistency from 0", func() error { return h.VerifyConsistency(0, 8, nil, h.EmptyRoot(), root) }, ErrInvalidSize},
		{"VerifyConsistency shrinking", func() error { return h.VerifyConsistency(8, 7, nil, root, root) }, ErrInvalidSize},
		{"VerifyConsistency nil root", func() error { return h.VerifyConsistency(8, 8, nil, nil, root) }, ErrInvalidSize},
		{"VerifyConsistency equal sizes, proof", func() error { return h.VerifyConsistency(8, 8, [][]byte{root}, root, root) }, ErrMalformedProof},
		{"VerifyConsistency equal sizes, roots differ", func() error { return h.VerifyConsistency(8, 8, nil, root, leaf) }, ErrProofMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
	if err := h.VerifyConsistency(8, 8, [][]byte{}, root, bytes.Clone(root)); err != nil {
		t.Fatalf("VerifyConsistency(8, 8, empty proof, same root) = %v, want nil", err)
	}
	if got, err := h.TreeHash(0, s); err != nil || !bytes.Equal(got, h.EmptyRoot()) {
		t.Fatalf("TreeHash(0) = %x, %v; want EmptyRoot %x", got, err, h.EmptyRoot())
	}
}

func TestHashReaderErrors(t *testing.T) {
	h := NewHasher(sm3.New)
	s := buildStore(t, h, 8)
	errStore := errors.New("store offline")
	tests := []struct {
		name string
		r    HashReader
		want error
	}{
		{"error", HashReaderFunc(func([]int64) ([][]byte, error) { return nil, errStore }), errStore},
		{"too few", HashReaderFunc(func(ix []int64) ([][]byte, error) {
			hs, err := s.ReadHashes(ix)
			return hs[1:], err
		}), ErrHashReader},
		{"short hash", HashReaderFunc(func(ix []int64) ([][]byte, error) {
			hs, err := s.ReadHashes(ix)
			hs[0] = hs[0][:16]
			return hs, err
		}), ErrHashReader},
	}
	ops := []struct {
		name string
		run  func(HashReader) error
	}{
		{"StoredHashes", func(r HashReader) error { _, err := h.StoredHashes(7, []byte("x"), r); return err }},
		{"TreeHash", func(r HashReader) error { _, err := h.TreeHash(7, r); return err }},
		{"InclusionProof", func(r HashReader) error { _, err := h.InclusionProof(2, 7, r); return err }},
		{"ConsistencyProof", func(r HashReader) error { _, err := h.ConsistencyProof(3, 7, r); return err }},
	}
	for _, tc := range tests {
		for _, op := range ops {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				if err := op.run(tc.r); !errors.Is(err, tc.want) {
					t.Fatalf("error = %v, want %v", err, tc.want)
				}
			})
		}
	}
	// Hashes beyond the store are an error, not a silent zero hash.
	if _, err := h.TreeHash(9, s); err == nil {
		t.Fatal("TreeHash(9) over an 8-leaf store succeeded")
	}
	if _, err := h.InclusionProof(0, 100, s); err == nil {
		t.Fatal("InclusionProof(0, 100) over an 8-leaf store succeeded")
	}
}

// TestMemoryStore checks MemoryStore's contract: indexes, sizes, copies and
// hasher checks.
func TestMemoryStore(t *testing.T) {
	var s MemoryStore
	if s.Size() != 0 || s.Root() != nil {
		t.Fatalf("zero MemoryStore: Size() = %d, Root() = %x; want 0, nil", s.Size(), s.Root())
	}
	h := NewHasher(sm3.New)
	for i := range int64(3) {
		idx, err := s.Append(h, leafData(i))
		if err != nil || idx != i {
			t.Fatalf("Append(leaf %d) = %d, %v", i, idx, err)
		}
	}
	if s.Size() != 3 {
		t.Fatalf("Size() = %d, want 3", s.Size())
	}
	if _, err := s.Append(NewHasher(sha256.New224), []byte("x")); !errors.Is(err, ErrInvalidSize) {
		t.Fatalf("Append with a 28-byte hasher: error = %v, want ErrInvalidSize", err)
	}
	got, err := s.ReadHashes([]int64{0})
	if err != nil {
		t.Fatal(err)
	}
	got[0][0] ^= 0xff // the caller owns the slice
	again, err := s.ReadHashes([]int64{0})
	if err != nil {
		t.Fatal(err)
	}
	if want := h.HashLeaf(leafData(0)); !bytes.Equal(again[0], want) {
		t.Fatalf("stored leaf hash changed after the caller modified a read: %x, want %x", again[0], want)
	}
	if _, err := s.ReadHashes([]int64{StoredHashCount(3)}); err == nil {
		t.Fatal("ReadHashes beyond the store succeeded")
	}
	if _, err := s.ReadHashes([]int64{-1}); err == nil {
		t.Fatal("ReadHashes(-1) succeeded")
	}
}

// TestProofProperties checks that every change to a valid proof, its leaf,
// index, sizes or roots makes verification fail with the right error.
func TestProofProperties(t *testing.T) {
	h := NewHasher(sm3.New)
	max := int64(40)
	if testing.Short() {
		max = 12
	}
	s := buildStore(t, h, max+1)
	roots := make([][]byte, max+2)
	for n := range roots {
		r, err := h.TreeHash(int64(n), s)
		if err != nil {
			t.Fatal(err)
		}
		roots[n] = r
	}
	isRejected := func(err error) bool {
		return errors.Is(err, ErrProofMismatch) || errors.Is(err, ErrMalformedProof)
	}
	extra := h.HashLeaf([]byte("extra"))

	t.Run("inclusion", func(t *testing.T) {
		for n := int64(1); n <= max; n++ {
			for i := range n {
				leaf := h.HashLeaf(leafData(i))
				p, err := h.InclusionProof(i, n, s)
				if err != nil {
					t.Fatal(err)
				}
				if err := h.VerifyInclusion(i, n, leaf, p, roots[n]); err != nil {
					t.Fatalf("(%d, %d): valid proof rejected: %v", i, n, err)
				}
				name := fmt.Sprintf("leaf %d of %d", i, n)
				check := func(what string, err error, want error) {
					t.Helper()
					if want == nil {
						if !isRejected(err) {
							t.Fatalf("%s, %s: error = %v, want rejection", name, what, err)
						}
					} else if !errors.Is(err, want) {
						t.Fatalf("%s, %s: error = %v, want %v", name, what, err, want)
					}
				}
				check("wrong leaf", h.VerifyInclusion(i, n, h.HashLeaf(leafData(i+1)), p, roots[n]), ErrProofMismatch)
				check("wrong root", h.VerifyInclusion(i, n, leaf, p, roots[n-1]), ErrProofMismatch)
				for j := range n {
					if j != i {
						check(fmt.Sprintf("index %d", j), h.VerifyInclusion(j, n, leaf, p, roots[n]), nil)
					}
				}
				for m := i + 1; m <= max+1; m++ {
					if m != n {
						check(fmt.Sprintf("size %d", m), h.VerifyInclusion(i, m, leaf, p, roots[m]), nil)
					}
				}
				if len(p) > 0 {
					check("truncated", h.VerifyInclusion(i, n, leaf, p[:len(p)-1], roots[n]), ErrMalformedProof)
					check("first dropped", h.VerifyInclusion(i, n, leaf, p[1:], roots[n]), ErrMalformedProof)
					short := cloneProof(p)
					short[0] = short[0][:len(short[0])-1]
					check("short element", h.VerifyInclusion(i, n, leaf, short, roots[n]), ErrMalformedProof)
				}
				check("extended", h.VerifyInclusion(i, n, leaf, append(cloneProof(p), extra), roots[n]), ErrMalformedProof)
				check("prepended", h.VerifyInclusion(i, n, leaf, append([][]byte{extra}, p...), roots[n]), ErrMalformedProof)
				for e := range p {
					for b := range p[e] {
						q := cloneProof(p)
						q[e][b] ^= 1 << uint(b%8)
						check(fmt.Sprintf("bit %d of byte %d of hash %d flipped", b%8, b, e), h.VerifyInclusion(i, n, leaf, q, roots[n]), ErrProofMismatch)
					}
				}
				if again, err := h.InclusionProof(i, n, s); err != nil || !equalProofs(p, again) {
					t.Fatalf("%s: verification modified the proof (%v)", name, err)
				}
			}
		}
	})

	t.Run("consistency", func(t *testing.T) {
		for n := int64(1); n <= max; n++ {
			for m := int64(1); m <= n; m++ {
				p, err := h.ConsistencyProof(m, n, s)
				if err != nil {
					t.Fatal(err)
				}
				if err := h.VerifyConsistency(m, n, p, roots[m], roots[n]); err != nil {
					t.Fatalf("(%d, %d): valid proof rejected: %v", m, n, err)
				}
				name := fmt.Sprintf("sizes %d to %d", m, n)
				check := func(what string, err error, want error) {
					t.Helper()
					if want == nil {
						if !isRejected(err) {
							t.Fatalf("%s, %s: error = %v, want rejection", name, what, err)
						}
					} else if !errors.Is(err, want) {
						t.Fatalf("%s, %s: error = %v, want %v", name, what, err, want)
					}
				}
				if m > 1 {
					check("wrong first root", h.VerifyConsistency(m, n, p, roots[m-1], roots[n]), ErrProofMismatch)
				}
				check("wrong second root", h.VerifyConsistency(m, n, p, roots[m], roots[n+1]), ErrProofMismatch)
				for k := int64(1); k <= max+1; k++ {
					if k != m && k <= n {
						check(fmt.Sprintf("first size %d", k), h.VerifyConsistency(k, n, p, roots[k], roots[n]), nil)
					}
					if k != n && k >= m {
						check(fmt.Sprintf("second size %d", k), h.VerifyConsistency(m, k, p, roots[m], roots[k]), nil)
					}
				}
				if len(p) > 0 {
					check("truncated", h.VerifyConsistency(m, n, p[:len(p)-1], roots[m], roots[n]), ErrMalformedProof)
					check("first dropped", h.VerifyConsistency(m, n, p[1:], roots[m], roots[n]), ErrMalformedProof)
				}
				check("extended", h.VerifyConsistency(m, n, append(cloneProof(p), extra), roots[m], roots[n]), ErrMalformedProof)
				for e := range p {
					for b := range p[e] {
						q := cloneProof(p)
						q[e][b] ^= 1 << uint(b%8)
						check(fmt.Sprintf("bit %d of byte %d of hash %d flipped", b%8, b, e), h.VerifyConsistency(m, n, q, roots[m], roots[n]), ErrProofMismatch)
					}
				}
			}
		}
	})
}

// TestStoredHashesLayout checks that appending leaf n writes exactly the
// positions [StoredHashIndex(0, n), StoredHashCount(n+1)) and that each
// position names the subtree the leaf completed.
func TestStoredHashesLayout(t *testing.T) {
	h := NewHasher(sm3.New)
	s := new(MemoryStore)
	for n := range int64(70) {
		hs, err := h.StoredHashes(n, leafData(n), s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := int64(len(hs)), StoredHashCount(n+1)-StoredHashIndex(0, n); got != want {
			t.Fatalf("leaf %d: %d stored hashes, want %d", n, got, want)
		}
		for i := range hs {
			level, k := SplitStoredHashIndex(StoredHashIndex(0, n) + int64(i))
			if level != i || k != n>>uint(i) || (k+1)<<uint(level) != n+1 {
				t.Fatalf("leaf %d: hash %d is at level %d index %d, not the completed subtree at level %d", n, i, level, k, i)
			}
		}
		if _, err := s.Append(h, leafData(n)); err != nil {
			t.Fatal(err)
		}
		if got := s.hashes[StoredHashIndex(0, n):]; !slices.EqualFunc(got, hs, bytes.Equal) {
			t.Fatalf("leaf %d: Append stored %x, StoredHashes returned %x", n, got, hs)
		}
	}
}
