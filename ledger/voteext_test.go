package ledger_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// A vote extension is u8 1 ‖ u64 height ‖ u8-prefixed member ‖
// u8-prefixed DER signature. Its bytes come from other validators, so the
// decoder accepts exactly the canonical encoding of a valid extension.

// rawExtension encodes extension fields without any validation.
func rawExtension(version uint8, height uint64, member string, sig []byte) []byte {
	b := []byte{version}
	b = binary.BigEndian.AppendUint64(b, height)
	b = append(b, byte(len(member)))
	b = append(b, member...)
	b = append(b, byte(len(sig)))
	return append(b, sig...)
}

func realSignature(tb testing.TB) []byte {
	tb.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return sign(tb, k, []byte("evidenced/evidenced-test\n7\n...\n"))
}

func TestVoteExtensionRoundTrip(t *testing.T) {
	sig := realSignature(t)
	for _, v := range []ledger.VoteExtension{
		{Height: 0, Member: "bank-a", Signature: sig},
		{Height: 1, Member: "a", Signature: []byte{1}},
		{Height: math.MaxUint64, Member: strings.Repeat("z", ledger.MaxNameLen), Signature: bytes.Repeat([]byte{0x30}, crypto.MaxSignatureSize)},
		{Height: 1 << 40, Member: "0.court_of-appeal", Signature: sig[:len(sig)-1]},
	} {
		enc := v.Encode()
		if want := rawExtension(1, v.Height, v.Member, v.Signature); !bytes.Equal(enc, want) {
			t.Fatalf("Encode(%+v) = %x, want %x", v, enc, want)
		}
		got, err := ledger.DecodeVoteExtension(enc)
		if err != nil {
			t.Fatalf("DecodeVoteExtension(Encode(%+v)): %v", v, err)
		}
		if got.Height != v.Height || got.Member != v.Member || !bytes.Equal(got.Signature, v.Signature) {
			t.Fatalf("round trip of %+v gives %+v", v, *got)
		}
	}
}

func TestDecodeVoteExtensionRejects(t *testing.T) {
	sig := realSignature(t)
	good := rawExtension(1, 7, "bank-a", sig)
	if _, err := ledger.DecodeVoteExtension(good); err != nil {
		t.Fatalf("the good extension does not decode: %v", err)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 0", rawExtension(0, 7, "bank-a", sig)},
		{"version 2", rawExtension(2, 7, "bank-a", sig)},
		{"version 255", rawExtension(255, 7, "bank-a", sig)},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"trailing signature", append(bytes.Clone(good), good...)},
		{"member length past the end", append(rawExtension(1, 7, "", nil)[:9], 200, 'a')},
		{"signature length past the end", append(rawExtension(1, 7, "bank-a", nil)[:16], 72, 0x30)},
		{"empty member", rawExtension(1, 7, "", sig)},
		{"upper-case member", rawExtension(1, 7, "Bank-A", sig)},
		{"member starting with punctuation", rawExtension(1, 7, "-bank", sig)},
		{"member with a space", rawExtension(1, 7, "bank a", sig)},
		{"member with a newline", rawExtension(1, 7, "bank\n", sig)},
		{"member with a colon", rawExtension(1, 7, "bank:a", sig)},
		{"member of 65 bytes", rawExtension(1, 7, strings.Repeat("a", ledger.MaxNameLen+1), sig)},
		{"member not UTF-8", rawExtension(1, 7, "bank\xff", sig)},
		{"empty signature", rawExtension(1, 7, "bank-a", nil)},
		{"signature of 73 bytes", rawExtension(1, 7, "bank-a", make([]byte, crypto.MaxSignatureSize+1))},
		{"signature of 255 bytes", rawExtension(1, 7, "bank-a", make([]byte, 255))},
	}
	// Every proper prefix of the good extension is truncated.
	for n := range len(good) {
		tests = append(tests, struct {
			name string
			b    []byte
		}{"truncated to " + strconv.Itoa(n) + " bytes", good[:n]})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ledger.DecodeVoteExtension(tt.b)
			if !errors.Is(err, ledger.ErrMalformed) {
				t.Fatalf("DecodeVoteExtension(%x) = %+v, %v; want ErrMalformed", tt.b, v, err)
			}
			if v != nil {
				t.Fatalf("DecodeVoteExtension returned %+v with its error", v)
			}
		})
	}
}

// extensionAllocBudget is what decoding may allocate beyond the input's
// size: the extension itself and, for a bad one, its error message.
const extensionAllocBudget = 4096

// allocated returns the fewest bytes allocated on the heap while fn runs,
// over up to five runs that stop once one stays within budget. Other
// goroutines of the test binary (the fuzzing engine's) may allocate during
// one run, but not during every one; fn must do the same work each run.
func allocated(budget uint64, fn func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
		if least <= budget {
			break
		}
	}
	return least
}

// FuzzDecodeVoteExtension: whatever decodes re-encodes to exactly the
// same bytes and is a valid extension; decoding never panics and never
// allocates more than the input's size plus a fixed budget.
func FuzzDecodeVoteExtension(f *testing.F) {
	sig := realSignature(f)
	for _, b := range [][]byte{
		rawExtension(1, 7, "bank-a", sig),
		rawExtension(1, 0, "a", []byte{1}),
		rawExtension(1, math.MaxUint64, strings.Repeat("z", ledger.MaxNameLen), make([]byte, crypto.MaxSignatureSize)),
		rawExtension(0, 7, "bank-a", sig),
		rawExtension(2, 7, "bank-a", sig),
		rawExtension(1, 7, "Bank-A", sig),
		rawExtension(1, 7, "", sig),
		rawExtension(1, 7, strings.Repeat("a", 255), sig),
		rawExtension(1, 7, "bank-a", nil),
		rawExtension(1, 7, "bank-a", make([]byte, 255)),
		append(rawExtension(1, 7, "bank-a", sig), 0),
		rawExtension(1, 7, "bank-a", sig)[:20],
		{},
		{1},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		var v *ledger.VoteExtension
		var err error
		budget := uint64(len(b)) + extensionAllocBudget
		if n := allocated(budget, func() { v, err = ledger.DecodeVoteExtension(b) }); n > budget {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(b), n)
		}
		if !bytes.Equal(b, in) {
			t.Fatal("DecodeVoteExtension changed its input")
		}
		if err != nil {
			if v != nil || !errors.Is(err, ledger.ErrMalformed) {
				t.Fatalf("DecodeVoteExtension = %+v, %v; want nil and ErrMalformed", v, err)
			}
			return
		}
		if !ledger.ValidIdent(v.Member, ledger.MaxNameLen) || len(v.Signature) == 0 || len(v.Signature) > crypto.MaxSignatureSize {
			t.Fatalf("decoded an invalid extension %+v", *v)
		}
		if again := v.Encode(); !bytes.Equal(again, b) {
			t.Fatalf("extension re-encodes differently:\n%x\n%x", b, again)
		}
	})
}
