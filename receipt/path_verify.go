package receipt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// startPath finds where the given roster (digest d) joins the receipt's
// roster path: at its start, or after a step whose roster it is (a
// verifier may hold a later roster than the receipt was made for).
func (v *verifier) startPath(d crypto.Hash, idx *rosterIndex) (string, map[string]string, error) {
	p := v.r.RosterPath
	v.start = -1
	if d == p.FromDigest {
		v.start = 0
	}
	for i := len(p.Steps) - 1; i >= 0 && v.start < 0; i-- {
		if p.Steps[i].Digest == d {
			v.start = i + 1
		}
	}
	if v.start < 0 {
		return "", nil, fail(ReasonRosterDigest, facts("digest", d, "want", p.FromDigest),
			"the roster's digest is %s, but the receipt's roster path starts from the roster of version %d with digest %s and leads to %s: use that roster (the genesis roster for a receipt fetched without --from-roster), or fetch the receipt again with --from-roster %s",
			d, p.FromVersion, p.FromDigest, v.r.RosterDigest, d)
	}
	version := p.FromVersion
	if v.start > 0 {
		version = p.Steps[v.start-1].Version
	}
	return fmt.Sprintf("the roster is of chain %q, has %d members holding %d voting power, and its digest %s is roster version %d of the receipt's roster path",
			v.roster.ChainID, len(v.roster.Members), idx.total, d, version),
		facts("chain", v.roster.ChainID, "members", len(v.roster.Members), "power", idx.total, "digest", d, "version", version), nil
}

// checkRosterPath walks the roster path from the roster given to the one
// that signed the receipt's checkpoint.
func (v *verifier) checkRosterPath() (string, map[string]string, error) {
	p := v.r.RosterPath
	if p == nil || v.start == len(p.Steps) {
		return "", nil, &skipStep{reason: ReasonNoPath, facts: facts("digest", v.r.RosterDigest),
			msg: "not needed: the roster given signed the checkpoint, so there is no roster change to follow"}
	}
	// The receipt's checkpoint, to order the path before it; if it does
	// not parse, the checkpoint step fails later.
	rcp, _ := ledger.ParseCheckpoint([]byte(v.r.Checkpoint))
	cur := v.idx
	prevVersion := p.FromVersion
	label := fmt.Sprintf("v%d", p.FromVersion)
	if v.start > 0 {
		prevVersion = p.Steps[v.start-1].Version
		label = fmt.Sprintf("v%d", prevVersion)
	}
	if prevVersion == 0 {
		label = "genesis"
	}
	chain := []string{label}
	fs := facts("steps", len(p.Steps)-v.start, "from", prevVersion)
	var prev *ledger.Checkpoint
	for i := v.start; i < len(p.Steps); i++ {
		st := &p.Steps[i]
		next, cp, t, err := v.checkPathStep(i, st, prevVersion, cur, prev, rcp)
		if err != nil {
			return "", nil, err
		}
		change := describeChange(cur, next)
		chain = append(chain, fmt.Sprintf("v%d (%s, entry %d, attested at height %d by %d/%d)", st.Version, change, st.LeafIndex, cp.Height, t.power, t.total))
		fs[fmt.Sprintf("step%d", i+1)] = fmt.Sprintf("v%d: %s; entry %d in the checkpoint of height %d (tree size %d), co-signed by %s holding %d of %d",
			st.Version, change, st.LeafIndex, cp.Height, cp.Size, strings.Join(t.valid, ", "), t.power, t.total)
		cur, prevVersion, prev = next, st.Version, cp
		v.rosters = append(v.rosters, next)
	}
	d, err := cur.roster.Digest()
	if err != nil || d != v.r.RosterDigest {
		return "", nil, fail(ReasonPathLink, facts("change", len(p.Steps), "version", prevVersion, "digest", d, "want", v.r.RosterDigest),
			"the roster path ends at version %d with digest %s, but the receipt's checkpoint was signed by the roster with digest %s: the path is incomplete", prevVersion, d, v.r.RosterDigest)
	}
	v.idx = cur
	fs["path"] = strings.Join(chain, " → ")
	fs["to"] = fmt.Sprint(prevVersion)
	return strings.Join(chain, " → ") + "; each change is in a checkpoint co-signed by more than 2/3 of the version before, and the receipt's log extends it",
		fs, nil
}

