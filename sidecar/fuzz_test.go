package sidecar_test

import (
	"bytes"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/sidecar"
)

// FuzzParse checks that Parse never accepts more than MaxSize bytes, and
// that whatever it accepts formats to bytes that parse back to the same
// sidecar: Format(Parse(Format(Parse(x)))) = Format(Parse(x)).
func FuzzParse(f *testing.F) {
	good, err := sidecar.Format(committed())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	kept := committed()
	kept.Kept = &sidecar.Kept{Cipher: crypto.SM3([]byte("c")), CipherSize: 9, Owner: "bank-a"}
	if good, err = sidecar.Format(kept); err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"salt":"00","cipher_size":1}`))
	f.Add([]byte(`{"version":1,"salt":"00","time":"2026-01-02T03:04:05.5-07:00","labels":{"a":"\u00ff"}}`))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := sidecar.Parse(data)
		if err != nil {
			return
		}
		if len(data) > sidecar.MaxSize || len(sc.Salt) == 0 || sc.Version != sidecar.Version {
			t.Fatalf("Parse accepted %d bytes with salt %x, version %d", len(data), sc.Salt, sc.Version)
		}
		once, err := sidecar.Format(sc)
		if err != nil {
			t.Fatalf("a parsed sidecar does not format: %v", err)
		}
		back, err := sidecar.Parse(once)
		if err != nil {
			t.Fatalf("a formatted sidecar does not parse: %v\n%s", err, once)
		}
		twice, err := sidecar.Format(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("round trip changed the sidecar:\n%s\n%s", once, twice)
		}
	})
}
