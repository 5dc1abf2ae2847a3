package receipt

import (
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// Names of the verification steps, in the order Verify runs them.
const (
	StepRoster     = "roster"      // the roster is for the receipt's chain and is where the receipt's roster path starts (or the one that signed)
	StepRosterPath = "roster_path" // each roster change after it was attested by more than 2/3 of the version before
	StepFile       = "file"        // the original's salted SM3 commitment is the record's
	StepRecord     = "record"      // the record is in the leaf, signed by a bank of the roster
	// StepAttestation runs in place of StepRecord for a receipt of an
	// attestation: the attestation is in the leaf, signed by a notary,
	// arbitration or court member of the roster.
	StepAttestation = "attestation"
	StepCheckpoint  = "checkpoint" // the checkpoint is well formed, of the chain, of the tree size
	StepInclusion   = "inclusion"  // the inclusion proof leads from the leaf to the checkpoint's root
	StepSignatures  = "signatures" // members holding > 2/3 of the voting power signed the checkpoint
	StepTime        = "time"       // a TSA of the roster stamped a checkpoint whose tree holds the record
)

// Steps returns the names of the verification steps in the order Verify
// runs them for a receipt of a record; for a receipt of an attestation,
// StepAttestation takes the place of StepRecord (StepsOf).
func Steps() []string {
	return []string{StepRoster, StepRosterPath, StepFile, StepRecord, StepCheckpoint, StepInclusion, StepSignatures, StepTime}
}

// StepsOf returns the names of the verification steps Verify runs for r,
// in order.
func StepsOf(r *Receipt) []string {
	s := Steps()
	if r.Attestation != nil {
		s[slices.Index(s, StepRecord)] = StepAttestation
	}
	return s
}

// AllSteps returns every step name, for translations: Steps and
// StepAttestation.
func AllSteps() []string { return append(Steps(), StepAttestation) }

// Step is the outcome of one verification step.
type Step struct {
	Name    string `json:"name"`              // one of the Step constants
	OK      bool   `json:"ok"`                // the step ran and passed
	Skipped bool   `json:"skipped,omitempty"` // the step did not run (no file given, or an earlier step failed)
	Detail  string `json:"detail"`            // what was checked or what was wrong, in plain words (English)
	// Reason says, for programs and translations of Detail, why the step
	// failed or was skipped: one of the Reason constants; empty when it
	// passed.
	Reason string `json:"reason,omitempty"`
	// Facts are the values behind Detail (sizes, hashes, names, heights),
	// by name, so that a program or a translation can show them.
	Facts map[string]string `json:"facts,omitempty"`
}

// Reasons a step failed or was skipped (Step.Reason).
const (
	ReasonNoFile          = "no_file"          // file: skipped, no original was given
	ReasonNoPath          = "no_path"          // roster_path: skipped, the roster given signed the checkpoint (facts: digest)
	ReasonAfterFailure    = "after_failure"    // any: skipped, an earlier step failed (facts: step)
	ReasonVersion         = "version"          // roster: the receipt or roster is of another format version
	ReasonRosterUnusable  = "roster_unusable"  // roster: the roster does not index
	ReasonRosterChain     = "roster_chain"     // roster: of another chain (facts: roster, receipt)
	ReasonRosterDigest    = "roster_digest"    // roster: not the roster the receipt names (facts: digest, want)
	ReasonNoSalt          = "no_salt"          // file: no salt in the receipt or given
	ReasonFileUnreadable  = "file_unreadable"  // file: reading the file failed
	ReasonCommitment      = "commitment"       // file: SM3(salt ‖ file) is not the commitment (facts: computed, commitment)
	ReasonSize            = "size"             // file: the size differs (facts: size, want)
	ReasonLeaf            = "leaf"             // record: the leaf does not decode to the record
	ReasonRecordChain     = "record_chain"     // record: the leaf's transaction is of another chain
	ReasonUnknownKey      = "unknown_key"      // record: signed with a key no member holds (facts: key)
	ReasonNotBank         = "not_bank"         // record: signed by a member that is not a bank (facts: member, role)
	ReasonTxSignature     = "tx_signature"     // record: the SM2 signature does not verify (facts: member, key)
	ReasonRecordDiffers   = "record_differs"   // record: the receipt's record is not the leaf's (facts: fields)
	ReasonCheckpointText  = "checkpoint_text"  // checkpoint: not a canonical checkpoint
	ReasonCheckpointChain = "checkpoint_chain" // checkpoint: of another chain
	ReasonTreeSize        = "tree_size"        // checkpoint: of another tree size (facts: size, want)
	ReasonLeafIndex       = "leaf_index"       // inclusion: the index is outside the tree
	ReasonInclusion       = "inclusion"        // inclusion: the proof does not lead to the root
	ReasonNotTrusted      = "not_trusted"      // signatures: the valid ones hold 2/3 or less (facts: signers, power, total)

	// attestation (in place of record; also leaf, record_chain, unknown_key, tx_signature) and its file step.
	ReasonNotAttester        = "not_attester"        // attestation: signed by a member that is not a notary, arbitration centre or court (facts: member, role)
	ReasonAttestationDiffers = "attestation_differs" // attestation: the receipt's attestation is not the leaf's (facts: fields)
	ReasonNoDocument         = "no_document"         // file: the attestation commits to no document
	ReasonDocument           = "document"            // file: SM3(file) is not the attestation's document (facts: computed, document)

	// roster_path: facts change (the step of the path, from 1), version, and what the reason names.
	ReasonPathLink        = "path_link"        // a step is missing or out of order, or the path does not end at roster_digest (facts: want)
	ReasonPathCheckpoint  = "path_checkpoint"  // the step's checkpoint is not a checkpoint of the chain and tree size
	ReasonPathOrder       = "path_order"       // the step's checkpoint is not before the next one and the receipt's (facts: height, size, after_height, after_size)
	ReasonPathSignature   = "path_signature"   // a co-signature does not verify: the path was altered (facts: signers, power, total, not_counted)
	ReasonPathPower       = "path_power"       // the co-signers hold 2/3 or less of the version before's power (facts: signers, power, total)
	ReasonPathInclusion   = "path_inclusion"   // the roster entry is not in the checkpoint's tree: the entry or its proof was altered (facts: index)
	ReasonPathConsistency = "path_consistency" // the receipt's log does not extend the log the step's checkpoint signed (facts: size, receipt_size)
	ReasonPathEntry       = "path_entry"       // the entry is not a roster entry of the chain for this version and digest

	// time: facts tsa, size (the stamped checkpoint's tree size) and what the reason names.
	ReasonNoTime          = "no_time"          // skipped: the receipt carries no token (no TSA had stamped a checkpoint covering the record when it was fetched)
	ReasonTimeCheckpoint  = "time_checkpoint"  // the stamped checkpoint is not a checkpoint of the chain whose tree holds the record (facts: chain, index)
	ReasonTimeConsistency = "time_consistency" // the consistency proof does not link the receipt's tree to the stamped one (facts: receipt_size)
	ReasonTimeToken       = "time_token"       // the token does not parse as an RFC 3161 TimeStampToken
	ReasonTimeUntrusted   = "time_untrusted"   // the TSA is not in the roster, or the token's certificate is not that TSA's or does not chain to it
	ReasonTimeSignature   = "time_signature"   // the token's signature does not verify: the token was altered
	ReasonTimeExpired     = "time_expired"     // the TSA's certificate was not valid at the token's genTime (facts: gen_time)
	ReasonTimeImprint     = "time_imprint"     // the token is not over the stamped checkpoint's text with a hash the roster allows the TSA
)

// Reasons returns every Reason constant, for translations of Step.Detail.
func Reasons() []string {
	return []string{ReasonNoFile, ReasonNoPath, ReasonAfterFailure, ReasonVersion, ReasonRosterUnusable, ReasonRosterChain, ReasonRosterDigest,
		ReasonNoSalt, ReasonFileUnreadable, ReasonCommitment, ReasonSize, ReasonLeaf, ReasonRecordChain, ReasonUnknownKey,
		ReasonNotBank, ReasonTxSignature, ReasonRecordDiffers, ReasonCheckpointText, ReasonCheckpointChain, ReasonTreeSize,
		ReasonLeafIndex, ReasonInclusion, ReasonNotTrusted, ReasonNotAttester, ReasonAttestationDiffers, ReasonNoDocument, ReasonDocument, ReasonPathLink, ReasonPathCheckpoint, ReasonPathOrder, ReasonPathSignature,
		ReasonPathPower, ReasonPathInclusion, ReasonPathConsistency, ReasonPathEntry,
		ReasonNoTime, ReasonTimeCheckpoint, ReasonTimeConsistency, ReasonTimeToken, ReasonTimeUntrusted, ReasonTimeSignature,
		ReasonTimeExpired, ReasonTimeImprint}
}

// stepError is a failed step: its reason and facts beside the message.
type stepError struct {
	reason string
	facts  map[string]string
	msg    string
}

func (e *stepError) Error() string { return e.msg }

// skipStep is returned by a step that did not need to run.
type skipStep stepError

func (e *skipStep) Error() string { return e.msg }

func fail(reason string, facts map[string]string, format string, args ...any) error {
	return &stepError{reason: reason, facts: facts, msg: fmt.Sprintf(format, args...)}
}

// facts builds a Facts map from name, value pairs.
func facts(kv ...any) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
	}
	return m
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
//     receipt's roster_digest, or (with a roster path) the path's
//     from_digest or the digest of one of its steps;
//   - roster_path (with a roster path): from the roster given, each later
//     version's roster entry is in a checkpoint co-signed by more than 2/3
//     of the version before, holds that version (consecutive numbers,
//     recomputed digest), and that checkpoint comes before the receipt's,
//     whose log extends it (consistency proof); the path ends at
//     roster_digest. The later steps use the path's last roster;
//   - file (only when opts.File is set): SM3(salt ‖ file) is the record's
//     commitment and the file has the record's size;
//   - record: the leaf decodes, is of the chain, holds the evidence record
//     the receipt describes (every field of record but salt), and its
//     transaction signature verifies under a key a roster of the path
//     (the newest that has it) gives to the submitter, a bank;
//   - checkpoint: the checkpoint text is canonical, of the chain, and of
//     tree size tree_size;
//   - inclusion: the RFC 9162 inclusion proof leads from the leaf at
//     leaf_index to the checkpoint's root;
//   - signatures: the valid SM2 signatures on the checkpoint text, one per
//     member with voting power, made with the member key in the roster,
//     hold more than 2/3 of the roster's voting power. Invalid signatures
//     are reported but fail the step only when the rest fall short;
//   - time (skipped when the receipt has no time): the stamped checkpoint
//     is of the chain, its tree holds the record, and the consistency
//     proof links it to the receipt's checkpoint (the same text when of
//     the same size); the RFC 3161 token verifies, at its genTime, against
//     the TSA of that name in the roster the earlier steps established
//     (the one given, or the end of the roster path), and its imprint is
//     the hash of the stamped checkpoint's text with an algorithm the
//     roster allows that TSA. The record existed no later than genTime.
//
// Verify never returns nil; a failure to read File fails the file step.
//
// A receipt of an attestation (Attestation set, no record) runs the
// attestation step in place of record: the leaf decodes to an attest
// transaction of the chain holding the receipt's attestation, signed under
// a key a roster of the path gives to a notary, arbitration or court
// member; its file step checks that SM3(file) is the attestation's
// document.
func Verify(r *Receipt, roster *ledger.Roster, opts VerifyOptions) *Report {
	v := &verifier{r: r, roster: roster, opts: opts}
	rep := &Report{OK: true}
	subject, check, file := StepRecord, v.checkRecord, v.checkFile
	if r.Attestation != nil {
		subject, check, file = StepAttestation, v.checkAttestation, v.checkDocument
	}
	for _, s := range []struct {
		name string
		run  func() (string, map[string]string, error)
	}{
		{StepRoster, v.checkRoster},
		{StepRosterPath, v.checkRosterPath},
		{StepFile, file},
		{subject, check},
		{StepCheckpoint, v.checkCheckpoint},
		{StepInclusion, v.checkInclusion},
		{StepSignatures, v.checkSignatures},
		{StepTime, v.checkTime},
	} {
		if rep.FailedStep != "" {
			rep.Steps = append(rep.Steps, Step{Name: s.name, Skipped: true, Detail: "not run: the " + rep.FailedStep + " step failed",
				Reason: ReasonAfterFailure, Facts: facts("step", rep.FailedStep)})
			continue
		}
		if s.name == StepFile && opts.File == nil {
			rep.Steps = append(rep.Steps, Step{Name: s.name, Skipped: true, Detail: "not checked: no original file was given", Reason: ReasonNoFile})
			continue
		}
		detail, fs, err := s.run()
		if sk, ok := err.(*skipStep); ok {
			rep.Steps = append(rep.Steps, Step{Name: s.name, Skipped: true, Detail: sk.msg, Reason: sk.reason, Facts: sk.facts})
			continue
		}
		if err != nil {
			rep.OK = false
			rep.FailedStep = s.name
			st := Step{Name: s.name, Detail: err.Error()}
			if se, ok := err.(*stepError); ok {
				st.Reason, st.Facts = se.reason, se.facts
			}
			rep.Steps = append(rep.Steps, st)
			continue
		}
		rep.Steps = append(rep.Steps, Step{Name: s.name, OK: true, Detail: detail, Facts: fs})
	}
	return rep
}

