package ledger

import (
	"fmt"
	"maps"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// The evidence transaction (TxEvidence) carries one record, the batch
// transaction (TxBatch) many under one signature. Payload encodings:
//
//	Evidence = Record
//	Batch    = u16 count (1..MaxBatchRecords) ‖ count × Record
//	Record   = u8-prefixed kind ‖ u8-prefixed evidence-chain id ‖ u32 step ‖
//	           32-byte prev ‖ 32-byte commitment ‖ u64 size ‖ u8 flags ‖
//	           [32-byte cipher address] (flag 0x01) ‖ [u64 ciphertext size ‖
//	           u8-prefixed wrapped data key] (flag 0x02, with 0x01) ‖
//	           u8 label count ‖ (u8-prefixed key ‖ u8-prefixed value)…

var evidenceType = TxTypeInfo{
	Type: TxEvidence, Name: "evidence", Title: "Evidence",
	Doc:    "append one evidence record: kind, evidence-chain id and step, salted SM3 commitment of the original, size, optional kept original, labels",
	Origin: OriginMember, Roles: []Role{RoleBank}, RoleRule: "may not submit evidence; only banks do",
	Example: func() Payload { return &Evidence{Record: exampleRecord(1)} },
	decode: func(s *cryptobyte.String) (Payload, error) {
		r, err := readRecord(s)
		if err != nil {
			return nil, err
		}
		return &Evidence{Record: *r}, nil
	},
}

var batchType = TxTypeInfo{
	Type: TxBatch, Name: "batch", Title: "Evidence batch",
	Doc:    "append many evidence records, each of a different evidence chain, under one signature",
	Origin: OriginMember, Roles: []Role{RoleBank}, RoleRule: "may not submit evidence; only banks do",
	Example: func() Payload { return &Batch{Records: []Record{exampleRecord(1), exampleRecord(2)}} },
	decode:  decodeBatch,
}

// Evidence is the payload of TxEvidence: one evidence record.
type Evidence struct {
	Record Record
}

// Batch is the payload of TxBatch: records of different evidence chains.
type Batch struct {
	Records []Record
}

// Record is one piece of evidence: the salted SM3 commitment of an original
// plus non-personal metadata. The original itself never goes on chain.
type Record struct {
	Kind       string       // what the evidence is, e.g. "loan-contract"
	Chain      string       // evidence-chain id (保全号), e.g. "LOAN-2026-000001"
	Step       uint32       // 1 for the first step of a chain, then 2, 3, …
	Prev       crypto.Hash  // leaf hash of the entry holding step-1; zero for step 1
	Commitment crypto.Hash  // SM3(salt ‖ original)
	Size       uint64       // size of the original in bytes
	Cipher     *crypto.Hash // optional SM3 address of the encrypted original
	// With Cipher, optionally (the original is kept by the alliance): the
	// ciphertext size and the SM4 data key wrapped (SM2) to the owner's
	// member key. Both or neither.
	CipherSize uint64
	OwnerKey   []byte
	Labels     []Label // non-personal labels, keys strictly increasing
}

// Label is a non-personal key/value tag on a record (e.g. product=consumer-loan).
type Label struct {
	Key   string
	Value string
}

// Kept reports whether the alliance keeps the record's encrypted original
// (cipher address, ciphertext size and the owner's wrapped data key).
func (r *Record) Kept() bool { return r.Cipher != nil && len(r.OwnerKey) > 0 }

// TxType implements Payload.
func (*Evidence) TxType() TxType { return TxEvidence }

// TxType implements Payload.
func (*Batch) TxType() TxType { return TxBatch }

// Details implements Payload: an evidence entry shows its records only.
func (*Evidence) Details() Details { return nil }

// Details implements Payload: a batch entry shows its records only.
func (*Batch) Details() Details { return nil }

func (e *Evidence) records() []Record { return []Record{e.Record} }

func (b *Batch) records() []Record { return b.Records }

func (e *Evidence) encode(b *cryptobyte.Builder) { addRecord(b, &e.Record) }

func (b *Batch) encode(bb *cryptobyte.Builder) {
	bb.AddUint16(uint16(len(b.Records)))
	for i := range b.Records {
		addRecord(bb, &b.Records[i])
	}
}

func decodeBatch(s *cryptobyte.String) (Payload, error) {
	var n uint16
	if !s.ReadUint16(&n) {
		return nil, reject(CodeMalformed, "batch count is truncated")
	}
	if n == 0 {
		return nil, reject(CodeMalformed, "batch holds no records")
	}
	if int(n) > MaxBatchRecords {
		return nil, reject(CodeBatchTooLarge, "batch holds %d records, more than the %d the format allows", n, MaxBatchRecords)
	}
	// Every record takes at least minRecordBytes: check the input holds
	// them before allocating.
	if len(*s) < int(n)*minRecordBytes {
		return nil, reject(CodeMalformed, "batch of %d records is truncated (%d bytes left)", n, len(*s))
	}
	b := &Batch{Records: make([]Record, n)}
	for i := range b.Records {
		r, err := readRecord(s)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		b.Records[i] = *r
	}
	return b, nil
}

func (e *Evidence) validate() error { return e.Record.validate() }

func (b *Batch) validate() error {
	if len(b.Records) == 0 {
		return reject(CodeMalformed, "batch holds no records")
	}
	if len(b.Records) > MaxBatchRecords {
		return reject(CodeBatchTooLarge, "batch holds %d records, more than the %d the format allows", len(b.Records), MaxBatchRecords)
	}
	for i := range b.Records {
		if err := b.Records[i].validate(); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return nil
}

// recordCost is the state writes of one record: its chain head, its step
// and its commitment index.
const recordCost = 3

func (*Evidence) writeCost() int { return recordCost }

func (b *Batch) writeCost() int { return recordCost * len(b.Records) }

func (e *Evidence) check(c *txContext) (*RejectError, error) {
	return checkRecords(c, []Record{e.Record})
}

func (b *Batch) check(c *txContext) (*RejectError, error) {
	if len(b.Records) > int(c.s.params.MaxBatchRecords) {
		return reject(CodeBatchTooLarge, "batch holds %d records, the chain allows %d", len(b.Records), c.s.params.MaxBatchRecords), nil
	}
	return checkRecords(c, b.Records)
}

func (e *Evidence) stage(c *txContext) error { stageRecords(c, []Record{e.Record}); return nil }

func (b *Batch) stage(c *txContext) error { stageRecords(c, b.Records); return nil }

// checkRecords enforces the evidence-chain rules for the records of one
// transaction: each chain at most once, each record the next step of its
// chain by its owner. In a bundle check (which stages nothing) it also
// notes the chains, so a later inner transaction extending one is caught.
func checkRecords(c *txContext, records []Record) (*RejectError, error) {
	s := c.s
	var seen map[string]bool
	if len(records) > 1 {
		seen = make(map[string]bool, len(records))
	}
	for i := range records {
		rec := &records[i]
		if seen != nil {
			if seen[rec.Chain] {
				return reject(CodeBatchChainRepeat, "record %d: evidence chain %s appears twice in the batch", i, rec.Chain), nil
			}
			seen[rec.Chain] = true
		}
		if s.checkedChains[rec.Chain] {
			return reject(CodeChainStep, "evidence chain %s is already extended earlier in the same bundle; submit the next step after that one is committed", rec.Chain), nil
		}
		h, err := s.chainHead(rec.Chain)
		if err != nil {
			return nil, err
		}
		if e := checkLink(h, rec, c.Member); e != nil {
			if len(records) > 1 {
				e.Msg = fmt.Sprintf("record %d: %s", i, e.Msg)
			}
			return e, nil
		}
	}
	if !c.Staging && s.checkedChains != nil {
		for i := range records {
			s.checkedChains[records[i].Chain] = true
		}
		s.records += len(records)
	}
	return nil, nil
}

// stageRecords writes the records of the entry just appended: each chain's
// new head, the step and commitment indexes, and the kept-original index.
func stageRecords(c *txContext, records []Record) {
	s := c.s
	s.records += len(records)
	for i := range records {
		rec := &records[i]
		ref := RecordRef{Index: c.Index, Pos: uint16(i)}
		h := &chainHead{Owner: c.Member, Step: rec.Step, LeafHash: c.Leaf, LastEntry: c.Index}
		s.set(keyString8(prefixChain, rec.Chain), h.encode())
		s.set(keyStep(rec.Chain, rec.Step), encodeRef(ref))
		s.set(keyCommitment(rec.Commitment[:], ref), nil)
		if rec.Kept() {
			s.set(append(keyBytes(prefixCipher, rec.Cipher[:]), encodeRef(ref)...), nil)
		}
		c.Result.Chains = append(c.Result.Chains, rec.Chain)
	}
}

// checkLink enforces the evidence-chain rules for one record: steps in
// order from 1, each naming the previous step's entry, all by one member.
func checkLink(h *chainHead, rec *Record, member string) *RejectError {
	if h == nil {
		if rec.Step != 1 {
			return reject(CodeChainStep, "evidence chain %s does not exist yet, so step %d cannot follow; start it with step 1", rec.Chain, rec.Step)
		}
		return nil
	}
	if h.Owner != member {
		return reject(CodeChainOwner, "evidence chain %s belongs to %s, not %s", rec.Chain, h.Owner, member)
	}
	if rec.Step != h.Step+1 {
		return reject(CodeChainStep, "evidence chain %s is at step %d, so the next step is %d, not %d", rec.Chain, h.Step, h.Step+1, rec.Step)
	}
	if rec.Prev != h.LeafHash {
		return reject(CodeChainPrev, "evidence chain %s step %d: prev %s is not the leaf hash %s of step %d (entry %d)", rec.Chain, rec.Step, rec.Prev.String()[:16], h.LeafHash.String()[:16], h.Step, h.LastEntry)
	}
	return nil
}

func (r *Record) validate() error {
	if err := checkIdent("kind", r.Kind, MaxKindLen, identKind); err != nil {
		return err
	}
	if err := checkIdent("evidence-chain id", r.Chain, MaxChainIDLen, identChain); err != nil {
		return err
	}
	if r.Step == 0 {
		return reject(CodeMalformed, "chain %s: step numbers start at 1", r.Chain)
	}
	if r.Step == 1 && r.Prev != (crypto.Hash{}) {
		return reject(CodeMalformed, "chain %s: step 1 must not name a previous entry", r.Chain)
	}
	if r.Step > 1 && r.Prev == (crypto.Hash{}) {
		return reject(CodeMalformed, "chain %s step %d: prev must name the previous step's entry", r.Chain, r.Step)
	}
	if r.Commitment == (crypto.Hash{}) {
		return reject(CodeMalformed, "chain %s step %d: commitment is zero", r.Chain, r.Step)
	}
	if len(r.OwnerKey) > 0 || r.CipherSize > 0 {
		if r.Cipher == nil || len(r.OwnerKey) == 0 || r.CipherSize == 0 {
			return reject(CodeMalformed, "chain %s step %d: a kept original needs its cipher address, ciphertext size and wrapped data key", r.Chain, r.Step)
		}
		if len(r.OwnerKey) > MaxWrappedKey {
			return reject(CodeMalformed, "chain %s step %d: wrapped data key is %d bytes, more than %d", r.Chain, r.Step, len(r.OwnerKey), MaxWrappedKey)
		}
	}
	if len(r.Labels) > MaxLabels {
		return reject(CodeTooLarge, "record has %d labels, more than %d", len(r.Labels), MaxLabels)
	}
	for i, l := range r.Labels {
		if err := checkIdent("label key", l.Key, MaxLabelKeyLen, identKind); err != nil {
			return err
		}
		if i > 0 && r.Labels[i-1].Key >= l.Key {
			return reject(CodeMalformed, "label keys must be strictly increasing (%q after %q)", l.Key, r.Labels[i-1].Key)
		}
		if e := checkText("label "+l.Key+" value", l.Value, MaxLabelValueLen); e != nil {
			return e
		}
	}
	return nil
}

// Record flags.
const (
	recordCipher = 0x01 // a cipher address follows
	recordKept   = 0x02 // with it, the ciphertext size and the owner's wrapped data key
)

// minRecordBytes is the size of the shortest encodable record: one-byte
// kind and chain, no cipher, no labels.
const minRecordBytes = 2 + 2 + 4 + 32 + 32 + 8 + 1 + 1

func addRecord(b *cryptobyte.Builder, r *Record) {
	addString8(b, r.Kind)
	addString8(b, r.Chain)
	b.AddUint32(r.Step)
	b.AddBytes(r.Prev[:])
	b.AddBytes(r.Commitment[:])
	b.AddUint64(r.Size)
	switch {
	case r.Kept():
		b.AddUint8(recordCipher | recordKept)
		b.AddBytes(r.Cipher[:])
		b.AddUint64(r.CipherSize)
		b.AddUint8LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(r.OwnerKey) })
	case r.Cipher != nil:
		b.AddUint8(recordCipher)
		b.AddBytes(r.Cipher[:])
	default:
		b.AddUint8(0)
	}
	b.AddUint8(uint8(len(r.Labels)))
	for _, l := range r.Labels {
		addString8(b, l.Key)
		addString8(b, l.Value)
	}
}

