package receipt

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/tsa"
)

// VersionPath is the receipt format version of a receipt that carries a
// roster path (RosterPath); a receipt without one is of Version.
const VersionPath = 2

// Bounds of what Parse accepts, checked on the size of the input before
// decoding and on the decoded lengths before any proof is checked.
const (
	// MaxReceiptBytes is the largest receipt Parse reads.
	MaxReceiptBytes = 8 << 20
	// MaxPathSteps is the most roster changes one receipt's path holds; a
	// verifier further behind fetches a receipt from a later roster it
	// trusts (BuildFrom).
	MaxPathSteps = 64
	// MaxProofHashes is the most hashes of an inclusion or consistency
	// proof (a tree of up to 2^64 entries needs at most 64 and 2·64).
	MaxProofHashes = 128
	// MaxSignatures is the most signatures on one checkpoint (one per seat).
	MaxSignatures = ledger.MaxSeats
	// MaxTimeProofHashes is the most hashes of a time consistency proof
	// (a tree of 2^63 entries needs fewer).
	MaxTimeProofHashes = 64
	// MaxCheckpointBytes bounds the stamped checkpoint text of a time (a
	// checkpoint of the longest chain id takes under 250 bytes).
	MaxCheckpointBytes = 1024
)

// RosterPath is how a verifier holding one roster version reaches the
// version that signed a receipt's checkpoint: for each later version, the
// ledger's roster entry that holds it whole, proven by an inclusion proof
// in a checkpoint co-signed by more than 2/3 of the voting power of the
// version before (docs/RECEIPT.md, "Roster path").
type RosterPath struct {
	FromVersion uint32      `json:"from_version"` // the version the path starts from (informative: the digest is what counts)
	FromDigest  crypto.Hash `json:"from_digest"`  // Roster.Digest of that version: the roster the verifier holds
	Steps       []PathStep  `json:"steps"`        // one per version after it, in order, 1 to MaxPathSteps
}

// PathStep is one roster change of a RosterPath.
type PathStep struct {
	Version        uint32      `json:"version"`         // the roster version this step puts in force
	Digest         crypto.Hash `json:"digest"`          // its Roster.Digest, as the entry says
	Leaf           []byte      `json:"leaf"`            // exact bytes of the roster log entry (ledger.Entry holding a TxRoster), standard base64
	LeafIndex      uint64      `json:"leaf_index"`      // its index in the log
	TreeSize       uint64      `json:"tree_size"`       // size of the tree of Checkpoint
	InclusionProof [][]byte    `json:"inclusion_proof"` // RFC 9162 inclusion proof of Leaf in that tree
	Checkpoint     string      `json:"checkpoint"`      // exact text of the checkpoint that put the version in force
	Signatures     []Signature `json:"signatures"`      // SM2 signatures on Checkpoint by members of the version before
	// ConsistencyProof is the RFC 9162 consistency proof from TreeSize to
	// the receipt's tree_size: the receipt's log extends the log that the
	// version before attested. Empty when the sizes are equal.
	ConsistencyProof [][]byte `json:"consistency_proof"`
}

// ErrUnknownRoster is wrapped by BuildFrom errors when no roster version
// in force (now or before) has the digest given: the caller holds a roster
// that is not one of this alliance's, or one still pending.
var ErrUnknownRoster = errors.New("no roster version in force has that digest")

// ErrPathTooLong is wrapped by Build and BuildFrom errors when more than
// MaxPathSteps roster changes separate the starting roster from the one
// that signed the checkpoint.
var ErrPathTooLong = errors.New("too many roster changes for one receipt")

// RosterVersionByDigest returns the newest roster version in force (now
// or before) whose digest is d. Errors wrap ErrUnknownRoster when there is
// none.
func RosterVersionByDigest(v *ledger.View, d crypto.Hash) (*ledger.RosterVersionInfo, error) {
	latest, _, err := v.LatestRosterVersion()
	if err != nil {
		return nil, err
	}
	pending := false
	for n := int64(latest); n >= 0; n-- {
		info, err := v.RosterVersion(uint32(n))
		if err != nil {
			return nil, err
		}
		if info.Digest != d {
			continue
		}
		if info.Pending() {
			pending = true
			continue
		}
		return info, nil
	}
	if pending {
		return nil, fmt.Errorf("roster %s is a version not in force yet: %w", d, ErrUnknownRoster)
	}
	return nil, fmt.Errorf("roster %s: %w", d, ErrUnknownRoster)
}

