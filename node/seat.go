package node

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"

	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
)

// Seat files and member key rotation. A seat file (client.Seat) holds
// what a proposal needs to add a member or rotate its key: its name, role,
// member key, and the CometBFT validator key, node id and libp2p peer id
// derived from that key, with the peer's addresses. `evidenced join`
// writes HOME/seat.json; `evidenced keys rotate` draws the next member key
// into keys/member.next.pem and writes HOME/rotate-seat.json. The node
// moves to the next key at start once the roster in force names it.

// Files of a home.
const (
	SeatFile       = "seat.json"        // the seat of a joining member
	RotateSeatFile = "rotate-seat.json" // the seat of the staged member key
)

// nextKeyName is the staged member key, next to the member key.
const nextKeyName = "member.next.pem"

// NextMemberKeyFile returns the path of the staged member key of a home
// whose member key is at memberKey.
func NextMemberKeyFile(memberKey string) string {
	return filepath.Join(filepath.Dir(memberKey), nextKeyName)
}

// SeatOf returns the seat of member name with role whose member key is mk:
// the validator key, node id and peer id derived from mk, and addrs.
func SeatOf(name string, role ledger.Role, mk *crypto.PrivateKey, addrs []string) (*client.Seat, error) {
	validator, nk, err := cometKeys(mk)
	if err != nil {
		return nil, err
	}
	peer, err := exchange.PeerID(mk)
	if err != nil {
		return nil, fmt.Errorf("derive the libp2p identity: %w", err)
	}
	return &client.Seat{Name: name, Role: role, Keys: []client.HexBytes{mk.Public().Bytes()}, Validator: validator.PubKey().Bytes(),
		Node: string(nk.ID()), Peer: peer.String(), Addrs: addrs}, nil
}

// SaveSeat writes a seat file (0644: it holds public keys only).
func SaveSeat(path string, s *client.Seat) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the seat file: %w", err)
	}
	return nil
}

// Rotation is a staged member key rotation (StageRotation).
type Rotation struct {
	Member  string
	KeyFile string // keys/member.next.pem
	Seat    *client.Seat
	File    string // HOME/rotate-seat.json
}

// StageRotation draws the next member key of the home in dir into
// keys/member.next.pem (0600, encrypted as member.pem is: with pass, or
// when nil the home's passphrase, keys.passphrase_file or
// EVIDENCED_PASSPHRASE) and writes its seat to HOME/rotate-seat.json. It
// refuses a home that already has a staged key, and one whose CometBFT
// keys are files rather than derived from the member key.
func StageRotation(dir string, pass []byte) (*Rotation, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	if cfg.Keys.CometKeys != config.CometKeysDerived {
		return nil, fmt.Errorf("this home keeps CometBFT's keys in files (keys.comet_keys = %q): a rotation derives them from the new member key, which needs keys.comet_keys = %q", cfg.Keys.CometKeys, config.CometKeysDerived)
	}
	cur := config.Path(dir, cfg.Keys.MemberKey)
	next := NextMemberKeyFile(cur)
	if _, err := os.Stat(next); err == nil {
		return nil, fmt.Errorf("%s exists: a rotation is already staged; propose it with its %s, or remove both to draw another key", next, filepath.Join(dir, RotateSeatFile))
	}
	// The next key is encrypted as the current one is.
	if _, err := keyfile.Load(cur, nil); err == nil {
		pass = nil
	} else {
		if pass == nil {
			if pass, err = passphrase(dir, cfg); err != nil {
				return nil, err
			}
		}
		if _, err := keyfile.Load(cur, pass); err != nil {
			return nil, fmt.Errorf("load the member key %s: %w (the next key is encrypted with the same passphrase: give it with --passphrase-file, keys.passphrase_file or EVIDENCED_PASSPHRASE)", cur, err)
		}
	}
	role, err := ledger.ParseRole(cfg.Role)
	if err != nil {
		return nil, fmt.Errorf("evidenced.toml role: %w", err)
	}
	mk, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the next member key: %w", err)
	}
	var addrs []string
	if cfg.Originals.Listen != "" {
		addrs = []string{cfg.Originals.Listen}
	}
	seat, err := SeatOf(cfg.Member, role, mk, addrs)
	if err != nil {
		return nil, err
	}
	if err := keyfile.Save(next, mk, pass); err != nil {
		return nil, fmt.Errorf("save the next member key: %w", err)
	}
	file := filepath.Join(dir, RotateSeatFile)
	if err := SaveSeat(file, seat); err != nil {
		os.Remove(next)
		return nil, err
	}
	return &Rotation{Member: cfg.Member, KeyFile: next, Seat: seat, File: file}, nil
}

// applyRotation moves the home to its staged member key when the roster
// in force names it as the member's key: member.pem becomes
// member.retired-KEYID.pem, member.next.pem becomes member.pem, CometBFT's
// keys are those of the new key (derived, or rewritten files) and the
// validator's last-sign state starts afresh (a new key has signed
// nothing). Otherwise the node keeps its key and the staged one is noted
// in h.Staged.
func (h *Home) applyRotation(logger *slog.Logger) error {
	return h.rotate(logger, func() (*crypto.PublicKey, uint32, error) {
		snap := h.DB.Snapshot()
		defer snap.Close()
		ri, err := ledger.NewView(snap).RosterAt(math.MaxInt64)
		if err != nil {
			return nil, 0, err
		}
		st := ri.Seat(h.Config.Member)
		if st == nil || len(st.Keys) == 0 {
			return nil, ri.Version, nil
		}
		return st.Keys[0], ri.Version, nil
	})
}

