package exchange

import "errors"

var (
	// ErrForbidden is returned by Fetch when the serving peer's
	// authorisation check refused the requesting member (no grant and not
	// the owner), and by Push when the replica declined to store the blob.
	// The wrapping error carries the peer's reason.
	ErrForbidden = errors.New("refused by the peer")

	// ErrNotFound is returned by Fetch when the peer does not hold the blob,
	// and by Push when the local store does not hold it.
	ErrNotFound = errors.New("blob not held")

	// ErrBusy is returned when the peer is already serving its maximum
	// number of transfers. Retry later or use another replica.
	ErrBusy = errors.New("peer is busy: retry later or use another replica")

	// ErrAddressMismatch is returned when bytes received do not hash (SM3)
	// to the requested address: the peer sent a corrupt or different blob.
	// Nothing is made visible; fetch the blob from another replica. A Store
	// reports it from Incoming.Commit by wrapping this error.
	ErrAddressMismatch = errors.New("received bytes do not hash to the blob address")

	// ErrNotMember is returned when the remote peer ID is not on the
	// alliance roster (Config.Members), so this host will not talk to it.
	ErrNotMember = errors.New("peer is not an alliance member")

	// ErrProtocol is returned when a peer breaks the wire protocol (a
	// malformed frame, too few or too many bytes) or reports that we did.
	ErrProtocol = errors.New("exchange protocol violation")

	// ErrPeerFailed is returned when the peer reports that it failed to read
	// or store the blob (a disk or internal error on its side).
	ErrPeerFailed = errors.New("peer failed to read or store the blob")

	// ErrTooLarge is returned when a blob is larger than Config.MaxSize.
	ErrTooLarge = errors.New("blob larger than the configured maximum size")
)
