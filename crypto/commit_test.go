package crypto

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
)

func TestCommitment(t *testing.T) {
	salt := bytes.Repeat([]byte{0x5a}, SaltSize)
	big := bytes.Repeat([]byte("LOAN-0001 借款协议 "), 10000)
	tests := []struct {
		name       string
		salt, data []byte
	}{
		{"empty salt and data", nil, nil},
		{"salt only", salt, nil},
		{"data only", nil, []byte("abc")},
		{"short", salt, []byte("abc")},
		{"one block", salt, bytes.Repeat([]byte{1}, 64)},
		{"large", salt, big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Independent computation: SM3 over the concatenation.
			want := SM3(append(append([]byte{}, tt.salt...), tt.data...))
			if got := Commitment(tt.salt, tt.data); got != want {
				t.Errorf("Commitment = %s, want %s", got, want)
			}
			c := NewCommitter(tt.salt)
			// Feed in uneven pieces to exercise streaming.
			for rest := tt.data; len(rest) > 0; {
				n := min(len(rest), 7777)
				c.Write(rest[:n])
				rest = rest[n:]
			}
			if got := Hash(c.Sum(nil)); got != want {
				t.Errorf("NewCommitter Sum = %s, want %s", got, want)
			}
		})
	}
}

// TestCommitmentVector checks against the GB/T 32905 sample: SM3("abc") with
// the salt "a" and data "bc".
func TestCommitmentVector(t *testing.T) {
	const want = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	if got := Commitment([]byte("a"), []byte("bc")).String(); got != want {
		t.Errorf("Commitment(a, bc) = %s, want %s", got, want)
	}
	c := NewCommitter([]byte("ab"))
	c.Write([]byte("c"))
	if got := hex.EncodeToString(c.Sum(nil)); got != want {
		t.Errorf("NewCommitter(ab) + c = %s, want %s", got, want)
	}
}

func ExampleCommitment() {
	salt := bytes.Repeat([]byte{7}, SaltSize) // use crypto/rand in real code
	original := []byte("LOAN-0001 loan agreement")
	c := NewCommitter(salt)
	c.Write(original[:10]) // streaming, for originals too large for memory
	c.Write(original[10:])
	fmt.Println(Hash(c.Sum(nil)) == Commitment(salt, original))
	// Output: true
}
