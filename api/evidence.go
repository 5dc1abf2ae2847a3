package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// submitEvidence is POST /v1/evidence?wait=commit|sync&timeout=30s: a
// business system sends the records as JSON and the node builds, signs
// (Options.Signer) and submits the transaction.
func (s *server) submitEvidence(w http.ResponseWriter, r *http.Request) error {
	if err := s.signsForClients(); err != nil {
		return err
	}
	waitCommit, wait, err := s.parseWait(r)
	if err != nil {
		return err
	}
	raw, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, herr := decodeEvidence(raw)
	if herr != nil {
		return herr
	}
	var body *ledger.Body
	// Build from a snapshot, and release it before submitting.
	if err := s.withView(func(v *ledger.View) error {
		var err error
		body, err = s.evidenceBody(v, req)
		return err
	}); err != nil {
		return err
	}
	txBytes, err := s.opts.Signer(r.Context(), body)
	if err != nil {
		if rej, ok := errors.AsType[*ledger.RejectError](err); ok {
			return rejection(rej, crypto.Hash{}, 0)
		}
		var he *httpError
		if errors.As(err, &he) {
			return he
		}
		return backendError(fmt.Errorf("sign evidence for a client: %w", err), crypto.Hash{})
	}
	tx, err := ledger.DecodeTx(txBytes)
	if err != nil {
		return internal(fmt.Errorf("the node's signer returned bytes that are not a transaction: %w", err))
	}
	return s.send(w, r, txBytes, tx, waitCommit, wait)
}

// signsForClients checks that the node signs for clients: it has a client
// key (Options.Signer).
func (s *server) signsForClients() error {
	if s.opts.Signer == nil {
		e := newError(http.StatusForbidden, client.CodeForbidden, "", "this node does not sign for clients")
		e.body.Hint = "sign the transaction yourself and POST it to /v1/txs, or ask the node's operator to configure a client key"
		return e
	}
	return nil
}

// wireRecord is the strict decoding target of one record of
// POST /v1/evidence: pointers tell a missing field from a zero one, and
// hashes are parsed by hand so that an error names the field.
type wireRecord struct {
	Kind       *string           `json:"kind"`
	Chain      *string           `json:"chain"`
	Step       *uint32           `json:"step"`
	Prev       *string           `json:"prev"`
	Commitment *string           `json:"commitment"`
	Size       *uint64           `json:"size"`
	Cipher     *string           `json:"cipher"`
	Labels     map[string]string `json:"labels"`
}

// wireRequest is a single record or a batch.
type wireRequest struct {
	wireRecord
	Records *[]wireRecord `json:"records"`
}

// decodeEvidence decodes and checks a POST /v1/evidence body. Every error
// is a 400 naming the field (records[i].field in a batch).
func decodeEvidence(body []byte) (*client.EvidenceRequest, *httpError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("body", `the request body is empty: send a JSON object such as {"kind": "loan-contract", "chain": "LOAN-1", "step": 1, "commitment": "<64 hex>", "size": 1234}`)
	}
	if n := countRecords(body); n > ledger.MaxBatchRecords {
		return nil, rejection(&ledger.RejectError{Code: ledger.CodeBatchTooLarge,
			Msg: fmt.Sprintf("batch holds %d records, more than the %d the format allows", n, ledger.MaxBatchRecords)}, crypto.Hash{}, 0)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var w wireRequest
	if err := dec.Decode(&w); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("body", "the body holds more than one JSON value: send one object")
	}
	if w.Records == nil {
		rec, err := checkRecord("", &w.wireRecord)
		if err != nil {
			return nil, err
		}
		return &client.EvidenceRequest{EvidenceRecord: rec}, nil
	}
	if f := w.wireRecord.firstSet(); f != "" {
		return nil, badRequest(f, "a batch request carries only records: move %s into each record", f)
	}
	if len(*w.Records) == 0 {
		return nil, badRequest("records", "records is empty: send at least one record")
	}
	req := &client.EvidenceRequest{Records: make([]client.EvidenceRecord, len(*w.Records))}
	for i := range *w.Records {
		rec, err := checkRecord(fmt.Sprintf("records[%d].", i), &(*w.Records)[i])
		if err != nil {
			return nil, err
		}
		req.Records[i] = rec
	}
	return req, nil
}