// verifier carries what one Verify call learns from step to step.
type verifier struct {
	r      *Receipt
	roster *ledger.Roster
	opts   VerifyOptions

	idx     *rosterIndex       // the roster that signs the checkpoint: set by checkRoster, or checkRosterPath
	rosters rosterSet          // the given roster and those of the path: set by checkRoster and checkRosterPath
	start   int                // first path step to check (the given roster may be a later one of the path): set by checkRoster
	cp      *ledger.Checkpoint // set by checkCheckpoint
}

func (v *verifier) checkRoster() (string, map[string]string, error) {
	switch {
	case v.r.Version == Version && v.r.RosterPath == nil, v.r.Version == VersionPath && v.r.RosterPath != nil:
	case v.r.Version == Version || v.r.Version == VersionPath:
		return "", nil, fail(ReasonVersion, nil, "the receipt is of version %d, but has a roster path: %v; version 2 receipts have one, version 1 receipts none", v.r.Version, v.r.RosterPath != nil)
	default:
		return "", nil, fail(ReasonVersion, nil, "the receipt is of version %d; this verifier reads versions %d and %d", v.r.Version, Version, VersionPath)
	}
	if v.roster.Version != ledger.RosterVersion {
		return "", nil, fail(ReasonVersion, nil, "the roster is of version %d; this verifier reads version %d", v.roster.Version, ledger.RosterVersion)
	}
	idx, err := newRosterIndex(v.roster)
	if err != nil {
		return "", nil, fail(ReasonRosterUnusable, nil, "the roster is unusable: %v", err)
	}
	if v.roster.ChainID != v.r.ChainID {
		return "", nil, fail(ReasonRosterChain, facts("roster", v.roster.ChainID, "receipt", v.r.ChainID),
			"the roster is of chain %q but the receipt of chain %q: use the roster of the receipt's alliance", v.roster.ChainID, v.r.ChainID)
	}
	d, err := v.roster.Digest()
	if err != nil {
		return "", nil, fail(ReasonRosterUnusable, nil, "the roster is unusable: %v", err)
	}
	v.idx, v.rosters = idx, rosterSet{idx}
	if p := v.r.RosterPath; p != nil {
		return v.startPath(d, idx)
	}
	if d != v.r.RosterDigest {
		return "", nil, fail(ReasonRosterDigest, facts("digest", d, "want", v.r.RosterDigest),
			"the roster's digest is %s but the receipt was checked against a roster with digest %s: use that roster (the membership may have changed)", d, v.r.RosterDigest)
	}
	return fmt.Sprintf("the roster is of chain %q, has %d members holding %d voting power, and its digest %s is the one the receipt names",
			v.roster.ChainID, len(v.roster.Members), idx.total, d),
		facts("chain", v.roster.ChainID, "members", len(v.roster.Members), "power", idx.total, "digest", d), nil
}

