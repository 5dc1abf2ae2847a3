package crypto

import (
	"bytes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"os"
	"sort"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"
)

// gmVector is one entry of testdata/gm.json.
type gmVector struct {
	ID         string            `json:"id"`
	Inputs     map[string]string `json:"inputs"`
	Parameters map[string]int    `json:"parameters"`
	Expected   map[string]string `json:"expected"`
}

func loadVectors(t *testing.T) []gmVector {
	t.Helper()
	data, err := os.ReadFile("testdata/gm.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []gmVector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse gm.json: %v", err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("gm.json holds no vectors")
	}
	return f.Vectors
}

// unhex decodes a field of a vector, failing the test if it is absent.
func unhex(t *testing.T, m map[string]string, key string) []byte {
	t.Helper()
	s, ok := m[key]
	if !ok {
		t.Fatalf("vector has no field %q", key)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("field %q: %v", key, err)
	}
	return b
}

func wantBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}

// vectorHandlers maps every vector id in gm.json to its check.
var vectorHandlers = map[string]func(*testing.T, gmVector){
	"sm3-abc":                      checkSM3Vector,
	"sm3-abcd-x16":                 checkSM3Vector,
	"sm4-block":                    checkSM4BlockVector,
	"sm4-block-1e6":                checkSM4IteratedVector,
	"sm4-cbc":                      checkSM4CBCVector,
	"sm4-gcm-rfc8998":              checkSM4GCMVector,
	"sm2-sign-gmt0003.5-annexA":    checkSM2SignVector,
	"sm2-encrypt-gmt0003.5-annexC": checkSM2EncryptVector,
}

// TestVectorsAllHandled fails when gm.json gains a vector this file does not
// check, or loses one it does, so no vector is silently ignored.
func TestVectorsAllHandled(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range loadVectors(t) {
		if seen[v.ID] {
			t.Errorf("vector id %q appears twice", v.ID)
		}
		seen[v.ID] = true
		if _, ok := vectorHandlers[v.ID]; !ok {
			t.Errorf("vector %q has no handler in vectorHandlers", v.ID)
		}
	}
	var missing []string
	for id := range vectorHandlers {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("handlers for vectors not in gm.json: %v", missing)
	}
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			h, ok := vectorHandlers[v.ID]
			if !ok {
				t.Fatalf("no handler for vector %q", v.ID)
			}
			h(t, v)
		})
	}
}

func checkSM3Vector(t *testing.T, v gmVector) {
	msg := unhex(t, v.Inputs, "message")
	want := unhex(t, v.Expected, "digest")
	h := SM3(msg)
	wantBytes(t, "SM3", h[:], want)
	// Split input and streaming give the same digest.
	h2 := SM3(msg[:len(msg)/2], msg[len(msg)/2:])
	wantBytes(t, "SM3 of two parts", h2[:], want)
	d := NewSM3()
	for _, c := range msg {
		d.Write([]byte{c})
	}
	wantBytes(t, "NewSM3 byte by byte", d.Sum(nil), want)
	if got := h.String(); got != v.Expected["digest"] {
		t.Errorf("Hash.String() = %s, want %s", got, v.Expected["digest"])
	}
}

func checkSM4BlockVector(t *testing.T, v gmVector) {
	b, err := sm4.NewCipher(unhex(t, v.Inputs, "key"))
	if err != nil {
		t.Fatal(err)
	}
	pt := unhex(t, v.Inputs, "plaintext")
	ct := make([]byte, len(pt))
	b.Encrypt(ct, pt)
	wantBytes(t, "SM4 block", ct, unhex(t, v.Expected, "ciphertext"))
	back := make([]byte, len(ct))
	b.Decrypt(back, ct)
	wantBytes(t, "SM4 block decrypt", back, pt)
}

func checkSM4IteratedVector(t *testing.T, v gmVector) {
	if testing.Short() {
		t.Skip("1,000,000 SM4 encryptions; skipped with -short")
	}
	b, err := sm4.NewCipher(unhex(t, v.Inputs, "key"))
	if err != nil {
		t.Fatal(err)
	}
	n, ok := v.Parameters["iterations"]
	if !ok || n != 1000000 {
		t.Fatalf("iterations = %d, want 1000000", n)
	}
	buf := unhex(t, v.Inputs, "plaintext")
	for range n {
		b.Encrypt(buf, buf)
	}
	wantBytes(t, "SM4 block after 1e6 encryptions", buf, unhex(t, v.Expected, "ciphertext"))
	for range n {
		b.Decrypt(buf, buf)
	}
	wantBytes(t, "SM4 block after 1e6 decryptions", buf, unhex(t, v.Inputs, "plaintext"))
}

func checkSM4CBCVector(t *testing.T, v gmVector) {
	b, err := sm4.NewCipher(unhex(t, v.Inputs, "key"))
	if err != nil {
		t.Fatal(err)
	}
	iv := unhex(t, v.Inputs, "iv")
	pt := unhex(t, v.Inputs, "plaintext")
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, pt)
	wantBytes(t, "SM4-CBC", ct, unhex(t, v.Expected, "ciphertext"))
	back := make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(back, ct)
	wantBytes(t, "SM4-CBC decrypt", back, pt)
}

