package node

import (
	stded25519 "crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
)

// CometBFT's own keys: the validator key that signs votes and the node key
// of its peer-to-peer links. A home made by InitHome derives both from the
// member key (keys.comet_keys = "derived"), as the libp2p identity is, so
// the member key, encrypted when a passphrase is configured, is the only
// secret on disk: CometBFT's priv_validator_key.json and node_key.json,
// which it keeps in the clear, are never written. Homes made before keep
// those files (keys.comet_keys = "files", the default when unset).

// Labels of the derived CometBFT keys (crypto.PrivateKey.DeriveSecret).
const (
	labelValidatorKey = "evidenced/cometbft/validator-key/v1"
	labelNodeKey      = "evidenced/cometbft/node-key/v1"
)

// NodeID returns the CometBFT node id a home made by InitHome or JoinHome
// derives from the member key (keys.comet_keys = "derived").
func NodeID(member *crypto.PrivateKey) (string, error) {
	_, nk, err := cometKeys(member)
	if err != nil {
		return "", err
	}
	return string(nk.ID()), nil
}

// cometKeys derives the CometBFT validator and node keys from the member key.
func cometKeys(member *crypto.PrivateKey) (validator cmted25519.PrivKey, node *p2p.NodeKey, err error) {
	derive := func(label string) (cmted25519.PrivKey, error) {
		seed, err := member.DeriveSecret(label, stded25519.SeedSize)
		if err != nil {
			return nil, err
		}
		return cmted25519.PrivKey(stded25519.NewKeyFromSeed(seed)), nil
	}
	if validator, err = derive(labelValidatorKey); err != nil {
		return nil, nil, fmt.Errorf("derive the CometBFT validator key: %w", err)
	}
	nk, err := derive(labelNodeKey)
	if err != nil {
		return nil, nil, fmt.Errorf("derive the CometBFT node key: %w", err)
	}
	return validator, &p2p.NodeKey{PrivKey: nk}, nil
}

// loadCometKeys returns the node's validator (with its last-sign state,
// CometBFT's guard against signing twice at one height) and its node key,
// as keys.comet_keys says.
func loadCometKeys(cfg *config.Config, member *crypto.PrivateKey, keyFile, stateFile, nodeKeyFile string) (*privval.FilePV, *p2p.NodeKey, error) {
	if cfg.Keys.CometKeys != config.CometKeysDerived {
		nodeKey, err := p2p.LoadNodeKey(nodeKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("load node key %s: %w", nodeKeyFile, err)
		}
		if _, err := os.Stat(keyFile); err != nil {
			return nil, nil, fmt.Errorf("validator key %s: %w", keyFile, err)
		}
		if _, err := os.Stat(stateFile); err != nil {
			return nil, nil, fmt.Errorf("validator state %s: %w", stateFile, err)
		}
		return privval.LoadFilePV(keyFile, stateFile), nodeKey, nil
	}
	for _, f := range []string{keyFile, nodeKeyFile} {
		if _, err := os.Stat(f); err == nil {
			return nil, nil, fmt.Errorf("%s exists, but keys.comet_keys is %q: CometBFT's keys are derived from the member key, and a key file beside them is a secret in the clear or another identity; remove it, or set keys.comet_keys = %q to use the files", f, config.CometKeysDerived, config.CometKeysFiles)
		}
	}
	validator, nodeKey, err := cometKeys(member)
	if err != nil {
		return nil, nil, err
	}
	pv := privval.NewFilePV(validator, keyFile, stateFile)
	b, err := os.ReadFile(stateFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		pv.LastSignState.Save() // a new validator: nothing signed yet
	case err != nil:
		return nil, nil, fmt.Errorf("validator state: %w", err)
	default:
		var st privval.FilePVLastSignState
		if err := cmtjson.Unmarshal(b, &st); err != nil {
			return nil, nil, fmt.Errorf("validator state %s is damaged (%v): it guards against signing twice; restore it from a backup", stateFile, err)
		}
		// Copy the fields, keeping the file path NewFilePV set.
		s := &pv.LastSignState
		s.Height, s.Round, s.Step, s.Signature, s.SignBytes = st.Height, st.Round, st.Step, st.Signature, st.SignBytes
	}
	return pv, nodeKey, nil
}
