package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"testing"
)

func FuzzParseSignature(f *testing.F) {
	f.Add(mustHex(f, "3046022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"))
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Add([]byte{0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, sig []byte) {
		r, s, err := ParseSignature(sig)
		if err != nil {
			if !errors.Is(err, ErrMalformedSignature) {
				t.Fatalf("error %v does not wrap ErrMalformedSignature", err)
			}
			return
		}
		if got := encodeSig(t, r, s); !bytes.Equal(got, sig) {
			t.Fatalf("accepted %x, but its canonical encoding is %x", sig, got)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	f.Add(mustHex(f, vectorPub))
	f.Add(append([]byte{3}, mustHex(f, vectorPub)[1:33]...))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePublicKey(b); err == nil {
			if !bytes.Equal(p.Bytes(), b) {
				t.Fatalf("ParsePublicKey(%x).Bytes() = %x", b, p.Bytes())
			}
			if p.ID() != KeyID(SM3(b)) {
				t.Fatal("ID is not SM3 of the bytes")
			}
		} else if !errors.Is(err, ErrMalformedKey) {
			t.Fatalf("error %v does not wrap ErrMalformedKey", err)
		}
		p, err := ParsePublicKeyAny(b)
		if err != nil {
			return
		}
		q, err := ParsePublicKey(p.Bytes())
		if err != nil || !q.Equal(p) {
			t.Fatalf("ParsePublicKeyAny(%x) gave a key whose Bytes do not parse back: %v", b, err)
		}
	})
}

// fuzzPassphrase is the passphrase FuzzParsePrivateKeyPEM tries.
const fuzzPassphrase = "fuzz"

func FuzzParsePrivateKeyPEM(f *testing.F) {
	k, err := NewPrivateKey(mustHex(f, vectorD))
	if err != nil {
		f.Fatal(err)
	}
	plain, err := k.MarshalPEM(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	b, _ := pem.Decode(plain)
	f.Add(b.Bytes)
	f.Add(mustHex(f, "30770201010420"+vectorD+"a00a06082a811ccf5501822da144034200"+vectorPub))
	f.Fuzz(func(t *testing.T, data []byte) {
		// data as a whole PEM file, and as the DER body of each block type.
		inputs := [][]byte{data}
		for _, typ := range []string{pemPrivateKey, pemEncryptedPrivateKey, pemECPrivateKey} {
			inputs = append(inputs, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: data}))
		}
		for _, in := range inputs {
			k, err := ParsePrivateKeyPEM(in, []byte(fuzzPassphrase))
			if err != nil {
				continue
			}
			out, err := k.MarshalPEM(nil)
			if err != nil {
				t.Fatalf("MarshalPEM of a parsed key: %v", err)
			}
			k2, err := ParsePrivateKeyPEM(out, nil)
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if !k2.Public().Equal(k.Public()) || !bytes.Equal(k2.scalarBytes(t), k.scalarBytes(t)) {
				t.Fatal("round trip changed the key")
			}
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	k, err := NewPrivateKey(mustHex(f, vectorD))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustHex(f, "307c022004ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73022100e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0042059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766041321886ca989ca9c7d58087307ca93092d651efa"))
	f.Add([]byte{0x30, 0})
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := k.Decrypt(ct)
		if err != nil {
			if !errors.Is(err, ErrMalformedCiphertext) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v wraps neither ErrMalformedCiphertext nor ErrDecrypt", err)
			}
			return
		}
		if len(pt) == 0 {
			t.Fatal("decrypted to an empty plaintext")
		}
	})
}

func FuzzOpen(f *testing.F) {
	var key DataKey // all-zero key: the fuzzer can find valid tags only by breaking GCM
	var buf bytes.Buffer
	if _, err := seal(&buf, bytes.NewReader([]byte("hello, evidence")), key, rand.Reader, minChunkSize); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(envelopeMagic))
	f.Fuzz(func(t *testing.T, ct []byte) {
		var out bytes.Buffer
		n, err := Open(&out, bytes.NewReader(ct), key)
		if n != int64(out.Len()) {
			t.Fatalf("Open returned n = %d, wrote %d", n, out.Len())
		}
		if err == nil {
			// Accepted: re-sealing with the same prefix must give the same bytes.
			prefix := bytes.NewReader(ct[envelopeHeaderSize-noncePrefixSize : envelopeHeaderSize])
			var again bytes.Buffer
			chunk := int(ct[8])<<24 | int(ct[9])<<16 | int(ct[10])<<8 | int(ct[11])
			if _, err := seal(&again, bytes.NewReader(out.Bytes()), key, prefix, chunk); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), ct) {
				t.Fatal("accepted stream is not the canonical sealing of its plaintext")
			}
			return
		}
		if !errors.Is(err, ErrMalformedCiphertext) && !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
