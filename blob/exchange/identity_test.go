package exchange_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestIdentity(t *testing.T) {
	k1, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id1, err := exchange.Identity(k1)
	if err != nil {
		t.Fatal(err)
	}
	// The key is the Ed25519 key of the derived seed.
	seed, err := k1.DeriveSecret(exchange.IdentityLabel, ed25519.SeedSize)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := id1.GetPublic().Raw()
	if err != nil {
		t.Fatal(err)
	}
	if want := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey); !bytes.Equal(raw, want) {
		t.Fatalf("public key %x, want %x", raw, want)
	}
	again, err := exchange.Identity(k1)
	if err != nil {
		t.Fatal(err)
	}
	if !id1.Equals(again) {
		t.Error("Identity is not deterministic")
	}
	p1, err := exchange.PeerID(k1)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := peer.IDFromPrivateKey(id1); p1 != want {
		t.Errorf("PeerID = %s, want %s", p1, want)
	}
	p2, err := exchange.PeerID(k2)
	if err != nil {
		t.Fatal(err)
	}
	if p1 == p2 {
		t.Error("two member keys gave the same peer ID")
	}
}

func ExamplePeerID() {
	d, _ := hex.DecodeString("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
	member, err := crypto.NewPrivateKey(d)
	if err != nil {
		panic(err)
	}
	id, err := exchange.PeerID(member)
	if err != nil {
		panic(err)
	}
	fmt.Println(id)
	// Output:
	// 12D3KooWF6tDzsuqK15BdAqwTs1iqkXTfdHaqZAVaVCjkBnUDY5r
}