func (v *verifier) checkFile() (string, map[string]string, error) {
	salt := []byte(v.r.Record.Salt)
	if v.opts.Salt != nil {
		salt = v.opts.Salt
	}
	if len(salt) == 0 {
		return "", nil, fail(ReasonNoSalt, nil, "no salt: pass the sidecar FILE.evidence.json or --salt")
	}
	c, n, err := sidecar.Commit(salt, v.opts.File)
	if err != nil {
		return "", nil, fail(ReasonFileUnreadable, nil, "reading the original file failed: %v", err)
	}
	if c != v.r.Record.Commitment {
		return "", nil, fail(ReasonCommitment, facts("computed", c, "commitment", v.r.Record.Commitment, "size", n),
			"SM3(salt ‖ file) is %s, not the record's commitment %s: the file (or the salt) is not the one that was recorded", c, v.r.Record.Commitment)
	}
	if n != v.r.Record.Size {
		return "", nil, fail(ReasonSize, facts("size", n, "want", v.r.Record.Size), "the file is %d bytes, but the record says %d", n, v.r.Record.Size)
	}
	return fmt.Sprintf("SM3(salt ‖ file) over the %d-byte file is %s, the record's commitment", n, c), facts("size", n, "commitment", c), nil
}

// leafSigner checks that the leaf's transaction is of the receipt's chain
// and signed by a key the rosters give to a member whom role accepts (it
// returns the failure otherwise), with an SM2 signature that verifies.
func (v *verifier) leafSigner(tx *ledger.Tx, role func(*rosterKey) error) (*rosterKey, error) {
	if tx.Body.ChainID != v.r.ChainID {
		return nil, fail(ReasonRecordChain, facts("chain", tx.Body.ChainID, "want", v.r.ChainID), "the leaf's transaction is for chain %q, not %q", tx.Body.ChainID, v.r.ChainID)
	}
	k := v.rosters.key(tx.Body.Signer)
	if k == nil {
		return nil, fail(ReasonUnknownKey, facts("key", tx.Body.Signer), "the transaction is signed with key %s, which no member of the roster holds", tx.Body.Signer)
	}
	if err := role(k); err != nil {
		return nil, err
	}
	if err := k.key.Verify(tx.BodyBytes, tx.Signature); err != nil {
		return nil, fail(ReasonTxSignature, facts("member", k.member.Name, "key", tx.Body.Signer.Short()),
			"the transaction's SM2 signature does not verify under %s's key %s: %v", k.member.Name, tx.Body.Signer.Short(), err)
	}
	return k, nil
}