// checkPathStep checks step i (0-based) of the path, to version
// prevVersion+1, under roster cur; prev is the previous step's checkpoint
// (nil for the first checked) and rcp the receipt's (nil when it does not
// parse). It returns the step's roster, its checkpoint, and the tally of
// its co-signatures.
func (v *verifier) checkPathStep(i int, st *PathStep, prevVersion uint32, cur *rosterIndex, prev, rcp *ledger.Checkpoint) (*rosterIndex, *ledger.Checkpoint, *tally, error) {
	n := i + 1
	stepFail := func(reason string, fs map[string]string, format string, args ...any) error {
		if fs == nil {
			fs = map[string]string{}
		}
		fs["change"], fs["version"] = fmt.Sprint(n), fmt.Sprint(st.Version)
		return fail(reason, fs, "step %d (to roster version %d): %s", n, st.Version, fmt.Sprintf(format, args...))
	}
	if st.Version != prevVersion+1 {
		return nil, nil, nil, stepFail(ReasonPathLink, facts("want", prevVersion+1),
			"the roster before it is version %d, so this step must be version %d: a step is missing or out of order", prevVersion, prevVersion+1)
	}
	cp, err := ledger.ParseCheckpoint([]byte(st.Checkpoint))
	if err != nil {
		return nil, nil, nil, stepFail(ReasonPathCheckpoint, nil, "the checkpoint text is not a valid checkpoint: %v", err)
	}
	if cp.ChainID != v.r.ChainID || cp.Size != st.TreeSize {
		return nil, nil, nil, stepFail(ReasonPathCheckpoint, facts("chain", cp.ChainID, "size", cp.Size),
			"the checkpoint is of chain %q and tree size %d, but the step says chain %q and tree size %d", cp.ChainID, cp.Size, v.r.ChainID, st.TreeSize)
	}
	if prev != nil && (cp.Height <= prev.Height || cp.Size < prev.Size) {
		return nil, nil, nil, stepFail(ReasonPathOrder, facts("height", cp.Height, "size", cp.Size, "after_height", prev.Height, "after_size", prev.Size),
			"its checkpoint (height %d, tree size %d) is not after the previous step's (height %d, tree size %d)", cp.Height, cp.Size, prev.Height, prev.Size)
	}
	if rcp != nil && (cp.Height >= rcp.Height || cp.Size > rcp.Size) {
		return nil, nil, nil, stepFail(ReasonPathOrder, facts("height", cp.Height, "size", cp.Size, "after_height", rcp.Height, "after_size", rcp.Size),
			"its checkpoint (height %d, tree size %d) is not before the receipt's checkpoint (height %d, tree size %d): a roster signs only checkpoints after the one that put it in force",
			cp.Height, cp.Size, rcp.Height, rcp.Size)
	}
	// Every co-signature on a path checkpoint must verify: the ledger
	// accepts a checkpoint only when all its signatures do (a node never
	// stores one that does not), so a bad one means the path was altered
	// after it left the node, and a court must not lean on an altered
	// path even when the signatures left would hold enough power.
	t := countSignatures(cur, []byte(st.Checkpoint), st.Signatures)
	if len(t.invalid) > 0 {
		fs := facts("signers", strings.Join(t.valid, ", "), "power", t.power, "total", t.total, "not_counted", strings.Join(t.invalid, "; "))
		return nil, nil, nil, stepFail(ReasonPathSignature, fs,
			"co-signatures by the roster before it do not verify, so the path was altered (a node stores only checkpoints whose every signature verifies): %s", t.detail())
	}
	if !t.trusted() {
		fs := facts("signers", strings.Join(t.valid, ", "), "power", t.power, "total", t.total)
		return nil, nil, nil, stepFail(ReasonPathPower, fs, "the checkpoint is co-signed by too little of the power of the roster before it: %s", t.detail())
	}
	if st.LeafIndex >= st.TreeSize {
		return nil, nil, nil, stepFail(ReasonPathInclusion, facts("index", st.LeafIndex), "leaf_index %d is not inside the tree of size %d", st.LeafIndex, st.TreeSize)
	}
	if err := ledger.VerifyInclusion(st.Leaf, st.LeafIndex, st.TreeSize, st.InclusionProof, cp.Root); err != nil {
		return nil, nil, nil, stepFail(ReasonPathInclusion, facts("index", st.LeafIndex),
			"the roster entry %d is not in the checkpoint's tree (the entry or its inclusion proof was altered): %v", st.LeafIndex, err)
	}
	if rcp != nil {
		if err := ledger.VerifyConsistency(cp.Size, rcp.Size, st.ConsistencyProof, cp.Root, rcp.Root); err != nil {
			return nil, nil, nil, stepFail(ReasonPathConsistency, facts("size", cp.Size, "receipt_size", rcp.Size),
				"the consistency proof does not show the receipt's log (tree size %d) extending the log of the step's checkpoint (tree size %d): %v", rcp.Size, cp.Size, err)
		}
	}
	next, err := v.pathRoster(st)
	if err != nil {
		return nil, nil, nil, stepFail(ReasonPathEntry, facts("index", st.LeafIndex), "%v", err)
	}
	return next, cp, t, nil
}

// pathRoster decodes the roster a step's entry holds and checks it is
// the step's version and digest.
func (v *verifier) pathRoster(st *PathStep) (*rosterIndex, error) {
	e, err := ledger.DecodeEntry(st.Leaf)
	if err != nil {
		return nil, fmt.Errorf("the entry is not a log entry: %w", err)
	}
	tx, err := ledger.DecodeTx(e.TxBytes)
	if err != nil {
		return nil, fmt.Errorf("the entry's transaction does not decode: %w", err)
	}
	if tx.Body.ChainID != v.r.ChainID {
		return nil, fmt.Errorf("the entry is of chain %q, not %q", tx.Body.ChainID, v.r.ChainID)
	}
	upd, ok := tx.Body.Payload.(*ledger.RosterUpdate)
	if !ok {
		return nil, fmt.Errorf("the entry holds a %s transaction, not a roster entry", tx.Body.Type())
	}
	if upd.Version != st.Version {
		return nil, fmt.Errorf("the entry holds roster version %d, not %d", upd.Version, st.Version)
	}
	r := upd.Roster(v.r.ChainID)
	d, err := r.Digest()
	if err != nil {
		return nil, fmt.Errorf("the entry's roster is unusable: %w", err)
	}
	if d != upd.Digest || d != st.Digest {
		return nil, fmt.Errorf("the entry's roster has digest %s, but the entry says %s and the step %s", d, upd.Digest, st.Digest)
	}
	idx, err := newRosterIndex(r)
	if err != nil {
		return nil, errors.Join(errors.New("the entry's roster is unusable"), err)
	}
	return idx, nil
}
