package node

import (
	"bytes"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
)

// TestRotation stages a member key rotation in an encrypted home and
// starts the home twice: while the roster in force names the old key the
// node keeps it; once it names the staged key, the node retires the old
// key, takes the new one with the CometBFT keys derived from it, and
// starts its validator's last-sign state afresh.
func TestRotation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notary")
	pass := []byte("correct horse battery staple")
	if _, err := InitHome(HomeSpec{Home: dir, Moniker: "notary", Member: "notary", Role: ledger.RoleNotary, ChainID: "evidenced-rotate",
		Host: "127.0.0.1", P2PPort: 1, RPCPort: 2, APIPort: 3, BlobPort: 4, Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EVIDENCED_PASSPHRASE", string(pass))
	if _, err := StageRotation(dir, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("staged with a wrong passphrase: %v", err)
	}
	r, err := StageRotation(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StageRotation(dir, nil); err == nil || !strings.Contains(err.Error(), "already staged") {
		t.Fatalf("staged twice: %v", err)
	}
	next := filepath.Join(dir, "keys", "member.next.pem")
	if fi, err := os.Stat(next); err != nil || fi.Mode().Perm() != 0o600 || r.KeyFile != next {
		t.Fatalf("next key %s: %v %v", r.KeyFile, fi, err)
	}
	if _, err := keyfile.Load(next, nil); err == nil {
		t.Fatal("the next key is not encrypted, though member.pem is")
	}
	nk, err := keyfile.Load(next, pass)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, RotateSeatFile))
	if err != nil {
		t.Fatal(err)
	}
	seat, err := client.ParseSeat(data)
	if err != nil {
		t.Fatal(err)
	}
	nodeID, _ := NodeID(nk)
	if seat.Name != "notary" || seat.Role != ledger.RoleNotary || !bytes.Equal(seat.Keys[0], nk.Public().Bytes()) || seat.Node != nodeID ||
		len(seat.Validator) != 32 || !strings.HasPrefix(seat.Peer, "12D3KooW") || len(seat.Addrs) != 1 || seat.Addrs[0] != "/ip4/127.0.0.1/tcp/4" {
		t.Fatalf("rotate seat %+v", seat)
	}

	load := func() *Home {
		t.Helper()
		cfg, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := LoadCometConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		mk, err := loadKey(dir, cfg, "member key", cfg.Keys.MemberKey)
		if err != nil {
			t.Fatal(err)
		}
		h := &Home{Dir: dir, Config: cfg, Comet: cc, MemberKey: mk}
		if h.Validator, h.NodeKey, err = loadCometKeys(cfg, mk, cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile(), cc.NodeKeyFile()); err != nil {
			t.Fatal(err)
		}
		return h
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	// The roster in force names the old key: nothing moves.
	h := load()
	old := h.MemberKey
	h.Validator.LastSignState.Height = 100
	h.Validator.LastSignState.Save()
	if err := h.rotate(logger, func() (*crypto.PublicKey, uint32, error) { return old.Public(), 0, nil }); err != nil {
		t.Fatal(err)
	}
	if !h.MemberKey.Public().Equal(old.Public()) || h.Staged == nil || !h.Staged.Equal(nk.Public()) || !strings.Contains(logs.String(), "level=INFO msg=\"a member key rotation is staged; the roster in force still names the current member key") {
		t.Fatalf("before the rotation passed: key %s, staged %v; log %s", h.MemberKey.Public().ID().Short(), h.Staged, logs.String())
	}
	if _, err := os.Stat(next); err != nil {
		t.Fatalf("the staged key moved: %v", err)
	}

	// The roster in force names the staged key: the node moves to it.
	logs.Reset()
	h = load()
	if err := h.rotate(logger, func() (*crypto.PublicKey, uint32, error) { return nk.Public(), 1, nil }); err != nil {
		t.Fatal(err)
	}
	retired := filepath.Join(dir, "keys", "member.retired-"+old.Public().ID().Short()+".pem")
	if k, err := keyfile.Load(retired, pass); err != nil || !k.Public().Equal(old.Public()) {
		t.Fatalf("retired key %s: %v", retired, err)
	}
	if k, err := keyfile.Load(filepath.Join(dir, "keys", "member.pem"), pass); err != nil || !k.Public().Equal(nk.Public()) {
		t.Fatalf("member.pem after the rotation: %v", err)
	}
	if _, err := os.Stat(next); !os.IsNotExist(err) {
		t.Fatalf("member.next.pem is still there: %v", err)
	}
	if !h.MemberKey.Public().Equal(nk.Public()) || h.Staged != nil || string(h.NodeKey.ID()) != seat.Node ||
		hex.EncodeToString(h.Validator.Key.PubKey.Bytes()) != hex.EncodeToString(seat.Validator) {
		t.Fatalf("after the rotation: node %s (seat %s), validator %x (seat %x)", h.NodeKey.ID(), seat.Node, h.Validator.Key.PubKey.Bytes(), []byte(seat.Validator))
	}
	st, err := os.ReadFile(h.Comet.PrivValidatorStateFile())
	if err != nil {
		t.Fatal(err)
	}
	var state privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(st, &state); err != nil || state.Height != 0 || h.Validator.LastSignState.Height != 0 {
		t.Fatalf("the new validator's state: height %d (%v)", state.Height, err)
	}
	if _, err := os.Stat(h.Comet.PrivValidatorStateFile() + ".retired-" + old.Public().ID().Short()); err != nil {
		t.Fatalf("the old validator's state was not kept: %v", err)
	}
	if !strings.Contains(logs.String(), "level=INFO msg=\"rotated the member key") {
		t.Fatalf("log %s", logs.String())
	}
	// Started again, nothing is staged.
	h = load()
	if err := h.rotate(logger, func() (*crypto.PublicKey, uint32, error) { return nk.Public(), 1, nil }); err != nil || h.Staged != nil || !h.MemberKey.Public().Equal(nk.Public()) {
		t.Fatalf("restart: %v", err)
	}
}
