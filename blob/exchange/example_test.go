package exchange_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"

	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ExampleHost_Fetch starts two member hosts on loopback: a bank holding a
// ciphertext, and a court that fetches it.
func ExampleHost_Fetch() {
	ctx := context.Background()
	bankKey, _ := crypto.GenerateKey(rand.Reader)
	courtKey, _ := crypto.GenerateKey(rand.Reader)
	bankID, _ := exchange.PeerID(bankKey)
	courtID, _ := exchange.PeerID(courtKey)
	// The roster comes from committed chain state.
	roster := map[peer.ID]string{bankID: "bank", courtID: "court"}
	members := func(p peer.ID) (string, bool) { m, ok := roster[p]; return m, ok }

	start := func(key *crypto.PrivateKey, store exchange.Store) *exchange.Host {
		id, err := exchange.Identity(key)
		if err != nil {
			panic(err)
		}
		h, err := exchange.New(exchange.Config{
			Identity:    id,
			ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
			Members:     members,
			Authorize: func(member string, addr crypto.Hash) error {
				if member != "court" {
					return fmt.Errorf("no grant for %s", member)
				}
				return nil
			},
			Store: store,
		})
		if err != nil {
			panic(err)
		}
		return h
	}
	bankStore, courtStore := newMemStore(), newMemStore()
	ciphertext := []byte("SM4-GCM ciphertext bytes")
	addr := bankStore.put(ciphertext)
	bank := start(bankKey, bankStore)
	defer bank.Close()
	court := start(courtKey, courtStore)
	defer court.Close()

	info, err := peer.AddrInfosFromP2pAddrs(bank.Addrs()...)
	if err != nil {
		panic(err)
	}
	if err := court.Connect(ctx, info[0]); err != nil {
		panic(err)
	}
	if err := court.Fetch(ctx, bank.ID(), addr); err != nil {
		panic(err)
	}
	got, _ := courtStore.get(addr)
	fmt.Println(bytes.Equal(got, ciphertext), crypto.SM3(got) == addr)
	// Output:
	// true true
}