// countRecords counts the elements of body's records array without keeping
// them: decoded, an element as short as {} takes a 64-byte wireRecord, and
// a body holds 350,000 of them. It returns 0 when body is not JSON; the
// strict decoding says what is wrong then.
func countRecords(body []byte) int {
	var count struct {
		Records []struct{} `json:"records"` // zero-size elements allocate nothing
	}
	_ = json.Unmarshal(body, &count) // a type error still counts the elements
	return len(count.Records)
}

// firstSet names the first single-record field present in w, or "".
func (w *wireRecord) firstSet() string {
	switch {
	case w.Kind != nil:
		return "kind"
	case w.Chain != nil:
		return "chain"
	case w.Step != nil:
		return "step"
	case w.Prev != nil:
		return "prev"
	case w.Commitment != nil:
		return "commitment"
	case w.Size != nil:
		return "size"
	case w.Cipher != nil:
		return "cipher"
	case w.Labels != nil:
		return "labels"
	}
	return ""
}

// jsonError turns a JSON decoding error into a 400 naming the field.
func jsonError(err error) *httpError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("body", "the body is not JSON: %v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("body", "the body is a JSON %s, not an object: send one JSON object", te.Value)
		}
		// Drop the embedded struct's name that encoding/json puts in.
		field := strings.ReplaceAll(te.Field, "wireRecord.", "")
		return badRequest(field, "%s is a JSON %s, but must be %s", field, te.Value, fieldType(field))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("body", "the body ends in the middle of the JSON object")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if name == "" {
			return badRequest("body", "the body has a field with an empty name: use kind, chain, step, prev, commitment, size, cipher, labels, or records")
		}
		return badRequest(name, "%s is not a field of an evidence request: use kind, chain, step, prev, commitment, size, cipher, labels, or records", name)
	}
	return badRequest("body", "the body does not decode: %v", err)
}

// fieldType describes the JSON type a field must have.
func fieldType(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		field = field[i+1:]
	}
	switch field {
	case "step":
		return "a whole number from 1 to 4294967295"
	case "size":
		return "a whole number from 0 (the original's size in bytes)"
	case "labels":
		return "an object of string values"
	case "records":
		return "an array of record objects"
	case "prev", "commitment", "cipher":
		return "a string of 64 hex digits"
	}
	return "a string"
}

