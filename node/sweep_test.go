package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/testutil"
	"github.com/evidenced/evidenced/node"
)

// TestSweepOrphans: a ciphertext no committed record names is removed, one
// whose record committed stays.
func TestSweepOrphans(t *testing.T) {
	a, n, cl := startBank(t, "evidenced-sweep-test")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cl.UploadOriginal(ctx, testutil.NewGenReader(64<<10), 64<<10, client.OriginalParams{Kind: "loan-contract", Chain: "LOAN-SW1", Step: 1, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	store, err := blob.Open(filepath.Join(a.Members[0].Home, node.BlobDir))
	if err != nil {
		t.Fatal(err)
	}
	dk, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := store.Seal(ctx, bytes.NewReader([]byte("an upload whose record never committed")), dk, make([]byte, crypto.SaltSize), 0)
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := n.Originals().SweepOrphans(ctx, time.Hour); err != nil || removed != 0 {
		t.Fatalf("sweep of young blobs removed %d, %v; want 0", removed, err)
	}
	if removed, err := n.Originals().SweepOrphans(ctx, 0); err != nil || removed != 1 {
		t.Fatalf("sweep removed %d, %v; want the 1 orphan", removed, err)
	}
	if store.Has(orphan.Address) || !store.Has(res.Cipher) {
		t.Fatalf("after the sweep: orphan held %v, the committed record's original held %v", store.Has(orphan.Address), store.Has(res.Cipher))
	}
}
