package exchange

import (
	"crypto/ed25519"
	"fmt"

	"github.com/evidenced/evidenced/crypto"
	libp2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// IdentityLabel is the DeriveSecret label of the Ed25519 seed of a member's
// libp2p identity. Changing it changes every member's peer ID.
const IdentityLabel = "evidenced/libp2p/ed25519/v1"

// Identity returns the libp2p identity of the member whose SM2 key is member:
// the Ed25519 key whose seed is member.DeriveSecret(IdentityLabel, 32). It is
// deterministic, so a node needs no separate key file and the roster's peer
// ID can be computed from the member key (PeerID).
func Identity(member *crypto.PrivateKey) (libp2pcrypto.PrivKey, error) {
	seed, err := member.DeriveSecret(IdentityLabel, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("derive libp2p identity: %w", err)
	}
	defer clear(seed)
	// The libp2p key keeps k itself: do not clear it.
	k := ed25519.NewKeyFromSeed(seed)
	priv, err := libp2pcrypto.UnmarshalEd25519PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("derive libp2p identity: %w", err)
	}
	return priv, nil
}

// PeerID returns the libp2p peer ID of the member whose SM2 key is member,
// the ID of Identity(member).
func PeerID(member *crypto.PrivateKey) (peer.ID, error) {
	priv, err := Identity(member)
	if err != nil {
		return "", err
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("libp2p peer ID: %w", err)
	}
	return id, nil
}
