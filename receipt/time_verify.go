package receipt

import (
	"errors"
	"fmt"
	"time"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/tsa"
)

// checkTime checks the receipt's time: the stamped checkpoint, its link to
// the receipt's checkpoint, and the token against the TSAs of the roster
// that signed the receipt's checkpoint (v.idx).
func (v *verifier) checkTime() (string, map[string]string, error) {
	t := v.r.Time
	if t == nil {
		return "", nil, &skipStep{reason: ReasonNoTime,
			msg: "not checked: the receipt carries no timestamp token (no TSA had stamped a checkpoint holding the record when it was fetched: fetch it again later)"}
	}
	fs := facts("tsa", t.TSA)
	scp, err := ledger.ParseCheckpoint([]byte(t.Checkpoint))
	if err != nil {
		return "", nil, fail(ReasonTimeCheckpoint, fs, "the stamped checkpoint text is not a valid checkpoint: %v", err)
	}
	fs["size"], fs["height"] = fmt.Sprint(scp.Size), fmt.Sprint(scp.Height)
	if scp.ChainID != v.r.ChainID {
		fs["chain"] = scp.ChainID
		return "", nil, fail(ReasonTimeCheckpoint, fs, "the stamped checkpoint is of chain %q, not %q", scp.ChainID, v.r.ChainID)
	}
	if scp.Size <= v.r.LeafIndex {
		fs["index"] = fmt.Sprint(v.r.LeafIndex)
		return "", nil, fail(ReasonTimeCheckpoint, fs, "the stamped checkpoint's tree of size %d does not hold entry %d", scp.Size, v.r.LeafIndex)
	}
	if err := v.timeConsistency(scp, t.ConsistencyProof); err != nil {
		fs["receipt_size"] = fmt.Sprint(v.r.TreeSize)
		return "", nil, fail(ReasonTimeConsistency, fs, "%v", err)
	}
	tok, err := tsa.ParseToken(t.Token)
	if err != nil {
		return "", nil, fail(ReasonTimeToken, fs, "the token is not an RFC 3161 TimeStampToken: %v", err)
	}
	var anchor *tsa.Anchor
	for i := range v.idx.roster.TSAs {
		if ts := &v.idx.roster.TSAs[i]; ts.Name == t.TSA {
			a := ts.Anchor()
			anchor = &a
		}
	}
	if anchor == nil {
		return "", nil, fail(ReasonTimeUntrusted, fs,
			"the token names TSA %q, which the roster that signed the checkpoint does not trust (it trusts %s)", t.TSA, tsaNames(v.idx.roster))
	}
	st, err := tok.Verify([]tsa.Anchor{*anchor}, []byte(t.Checkpoint))
	if err != nil {
		fs["gen_time"] = tok.GenTime().UTC().Format(time.RFC3339Nano)
		reason := ReasonTimeToken
		switch {
		case errors.Is(err, tsa.ErrUntrusted):
			reason = ReasonTimeUntrusted
		case errors.Is(err, tsa.ErrSignature):
			reason = ReasonTimeSignature
		case errors.Is(err, tsa.ErrExpired):
			reason = ReasonTimeExpired
		case errors.Is(err, tsa.ErrImprint), errors.Is(err, tsa.ErrHashAlg):
			reason = ReasonTimeImprint
		}
		return "", nil, fail(reason, fs, "the token does not verify as TSA %q's over the stamped checkpoint: %v", t.TSA, err)
	}
	gen := st.GenTime.UTC().Format(time.RFC3339Nano)
	fs["gen_time"], fs["hash"], fs["serial"], fs["subject"] = gen, string(st.Hash), ledger.FormatSerial(st.Serial.Bytes()), st.Subject
	link := "the receipt's own"
	switch n := len(t.ConsistencyProof); {
	case scp.Size > v.r.TreeSize:
		link = fmt.Sprintf("which extends the receipt's by a consistency proof of %d %s", n, plural(n, "hash", "hashes"))
	case scp.Size < v.r.TreeSize:
		link = fmt.Sprintf("which the receipt's extends by a consistency proof of %d %s", n, plural(n, "hash", "hashes"))
	case scp.Height != v.cp.Height:
		link = "of the same tree as the receipt's"
	}
	return fmt.Sprintf("the record existed no later than %s, as TSA %s states (RFC 3161 token over the checkpoint of size %d, height %d, %s; %s imprint, serial %s)",
		gen, t.TSA, scp.Size, scp.Height, link, st.Hash, fs["serial"]), fs, nil
}

// timeConsistency checks that the stamped checkpoint scp and the
// receipt's are the same tree, or that proof shows the larger extending
// the smaller.
func (v *verifier) timeConsistency(scp *ledger.Checkpoint, proof [][]byte) error {
	r := v.cp
	switch {
	case scp.Size == r.Size && len(proof) != 0:
		return fmt.Errorf("the stamped checkpoint is of the receipt's tree size %d, so the consistency proof must be empty, not %d hashes", r.Size, len(proof))
	case scp.Size == r.Size && scp.Root != r.Root:
		return fmt.Errorf("the stamped checkpoint is of the receipt's tree size %d but has another root: it is not of this log", r.Size)
	case scp.Size == r.Size:
		return nil
	case scp.Size > r.Size:
		if err := ledger.VerifyConsistency(r.Size, scp.Size, proof, r.Root, scp.Root); err != nil {
			return fmt.Errorf("the consistency proof does not show the stamped checkpoint's tree (size %d) extending the receipt's (size %d): %w", scp.Size, r.Size, err)
		}
	default:
		if err := ledger.VerifyConsistency(scp.Size, r.Size, proof, scp.Root, r.Root); err != nil {
			return fmt.Errorf("the consistency proof does not show the receipt's tree (size %d) extending the stamped checkpoint's (size %d): %w", r.Size, scp.Size, err)
		}
	}
	return nil
}

// tsaNames lists the names of a roster's TSAs for a message.
func tsaNames(r *ledger.Roster) string {
	if len(r.TSAs) == 0 {
		return "no TSA"
	}
	s := ""
	for i, t := range r.TSAs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", t.Name)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