func readRecord(s *cryptobyte.String) (*Record, error) {
	r := &Record{}
	var flags, nl uint8
	if !readString8(s, &r.Kind) || !readString8(s, &r.Chain) || !s.ReadUint32(&r.Step) ||
		!s.CopyBytes(r.Prev[:]) || !s.CopyBytes(r.Commitment[:]) || !s.ReadUint64(&r.Size) || !s.ReadUint8(&flags) {
		return nil, reject(CodeMalformed, "record is truncated")
	}
	switch flags {
	case 0:
	case recordCipher, recordCipher | recordKept:
		var c crypto.Hash
		if !s.CopyBytes(c[:]) {
			return nil, reject(CodeMalformed, "record cipher address is truncated")
		}
		r.Cipher = &c
		if flags&recordKept != 0 {
			var k cryptobyte.String
			if !s.ReadUint64(&r.CipherSize) || !s.ReadUint8LengthPrefixed(&k) {
				return nil, reject(CodeMalformed, "record original is truncated")
			}
			r.OwnerKey = []byte(k)
		}
	default:
		return nil, reject(CodeMalformed, "record flags 0x%02x: only 0x01 (cipher address) and 0x03 (kept original) are defined", flags)
	}
	if !s.ReadUint8(&nl) {
		return nil, reject(CodeMalformed, "record labels are truncated")
	}
	if int(nl) > MaxLabels {
		return nil, reject(CodeTooLarge, "record has %d labels, more than %d", nl, MaxLabels)
	}
	if nl > 0 {
		r.Labels = make([]Label, nl)
	}
	for i := range r.Labels {
		if !readString8(s, &r.Labels[i].Key) || !readString8(s, &r.Labels[i].Value) {
			return nil, reject(CodeMalformed, "record label %d is truncated", i)
		}
	}
	return r, nil
}