// checkRecord checks one decoded record; prefix is prepended to field
// names ("records[3]." in a batch).
func checkRecord(prefix string, w *wireRecord) (client.EvidenceRecord, *httpError) {
	var out client.EvidenceRecord
	missing := func(f string) *httpError {
		return badRequest(prefix+f, "%s%s is missing", prefix, f)
	}
	if w.Kind == nil {
		return out, missing("kind")
	}
	if !ledger.ValidIdent(*w.Kind, ledger.MaxKindLen) {
		return out, badRequest(prefix+"kind", "kind %q is not a kind: use 1 to %d lowercase letters, digits and . _ - (not starting with punctuation), such as loan-contract", *w.Kind, ledger.MaxKindLen)
	}
	out.Kind = *w.Kind
	if w.Chain == nil {
		return out, missing("chain")
	}
	if !ledger.ValidChainID(*w.Chain) {
		return out, badRequest(prefix+"chain", "chain %q is not an evidence-chain id: use 1 to %d letters, digits and . _ - : (not starting with punctuation)", *w.Chain, ledger.MaxChainIDLen)
	}
	out.Chain = *w.Chain
	if w.Step == nil {
		return out, missing("step")
	}
	if *w.Step == 0 {
		return out, badRequest(prefix+"step", "step is 0: steps start at 1")
	}
	out.Step = *w.Step
	if w.Prev != nil {
		h, err := parseHash(*w.Prev)
		if err != nil {
			return out, badRequest(prefix+"prev", "prev %q is not 64 hex digits: give the leaf hash of the entry holding step %d, or leave prev out and the node fills in the chain's head", *w.Prev, out.Step-1)
		}
		if out.Step == 1 && h != (crypto.Hash{}) {
			return out, badRequest(prefix+"prev", "step 1 has no previous step: leave prev out")
		}
		out.Prev = h
	}
	if w.Commitment == nil {
		return out, missing("commitment")
	}
	c, err := parseHash(*w.Commitment)
	if err != nil || c == (crypto.Hash{}) {
		return out, badRequest(prefix+"commitment", "commitment %q is not 64 hex digits other than all zeros: use SM3(salt ‖ original)", *w.Commitment)
	}
	out.Commitment = c
	if w.Size == nil {
		return out, missing("size")
	}
	out.Size = *w.Size
	if w.Cipher != nil {
		h, err := parseHash(*w.Cipher)
		if err != nil {
			return out, badRequest(prefix+"cipher", "cipher %q is not 64 hex digits: give the SM3 address of the encrypted original, or leave cipher out", *w.Cipher)
		}
		out.Cipher = &h
	}
	if _, err := ledger.LabelsFromMap(w.Labels); err != nil {
		return out, badRequest(prefix+"labels", "%v", err)
	}
	if len(w.Labels) > 0 {
		out.Labels = w.Labels
	}
	return out, nil
}

// evidenceBody builds the unsigned transaction body of req over v: chain
// id, client time, and for a later step without prev the chain's head.
func (s *server) evidenceBody(v *ledger.View, req *client.EvidenceRequest) (*ledger.Body, error) {
	p, err := v.Params()
	if err != nil {
		return nil, err
	}
	recs := req.Records
	prefix := "records[%d]."
	if !req.IsBatch() {
		recs = []client.EvidenceRecord{req.EvidenceRecord}
		prefix = ""
	}
	out := make([]ledger.Record, len(recs))
	for i, r := range recs {
		pre := prefix
		if pre != "" {
			pre = fmt.Sprintf(prefix, i)
		}
		labels, err := ledger.LabelsFromMap(r.Labels)
		if err != nil {
			return nil, badRequest(pre+"labels", "%v", err)
		}
		lr := ledger.Record{Kind: r.Kind, Chain: r.Chain, Step: r.Step, Prev: r.Prev, Commitment: r.Commitment, Size: r.Size, Cipher: r.Cipher, Labels: labels}
		if r.Step > 1 && r.Prev == (crypto.Hash{}) {
			head, err := v.Chain(r.Chain)
			if errors.Is(err, ledger.ErrNotFound) {
				e := rejection(&ledger.RejectError{Code: ledger.CodeChainStep,
					Msg: fmt.Sprintf("evidence chain %s has no committed step yet, so the next step is 1, not %d", r.Chain, r.Step)}, crypto.Hash{}, 0)
				e.body.Field = pre + "step"
				return nil, e
			}
			if err != nil {
				return nil, err
			}
			lr.Prev = head.LeafHash
		}
		out[i] = lr
	}
	// The builders check the body as the ledger will, before asking for a
	// signature.
	now := s.opts.Now().UnixNano()
	var body *ledger.Body
	if req.IsBatch() {
		body, err = ledger.BatchBody(p.ChainID, now, out)
	} else {
		body, err = ledger.EvidenceBody(p.ChainID, now, out[0])
	}
	if err != nil {
		if rej, ok := errors.AsType[*ledger.RejectError](err); ok {
			e := rejection(rej, crypto.Hash{}, 0)
			if req.IsBatch() && e.body.Field == "" {
				e.body.Field = "records"
			}
			return nil, e
		}
		return nil, internal(fmt.Errorf("encode evidence body: %w", err))
	}
	return body, nil
}
