package receipt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// CheckpointFile is a trusted checkpoint with its signatures, as served by
// GET /v1/checkpoints/latest and read by verify-consistency. Height,
// TreeSize and Root repeat what Checkpoint says, for people and programs
// that do not parse it; verifiers use Checkpoint only (VerifyCheckpoint
// checks that the copies agree).
type CheckpointFile struct {
	Checkpoint string      `json:"checkpoint"` // exact checkpoint text
	Height     int64       `json:"height"`     // block height it was taken after
	TreeSize   uint64      `json:"tree_size"`  // log size
	Root       crypto.Hash `json:"root"`       // log root, hex
	Signatures []Signature `json:"signatures"` // members' SM2 signatures on Checkpoint
}

// NewCheckpointFile returns the checkpoint file of a trusted checkpoint,
// adding each signer's member key in the roster version that signed it.
func NewCheckpointFile(v *ledger.View, sc *ledger.SignedCheckpoint) (*CheckpointFile, error) {
	signing, err := v.RosterSigning(sc.Checkpoint.Height)
	if err != nil {
		return nil, err
	}
	sigs, err := signaturesBy(signing, sc.Signatures)
	if err != nil {
		return nil, err
	}
	return &CheckpointFile{
		Checkpoint: string(sc.Text),
		Height:     sc.Checkpoint.Height,
		TreeSize:   sc.Checkpoint.Size,
		Root:       sc.Checkpoint.Root,
		Signatures: sigs,
	}, nil
}

// ParseCheckpointFile decodes a checkpoint file from JSON, or takes the
// checkpoint and signatures of a receipt (a JSON object with a "version"
// field), so either can be compared. Unknown fields are rejected. Errors
// wrap ErrMalformed. It does not verify the signatures: call
// VerifyCheckpoint.
func ParseCheckpointFile(data []byte) (*CheckpointFile, error) {
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&probe); err != nil {
		return nil, fmt.Errorf("%w: the checkpoint file is not JSON: %v", ErrMalformed, err)
	}
	if probe.Version != nil {
		r, err := Parse(data)
		if err != nil {
			return nil, err
		}
		return r.CheckpointFile()
	}
	f := &CheckpointFile{}
	if err := decodeStrict(data, f); err != nil {
		return nil, fmt.Errorf("%w: checkpoint file: %v", ErrMalformed, err)
	}
	return f, nil
}

// CheckpointFile returns the receipt's checkpoint and signatures as a
// checkpoint file. It fails if the checkpoint text does not parse.
func (r *Receipt) CheckpointFile() (*CheckpointFile, error) {
	cp, err := ledger.ParseCheckpoint([]byte(r.Checkpoint))
	if err != nil {
		return nil, fmt.Errorf("%w: receipt checkpoint: %v", ErrMalformed, err)
	}
	return &CheckpointFile{Checkpoint: r.Checkpoint, Height: cp.Height, TreeSize: cp.Size, Root: cp.Root, Signatures: r.Signatures}, nil
}

// ErrUntrusted is wrapped by VerifyCheckpoint and VerifyConsistency errors
// when a checkpoint is malformed, names another chain, or its valid
// signers do not hold more than 2/3 of the roster's voting power.
var ErrUntrusted = errors.New("checkpoint is not trusted under the roster")

// ErrInconsistent is wrapped by VerifyConsistency errors when the newer
// checkpoint does not extend the older one: the log history was rewritten,
// or the proof is wrong.
var ErrInconsistent = errors.New("the newer checkpoint does not extend the older one")