// RecordDetails is the public form of one evidence record, as the API shows
// it in an entry. The wrapped data key is left out.
type RecordDetails struct {
	Pos        uint16       `json:"pos"` // position in the entry; 0 for a single-record tx
	Kind       string       `json:"kind"`
	Chain      string       `json:"chain"`
	Step       uint32       `json:"step"`
	Prev       crypto.Hash  `json:"prev"` // zero for step 1
	Commitment crypto.Hash  `json:"commitment"`
	Size       uint64       `json:"size"`
	Cipher     *crypto.Hash `json:"cipher,omitempty"`
	// Labels are the record's non-personal labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// Details returns the public form of the record at position pos.
func (r *Record) Details(pos uint16) RecordDetails {
	out := RecordDetails{Pos: pos, Kind: r.Kind, Chain: r.Chain, Step: r.Step, Prev: r.Prev,
		Commitment: r.Commitment, Size: r.Size, Cipher: r.Cipher}
	out.Labels = LabelMap(r.Labels)
	return out
}

// Evidence bodies. The HTTP API, the CLI and the load generator build the
// bodies of evidence and batch transactions here, and only here.

// EvidenceBody returns the unsigned body of an evidence transaction (type
// TxEvidence) carrying rec, for chain chainID, with client time clientTime
// (Unix nanoseconds). The signer is left zero: SignTx sets it, or the
// caller does before EncodeBody for a body signed elsewhere. The body is
// checked as EncodeBody checks it; a *RejectError says what is wrong.
func EvidenceBody(chainID string, clientTime int64, rec Record) (*Body, error) {
	b := &Body{ChainID: chainID, Time: clientTime, Payload: &Evidence{Record: rec}}
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
	b := &Body{ChainID: chainID, Time: clientTime, Payload: &Batch{Records: recs}}
	if _, err := EncodeBody(b); err != nil {
		return nil, err
	}
	return b, nil
}

// LabelsFromMap returns labels as a record carries them: sorted by key. It
// checks what the ledger checks of a record's labels (at most MaxLabels;
// keys of 1 to MaxLabelKeyLen lowercase letters, digits and . _ -, not
// starting with punctuation; values of at most MaxLabelValueLen bytes of
// text, CheckText), reporting the first offending key in key order. Values
// are normalised to NFC (NormalizeText) first. An empty map gives nil.
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
		v = NormalizeText(v)
		if e := checkText("label "+k+" value", v, MaxLabelValueLen); e != nil {
			return nil, fmt.Errorf("%s; labels must not hold personal data", e.Msg)
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

// exampleRecord is a valid first-step record of an example chain n.
func exampleRecord(n int) Record {
	return Record{Kind: "loan-contract", Chain: fmt.Sprintf("LOAN-2026-%06d", n), Step: 1,
		Commitment: crypto.SM3([]byte("example commitment"), []byte{byte(n)}), Size: 1024,
		Labels: []Label{{Key: "product", Value: "consumer-loan"}}}
}
