package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/evidenced/evidenced/node"
)

func TestInit(t *testing.T) {
	dir := t.TempDir()
	n, err := Init(InitOptions{Out: dir, Validators: 4, BasePort: 30000, TimeoutCommit: 300 * time.Millisecond, ChainID: "kv-test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Members) != 4 {
		t.Fatalf("%d members, want 4", len(n.Members))
	}
	if got, want := n.Members[2].RPC, "http://127.0.0.1:30021"; got != want {
		t.Errorf("member 2 RPC = %q, want %q", got, want)
	}
	for i, m := range n.Members {
		gen, err := cmttypes.GenesisDocFromFile(filepath.Join(m.Home, "config", "genesis.json"))
		if err != nil {
			t.Fatalf("member %d genesis: %v", i, err)
		}
		if gen.ChainID != "kv-test" || len(gen.Validators) != 4 || gen.Validators[0].Power != 10 || gen.ConsensusParams.ABCI.VoteExtensionsEnableHeight != 1 {
			t.Errorf("member %d genesis: chain %q, %d validators, params %+v", i, gen.ChainID, len(gen.Validators), gen.ConsensusParams.ABCI)
		}
		// Start's config reading: the same overrides as node.InitHome.
		cc, err := node.LoadCometConfig(m.Home)
		if err != nil {
			t.Fatal(err)
		}
		if cc.Consensus.TimeoutCommit != 300*time.Millisecond || cc.TxIndex.Indexer != "null" || !cc.P2P.AllowDuplicateIP || cc.P2P.AddrBookStrict {
			t.Errorf("member %d config: timeout_commit %v, indexer %q, allow_duplicate_ip %v, addr_book_strict %v",
				i, cc.Consensus.TimeoutCommit, cc.TxIndex.Indexer, cc.P2P.AllowDuplicateIP, cc.P2P.AddrBookStrict)
		}
		if peers := strings.Split(cc.P2P.PersistentPeers, ","); len(peers) != 3 {
			t.Errorf("member %d has %d persistent peers, want 3", i, len(peers))
		}
	}
	if _, err := Init(InitOptions{Out: dir, Validators: 4, BasePort: 30000, ChainID: "kv-test"}); err == nil {
		t.Error("Init over an existing network succeeded")
	}
}
