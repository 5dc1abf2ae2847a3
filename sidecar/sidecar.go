package sidecar

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
)

// Version is the version of the sidecar format that Format writes and
// Parse reads.
const Version = 1

// Suffix is appended to an original's path to name its sidecar.
const Suffix = ".evidence.json"

// MaxSize is the largest sidecar Parse and Load accept, in bytes: far
// above what a record's fields can fill.
const MaxSize = 64 << 10

// Status values of a sidecar.
const (
	StatusPending   = "pending"   // written before submitting: the transaction may not be committed
	StatusCommitted = "committed" // the transaction is in a committed block
)

// perm is the mode of a sidecar file: it holds the salt, a secret.
const perm = 0o600

// File is a sidecar: the salt and commitment of one original and where its
// record went on chain. The field order is the order of the JSON object.
type File struct {
	Version    int               `json:"version"`
	Name       string            `json:"file"` // base name of the original
	Size       uint64            `json:"size"`
	Salt       Salt              `json:"salt"`
	Commitment crypto.Hash       `json:"commitment"` // SM3(salt ‖ original)
	Chain      string            `json:"chain"`
	Step       uint32            `json:"step"`
	Pos        uint16            `json:"pos"` // record position in the entry (batch)
	Kind       string            `json:"kind"`
	Labels     map[string]string `json:"labels,omitempty"`
	Status     string            `json:"status"` // StatusPending or StatusCommitted
	TxID       crypto.Hash       `json:"tx_id"`
	Index      uint64            `json:"index,omitempty"`
	Height     int64             `json:"height,omitempty"`
	Time       time.Time         `json:"time,omitzero"` // block time
	ChainID    string            `json:"chain_id"`      // the alliance chain id
	// Kept is set when a member node keeps the encrypted original
	// (submit --upload); nil otherwise. Its fields are written at the top
	// level of the JSON object, after chain_id.
	*Kept
}

// Kept says where a member node keeps the encrypted original.
type Kept struct {
	Cipher     crypto.Hash `json:"cipher"`      // SM3 address of the ciphertext at the owner's node
	CipherSize uint64      `json:"cipher_size"` // bytes of ciphertext
	Owner      string      `json:"owner"`       // the member whose node keeps it
}

// MarkCommitted records that the record's transaction was committed at
// log entry index, in the block at height with block time t.
func (f *File) MarkCommitted(index uint64, height int64, t time.Time) {
	f.Status, f.Index, f.Height, f.Time = StatusCommitted, index, height, t.UTC()
}

// Path returns the path of the sidecar of the original at path.
func Path(original string) string { return original + Suffix }

// Parse decodes a sidecar. It rejects input larger than MaxSize (before
// decoding it), JSON that is not a sidecar object, another version, and a
// sidecar without a salt. Fields it does not know are ignored.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%d bytes, more than the %d bytes a sidecar has at most: this is not a FILE%s sidecar", len(data), MaxSize, Suffix)
	}
	f := &File{}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("not a sidecar file (FILE%s): give the one evidenced wrote beside the original: %w", Suffix, err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("sidecar version %d is not supported (this evidenced reads version %d): read it with the evidenced that wrote it", f.Version, Version)
	}
	if len(f.Salt) == 0 {
		return nil, fmt.Errorf("the sidecar holds no salt: use the FILE%s written with the original by evidenced submit, tx build or fetch", Suffix)
	}
	return f, nil
}

// Format encodes f as indented JSON with a final newline, the bytes Save
// writes.
func Format(f *File) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encode sidecar: %w", err)
	}
	return b.Bytes(), nil
}

// Load reads and parses the sidecar at path.
func Load(path string) (*File, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the sidecar: %w", err)
	}
	defer in.Close()
	data, err := io.ReadAll(io.LimitReader(in, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read the sidecar %s: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("sidecar %s: %w", path, err)
	}
	return f, nil
}

// Save writes f to path atomically (mode 0600), replacing any file there.
// Its errors name path.
func Save(path string, f *File) error {
	return save(path, f, atomicfile.WriteFile)
}

// SaveNew is Save that fails, with an error wrapping fs.ErrExist, when
// path already exists: an earlier sidecar may hold the only copy of another
// salt.
func SaveNew(path string, f *File) error {
	return save(path, f, atomicfile.WriteNew)
}

func save(path string, f *File, write func(string, []byte, os.FileMode) error) error {
	data, err := Format(f)
	if err != nil {
		return err
	}
	return write(path, data, perm)
}

// Salt is a commitment salt; in JSON it is a string of lowercase hex
// digits.
type Salt []byte

// MarshalText returns s as lowercase hex.
func (s Salt) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, s), nil }

// UnmarshalText sets s from hex digits (either case).
func (s *Salt) UnmarshalText(text []byte) error {
	b, err := hex.AppendDecode(make([]byte, 0, hex.DecodedLen(len(text))), text)
	if err != nil {
		return fmt.Errorf("salt: %w", err)
	}
	*s = b
	return nil
}

// String returns s as lowercase hex.
func (s Salt) String() string { return hex.EncodeToString(s) }

// ErrNoSalt is returned by ParseSalt for text with no hex digits.
var ErrNoSalt = errors.New("no salt given")

// ParseSalt parses a salt typed or pasted by a person: hex digits (either
// case), surrounding white space ignored.
func ParseSalt(text string) (Salt, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return nil, fmt.Errorf("%w: give the salt field of the FILE%s sidecar", ErrNoSalt, Suffix)
	}
	b, err := hex.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("salt %q is not hex digits: give the salt field of the FILE%s sidecar", text, Suffix)
	}
	return b, nil
}

// NewSalt draws a fresh salt of crypto.SaltSize bytes from rand (normally
// crypto/rand.Reader).
func NewSalt(rand io.Reader) (Salt, error) {
	s := make(Salt, crypto.SaltSize)
	if _, err := io.ReadFull(rand, s); err != nil {
		return nil, fmt.Errorf("draw salt: %w", err)
	}
	return s, nil
}

// Commit returns the salted commitment SM3(salt ‖ data) of the data read
// from r, to its end, and the number of bytes read. It streams through a
// fixed buffer (crypto.NewCommitter), so memory stays constant whatever
// the size. An error reading r is returned wrapped, with the bytes read
// before it.
func Commit(salt []byte, r io.Reader) (crypto.Hash, uint64, error) {
	h := crypto.NewCommitter(salt)
	n, err := io.Copy(h, r)
	if err != nil {
		return crypto.Hash{}, uint64(n), fmt.Errorf("read after %d bytes: %w", n, err)
	}
	var c crypto.Hash
	h.Sum(c[:0])
	return c, uint64(n), nil
}
