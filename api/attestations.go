package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// attestHint is the hint of a role_not_allowed answer to POST
// /v1/attestations: the rule is the ledger's, the way out is another
// member's node.
const attestHint = "only notary, arbitration and court members attest: send the request to such a member's node with a token of scope attest (banks preserve evidence, regulators audit it)"

// attest is POST /v1/attestations: the node's member attests records, or
// every step of an evidence chain up to its head.
func (s *server) attest(w http.ResponseWriter, r *http.Request) error {
	g, err := s.governor()
	if err != nil {
		return err
	}
	body, err := readBodyMax(w, r, client.MaxAttestBody)
	if err != nil {
		return err
	}
	req, herr := decodeAttest(body)
	if herr != nil {
		return herr
	}
	a := &ledger.Attestation{Statement: req.Statement, Note: client.NormalizeText(req.Note)}
	if req.Document != nil {
		a.Document = *req.Document
	}
	out := client.AttestResult{Statement: a.Statement, Note: a.Note, Chain: req.Chain}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.DefaultWait)
	defer cancel()
	for {
		if err := s.withView(func(v *ledger.View) error {
			var err error
			if req.Chain != "" {
				a.Targets, out.HeadStep, err = chainTargets(v, req.Chain)
			} else {
				a.Targets, err = s.recordTargets(v, req.Records)
			}
			return err
		}); err != nil {
			return err
		}
		if req.ThroughStep == 0 || out.HeadStep >= req.ThroughStep {
			break
		}
		// The named head is not committed on this node yet (the bank's
		// node may be a block ahead): wait for it, within the commit wait.
		select {
		case <-ctx.Done():
			e := notFound("through_step", "chain %s has %d steps on this node, not the %d named", req.Chain, out.HeadStep, req.ThroughStep)
			e.body.Hint = "name a step the chain has (evidenced chain CHAIN lists them), or retry once the node has committed it"
			return e
		case <-time.After(100 * time.Millisecond): // polling committed state
		}
	}
	if req.ThroughStep > 0 {
		// Steps 1..ThroughStep exactly, even when the chain has grown.
		a.Targets, out.HeadStep = a.Targets[:req.ThroughStep], req.ThroughStep
	}
	c, err := g.Govern(ctx, a)
	if err != nil {
		e := backendError(err, crypto.Hash{})
		if e.body.Code == ledger.CodeRoleNotAllowed.String() {
			e.body.Hint = attestHint
		}
		return e
	}
	out.TxID, out.Status, out.Code, out.Index = c.Result.ID, client.StatusCommitted, ledger.CodeOK, c.Result.Index
	out.Height, out.Time, out.Signer, out.Type = c.Height, c.Time.UTC(), c.Result.Signer, ledger.TxAttest.String()
	out.Targets = make([]string, len(a.Targets))
	for i, t := range a.Targets {
		out.Targets[i] = t.String()
	}
	if out.HeadStep > 0 {
		out.Head = out.Targets[len(out.Targets)-1]
	}
	s.writeJSON(w, http.StatusOK, cacheNone, out)
	return nil
}

// decodeAttest decodes the body of POST /v1/attestations: one object,
// known fields, records or a chain (not both), at most ledger.MaxTargets
// records. Errors are 400 naming a field.
func decodeAttest(body []byte) (client.AttestRequest, *httpError) {
	var req client.AttestRequest
	if e := decodeStrict(body, client.MaxAttestBody, &req,
		`an attestation: send {"statement", "records": ["12", "12.3"] or "chain", optional "document" (64 hex digits) and "note"}`); e != nil {
		return req, e
	}
	if req.ThroughStep > 0 && req.Chain == "" {
		return req, badRequest("through_step", "through_step names the head of a chain: give chain too")
	}
	if (len(req.Records) == 0) == (req.Chain == "") {
		return req, badRequest("records", `name the records ("records": ["12", "13.1"]) or one evidence chain ("chain"), not both`)
	}
	if len(req.Records) > ledger.MaxTargets {
		return req, badRequest("records", "%d records, more than the %d an attestation names: attest them in several", len(req.Records), ledger.MaxTargets)
	}
	return req, nil
}