// rotate is applyRotation with the member key the roster in force names
// (nil: none) and its version from inForce.
func (h *Home) rotate(logger *slog.Logger, inForce func() (*crypto.PublicKey, uint32, error)) error {
	cfg := h.Config
	cur := config.Path(h.Dir, cfg.Keys.MemberKey)
	next := NextMemberKeyFile(cur)
	if _, err := os.Stat(next); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	pass, err := passphrase(h.Dir, cfg)
	if err != nil {
		return err
	}
	nk, err := keyfile.Load(next, pass)
	if err != nil {
		return fmt.Errorf("load the staged member key %s: %w (it is encrypted as the member key is)", next, err)
	}
	named, version, err := inForce()
	if errors.Is(err, ledger.ErrNotInitialized) {
		h.Staged = nk.Public()
		logger.Info("a member key rotation is staged, but nothing is committed yet: starting with the current member key", "staged", nk.Public().ID().Short())
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the roster in force: %w", err)
	}
	if named == nil || !named.Equal(nk.Public()) {
		h.Staged = nk.Public()
		logger.Info("a member key rotation is staged; the roster in force still names the current member key, so the node starts with it (propose the rotation with HOME/"+RotateSeatFile+")",
			"member", cfg.Member, "key", h.MemberKey.Public().ID().Short(), "staged", nk.Public().ID().Short(), "roster_version", version)
		return nil
	}
	old := h.MemberKey.Public().ID()
	retired := filepath.Join(filepath.Dir(cur), fmt.Sprintf("member.retired-%s.pem", old.Short()))
	if err := os.Rename(cur, retired); err != nil {
		return fmt.Errorf("retire the member key: %w", err)
	}
	if err := os.Rename(next, cur); err != nil {
		return fmt.Errorf("put the staged member key in place (the old one is %s): %w", retired, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(cur)); err != nil {
		return err
	}
	cc := h.Comet
	keyFile, stateFile, nodeKeyFile := cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile(), cc.NodeKeyFile()
	suffix := ".retired-" + old.Short()
	moved := []string{}
	files := []string{stateFile}
	if cfg.Keys.CometKeys != config.CometKeysDerived {
		files = append(files, keyFile, nodeKeyFile)
	}
	for _, f := range files {
		if err := os.Rename(f, f+suffix); err == nil {
			moved = append(moved, f+suffix)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("retire %s: %w", f, err)
		}
	}
	if cfg.Keys.CometKeys != config.CometKeysDerived {
		validator, nodeKey, err := cometKeys(nk)
		if err != nil {
			return err
		}
		privval.NewFilePV(validator, keyFile, stateFile).Save()
		if err := (&p2p.NodeKey{PrivKey: nodeKey.PrivKey}).SaveAs(nodeKeyFile); err != nil {
			return fmt.Errorf("write the new node key: %w", err)
		}
	}
	h.MemberKey, h.Staged = nk, nil
	if h.Validator, h.NodeKey, err = loadCometKeys(cfg, nk, keyFile, stateFile, nodeKeyFile); err != nil {
		return err
	}
	logger.Info("rotated the member key: the roster in force names the staged key", "member", cfg.Member, "roster_version", version,
		"key", nk.Public().ID().Short(), "retired", retired, "node_id", h.NodeKey.ID(), "validator", fmt.Sprintf("%x", h.Validator.Key.PubKey.Bytes()), "retired_files", moved)
	return nil
}

// watchRotation tells the operator, once per roster version, when the
// roster in force stops naming this node's member key: the node still
// signs with the key it started with, which the others no longer admit,
// until it restarts on the member's new key (applyRotation moves to a
// staged one at start). staged is the staged key the node found at start,
// or nil; a key staged while the node runs is found by its file.
func (n *Node) watchRotation(staged *crypto.PublicKey) {
	running := n.home.MemberKey.Public()
	member := n.home.Config.Member
	nextFile := filepath.Join(n.home.Dir, "keys", nextKeyName)
	var warned uint32
	for {
		changed := n.changed.wait()
		var (
			version uint32
			seat    *ledger.Seat
		)
		err := n.withView(func(v *ledger.View, _ int64) error {
			ri, err := v.RosterAt(math.MaxInt64)
			if err != nil {
				return err
			}
			version, seat = ri.Version, ri.Seat(member)
			return nil
		})
		if err == nil && version != warned {
			switch {
			case seat == nil:
				warned = version
				n.log.Warn("this member is not in the roster in force: the other members refuse this node (a new member's node is admitted once the proposal that adds it is in force; a removed member's node may be stopped)", "member", member, "roster_version", version)
			case len(seat.Keys) > 0 && !seat.Keys[0].Equal(running):
				warned = version
				_, serr := os.Stat(nextFile)
				switch {
				case staged != nil && seat.Keys[0].Equal(staged), staged == nil && serr == nil:
					n.log.Warn("the roster now names the staged member key; restart the node to use it", "member", member, "roster_version", version,
						"key", seat.Keys[0].ID().Short())
				default:
					n.log.Warn("the roster in force names another member key than this node's, and no staged key: the other members refuse this node; install the member's new key as keys/member.next.pem (evidenced keys rotate makes one) and restart",
						"member", member, "roster_version", version, "key", seat.Keys[0].ID().Short(), "running", running.ID().Short())
				}
			}
		}
		select {
		case <-changed:
		case <-n.stopping:
			return
		}
	}
}