// VerifyCheckpoint checks that f is a trusted checkpoint of roster's chain
// and returns it parsed. Errors wrap ErrUntrusted, or ErrMalformed when the
// roster itself is unusable.
func VerifyCheckpoint(f *CheckpointFile, roster *ledger.Roster) (*ledger.Checkpoint, error) {
	idx, err := newRosterIndex(roster)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	cp, err := ledger.ParseCheckpoint([]byte(f.Checkpoint))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	if cp.ChainID != roster.ChainID {
		return nil, fmt.Errorf("%w: it is of chain %q, the roster of chain %q", ErrUntrusted, cp.ChainID, roster.ChainID)
	}
	if cp.Height != f.Height || cp.Size != f.TreeSize || cp.Root != f.Root {
		return nil, fmt.Errorf("%w: its height, tree_size or root field disagrees with the checkpoint text", ErrUntrusted)
	}
	tally := countSignatures(idx, []byte(f.Checkpoint), f.Signatures)
	if !tally.trusted() {
		return nil, fmt.Errorf("%w: %s", ErrUntrusted, tally.detail())
	}
	return cp, nil
}

// VerifyConsistency checks that the checkpoint newer extends the
// checkpoint older: both are trusted under roster, of the same chain,
// older's tree size is at most newer's, and proof is a valid RFC 9162
// consistency proof between their roots. Errors wrap ErrUntrusted (a
// checkpoint does not check out) or ErrInconsistent (newer does not extend
// older).
func VerifyConsistency(older, newer *CheckpointFile, proof [][]byte, roster *ledger.Roster) error {
	o, err := VerifyCheckpoint(older, roster)
	if err != nil {
		return fmt.Errorf("older checkpoint: %w", err)
	}
	n, err := VerifyCheckpoint(newer, roster)
	if err != nil {
		return fmt.Errorf("newer checkpoint: %w", err)
	}
	if o.Size > n.Size {
		return fmt.Errorf("%w: the older checkpoint has tree size %d, more than the newer's %d; swap them", ErrInconsistent, o.Size, n.Size)
	}
	if o.Size == 0 {
		return nil // the empty tree is a prefix of every tree
	}
	if err := ledger.VerifyConsistency(o.Size, n.Size, proof, o.Root, n.Root); err != nil {
		return fmt.Errorf("%w: from tree size %d to %d: %v", ErrInconsistent, o.Size, n.Size, err)
	}
	return nil
}

// tally is the outcome of checking a checkpoint's signatures.
type tally struct {
	power, total uint64
	valid        []string // members whose signature counts, in receipt order
	invalid      []string // "member: reason"
}

func (t *tally) trusted() bool { return ledger.Trusted(t.power, t.total) }

// detail says in plain words what the signatures amount to.
func (t *tally) detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "valid signatures from %d members (%s) holding %d of %d voting power", len(t.valid), strings.Join(t.valid, ", "), t.power, t.total)
	if t.trusted() {
		b.WriteString(", more than 2/3")
	} else {
		b.WriteString(", not more than 2/3")
	}
	if len(t.invalid) > 0 {
		fmt.Fprintf(&b, "; not counted: %s", strings.Join(t.invalid, "; "))
	}
	return b.String()
}

// countSignatures checks each signature over text and sums the power of
// the distinct members whose signature is valid.
func countSignatures(idx *rosterIndex, text []byte, sigs []Signature) *tally {
	t := &tally{total: idx.total}
	counted := map[string]bool{}
	for _, s := range sigs {
		bad := func(reason string) { t.invalid = append(t.invalid, fmt.Sprintf("%q: %s", s.Member, reason)) }
		m := idx.members[s.Member]
		switch {
		case m == nil:
			bad("not a member in the roster")
			continue
		case m.Power == 0:
			bad("holds no voting power")
			continue
		case counted[s.Member]:
			bad("signed more than once (counted once)")
			continue
		}
		key := idx.first[s.Member]
		pk, err := hex.DecodeString(s.PublicKey)
		if err != nil || !bytes.Equal(pk, key.Bytes()) {
			bad("public_key is not the member key in the roster")
			continue
		}
		if err := key.Verify(text, s.Signature); err != nil {
			bad("the SM2 signature does not verify over the checkpoint text")
			continue
		}
		counted[s.Member] = true
		t.valid = append(t.valid, s.Member)
		t.power += m.Power
	}
	return t
}
