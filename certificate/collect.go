package certificate

import (
	"fmt"
	"time"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// Collect returns the facts of a certificate for the record of rc (a
// receipt built from v): ReceiptFacts, and the attestations covering the
// record and the custody entries touching its original, oldest first, as
// v holds them (at most MaxListed of each).
func Collect(v *ledger.View, rc *receipt.Receipt) (*Facts, error) {
	f, err := ReceiptFacts(rc)
	if err != nil {
		return nil, err
	}
	ref := ledger.RecordRef{Index: rc.LeafIndex, Pos: rc.Record.Pos}
	atts, err := v.Attestations(ref, MaxListed)
	if err != nil {
		return nil, fmt.Errorf("attestations of %s: %w", ref, err)
	}
	for _, idx := range atts {
		e, tx, signer, err := entry(v, idx)
		if err != nil {
			return nil, err
		}
		a, ok := tx.Body.Payload.(*ledger.Attestation)
		if !ok {
			return nil, fmt.Errorf("attestation %d of %s holds a %s transaction: %w", idx, ref, tx.Body.Type(), ledger.ErrStoreCorrupt)
		}
		f.Attestations = append(f.Attestations, Attestation{Entry: idx, Member: signer, Statement: a.Statement, Note: a.Note,
			Time: time.Unix(0, e.Time).UTC()})
	}
	cust, err := v.Custody(ref, MaxListed)
	if err != nil {
		return nil, fmt.Errorf("custody of %s: %w", ref, err)
	}
	for _, idx := range cust {
		e, tx, signer, err := entry(v, idx)
		if err != nil {
			return nil, err
		}
		ev := CustodyEvent{Entry: idx, Type: tx.Body.Type().String(), Member: signer, Time: time.Unix(0, e.Time).UTC()}
		switch p := tx.Body.Payload.(type) {
		case *ledger.Grant:
			ev.Detail = "→ " + p.Grantee
			if p.Purpose != "" {
				ev.Detail += ": " + p.Purpose
			}
		case *ledger.Access:
			if p.ViaGrant {
				ev.Detail = fmt.Sprintf("via grant %d", p.Grant)
			}
		case *ledger.Revoke:
			ev.Detail = fmt.Sprintf("grant %d", p.Grant)
		}
		f.Custody = append(f.Custody, ev)
	}
	return f, nil
}

func entry(v *ledger.View, idx uint64) (*ledger.Entry, *ledger.Tx, string, error) {
	e, tx, err := v.Entry(idx)
	if err != nil {
		return nil, nil, "", fmt.Errorf("entry %d: %w", idx, err)
	}
	m, err := v.MemberByKey(tx.Body.Signer)
	if err != nil {
		return nil, nil, "", fmt.Errorf("signer of entry %d: %w", idx, err)
	}
	return e, tx, m.Name, nil
}
