package ledger

import (
	"fmt"
	"maps"
	"slices"
)

// Evidence bodies. The HTTP API, the CLI and the load generator build the
// bodies of evidence and batch transactions here, and only here, so that
// a change to Body is made in one place for all of them.

// EvidenceBody returns the unsigned body of an evidence transaction (type
// TxEvidence) carrying rec, for chain chainID, with client time clientTime
// (Unix nanoseconds). The signer is left zero: SignTx sets it, or the
// caller does before EncodeBody for a body signed elsewhere. The body is
// checked as EncodeBody checks it; a *RejectError says what is wrong.
func EvidenceBody(chainID string, clientTime int64, rec Record) (*Body, error) {
	b := &Body{ChainID: chainID, Type: TxEvidence, Time: clientTime, Record: &rec}
	if _, err := EncodeBody(b); err != nil {
		return nil, err
	}
	return b, nil
}

// BatchBody returns the unsigned body of a batch transaction (type
// TxBatch) carrying recs, 1 to MaxBatchRecords records of distinct
// evidence chains, under one signature; the rest is as EvidenceBody. A
// batch of one record stays a batch: its record's position is 0 either
// way, but its transaction type is what the submitter asked for.
func BatchBody(chainID string, clientTime int64, recs []Record) (*Body, error) {
	if recs == nil {
		recs = []Record{} // a nil batch would be a body with no payload
	}
	b := &Body{ChainID: chainID, Type: TxBatch, Time: clientTime, Records: recs}
	if _, err := EncodeBody(b); err != nil {
		return nil, err
	}
	return b, nil
}

// LabelsFromMap returns labels as a record carries them: sorted by key. It
// checks what the ledger checks of a record's labels (at most MaxLabels;
// keys of 1 to MaxLabelKeyLen lowercase letters, digits and . _ -, not
// starting with punctuation; values of at most MaxLabelValueLen printable
// ASCII characters), reporting the first offending key in key order. An
// empty map gives nil.
func LabelsFromMap(m map[string]string) ([]Label, error) {
	if len(m) == 0 {
		return nil, nil
	}
	if len(m) > MaxLabels {
		return nil, fmt.Errorf("%d labels, more than the %d a record may carry", len(m), MaxLabels)
	}
	labels := make([]Label, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if !ValidIdent(k, MaxLabelKeyLen) {
			return nil, fmt.Errorf("label key %q: use 1 to %d lowercase letters, digits and . _ - (not starting with punctuation)", k, MaxLabelKeyLen)
		}
		if len(v) > MaxLabelValueLen || !printableASCII(v) {
			return nil, fmt.Errorf("label %s: the value must be at most %d printable ASCII characters; labels must not hold personal data", k, MaxLabelValueLen)
		}
		labels = append(labels, Label{Key: k, Value: v})
	}
	return labels, nil
}

// LabelMap returns labels as a map from key to value, as the API and the
// sidecar show them; nil when there are none.
func LabelMap(labels []Label) map[string]string {
	if len(labels) == 0 {
		return nil
	}
	m := make(map[string]string, len(labels))
	for _, l := range labels {
		m[l.Key] = l.Value
	}
	return m
}

// printableASCII reports whether s holds only bytes 0x20 to 0x7e.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
