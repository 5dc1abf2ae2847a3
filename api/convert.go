package api

import (
	"fmt"
	"time"

	"github.com/evidenced/evidenced/client"
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
	return NewEntry(index, b, v.SignerName)
}

// NewEntry returns the JSON form of log entry index, given its bytes and
// a way to name the member that signed its transaction (View.SignerName).
// What the transaction carries comes from its payload: its evidence
// records and its Details (see ledger.TxTypeInfo), whatever its type.
func NewEntry(index uint64, b []byte, signerName func(*ledger.Tx) (string, error)) (*client.Entry, error) {
	e, err := ledger.DecodeEntry(b)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ledger.ErrStoreCorrupt, index, err)
	}
	tx, err := ledger.DecodeTx(e.TxBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d tx: %v", ledger.ErrStoreCorrupt, index, err)
	}
	body := &tx.Body
	signer, err := signerName(tx)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	out := &client.Entry{
		Index:      index,
		Height:     e.Height,
		Time:       unixTime(e.Time),
		LeafHash:   ledger.LeafHash(b),
		Entry:      b,
		TxID:       tx.ID(),
		Type:       body.Type().String(),
		ChainID:    body.ChainID,
		Signer:     signer,
		SignerKey:  body.Signer,
		ClientTime: unixTime(body.Time),
		Details:    body.Payload.Details(),
	}
	if recs := body.EvidenceRecords(); recs != nil {
		out.Records = make([]client.Record, len(recs))
		for i := range recs {
			out.Records[i] = recs[i].Details(uint16(i))
		}
	}
	return out, nil
}

// unixTime converts Unix nanoseconds to a UTC time.Time.
func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// EntryJSON returns log entry index as the API shows it (GET
// /v1/entries/{index}, the data of GET /v1/events and of webhook
// deliveries).
func EntryJSON(v *ledger.View, index uint64) (*client.Entry, error) { return loadEntry(v, index) }