// recordTargets resolves record ids to committed records, in log order
// without repeats (400, 404).
func (s *server) recordTargets(v *ledger.View, ids []string) ([]ledger.RecordRef, error) {
	refs := make([]ledger.RecordRef, 0, len(ids))
	for _, raw := range ids {
		ref, err := s.resolveRecord(v, raw)
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return sortRefs(refs), nil
}

// chainTargets returns every step of evidence chain id, in log order, and
// the number of its head step (400, 404).
func chainTargets(v *ledger.View, id string) ([]ledger.RecordRef, uint32, error) {
	if !ledger.ValidChainID(id) {
		return nil, 0, badRequest("chain", "chain %q is not an evidence-chain id: use 1 to %d letters, digits and . _ - : (not starting with punctuation)", id, ledger.MaxChainIDLen)
	}
	head, err := v.Chain(id)
	if errors.Is(err, ledger.ErrNotFound) {
		e := notFound("chain", "there is no evidence chain %s", id)
		e.body.Hint = "an evidence chain exists once its step 1 is committed"
		return nil, 0, e
	}
	if err != nil {
		return nil, 0, err
	}
	if head.Steps > ledger.MaxTargets {
		return nil, 0, badRequest("chain", "chain %s has %d steps, more than the %d an attestation names: attest its records in several attestations (records)",
			id, head.Steps, ledger.MaxTargets)
	}
	refs, err := v.ChainSteps(id, 1, int(head.Steps))
	if err != nil {
		return nil, 0, err
	}
	if len(refs) != int(head.Steps) {
		return nil, 0, fmt.Errorf("%w: chain %s has %d steps but %d are indexed", ledger.ErrStoreCorrupt, id, head.Steps, len(refs))
	}
	return sortRefs(refs), head.Steps, nil
}

// sortRefs sorts refs into log order and drops repeats.
func sortRefs(refs []ledger.RecordRef) []ledger.RecordRef {
	slices.SortFunc(refs, func(a, b ledger.RecordRef) int {
		if c := cmpU64(a.Index, b.Index); c != 0 {
			return c
		}
		return int(a.Pos) - int(b.Pos)
	})
	return slices.Compact(refs)
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// attestations is GET /v1/evidence/{id}/attestations.
func (s *server) attestations(w http.ResponseWriter, r *http.Request) error {
	return s.withView(func(v *ledger.View) error {
		ref, err := s.resolveRecord(v, r.PathValue("id"))
		if err != nil {
			return err
		}
		infos, err := attestationsOf(v, ref)
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, cacheNone, client.Attestations{Record: fmt.Sprintf("%d.%d", ref.Index, ref.Pos), Attestations: infos})
		return nil
	})
}

// attestationAt reads entry i, which the ledger indexes as an attestation
// of ref: the entry, its transaction, the attestation and its signer's name.
func attestationAt(v *ledger.View, ref ledger.RecordRef, i uint64) (*ledger.Entry, *ledger.Tx, *ledger.Attestation, string, error) {
	e, tx, err := v.Entry(i)
	if err != nil {
		return nil, nil, nil, "", fmt.Errorf("attestation %d of %d.%d: %w", i, ref.Index, ref.Pos, corruptIfNotFound(err))
	}
	a, ok := tx.Body.Payload.(*ledger.Attestation)
	if !ok {
		return nil, nil, nil, "", fmt.Errorf("%w: entry %d indexed as an attestation of %d.%d is a %s", ledger.ErrStoreCorrupt, i, ref.Index, ref.Pos, tx.Body.Type())
	}
	signer, err := v.SignerName(tx)
	if err != nil {
		return nil, nil, nil, "", err
	}
	return e, tx, a, signer, nil
}

// maxAttestations bounds the attestations listed for one record.
const maxAttestations = 1000

// attestationsOf returns the attestations naming ref, oldest first.
func attestationsOf(v *ledger.View, ref ledger.RecordRef) ([]client.AttestationInfo, error) {
	idx, err := v.Attestations(ref, maxAttestations)
	if err != nil {
		return nil, err
	}
	out := make([]client.AttestationInfo, 0, len(idx))
	for _, i := range idx {
		e, tx, a, signer, err := attestationAt(v, ref, i)
		if err != nil {
			return nil, err
		}
		info := client.AttestationInfo{Index: i, TxID: tx.ID(), Height: e.Height, Time: unixTime(e.Time), Signer: signer,
			Statement: a.Statement, Note: a.Note, Targets: make([]string, len(a.Targets))}
		if m, err := v.Member(signer); err == nil {
			info.Role = m.Role.String()
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return nil, err
		}
		for j, t := range a.Targets {
			info.Targets[j] = t.String()
		}
		if a.Document != (crypto.Hash{}) {
			d := a.Document
			info.Document = &d
		}
		out = append(out, info)
	}
	return out, nil
}

// maxChainAttestations bounds the attestations listed for one step of a
// chain.
const maxChainAttestations = 100

// chainAttestations returns the attestations covering ref as a chain step
// lists them (nil when none).
func chainAttestations(v *ledger.View, ref ledger.RecordRef) ([]client.ChainAttestation, error) {
	idx, err := v.Attestations(ref, maxChainAttestations)
	if err != nil || len(idx) == 0 {
		return nil, err
	}
	out := make([]client.ChainAttestation, 0, len(idx))
	for _, i := range idx {
		_, _, a, signer, err := attestationAt(v, ref, i)
		if err != nil {
			return nil, err
		}
		out = append(out, client.ChainAttestation{Index: i, Signer: signer, Statement: a.Statement})
	}
	return out, nil
}
