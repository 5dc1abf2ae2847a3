package crypto

import (
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// SaltSize is the size of a commitment salt. A record's commitment is
// SM3(salt ‖ original) with a fresh random salt of this size, so that the
// commitment of a low-entropy original cannot be reversed by guessing.
const SaltSize = 32

// NewCommitter returns a streaming SM3 hash.Hash already fed with salt: its
// Sum is SM3(salt ‖ data written), the commitment of the data. Reset returns
// it to the empty SM3 state, not to the salted one. The caller keeps
// ownership of salt; NewCommitter does not retain it.
func NewCommitter(salt []byte) hash.Hash {
	d := sm3.New()
	d.Write(salt)
	return d
}

// Commitment returns SM3(salt ‖ data), the commitment of data under salt.
func Commitment(salt, data []byte) Hash {
	return SM3(salt, data)
}
