package receipt

import (
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Names of the verification steps, in the order Verify runs them.
const (
	StepRoster     = "roster"     // the roster is for the receipt's chain and is the one the node used
	StepFile       = "file"       // the original's salted SM3 commitment is the record's
	StepRecord     = "record"     // the record is in the leaf, signed by a bank of the roster
	StepCheckpoint = "checkpoint" // the checkpoint is well formed, of the chain, of the tree size
	StepInclusion  = "inclusion"  // the inclusion proof leads from the leaf to the checkpoint's root
	StepSignatures = "signatures" // members holding > 2/3 of the voting power signed the checkpoint
)

// Steps returns the names of the verification steps in the order Verify
// runs them.
func Steps() []string {
	return []string{StepRoster, StepFile, StepRecord, StepCheckpoint, StepInclusion, StepSignatures}
}

// Step is the outcome of one verification step.
type Step struct {
	Name    string `json:"name"`              // one of the Step constants
	OK      bool   `json:"ok"`                // the step ran and passed
	Skipped bool   `json:"skipped,omitempty"` // the step did not run (no file given, or an earlier step failed)
	Detail  string `json:"detail"`            // what was checked or what was wrong, in plain words
}

// Report is the outcome of Verify.
type Report struct {
	OK         bool   `json:"ok"`                    // every step that ran passed, and the record, inclusion, checkpoint and signatures steps ran
	Steps      []Step `json:"steps"`                 // every step, in order
	FailedStep string `json:"failed_step,omitempty"` // name of the step that failed
}

// VerifyOptions are the optional inputs of Verify.
type VerifyOptions struct {
	// File is the original, read to the end to check its salted commitment.
	// Nil skips the file step.
	File io.Reader
	// Salt is the commitment salt; when set it overrides the receipt's
	// record.salt.
	Salt []byte
}

// Verify checks receipt r against roster offline, in the order of Steps,
// stopping at the first failing step (the later ones are reported as
// skipped):
//
//   - roster: the roster is of the receipt's chain and its digest is the
//     receipt's roster_digest;
//   - file (only when opts.File is set): SM3(salt ‖ file) is the record's
//     commitment and the file has the record's size;
//   - record: the leaf decodes, is of the chain, holds the evidence record
//     the receipt describes (every field of record but salt), and its
//     transaction signature verifies under a key the roster gives to the
//     submitter, a bank;
//   - checkpoint: the checkpoint text is canonical, of the chain, and of
//     tree size tree_size;
//   - inclusion: the RFC 9162 inclusion proof leads from the leaf at
//     leaf_index to the checkpoint's root;
//   - signatures: the valid SM2 signatures on the checkpoint text, one per
//     member with voting power, made with the member key in the roster,
//     hold more than 2/3 of the roster's voting power. Invalid signatures
//     are reported but fail the step only when the rest fall short.
//
// Verify never returns nil; a failure to read File fails the file step.
func Verify(r *Receipt, roster *ledger.Roster, opts VerifyOptions) *Report {
	v := &verifier{r: r, roster: roster, opts: opts}
	rep := &Report{OK: true}
	for _, s := range []struct {
		name string
		run  func() (string, error)
	}{
		{StepRoster, v.checkRoster},
		{StepFile, v.checkFile},
		{StepRecord, v.checkRecord},
		{StepCheckpoint, v.checkCheckpoint},
		{StepInclusion, v.checkInclusion},
		{StepSignatures, v.checkSignatures},
	} {
		if rep.FailedStep != "" {
			rep.Steps = append(rep.Steps, Step{Name: s.name, Skipped: true, Detail: "not run: the " + rep.FailedStep + " step failed"})
			continue
		}
		if s.name == StepFile && opts.File == nil {
			rep.Steps = append(rep.Steps, Step{Name: s.name, Skipped: true, Detail: "not checked: no original file was given"})
			continue
		}
		detail, err := s.run()
		if err != nil {
			rep.OK = false
			rep.FailedStep = s.name
			rep.Steps = append(rep.Steps, Step{Name: s.name, Detail: err.Error()})
			continue
		}
		rep.Steps = append(rep.Steps, Step{Name: s.name, OK: true, Detail: detail})
	}
	return rep
}

// verifier carries what one Verify call learns from step to step.
type verifier struct {
	r      *Receipt
	roster *ledger.Roster
	opts   VerifyOptions

	idx *rosterIndex       // set by checkRoster
	cp  *ledger.Checkpoint // set by checkCheckpoint
}

func (v *verifier) checkRoster() (string, error) {
	if v.r.Version != Version {
		return "", fmt.Errorf("the receipt is of version %d; this verifier reads version %d", v.r.Version, Version)
	}
	if v.roster.Version != 1 {
		return "", fmt.Errorf("the roster is of version %d; this verifier reads version 1", v.roster.Version)
	}
	idx, err := newRosterIndex(v.roster)
	if err != nil {
		return "", fmt.Errorf("the roster is unusable: %v", err)
	}
	if v.roster.ChainID != v.r.ChainID {
		return "", fmt.Errorf("the roster is of chain %q but the receipt of chain %q: use the roster of the receipt's alliance", v.roster.ChainID, v.r.ChainID)
	}
	d, err := v.roster.Digest()
	if err != nil {
		return "", fmt.Errorf("the roster is unusable: %v", err)
	}
	if d != v.r.RosterDigest {
		return "", fmt.Errorf("the roster's digest is %s but the receipt was checked against a roster with digest %s: use that roster (the membership may have changed)", d, v.r.RosterDigest)
	}
	v.idx = idx
	return fmt.Sprintf("the roster is of chain %q, has %d members holding %d voting power, and its digest %s is the one the receipt names",
		v.roster.ChainID, len(v.roster.Members), idx.total, d), nil
}

func (v *verifier) checkFile() (string, error) {
	salt := []byte(v.r.Record.Salt)
	if v.opts.Salt != nil {
		salt = v.opts.Salt
	}
	if len(salt) == 0 {
		return "", fmt.Errorf("no salt: pass the sidecar FILE.evidence.json or --salt")
	}
	h := crypto.NewSM3()
	h.Write(salt)
	n, err := io.Copy(h, v.opts.File)
	if err != nil {
		return "", fmt.Errorf("reading the original file failed: %v", err)
	}
	var c crypto.Hash
	copy(c[:], h.Sum(nil))
	if c != v.r.Record.Commitment {
		return "", fmt.Errorf("SM3(salt ‖ file) is %s, not the record's commitment %s: the file (or the salt) is not the one that was recorded", c, v.r.Record.Commitment)
	}
	if uint64(n) != v.r.Record.Size {
		return "", fmt.Errorf("the file is %d bytes, but the record says %d", n, v.r.Record.Size)
	}
	return fmt.Sprintf("SM3(salt ‖ file) over the %d-byte file is %s, the record's commitment", n, c), nil
}

func (v *verifier) checkRecord() (string, error) {
	r := v.r
	want, tx, err := describe(r.Leaf, r.Record.Pos, v.idx)
	if err != nil {
		return "", err
	}
	if tx.Body.ChainID != r.ChainID {
		return "", fmt.Errorf("the leaf's transaction is for chain %q, not %q", tx.Body.ChainID, r.ChainID)
	}
	k := v.idx.byID[tx.Body.Signer]
	if k == nil {
		return "", fmt.Errorf("the transaction is signed with key %s, which no member of the roster holds", tx.Body.Signer)
	}
	if k.member.Role != ledger.RoleBank {
		return "", fmt.Errorf("the transaction is signed by %s, a %s; only banks submit evidence", k.member.Name, k.member.Role)
	}
	if err := k.key.Verify(tx.BodyBytes, tx.Signature); err != nil {
		return "", fmt.Errorf("the transaction's SM2 signature does not verify under %s's key %s: %v", k.member.Name, tx.Body.Signer.Short(), err)
	}
	if diff := recordDiff(want, &r.Record); len(diff) > 0 {
		return "", fmt.Errorf("the receipt's record differs from the record in the leaf in: %s", strings.Join(diff, ", "))
	}
	return fmt.Sprintf("the leaf holds record %d of %s transaction %s (%s %q step %d, commitment %s), signed by bank %s with key %s, accepted in block %d at %s",
		r.Record.Pos, want.Type, want.TxID, want.Kind, want.Chain, want.Step, want.Commitment, k.member.Name, tx.Body.Signer.Short(),
		want.Height, want.Time.Format(time.RFC3339Nano)), nil
}

// recordDiff names the fields of got that differ from want (Salt aside).
func recordDiff(want, got *Record) []string {
	var d []string
	add := func(differs bool, name string) {
		if differs {
			d = append(d, name)
		}
	}
	add(want.Pos != got.Pos, "pos")
	add(want.Type != got.Type, "type")
	add(want.Kind != got.Kind, "kind")
	add(want.Chain != got.Chain, "chain")
	add(want.Step != got.Step, "step")
	add(want.Prev != got.Prev, "prev")
	add(want.Commitment != got.Commitment, "commitment")
	add(want.Size != got.Size, "size")
	add((want.Cipher == nil) != (got.Cipher == nil) || want.Cipher != nil && *want.Cipher != *got.Cipher, "cipher")
	add(!maps.Equal(want.Labels, got.Labels), "labels")
	add(want.Submitter != got.Submitter, "submitter")
	add(want.SubmitterKey != got.SubmitterKey, "submitter_key")
	add(want.TxID != got.TxID, "tx_id")
	add(want.Height != got.Height, "height")
	add(!want.Time.Equal(got.Time), "time")
	add(!want.ClientTime.Equal(got.ClientTime), "client_time")
	return d
}

func (v *verifier) checkCheckpoint() (string, error) {
	cp, err := ledger.ParseCheckpoint([]byte(v.r.Checkpoint))
	if err != nil {
		return "", fmt.Errorf("the checkpoint text is not a valid checkpoint: %v", err)
	}
	if cp.ChainID != v.r.ChainID {
		return "", fmt.Errorf("the checkpoint is of chain %q, not %q", cp.ChainID, v.r.ChainID)
	}
	if cp.Size != v.r.TreeSize {
		return "", fmt.Errorf("the checkpoint is of tree size %d, but the receipt says %d", cp.Size, v.r.TreeSize)
	}
	v.cp = cp
	return fmt.Sprintf("the checkpoint is of chain %q, tree size %d, root %s, taken after block %d at %s",
		cp.ChainID, cp.Size, base64.StdEncoding.EncodeToString(cp.Root[:]), cp.Height, cp.Time.Format(time.RFC3339Nano)), nil
}

func (v *verifier) checkInclusion() (string, error) {
	r := v.r
	if r.LeafIndex >= r.TreeSize {
		return "", fmt.Errorf("leaf_index %d is not inside the tree of size %d", r.LeafIndex, r.TreeSize)
	}
	if r.TreeSize > math.MaxInt64 {
		return "", fmt.Errorf("tree_size %d is too large", r.TreeSize)
	}
	if err := ledger.VerifyInclusion(r.Leaf, r.LeafIndex, r.TreeSize, r.InclusionProof, v.cp.Root); err != nil {
		return "", fmt.Errorf("the inclusion proof does not lead from entry %d to the checkpoint's root: %v", r.LeafIndex, err)
	}
	return fmt.Sprintf("the inclusion proof (%d hashes) leads from entry %d, leaf hash %s, to the checkpoint's root",
		len(r.InclusionProof), r.LeafIndex, ledger.LeafHash(r.Leaf)), nil
}

func (v *verifier) checkSignatures() (string, error) {
	t := countSignatures(v.idx, []byte(v.r.Checkpoint), v.r.Signatures)
	if !t.trusted() {
		return "", fmt.Errorf("%s", t.detail())
	}
	return t.detail(), nil
}
