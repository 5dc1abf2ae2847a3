package receipt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/tsa"
)

// Version is the receipt format version of a receipt without a roster
// path (its checkpoint was signed by the roster the verifier holds). This
// package reads and writes it and VersionPath.
const Version = 1

// Receipt is a self-contained proof that one evidence record is in the
// alliance ledger. Its JSON form is specified in docs/RECEIPT.md.
type Receipt struct {
	Version        int         `json:"version"`         // Version (1), or VersionPath (2) with a roster path
	ChainID        string      `json:"chain_id"`        // the alliance chain id
	Leaf           []byte      `json:"leaf"`            // exact log entry bytes (ledger.Entry encoding), standard base64
	LeafIndex      uint64      `json:"leaf_index"`      // index of the entry in the log
	TreeSize       uint64      `json:"tree_size"`       // size of the tree the checkpoint commits to
	InclusionProof [][]byte    `json:"inclusion_proof"` // RFC 9162 inclusion proof, leaf to root, standard base64 hashes
	Checkpoint     string      `json:"checkpoint"`      // exact checkpoint text (C2SP tlog-checkpoint body)
	Signatures     []Signature `json:"signatures"`      // members' SM2 signatures on Checkpoint
	// Record is the decoded evidence record (informative; Verify checks it
	// against Leaf); absent in a receipt of an attestation.
	Record Record `json:"record,omitzero"`
	// Attestation is the decoded attestation of a receipt whose leaf is an
	// attest entry (informative; Verify checks it against Leaf); nil
	// (absent) in a receipt of a record.
	Attestation  *Attestation `json:"attestation,omitempty"`
	RosterDigest crypto.Hash  `json:"roster_digest"` // ledger.Roster.Digest of the roster version that signed the checkpoint
	// RosterPath leads from the roster the verifier holds to the one of
	// RosterDigest; nil (absent) when they are the same.
	RosterPath *RosterPath `json:"roster_path,omitempty"`
	// Time is the RFC 3161 token of the first stamped checkpoint whose
	// tree holds the record; nil (absent) while no token covers it.
	Time *Time `json:"time,omitempty"`
}

// Time is a trusted time-stamping authority's RFC 3161 token over a
// checkpoint whose tree holds the record, with what links that checkpoint
// to the receipt's: the record existed no later than the token's genTime.
type Time struct {
	TSA        string `json:"tsa"`        // the TSA's name in the roster
	Token      []byte `json:"token"`      // RFC 3161 TimeStampToken, DER, standard base64
	Checkpoint string `json:"checkpoint"` // exact text of the stamped checkpoint: the token's imprint is its hash
	// ConsistencyProof is the RFC 9162 consistency proof between the
	// receipt's tree (tree_size) and the stamped tree, from the smaller to
	// the larger (usually the stamped one); empty when they are the same
	// size, standard base64 hashes.
	ConsistencyProof [][]byte `json:"consistency_proof"`
}

// Signature is one member's SM2 signature on a checkpoint.
type Signature struct {
	Member    string `json:"member"`     // member name
	PublicKey string `json:"public_key"` // hex of the member key: the 65-byte uncompressed SM2 point
	Signature []byte `json:"signature"`  // DER SEQUENCE{r, s}, standard base64
}

// HexBytes is a byte string whose JSON (text) form is lowercase hex, as
// the client's sidecar files write salts.
type HexBytes = ledger.HexBytes