// BuildFrom makes the receipt of the record ref names, with the roster
// path from the roster version whose digest is from (RosterVersionByDigest)
// to the version that signed the receipt's checkpoint. The checkpoint is
// the earliest trusted one covering the record that this version or a
// later one signed. Errors as Build, plus ErrUnknownRoster.
func BuildFrom(v *ledger.View, ref ledger.RecordRef, from crypto.Hash) (*Receipt, error) {
	start, err := RosterVersionByDigest(v, from)
	if err != nil {
		return nil, err
	}
	return build(v, ref, start, false)
}

// rosterPath builds the path from version start to version to (at most
// MaxPathSteps later, which build checks), proving
// the entries in the checkpoints that attested them and those checkpoints
// consistent with the tree of size size.
func rosterPath(v *ledger.View, start, to *ledger.RosterVersionInfo, size uint64) (*RosterPath, error) {
	p := &RosterPath{FromVersion: start.Version, FromDigest: start.Digest, Steps: []PathStep{}}
	prev := start
	for n := start.Version + 1; n <= to.Version; n++ {
		rv, err := v.RosterVersion(n)
		if err != nil {
			return nil, err
		}
		att, err := v.SignedCheckpoint(rv.Attested)
		if err != nil {
			return nil, fmt.Errorf("the checkpoint that attested roster version %d: %w", n, err)
		}
		leaf, err := v.EntryBytes(rv.Entry)
		if err != nil {
			return nil, fmt.Errorf("roster entry of version %d: %w", n, err)
		}
		incl, err := v.InclusionProof(rv.Entry, att.Checkpoint.Size)
		if err != nil {
			return nil, fmt.Errorf("inclusion proof of roster entry %d: %w", rv.Entry, err)
		}
		cons := [][]byte{}
		if att.Checkpoint.Size < size {
			if cons, err = v.ConsistencyProof(att.Checkpoint.Size, size); err != nil {
				return nil, fmt.Errorf("consistency proof from the checkpoint attesting roster version %d: %w", n, err)
			}
		}
		sigs, err := signaturesBy(prev, att.Signatures)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, PathStep{Version: n, Digest: rv.Digest, Leaf: leaf, LeafIndex: rv.Entry, TreeSize: att.Checkpoint.Size,
			InclusionProof: append([][]byte{}, incl...), Checkpoint: string(att.Text), Signatures: sigs, ConsistencyProof: append([][]byte{}, cons...)})
		prev = rv
	}
	return p, nil
}

// signaturesBy adds each signer's member key in roster version rv to
// checkpoint signatures.
func signaturesBy(rv *ledger.RosterVersionInfo, in []ledger.MemberSignature) ([]Signature, error) {
	out := make([]Signature, 0, len(in))
	for _, s := range in {
		st := rv.Seat(s.Member)
		if st == nil || len(st.Keys) == 0 {
			return nil, fmt.Errorf("%w: checkpoint signer %s is not a member of roster version %d", ledger.ErrStoreCorrupt, s.Member, rv.Version)
		}
		out = append(out, Signature{Member: s.Member, PublicKey: fmt.Sprintf("%x", st.Keys[0].Bytes()), Signature: slices.Clone(s.Signature)})
	}
	return out, nil
}

// checkBounds checks the lengths Parse bounds.
func (r *Receipt) checkBounds() error {
	if err := checkProof("inclusion_proof", r.InclusionProof); err != nil {
		return err
	}
	if len(r.Signatures) > MaxSignatures {
		return fmt.Errorf("%d signatures, more than %d", len(r.Signatures), MaxSignatures)
	}
	if err := r.Time.checkBounds(); err != nil {
		return err
	}
	if a := r.Attestation; a != nil && len(a.Targets) > ledger.MaxTargets {
		return fmt.Errorf("the attestation names %d records, more than %d", len(a.Targets), ledger.MaxTargets)
	}
	switch {
	case r.Version == Version && r.RosterPath != nil:
		return errors.New("a version 1 receipt has no roster_path (a receipt with one is version 2)")
	case r.Version == VersionPath && r.RosterPath == nil:
		return errors.New("a version 2 receipt needs a roster_path")
	case r.RosterPath == nil:
		return nil
	}
	p := r.RosterPath
	if len(p.Steps) == 0 || len(p.Steps) > MaxPathSteps {
		return fmt.Errorf("roster_path has %d steps, want 1 to %d", len(p.Steps), MaxPathSteps)
	}
	for i := range p.Steps {
		st := &p.Steps[i]
		if err := checkProof(fmt.Sprintf("roster_path step %d inclusion_proof", i+1), st.InclusionProof); err != nil {
			return err
		}
		if err := checkProof(fmt.Sprintf("roster_path step %d consistency_proof", i+1), st.ConsistencyProof); err != nil {
			return err
		}
		if len(st.Signatures) > MaxSignatures {
			return fmt.Errorf("roster_path step %d has %d signatures, more than %d", i+1, len(st.Signatures), MaxSignatures)
		}
	}
	return nil
}

