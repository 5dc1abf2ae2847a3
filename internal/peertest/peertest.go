// Package peertest holds test helpers for the exchange of originals: a
// member's libp2p identity from a genesis roster, a store that keeps
// nothing, and a failing disk. It is imported only from _test.go files.
package peertest

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// RosterPeer reads member's libp2p identity and first address from the
// genesis roster of the node home.
func RosterPeer(t testing.TB, home, member string) peer.AddrInfo {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		AppState json.RawMessage `json:"app_state"`
	}
	if err := json.Unmarshal(doc, &g); err != nil {
		t.Fatal(err)
	}
	gs, err := ledger.ParseGenesisState(g.AppState)
	if err != nil {
		t.Fatal(err)
	}
	for _, gm := range gs.Members {
		if gm.Name == member && gm.Peer != "" && len(gm.Addrs) > 0 {
			id, err := peer.Decode(gm.Peer)
			if err != nil {
				t.Fatal(err)
			}
			ma, err := multiaddr.NewMultiaddr(gm.Addrs[0])
			if err != nil {
				t.Fatal(err)
			}
			return peer.AddrInfo{ID: id, Addrs: []multiaddr.Multiaddr{ma}}
		}
	}
	t.Fatalf("%s has no peer in the roster of %s", member, home)
	return peer.AddrInfo{}
}

// EmptyStore is an exchange.Store that holds and stores nothing: the store
// of an outsider probing the alliance.
type EmptyStore struct{}

// Has implements exchange.Store.
func (EmptyStore) Has(crypto.Hash) bool { return false }

// Size implements exchange.Store.
func (EmptyStore) Size(crypto.Hash) (int64, error) { return 0, fs.ErrNotExist }

// OpenBlob implements exchange.Store.
func (EmptyStore) OpenBlob(crypto.Hash) (io.ReadSeekCloser, error) { return nil, fs.ErrNotExist }

// Receive implements exchange.Store.
func (EmptyStore) Receive(crypto.Hash, int64) (exchange.Incoming, error) {
	return nil, errors.New("this store keeps nothing")
}

// CorruptBlob flips a few bytes in the middle of the stored blob addr, as a
// failing disk would, and checks that it no longer verifies.
func CorruptBlob(t testing.TB, s *blob.Store, addr crypto.Hash) {
	t.Helper()
	f, err := s.OpenBlob(addr)
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := make([]byte, min(3, fi.Size()))
	off := (fi.Size() - int64(len(b))) / 2
	if _, err := w.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= 0xff
	}
	if _, err := w.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(addr); err == nil {
		t.Fatalf("blob %s still verifies after it was corrupted", addr)
	}
}
