package crypto

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"
)

func BenchmarkSign(b *testing.B) {
	k := newTestKey(b)
	msg := make([]byte, 256)
	for b.Loop() {
		if _, err := k.Sign(rand.Reader, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := newTestKey(b)
	msg := make([]byte, 256)
	sig, err := k.Sign(rand.Reader, msg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := k.Public().Verify(msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkSM3(b *testing.B, n int) {
	data := make([]byte, n)
	b.SetBytes(int64(n))
	for b.Loop() {
		SM3(data)
	}
}

func BenchmarkSM3_64B(b *testing.B)  { benchmarkSM3(b, 64) }
func BenchmarkSM3_1KiB(b *testing.B) { benchmarkSM3(b, 1024) }

func BenchmarkSeal_1MiB(b *testing.B) {
	key := newTestDataKey(b)
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Seal(io.Discard, bytes.NewReader(data), key, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
