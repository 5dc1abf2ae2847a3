package node

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evidenced/evidenced/ledger"
)

// TestCheckpointsForm runs a one-member alliance in process and waits for
// trusted checkpoints built from vote extensions to land on chain.
func TestCheckpointsForm(t *testing.T) {
	home := filepath.Join(t.TempDir(), "bank")
	h, err := InitHome(HomeSpec{Home: home, Moniker: "bank", Member: "bank", Role: ledger.RoleBank, ChainID: "evidenced-cp",
		Host: "127.0.0.1", P2PPort: 0, RPCPort: 0, APIPort: 0, TimeoutCommit: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteGenesis("evidenced-cp", time.Now(), []GenesisMember{{Home: h, Power: 10}}); err != nil {
		t.Fatal(err)
	}
	n, err := New(home, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	deadline := time.Now().Add(30 * time.Second)
	for {
		var cp *ledger.SignedCheckpoint
		err := n.withView(func(v *ledger.View, _ int64) (err error) {
			cp, err = v.LatestCheckpoint()
			return err
		})
		if err == nil {
			if len(cp.Signatures) != 1 || cp.Signatures[0].Member != "bank" || cp.Checkpoint.ChainID != "evidenced-cp" {
				t.Fatalf("checkpoint %+v", cp)
			}
			t.Logf("trusted checkpoint:\n%s", cp.Text)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no trusted checkpoint within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}