// checkBounds checks the lengths Parse bounds of a time (nil passes).
func (t *Time) checkBounds() error {
	switch {
	case t == nil:
		return nil
	case t.TSA == "" || len(t.TSA) > ledger.MaxTSANameLen:
		return fmt.Errorf("time.tsa is %d bytes, want 1 to %d", len(t.TSA), ledger.MaxTSANameLen)
	case len(t.Token) == 0 || len(t.Token) > tsa.MaxTokenBytes:
		return fmt.Errorf("time.token is %d bytes, want 1 to %d", len(t.Token), tsa.MaxTokenBytes)
	case len(t.Checkpoint) == 0 || len(t.Checkpoint) > MaxCheckpointBytes:
		return fmt.Errorf("time.checkpoint is %d bytes, want 1 to %d", len(t.Checkpoint), MaxCheckpointBytes)
	case len(t.ConsistencyProof) > MaxTimeProofHashes:
		return fmt.Errorf("time.consistency_proof has %d hashes, more than %d", len(t.ConsistencyProof), MaxTimeProofHashes)
	}
	return checkProof("time.consistency_proof", t.ConsistencyProof)
}

func checkProof(name string, p [][]byte) error {
	if len(p) > MaxProofHashes {
		return fmt.Errorf("%s has %d hashes, more than %d", name, len(p), MaxProofHashes)
	}
	for i, h := range p {
		if len(h) != crypto.HashSize {
			return fmt.Errorf("%s hash %d is %d bytes, not %d", name, i, len(h), crypto.HashSize)
		}
	}
	return nil
}

// rosterSet is the rosters a verification went through, oldest first.
type rosterSet []*rosterIndex

// key finds the holder of key id in the newest roster that has it. A key
// once registered never passes to another member, so any roster naming it
// names its one holder.
func (s rosterSet) key(id crypto.KeyID) *rosterKey {
	for i := len(s) - 1; i >= 0; i-- {
		if k := s[i].byID[id]; k != nil {
			return k
		}
	}
	return nil
}

// describeChange says in a few words how roster next differs from prev:
// "add bank-c", "remove arbitration", "rotate notary", "power of court 10→20",
// "add TSA tsa-b".
func describeChange(prev, next *rosterIndex) string {
	var parts []string
	for _, m := range next.roster.Members {
		o := prev.members[m.Name]
		switch {
		case o == nil:
			parts = append(parts, "add "+m.Name)
		case o.Keys[0] != m.Keys[0]:
			parts = append(parts, "rotate "+m.Name)
		case !slices.Equal(o.Keys, m.Keys):
			parts = append(parts, "keys of "+m.Name)
		}
		if o != nil && o.Power != m.Power {
			parts = append(parts, fmt.Sprintf("power of %s %d→%d", m.Name, o.Power, m.Power))
		}
		if o != nil && o.Role != m.Role {
			parts = append(parts, fmt.Sprintf("role of %s %s→%s", m.Name, o.Role, m.Role))
		}
	}
	for _, m := range prev.roster.Members {
		if next.members[m.Name] == nil {
			parts = append(parts, "remove "+m.Name)
		}
	}
	for _, t := range next.roster.TSAs {
		i := slices.IndexFunc(prev.roster.TSAs, func(o ledger.TSA) bool { return o.Name == t.Name })
		switch {
		case i < 0:
			parts = append(parts, "add TSA "+t.Name)
		case !bytes.Equal(prev.roster.TSAs[i].Cert, t.Cert) || !slices.Equal(prev.roster.TSAs[i].Hashes, t.Hashes):
			parts = append(parts, "change TSA "+t.Name)
		}
	}
	for _, t := range prev.roster.TSAs {
		if !slices.ContainsFunc(next.roster.TSAs, func(n ledger.TSA) bool { return n.Name == t.Name }) {
			parts = append(parts, "remove TSA "+t.Name)
		}
	}
	if len(parts) == 0 {
		return "no member change"
	}
	return strings.Join(parts, ", ")
}