func checkSM4GCMVector(t *testing.T, v gmVector) {
	b, err := sm4.NewCipher(unhex(t, v.Inputs, "key"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	iv, aad, pt := unhex(t, v.Inputs, "iv"), unhex(t, v.Inputs, "aad"), unhex(t, v.Inputs, "plaintext")
	out := g.Seal(nil, iv, pt, aad)
	wantBytes(t, "SM4-GCM ciphertext", out[:len(pt)], unhex(t, v.Expected, "ciphertext"))
	wantBytes(t, "SM4-GCM tag", out[len(pt):], unhex(t, v.Expected, "tag"))
	back, err := g.Open(nil, iv, out, aad)
	if err != nil {
		t.Fatalf("SM4-GCM open: %v", err)
	}
	wantBytes(t, "SM4-GCM open", back, pt)
	out[0] ^= 1
	if _, err := g.Open(nil, iv, out, aad); err == nil {
		t.Error("SM4-GCM opened a modified ciphertext")
	}
}

// vectorKey returns the private key of an SM2 vector and checks that its
// public key is the published one.
func vectorKey(t *testing.T, v gmVector) *PrivateKey {
	t.Helper()
	k, err := NewPrivateKey(unhex(t, v.Inputs, "private_key_d"))
	if err != nil {
		t.Fatal(err)
	}
	pub := append([]byte{4}, unhex(t, v.Inputs, "public_key_x")...)
	pub = append(pub, unhex(t, v.Inputs, "public_key_y")...)
	wantBytes(t, "public key from d", k.Public().Bytes(), pub)
	return k
}

func checkSM2SignVector(t *testing.T, v gmVector) {
	k := vectorKey(t, v)
	uid, msg := unhex(t, v.Inputs, "user_id"), unhex(t, v.Inputs, "message")
	if string(uid) != "1234567812345678" {
		t.Fatalf("vector uses user ID %q; Sign/Verify use the default", uid)
	}
	za, err := sm2.CalculateZA(k.Public().k, uid)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes(t, "Z_A", za, unhex(t, v.Expected, "z_a"))
	e := SM3(za, msg)
	wantBytes(t, "e = SM3(Z_A || M)", e[:], unhex(t, v.Expected, "e"))
	lib, err := sm2.CalculateSM2Hash(k.Public().k, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes(t, "library e with default uid", lib, unhex(t, v.Expected, "e"))

	sig := unhex(t, v.Expected, "signature_der")
	if err := k.Public().Verify(msg, sig); err != nil {
		t.Errorf("Verify(published signature) = %v", err)
	}
	r, s, err := ParseSignature(sig)
	if err != nil {
		t.Fatalf("ParseSignature: %v", err)
	}
	wantBytes(t, "r", r.FillBytes(make([]byte, 32)), unhex(t, v.Expected, "r"))
	wantBytes(t, "s", s.FillBytes(make([]byte, 32)), unhex(t, v.Expected, "s"))
	if err := k.Public().Verify([]byte("message digesT"), sig); err != ErrInvalidSignature {
		t.Errorf("Verify(other message) = %v, want ErrInvalidSignature", err)
	}
	// Our own signatures over the vector message verify too.
	own, err := k.Sign(zeroReader{}, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Public().Verify(msg, own); err != nil {
		t.Errorf("Verify(own signature) = %v", err)
	}
}

func checkSM2EncryptVector(t *testing.T, v gmVector) {
	k := vectorKey(t, v)
	want := unhex(t, v.Inputs, "plaintext")
	c1, c2, c3 := unhex(t, v.Expected, "c1"), unhex(t, v.Expected, "c2"), unhex(t, v.Expected, "c3")
	c1c3c2 := unhex(t, v.Expected, "ciphertext_c1c3c2")
	wantBytes(t, "C1C3C2 = C1 || C3 || C2", c1c3c2, append(append(append([]byte{}, c1...), c3...), c2...))

	got, err := k.Decrypt(unhex(t, v.Expected, "ciphertext_asn1"))
	if err != nil {
		t.Fatalf("Decrypt(ASN.1 form): %v", err)
	}
	wantBytes(t, "Decrypt(ASN.1 form)", got, want)

	// The raw forms, through the library: confirms the vector itself.
	got, err = sm2.Decrypt(k.k, c1c3c2)
	if err != nil {
		t.Fatalf("library Decrypt(C1C3C2): %v", err)
	}
	wantBytes(t, "library Decrypt(C1C3C2)", got, want)
	got, err = k.k.Decrypt(nil, unhex(t, v.Expected, "ciphertext_c1c2c3"), sm2.NewPlainDecrypterOpts(sm2.C1C2C3))
	if err != nil {
		t.Fatalf("library Decrypt(C1C2C3): %v", err)
	}
	wantBytes(t, "library Decrypt(C1C2C3)", got, want)

	// Our Decrypt takes the ASN.1 form only.
	if _, err := k.Decrypt(c1c3c2); err == nil {
		t.Error("Decrypt accepted the raw C1C3C2 form")
	}
}

// zeroReader is a deterministic io.Reader for tests of hedged signing.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
