package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// loadEntry reads log entry index from v and returns its JSON form. It
// returns an error wrapping ledger.ErrNotFound when the log has no such
// entry.
func loadEntry(v *ledger.View, index uint64) (*client.Entry, error) {
	b, err := v.EntryBytes(index)
	if err != nil {
		return nil, err
	}
	e, err := ledger.DecodeEntry(b)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ledger.ErrStoreCorrupt, index, err)
	}
	tx, err := ledger.DecodeTx(e.TxBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d tx: %v", ledger.ErrStoreCorrupt, index, err)
	}
	body := &tx.Body
	out := &client.Entry{
		Index:      index,
		Height:     e.Height,
		Time:       unixTime(e.Time),
		LeafHash:   ledger.LeafHash(b),
		Entry:      b,
		TxID:       tx.ID(),
		Type:       body.Type.String(),
		ChainID:    body.ChainID,
		SignerKey:  body.Signer,
		ClientTime: unixTime(body.Time),
	}
	if body.Type == ledger.TxRegister && body.Member != nil {
		out.Signer = body.Member.Name
	} else if body.Signer != (crypto.KeyID{}) {
		m, err := v.MemberByKey(body.Signer)
		switch {
		case err == nil:
			out.Signer = m.Name
		case errors.Is(err, ledger.ErrNotFound):
			// A key no longer registered: the entry still names it in
			// signer_key; leave the name empty.
		default:
			return nil, fmt.Errorf("entry %d signer: %w", index, err)
		}
	}
	if recs := body.EvidenceRecords(); recs != nil {
		out.Records = make([]client.Record, len(recs))
		for i := range recs {
			out.Records[i] = recordJSON(uint16(i), &recs[i])
		}
	}
	switch body.Type {
	case ledger.TxAttest:
		if a := body.Attestation; a != nil {
			targets := make([]client.RecordRef, len(a.Targets))
			for i, t := range a.Targets {
				targets[i] = client.RecordRef{Index: t.Index, Pos: t.Pos}
			}
			out.Attestation = &client.Attestation{Statement: a.Statement, Targets: targets, Document: a.Document, Note: a.Note}
		}
	case ledger.TxGrant:
		if g := body.Grant; g != nil {
			cu := &client.EntryCustody{Grantee: g.Grantee, Purpose: g.Purpose, Chain: g.Chain}
			if g.Expiry != 0 {
				t := unixTime(g.Expiry)
				cu.Expires = &t
			}
			for _, k := range g.Keys {
				cu.Records = append(cu.Records, client.RecordRef{Index: k.Ref.Index, Pos: k.Ref.Pos})
			}
			out.Custody = cu
		}
	case ledger.TxRevoke:
		if r := body.Revoke; r != nil {
			g := r.Grant
			out.Custody = &client.EntryCustody{Grant: &g}
		}
	case ledger.TxAccess:
		if a := body.Access; a != nil {
			cu := &client.EntryCustody{Records: []client.RecordRef{{Index: a.Ref.Index, Pos: a.Ref.Pos}}}
			if a.ViaGrant {
				g := a.Grant
				cu.Grant = &g
			}
			out.Custody = cu
		}
	case ledger.TxRegister:
		if m := body.Member; m != nil {
			keys := make([]client.HexBytes, len(m.Keys))
			for i, k := range m.Keys {
				keys[i] = k.Bytes()
			}
			out.Member = &client.MemberRegistration{Name: m.Name, Role: m.Role, Power: m.Power, Keys: keys}
		}
	}
	return out, nil
}

// recordJSON converts the record at position pos of an entry.
func recordJSON(pos uint16, r *ledger.Record) client.Record {
	out := client.Record{
		Pos:        pos,
		Kind:       r.Kind,
		Chain:      r.Chain,
		Step:       r.Step,
		Prev:       r.Prev,
		Commitment: r.Commitment,
		Size:       r.Size,
		Cipher:     r.Cipher,
	}
	out.Labels = ledger.LabelMap(r.Labels)
	return out
}

// unixTime converts Unix nanoseconds to a UTC time.Time.
func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// EntryJSON returns log entry index as the API shows it (GET
// /v1/entries/{index}, the data of GET /v1/events and of webhook
// deliveries).
func EntryJSON(v *ledger.View, index uint64) (*client.Entry, error) { return loadEntry(v, index) }