func (v *verifier) checkRecord() (string, map[string]string, error) {
	r := v.r
	want, tx, err := describe(r.Leaf, r.Record.Pos, v.rosters)
	if err != nil {
		return "", nil, fail(ReasonLeaf, nil, "%v", err)
	}
	k, err := v.leafSigner(tx, func(k *rosterKey) error {
		if k.member.Role == ledger.RoleBank {
			return nil
		}
		return fail(ReasonNotBank, facts("member", k.member.Name, "role", k.member.Role),
			"the transaction is signed by %s, a %s; only banks submit evidence", k.member.Name, k.member.Role)
	})
	if err != nil {
		return "", nil, err
	}
	if diff := recordDiff(want, &r.Record); len(diff) > 0 {
		return "", nil, fail(ReasonRecordDiffers, facts("fields", strings.Join(diff, ", ")),
			"the receipt's record differs from the record in the leaf in: %s", strings.Join(diff, ", "))
	}
	at := want.Time.Format(time.RFC3339Nano)
	return fmt.Sprintf("the leaf holds record %d of %s transaction %s (%s %q step %d, commitment %s), signed by bank %s with key %s, accepted in block %d at %s",
			r.Record.Pos, want.Type, want.TxID, want.Kind, want.Chain, want.Step, want.Commitment, k.member.Name, tx.Body.Signer.Short(), want.Height, at),
		facts("pos", r.Record.Pos, "type", want.Type, "tx", want.TxID, "kind", want.Kind, "chain", want.Chain, "step", want.Step,
			"commitment", want.Commitment, "member", k.member.Name, "key", tx.Body.Signer.Short(), "height", want.Height, "time", at), nil
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

func (v *verifier) checkCheckpoint() (string, map[string]string, error) {
	cp, err := ledger.ParseCheckpoint([]byte(v.r.Checkpoint))
	if err != nil {
		return "", nil, fail(ReasonCheckpointText, nil, "the checkpoint text is not a valid checkpoint: %v", err)
	}
	if cp.ChainID != v.r.ChainID {
		return "", nil, fail(ReasonCheckpointChain, facts("chain", cp.ChainID, "want", v.r.ChainID), "the checkpoint is of chain %q, not %q", cp.ChainID, v.r.ChainID)
	}
	if cp.Size != v.r.TreeSize {
		return "", nil, fail(ReasonTreeSize, facts("size", cp.Size, "want", v.r.TreeSize), "the checkpoint is of tree size %d, but the receipt says %d", cp.Size, v.r.TreeSize)
	}
	v.cp = cp
	root, at := base64.StdEncoding.EncodeToString(cp.Root[:]), cp.Time.Format(time.RFC3339Nano)
	return fmt.Sprintf("the checkpoint is of chain %q, tree size %d, root %s, taken after block %d at %s", cp.ChainID, cp.Size, root, cp.Height, at),
		facts("chain", cp.ChainID, "size", cp.Size, "root", root, "height", cp.Height, "time", at), nil
}

func (v *verifier) checkInclusion() (string, map[string]string, error) {
	r := v.r
	if r.LeafIndex >= r.TreeSize {
		return "", nil, fail(ReasonLeafIndex, facts("index", r.LeafIndex, "size", r.TreeSize), "leaf_index %d is not inside the tree of size %d", r.LeafIndex, r.TreeSize)
	}
	if r.TreeSize > math.MaxInt64 {
		return "", nil, fail(ReasonLeafIndex, facts("index", r.LeafIndex, "size", r.TreeSize), "tree_size %d is too large", r.TreeSize)
	}
	if err := ledger.VerifyInclusion(r.Leaf, r.LeafIndex, r.TreeSize, r.InclusionProof, v.cp.Root); err != nil {
		return "", nil, fail(ReasonInclusion, facts("index", r.LeafIndex), "the inclusion proof does not lead from entry %d to the checkpoint's root: %v", r.LeafIndex, err)
	}
	leaf := ledger.LeafHash(r.Leaf)
	return fmt.Sprintf("the inclusion proof (%d hashes) leads from entry %d, leaf hash %s, to the checkpoint's root", len(r.InclusionProof), r.LeafIndex, leaf),
		facts("hashes", len(r.InclusionProof), "index", r.LeafIndex, "leaf", leaf), nil
}

func (v *verifier) checkSignatures() (string, map[string]string, error) {
	t := countSignatures(v.idx, []byte(v.r.Checkpoint), v.r.Signatures)
	fs := facts("signers", strings.Join(t.valid, ", "), "count", len(t.valid), "power", t.power, "total", t.total)
	if len(t.invalid) > 0 {
		fs["not_counted"] = strings.Join(t.invalid, "; ")
	}
	if !t.trusted() {
		return "", nil, fail(ReasonNotTrusted, fs, "%s", t.detail())
	}
	return t.detail(), fs, nil
}
