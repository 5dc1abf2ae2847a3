package blob

import "errors"

var (
	// ErrNotFound is returned when no complete blob is stored at an address.
	ErrNotFound = errors.New("blob not found in the store: fetch it from a member that holds it")

	// ErrExists is returned by Receive when the blob is already stored
	// complete: there is nothing to receive.
	ErrExists = errors.New("blob is already stored: nothing to receive")

	// ErrBusy is returned by Receive when another transfer of the same
	// address is in progress in this store.
	ErrBusy = errors.New("blob is already being received: wait for that transfer to finish, then retry")

	// ErrCorrupt is returned when a stored blob's bytes no longer hash to its
	// address (disk corruption or tampering). Scrub moves such blobs aside;
	// fetch a good copy from another member.
	ErrCorrupt = errors.New("stored blob is corrupt (its bytes do not hash to its address): scrub the store and fetch a good copy from another member")

	// ErrAddressMismatch is returned by Incoming.Commit when the received
	// bytes do not hash to the address asked for. The partial file is
	// deleted; fetch the blob again, from another member.
	ErrAddressMismatch = errors.New("received bytes do not hash to the requested address: the peer sent wrong data, fetch it from another member")

	// ErrTooLarge is returned when data exceeds its bound: a plaintext longer
	// than Seal's maxSize, or a write past the size given to Receive.
	// Nothing is kept.
	ErrTooLarge = errors.New("data is larger than allowed: send a smaller original, or check the size recorded for the blob")

	// ErrCommitmentMismatch is returned by DecryptCommitted when the
	// plaintext decrypts but SM3(salt ‖ plaintext) is not the expected
	// commitment: the salt is wrong, or the original is not the one recorded.
	ErrCommitmentMismatch = errors.New("plaintext does not match the commitment: check the salt, or the original is not the one recorded")
)
