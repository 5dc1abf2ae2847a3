package blob_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// fixedKey returns an SM2 key with scalar d (deterministic, for fuzzing).
func fixedKey(t testing.TB, d byte) *crypto.PrivateKey {
	t.Helper()
	scalar := make([]byte, 32)
	scalar[31] = d
	k, err := crypto.NewPrivateKey(scalar)
	if err != nil {
		t.Fatalf("NewPrivateKey: %v", err)
	}
	return k
}

func randomKeyAndSalt(t testing.TB) (crypto.DataKey, []byte) {
	t.Helper()
	key, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, crypto.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	return key, salt
}

func TestWrapUnwrap(t *testing.T) {
	owner, other := fixedKey(t, 7), fixedKey(t, 9)
	key, salt := randomKeyAndSalt(t)
	wrapped, err := blob.WrapKey(owner.Public(), rand.Reader, key, salt)
	if err != nil {
		t.Fatal(err)
	}
	// SM2 ciphertext of 48 bytes: DER SEQUENCE of two 32-byte integers, a
	// 32-byte C3 and the 48-byte C2: at most 3+2*35+34+50 = 157 bytes.
	if len(wrapped) > ledger.MaxWrappedKey || len(wrapped) > 157 || len(wrapped) < 150 {
		t.Errorf("wrapped payload is %d bytes, want 150 to 157 (≤ ledger.MaxWrappedKey %d)", len(wrapped), ledger.MaxWrappedKey)
	}
	gotKey, gotSalt, err := blob.UnwrapKey(owner, wrapped)
	if err != nil || gotKey != key || !bytes.Equal(gotSalt, salt) {
		t.Fatalf("UnwrapKey = %x, %x, %v; want %x, %x", gotKey, gotSalt, err, key, salt)
	}
	// Two wraps of the same payload differ (SM2 encryption is randomised).
	again, err := blob.WrapKey(owner.Public(), rand.Reader, key, salt)
	if err != nil || bytes.Equal(again, wrapped) {
		t.Errorf("a second wrap is identical to the first (%v)", err)
	}

	// A payload of another length, wrapped by other software.
	short, err := owner.Public().WrapKey(rand.Reader, key) // the data key alone
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(wrapped)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name    string
		k       *crypto.PrivateKey
		wrapped []byte
		want    error
	}{
		{"another member's key", other, wrapped, crypto.ErrDecrypt},
		{"altered ciphertext", owner, flipped, crypto.ErrDecrypt},
		{"data key without salt", owner, short, blob.ErrBadWrappedKey},
		{"empty", owner, nil, crypto.ErrMalformedCiphertext},
		{"trailing byte", owner, append(bytes.Clone(wrapped), 0), crypto.ErrMalformedCiphertext},
		{"truncated", owner, wrapped[:len(wrapped)-1], crypto.ErrMalformedCiphertext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, s, err := blob.UnwrapKey(tt.k, tt.wrapped)
			if !errors.Is(err, tt.want) {
				t.Errorf("UnwrapKey = %v, want %v", err, tt.want)
			}
			if k != (crypto.DataKey{}) || s != nil {
				t.Errorf("UnwrapKey returned a key or salt with an error: %x, %x", k, s)
			}
		})
	}
}

func TestWrapKeyBadSalt(t *testing.T) {
	owner := fixedKey(t, 7)
	key, _ := randomKeyAndSalt(t)
	for _, n := range []int{0, 16, crypto.SaltSize - 1, crypto.SaltSize + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w, err := blob.WrapKey(owner.Public(), rand.Reader, key, make([]byte, n))
			if !errors.Is(err, blob.ErrBadWrappedKey) || w != nil {
				t.Errorf("WrapKey(salt of %d bytes) = %d bytes, %v; want ErrBadWrappedKey", n, len(w), err)
			}
		})
	}
}

// FuzzUnwrapKey feeds arbitrary bytes to UnwrapKey, which must not panic
// and must succeed only with a 48-byte payload; and checks the round trip
// WrapKey → UnwrapKey for arbitrary keys and salts.
func FuzzUnwrapKey(f *testing.F) {
	owner := fixedKey(f, 7)
	key, salt := randomKeyAndSalt(f)
	wrapped, err := blob.WrapKey(owner.Public(), rand.Reader, key, salt)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(wrapped, key[:], salt)
	f.Add([]byte{}, make([]byte, 16), make([]byte, 32))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, []byte("0123456789abcdef"), bytes.Repeat([]byte{0xff}, 32))
	f.Fuzz(func(t *testing.T, wrapped, keyBytes, salt []byte) {
		if k, s, err := blob.UnwrapKey(owner, wrapped); err == nil {
			// Only a real wrap decrypts: wrap what came out again.
			again, err := blob.WrapKey(owner.Public(), rand.Reader, k, s)
			if err != nil {
				t.Fatalf("re-wrap of an unwrapped payload: %v", err)
			}
			k2, s2, err := blob.UnwrapKey(owner, again)
			if err != nil || k2 != k || !bytes.Equal(s2, s) {
				t.Fatalf("round trip of an unwrapped payload changed it: %v", err)
			}
		} else if !errors.Is(err, crypto.ErrMalformedCiphertext) && !errors.Is(err, crypto.ErrDecrypt) && !errors.Is(err, blob.ErrBadWrappedKey) {
			t.Fatalf("UnwrapKey error %v is none of the documented ones", err)
		}
		var key crypto.DataKey
		copy(key[:], keyBytes)
		w, err := blob.WrapKey(owner.Public(), rand.Reader, key, salt)
		if len(salt) != crypto.SaltSize {
			if !errors.Is(err, blob.ErrBadWrappedKey) {
				t.Fatalf("WrapKey with a %d-byte salt = %v, want ErrBadWrappedKey", len(salt), err)
			}
			return
		}
		if err != nil || len(w) > ledger.MaxWrappedKey {
			t.Fatalf("WrapKey = %d bytes, %v", len(w), err)
		}
		k, s, err := blob.UnwrapKey(owner, w)
		if err != nil || k != key || !bytes.Equal(s, salt) {
			t.Fatalf("round trip: %x, %x, %v; want %x, %x", k, s, err, key, salt)
		}
	})
}

func ExampleWrapKey() {
	// The owner's node wraps an original's data key and commitment salt to
	// the owner's member key; the wrapped payload goes on chain.
	member, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	key, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	salt := make([]byte, crypto.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	wrapped, err := blob.WrapKey(member.Public(), rand.Reader, key, salt)
	if err != nil {
		panic(err)
	}

	// Later the member unwraps both, to decrypt the original and check it
	// against the commitment.
	k, s, err := blob.UnwrapKey(member, wrapped)
	if err != nil {
		panic(err)
	}
	fmt.Println(k == key, bytes.Equal(s, salt), len(wrapped) <= 255)
	// Output: true true true
}
