package node

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
)

// TestCometKeysDerived: a new home holds no CometBFT key file; the node
// derives the validator and node keys from the member key (encrypted here),
// the same ones InitHome announced, and keeps the last-sign state; a key
// file beside derived keys is refused; an older home's files still load.
func TestCometKeysDerived(t *testing.T) {
	home := filepath.Join(t.TempDir(), "bank")
	pass := []byte("correct horse battery staple")
	h, err := InitHome(HomeSpec{Home: home, Moniker: "bank", Member: "bank", Role: ledger.RoleBank, ChainID: "evidenced-keys",
		Host: "127.0.0.1", TimeoutCommit: 50 * time.Millisecond, Passphrase: pass})
	if err != nil {
		t.Fatal(err)
	}
	cc := h.CometConfig
	for _, f := range []string{cc.PrivValidatorKeyFile(), cc.NodeKeyFile()} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("InitHome wrote %s (%v): CometBFT keys must not be on disk", f, err)
		}
	}
	cfg, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Keys.CometKeys != config.CometKeysDerived {
		t.Fatalf("keys.comet_keys = %q, want %q", cfg.Keys.CometKeys, config.CometKeysDerived)
	}
	member, err := keyfile.Load(h.MemberKeyFile, pass)
	if err != nil {
		t.Fatal(err)
	}
	load := func() (*privval.FilePV, *p2p.NodeKey, error) {
		return loadCometKeys(cfg, member, cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile(), cc.NodeKeyFile())
	}
	pv, nk, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pv.Key.PubKey.Bytes(), h.ValidatorKey) || string(nk.ID()) != h.NodeID {
		t.Fatalf("derived validator %X / node %s, InitHome announced %X / %s", pv.Key.PubKey.Bytes(), nk.ID(), h.ValidatorKey, h.NodeID)
	}
	if pv.Key.PubKey.Equals(nk.PubKey()) {
		t.Fatal("the validator and node keys are the same key")
	}

	// The last-sign state (CometBFT's guard against signing twice) is read back.
	pv.LastSignState.Height, pv.LastSignState.Round, pv.LastSignState.Step = 7, 1, 3
	pv.LastSignState.Save()
	again, _, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if st := again.LastSignState; st.Height != 7 || st.Round != 1 || st.Step != 3 {
		t.Fatalf("last-sign state after reload = %+v, want height 7 round 1 step 3", st)
	}
	if _, err := os.Stat(cc.PrivValidatorKeyFile()); !os.IsNotExist(err) {
		t.Fatalf("saving the sign state wrote the key file (%v)", err)
	}

	// A key file beside derived keys is refused.
	if err := os.WriteFile(cc.NodeKeyFile(), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := load(); err == nil || !strings.Contains(err.Error(), "comet_keys") {
		t.Fatalf("load with a node_key.json beside derived keys = %v, want a refusal naming keys.comet_keys", err)
	}
	os.Remove(cc.NodeKeyFile())

	// A damaged state file is an error, not a fresh start.
	if err := os.WriteFile(cc.PrivValidatorStateFile(), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := load(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("load with a damaged state = %v, want an error", err)
	}

	// An older home: CometBFT's files, keys.comet_keys unset.
	old := privval.GenFilePV(cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
	old.Save()
	oldNode, err := p2p.LoadOrGenNodeKey(cc.NodeKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keys.CometKeys = ""
	pv, nk, err = load()
	if err != nil {
		t.Fatal(err)
	}
	if !pv.Key.PubKey.Equals(old.Key.PubKey) || nk.ID() != oldNode.ID() {
		t.Fatal("an older home's key files were not the keys loaded")
	}
}