// Record is the decoded evidence record a receipt proves, with the facts
// of its transaction and block. Every field but Salt is derived from the
// leaf, and Verify checks it against the leaf.
type Record struct {
	Pos        uint16            `json:"pos"`  // position in the entry; 0 for a single-record transaction
	Type       string            `json:"type"` // transaction type: "evidence" or "batch"
	Kind       string            `json:"kind"`
	Chain      string            `json:"chain"` // evidence-chain id
	Step       uint32            `json:"step"`
	Prev       crypto.Hash       `json:"prev"`       // leaf hash of the entry holding the previous step; zero for step 1
	Commitment crypto.Hash       `json:"commitment"` // SM3(salt ‖ original)
	Size       uint64            `json:"size"`       // size of the original in bytes
	Cipher     *crypto.Hash      `json:"cipher,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Salt is the commitment salt, present only when the receipt's holder
	// added it (the node never stores salts). It is a secret: with it and
	// the original anyone can prove the commitment.
	Salt         HexBytes     `json:"salt,omitempty"`
	Submitter    string       `json:"submitter"`     // member that signed the transaction
	SubmitterKey crypto.KeyID `json:"submitter_key"` // SM3 of the signing public key
	TxID         crypto.Hash  `json:"tx_id"`         // SM3 of the transaction body
	Height       int64        `json:"height"`        // block height
	Time         time.Time    `json:"time"`          // block time, UTC
	ClientTime   time.Time    `json:"client_time"`   // the submitter's time in the body, UTC
}

// ErrNotYet is returned by Build when the record is committed but no
// trusted checkpoint covers it yet.
var ErrNotYet = errors.New("no trusted checkpoint covers it yet; retry in a few seconds")

// ErrMalformed is wrapped by Parse, ParseRoster and ParseCheckpointFile
// errors: the input is not a receipt, roster or checkpoint file of a
// version this package reads.
var ErrMalformed = errors.New("malformed input")

// Build makes the receipt of the record ref names from committed state,
// with the roster path from the genesis roster (version 0) when later
// roster versions signed its checkpoint. It uses the earliest trusted
// checkpoint covering the record, so the receipt of a record never
// changes once available. Errors: ErrNotYet (retry later),
// ledger.ErrNotFound when there is no such evidence record, ErrPathTooLong,
// anything else is a storage failure.
func Build(v *ledger.View, ref ledger.RecordRef) (*Receipt, error) {
	genesis, err := v.RosterVersion(0)
	if err != nil {
		return nil, err
	}
	return build(v, ref, genesis, false)
}

// build makes the receipt of ref for a verifier holding roster version
// start.
// With attest, ref.Index names an attest entry (ref.Pos is 0) and the
// receipt proves its attestation.
func build(v *ledger.View, ref ledger.RecordRef, start *ledger.RosterVersionInfo, attest bool) (*Receipt, error) {
	if attest {
		if err := isAttestation(v, ref.Index); err != nil {
			return nil, err
		}
	} else if _, _, _, err := v.Record(ref); err != nil {
		return nil, fmt.Errorf("receipt for record %d.%d: %w", ref.Index, ref.Pos, err)
	}
	leaf, err := v.EntryBytes(ref.Index)
	if err != nil {
		return nil, fmt.Errorf("receipt for record %d.%d: %w", ref.Index, ref.Pos, err)
	}
	params, err := v.Params()
	if err != nil {
		return nil, err
	}
	cp, err := v.CheckpointCovering(ref.Index)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("receipt for record %d.%d: %w", ref.Index, ref.Pos, ErrNotYet)
	}
	if err != nil {
		return nil, fmt.Errorf("receipt for record %d.%d: %w", ref.Index, ref.Pos, err)
	}
	signing, err := v.RosterSigning(cp.Checkpoint.Height)
	if err != nil {
		return nil, err
	}
	if signing.Version < start.Version {
		// The record's first checkpoint predates the roster the verifier
		// holds: use the first one that roster, or a later one, signed.
		cp, err = v.CheckpointFrom(uint64(start.From - 1))
		if errors.Is(err, ledger.ErrNotFound) {
			return nil, fmt.Errorf("receipt for record %d.%d from roster version %d: %w", ref.Index, ref.Pos, start.Version, ErrNotYet)
		}
		if err != nil {
			return nil, err
		}
		if signing, err = v.RosterSigning(cp.Checkpoint.Height); err != nil {
			return nil, err
		}
	}
	proof, err := v.InclusionProof(ref.Index, cp.Checkpoint.Size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of entry %d in tree size %d: %w", ref.Index, cp.Checkpoint.Size, err)
	}
	sigs, err := signaturesBy(signing, cp.Signatures)
	if err != nil {
		return nil, err
	}
	if signing.Version-start.Version > MaxPathSteps {
		return nil, fmt.Errorf("%w: %d changes from roster version %d to %d, at most %d: fetch the receipt from a later roster you trust (from_roster)",
			ErrPathTooLong, signing.Version-start.Version, start.Version, signing.Version, MaxPathSteps)
	}
	// The submitter is named from the rosters the verifier goes through.
	var rosters rosterSet
	for n := start.Version; n <= signing.Version; n++ {
		rv := signing
		if n < signing.Version {
			if rv, err = v.RosterVersion(n); err != nil {
				return nil, err
			}
		}
		idx, err := newRosterIndex(rv.Roster(params.ChainID))
		if err != nil {
			return nil, fmt.Errorf("%w: roster version %d: %v", ledger.ErrStoreCorrupt, n, err)
		}
		rosters = append(rosters, idx)
	}
	var rec *Record
	var att *Attestation
	if attest {
		att, _, err = describeAttestation(leaf, rosters)
	} else {
		rec, _, err = describe(leaf, ref.Pos, rosters)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ledger.ErrStoreCorrupt, ref.Index, err)
	}
	r := &Receipt{
		Version:        Version,
		ChainID:        params.ChainID,
		Leaf:           leaf,
		LeafIndex:      ref.Index,
		TreeSize:       cp.Checkpoint.Size,
		InclusionProof: append([][]byte{}, proof...), // never null in JSON, even for a tree of one
		Checkpoint:     string(cp.Text),
		Signatures:     sigs,
		Attestation:    att,
		RosterDigest:   signing.Digest,
	}
	if rec != nil {
		r.Record = *rec
	}
	if signing.Version > start.Version {
		if r.RosterPath, err = rosterPath(v, start, signing, cp.Checkpoint.Size); err != nil {
			return nil, err
		}
		r.Version = VersionPath
	}
	if r.Time, err = timeOf(v, ref.Index, cp, signing.Roster(params.ChainID)); err != nil {
		return nil, err
	}
	return r, nil
}

// timeOf returns the Time of a receipt for entry index whose checkpoint
// is cp, signed by roster: the token of the earliest stamped checkpoint
// covering the entry, with the consistency proof between the two trees.
// It is nil when no token covers the entry yet, or when that token does
// not verify against roster's TSAs (the ledger accepted it under a later
// roster, which added its TSA): a verifier trusts the TSAs of the roster
// the receipt establishes, so the receipt must not carry a time that
// fails there; a receipt fetched from a roster that trusts the TSA
// (BuildFrom) carries it.
func timeOf(v *ledger.View, index uint64, cp *ledger.SignedCheckpoint, roster *ledger.Roster) (*Time, error) {
	ti, err := v.TimestampCovering(index)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the timestamp covering entry %d: %w", index, err)
	}
	i := slices.IndexFunc(roster.TSAs, func(t ledger.TSA) bool { return t.Name == ti.TSA })
	if i < 0 {
		return nil, nil
	}
	tok, err := tsa.ParseToken(ti.Token)
	if err != nil {
		return nil, fmt.Errorf("%w: the token stamping the checkpoint of height %d: %v", ledger.ErrStoreCorrupt, ti.Height, err)
	}
	if _, err := tok.Verify([]tsa.Anchor{roster.TSAs[i].Anchor()}, ti.Checkpoint.Text); err != nil {
		return nil, nil // the TSA of that name in this roster is not the one that stamped
	}
	small, large := cp.Checkpoint.Size, ti.Checkpoint.Checkpoint.Size
	if small > large {
		small, large = large, small
	}
	proof := [][]byte{}
	if small < large {
		if proof, err = v.ConsistencyProof(small, large); err != nil {
			return nil, fmt.Errorf("consistency proof between the receipt's checkpoint and the stamped one (tree sizes %d and %d): %w", small, large, err)
		}
	}
	return &Time{TSA: ti.TSA, Token: slices.Clone(ti.Token), Checkpoint: string(ti.Checkpoint.Text), ConsistencyProof: append([][]byte{}, proof...)}, nil
}

// describe decodes the record at pos of a leaf, naming the submitter from
// the rosters, and returns it with the leaf's transaction.
func describe(leaf []byte, pos uint16, rosters rosterSet) (*Record, *ledger.Tx, error) {
	e, err := ledger.DecodeEntry(leaf)
	if err != nil {
		return nil, nil, fmt.Errorf("the leaf is not a log entry: %w", err)
	}
	tx, err := ledger.DecodeTx(e.TxBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("the leaf's transaction does not decode: %w", err)
	}
	recs := tx.Body.EvidenceRecords()
	if recs == nil {
		return nil, nil, fmt.Errorf("the leaf holds a %s transaction, not evidence", tx.Body.Type())
	}
	if int(pos) >= len(recs) {
		return nil, nil, fmt.Errorf("the leaf holds %d records, so there is no record at position %d", len(recs), pos)
	}
	lr := recs[pos]
	r := &Record{
		Pos:          pos,
		Type:         tx.Body.Type().String(),
		Kind:         lr.Kind,
		Chain:        lr.Chain,
		Step:         lr.Step,
		Prev:         lr.Prev,
		Commitment:   lr.Commitment,
		Size:         lr.Size,
		SubmitterKey: tx.Body.Signer,
		TxID:         tx.ID(),
		Height:       e.Height,
		Time:         time.Unix(0, e.Time).UTC(),
		ClientTime:   time.Unix(0, tx.Body.Time).UTC(),
	}
	if lr.Cipher != nil {
		c := *lr.Cipher
		r.Cipher = &c
	}
	r.Labels = ledger.LabelMap(lr.Labels)
	if k := rosters.key(tx.Body.Signer); k != nil {
		r.Submitter = k.member.Name
	}
	return r, tx, nil
}

// decodeStrict decodes one JSON value into v, rejecting unknown fields and
// anything after the value.
func decodeStrict(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// Parse decodes a receipt from JSON. Unknown fields and trailing data are
// rejected, the version must be Version (no roster_path) or VersionPath
// (with one), and the input, the roster path, the proofs and the time are
// bounded (MaxReceiptBytes, MaxPathSteps, MaxProofHashes, MaxSignatures,
// tsa.MaxTokenBytes, MaxTimeProofHashes, MaxCheckpointBytes). Errors
// wrap ErrMalformed. It does not verify the receipt: call Verify.
func Parse(data []byte) (*Receipt, error) {
	if len(data) > MaxReceiptBytes {
		return nil, fmt.Errorf("%w: the receipt is %d bytes, more than %d", ErrMalformed, len(data), MaxReceiptBytes)
	}
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&probe); err != nil {
		return nil, fmt.Errorf("%w: the receipt is not JSON: %v", ErrMalformed, err)
	}
	if probe.Version == nil {
		return nil, fmt.Errorf("%w: the receipt has no version field", ErrMalformed)
	}
	if *probe.Version != Version && *probe.Version != VersionPath {
		return nil, fmt.Errorf("%w: receipt version %d: this program reads versions %d and %d only; use a verifier that supports version %d",
			ErrMalformed, *probe.Version, Version, VersionPath, *probe.Version)
	}
	r := &Receipt{}
	if err := decodeStrict(data, r); err != nil {
		return nil, fmt.Errorf("%w: receipt: %v", ErrMalformed, err)
	}
	if err := r.checkBounds(); err != nil {
		return nil, fmt.Errorf("%w: receipt: %v", ErrMalformed, err)
	}
	return r, nil
}

// ParseRoster decodes a roster file (the JSON form of ledger.Roster,
// version 1). Unknown fields and trailing data are rejected; every member
// must have a unique name, a defined role and 1 to ledger.MaxMemberKeys
// valid 65-byte hex SM2 keys; the TSAs, if any, must be valid and sorted
// by name (ledger.ValidateTSAs); the file is at most MaxRosterBytes.
// Errors wrap ErrMalformed.
func ParseRoster(data []byte) (*ledger.Roster, error) {
	if len(data) > MaxRosterBytes {
		return nil, fmt.Errorf("%w: roster file of %d bytes, more than %d", ErrMalformed, len(data), MaxRosterBytes)
	}
	r := &ledger.Roster{}
	if err := decodeStrict(data, r); err != nil {
		return nil, fmt.Errorf("%w: roster: %v", ErrMalformed, err)
	}
	if r.Version != ledger.RosterVersion {
		return nil, fmt.Errorf("%w: roster version %d: this program reads version %d only", ErrMalformed, r.Version, ledger.RosterVersion)
	}
	if _, err := newRosterIndex(r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return r, nil
}

// MaxRosterBytes bounds a roster file: 255 members with 8 keys each and
// 16 TSAs with 8 KiB certificates take well under a megabyte.
const MaxRosterBytes = 2 << 20

// rosterKey is one parsed roster key.
type rosterKey struct {
	member *ledger.RosterMember
	key    *crypto.PublicKey
}

// rosterIndex is a roster with parsed keys.
type rosterIndex struct {
	roster  *ledger.Roster
	members map[string]*ledger.RosterMember
	first   map[string]*crypto.PublicKey // member key of each member
	byID    map[crypto.KeyID]*rosterKey
	total   uint64
}

func newRosterIndex(r *ledger.Roster) (*rosterIndex, error) {
	if r.ChainID == "" {
		return nil, errors.New("the roster has no chain_id")
	}
	idx := &rosterIndex{roster: r, members: map[string]*ledger.RosterMember{}, first: map[string]*crypto.PublicKey{}, byID: map[crypto.KeyID]*rosterKey{}}
	for i := range r.Members {
		m := &r.Members[i]
		if m.Name == "" || len(m.Name) > ledger.MaxNameLen {
			return nil, fmt.Errorf("roster member %d has no valid name", i)
		}
		if idx.members[m.Name] != nil {
			return nil, fmt.Errorf("roster member %s appears twice", m.Name)
		}
		if !m.Role.Valid() {
			return nil, fmt.Errorf("roster member %s has no valid role", m.Name)
		}
		if len(m.Keys) == 0 || len(m.Keys) > ledger.MaxMemberKeys {
			return nil, fmt.Errorf("roster member %s has %d keys, want 1 to %d", m.Name, len(m.Keys), ledger.MaxMemberKeys)
		}
		idx.members[m.Name] = m
		for j, h := range m.Keys {
			b, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("roster member %s key %d is not hex", m.Name, j)
			}
			k, err := crypto.ParsePublicKey(b)
			if err != nil {
				return nil, fmt.Errorf("roster member %s key %d: %w", m.Name, j, err)
			}
			if idx.byID[k.ID()] != nil {
				return nil, fmt.Errorf("roster member %s key %d is registered twice", m.Name, j)
			}
			idx.byID[k.ID()] = &rosterKey{member: m, key: k}
			if j == 0 {
				idx.first[m.Name] = k
			}
		}
		if idx.total+m.Power < idx.total {
			return nil, errors.New("the roster's total voting power overflows")
		}
		idx.total += m.Power
	}
	if err := ledger.ValidateTSAs(r.TSAs); err != nil {
		return nil, fmt.Errorf("roster TSAs: %w", err)
	}
	if _, err := r.Digest(); err != nil {
		return nil, err
	}
	return idx, nil
}
