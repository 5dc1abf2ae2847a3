package api

import (
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// ReceiptRetryAfter is the Retry-After of GET /v1/evidence/{id}/receipt
// when the record is committed but no trusted checkpoint covers it yet:
// checkpoints are co-signed within a few blocks.
const ReceiptRetryAfter = 2 * time.Second

// RecordID is a record id as the API and the explorer take one (the {id}
// of GET /v1/evidence/{id}/receipt): an entry index, INDEX.POS, a
// transaction id, or TXID.POS.
type RecordID struct {
	ByTx bool
	Tx   crypto.Hash      // the transaction id, when ByTx
	Ref  ledger.RecordRef // Ref.Index is unset when ByTx
}

// ParseRecordID parses a record id. Decimal numbers are entry indexes
// (position 0), 64 hex digits a transaction id; either may be followed by
// "." and a decimal position in the entry.
func ParseRecordID(s string) (RecordID, error) {
	var id RecordID
	head, pos, hasPos := strings.Cut(s, ".")
	if hasPos {
		p, err := ParseDecimal(pos, 16)
		if err != nil {
			return id, fmt.Errorf("position %q: %w", pos, err)
		}
		id.Ref.Pos = uint16(p)
	}
	if len(head) == 2*crypto.HashSize {
		h, err := parseHash(head)
		if err != nil {
			return id, fmt.Errorf("transaction id %q: %w", head, err)
		}
		id.ByTx, id.Tx = true, h
		return id, nil
	}
	i, err := ParseDecimal(head, 64)
	if err != nil {
		return id, fmt.Errorf("entry index %q: %w", head, err)
	}
	id.Ref.Index = i
	return id, nil
}

// ParseDecimal parses an unsigned decimal number of at most bits bits:
// digits only, no sign, no leading zeros: the form of heights, entry
// indexes and positions in URLs.
func ParseDecimal(s string, bits int) (uint64, error) {
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("leading zero")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	return strconv.ParseUint(s, 10, bits)
}

// String formats id in the form ParseRecordID reads; the position is
// written only when it is not 0.
func (id RecordID) String() string {
	s := strconv.FormatUint(id.Ref.Index, 10)
	if id.ByTx {
		s = id.Tx.String()
	}
	if id.Ref.Pos != 0 {
		s += "." + strconv.FormatUint(uint64(id.Ref.Pos), 10)
	}
	return s
}

// recordParam parses the {id} of a record endpoint; a 400 when it does
// not parse.
func recordParam(raw string) (RecordID, error) {
	id, err := ParseRecordID(raw)
	if err != nil {
		return id, badRequest("id", "id %q is not a record id (%v): use an entry index (12), INDEX.POS for a record of a batch (12.3), or a transaction id of 64 hex digits (optionally .POS)", raw, err)
	}
	return id, nil
}

// findRecord resolves id to a committed evidence record on v; a 404 that
// says what is missing otherwise.
func (s *server) findRecord(v *ledger.View, id RecordID) (ledger.RecordRef, error) {
	ref := id.Ref
	if id.ByTx {
		index, err := v.IndexOfTx(id.Tx)
		if errors.Is(err, ledger.ErrNotFound) {
			e := notFound("id", "no committed transaction has id %s", id.Tx)
			e.body.Hint = "a transaction is found once the block holding it is committed; a rejected one never is"
			return ref, e
		}
		if err != nil {
			return ref, err
		}
		ref.Index = index
	}
	if _, _, _, err := v.Record(ref); errors.Is(err, ledger.ErrNotFound) {
		return ref, s.noRecord(v, ref)
	} else if err != nil {
		return ref, err
	}
	return ref, nil
}

// receipt is GET /v1/evidence/{id}/receipt[?from_roster=DIGEST]: the
// receipt with the roster path from the genesis roster, or from the roster
// version of digest DIGEST.
func (s *server) receipt(w http.ResponseWriter, r *http.Request) error {
	id, err := recordParam(r.PathValue("id"))
	if err != nil {
		return err
	}
	from, err := fromRosterParam(r)
	if err != nil {
		return err
	}
	return s.withView(func(v *ledger.View) error {
		rc, err := s.buildReceipt(v, id, from)
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, cacheImmutable, rc)
		return nil
	})
}

// findReceiptSubject resolves id to what a receipt proves: an evidence
// record, or (attest true) the attestation of an attest entry (position
// 0); a 404 that says what is missing otherwise.
func (s *server) findReceiptSubject(v *ledger.View, id RecordID) (ledger.RecordRef, bool, error) {
	ref, err := s.findRecord(v, id)
	if err == nil {
		return ref, false, nil
	}
	var he *httpError
	if !errors.As(err, &he) || he.body.Status != http.StatusNotFound || id.Ref.Pos != 0 {
		return ref, false, err
	}
	index := id.Ref.Index
	if id.ByTx {
		if index, err = v.IndexOfTx(id.Tx); err != nil {
			return ref, false, he
		}
	}
	if _, tx, terr := v.Entry(index); terr == nil && tx.Body.Type() == ledger.TxAttest {
		return ledger.RecordRef{Index: index}, true, nil
	}
	return ref, false, he
}

// fromRosterParam reads the optional from_roster=DIGEST of the receipt
// and certificate endpoints.
func fromRosterParam(r *http.Request) (*crypto.Hash, error) {
	raw, ok := r.URL.Query()["from_roster"]
	if !ok {
		return nil, nil
	}
	h, err := parseHash(strings.Join(raw, ","))
	if err != nil || len(raw) != 1 {
		return nil, badRequest("from_roster", "from_roster %q is not a roster digest: use the 64 hex digits evidenced roster export prints", strings.Join(raw, ","))
	}
	return &h, nil
}

// buildReceipt finds the record or attestation id names on v and builds its receipt, with
// the roster path from the genesis roster or from the roster version of
// digest from; the API's error for each way it fails.
func (s *server) buildReceipt(v *ledger.View, id RecordID, from *crypto.Hash) (*receipt.Receipt, error) {
	ref, attest, err := s.findReceiptSubject(v, id)
	if err != nil {
		return nil, err
	}
	var rc *receipt.Receipt
	switch {
	case attest && from != nil:
		rc, err = receipt.BuildAttestationFrom(v, ref.Index, *from)
	case attest:
		rc, err = receipt.BuildAttestation(v, ref.Index)
	case from != nil:
		rc, err = receipt.BuildFrom(v, ref, *from)
	default:
		rc, err = receipt.Build(v, ref)
	}
	switch {
	case errors.Is(err, receipt.ErrUnknownRoster):
		e := badRequest("from_roster", "from_roster %s is not the digest of a roster version of this alliance in force now or before", *from)
		e.body.Hint = "pass the digest of the roster you hold (evidenced roster export prints it), or leave from_roster out to start from the genesis roster"
		e.cause = err
		return nil, e
	case errors.Is(err, receipt.ErrPathTooLong):
		e := badRequest("from_roster", "%v", err)
		e.body.Hint = "pass from_roster=DIGEST of a later roster you trust"
		e.cause = err
		return nil, e
	case errors.Is(err, receipt.ErrNotYet):
		e := newError(http.StatusServiceUnavailable, client.CodeUnavailable, "",
			"no trusted checkpoint covers entry %d yet", ref.Index)
		e.body.Hint = "the validators co-sign a checkpoint within a few blocks of every commit: retry after the Retry-After seconds"
		e.retryAfter = ReceiptRetryAfter
		e.cause = err
		return nil, e
	case err != nil:
		return nil, corruptIfNotFound(err)
	}
	return rc, nil
}

// noRecord is the 404 of a receipt for a record that does not exist.
func (s *server) noRecord(v *ledger.View, ref ledger.RecordRef) error {
	if _, err := v.EntryBytes(ref.Index); errors.Is(err, ledger.ErrNotFound) {
		e := notFound("id", "there is no entry %d in the log", ref.Index)
		e.body.Hint = "entries appear once the block holding them is committed"
		return e
	} else if err != nil {
		return err
	}
	e := notFound("id", "entry %d holds no evidence record at position %d", ref.Index, ref.Pos)
	e.body.Hint = "receipts are for the records of evidence and batch entries and for attestations; look the entry up with GET /v1/entries/" + strconv.FormatUint(ref.Index, 10)
	return e
}

// checkpoint is GET /v1/checkpoints/{height} and GET /v1/checkpoints/latest.
func (s *server) checkpoint(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("height")
	latest := raw == "latest"
	var height uint64
	if !latest {
		h, err := ParseDecimal(raw, 63)
		if err != nil {
			return badRequest("height", "height %q is not a block height: use a decimal number, or latest", raw)
		}
		height = h
	}
	return s.withView(func(v *ledger.View) error {
		var sc *ledger.SignedCheckpoint
		var err error
		if latest {
			sc, err = v.LatestCheckpoint()
		} else {
			sc, err = v.SignedCheckpoint(height)
		}
		if errors.Is(err, ledger.ErrNotFound) {
			if latest {
				e := notFound("height", "there is no trusted checkpoint yet")
				e.body.Hint = "the validators co-sign the first checkpoint within a few blocks of the first commit"
				return e
			}
			e := notFound("height", "there is no trusted checkpoint of height %d", height)
			e.body.Hint = "not every height has a trusted checkpoint: use GET /v1/checkpoints/latest, or the height a receipt's checkpoint names"
			return e
		}
		if err != nil {
			return err
		}
		cf, err := receipt.NewCheckpointFile(v, sc)
		if err != nil {
			return err
		}
		cache := cacheImmutable
		if latest {
			cache = cacheNone
		}
		s.writeJSON(w, http.StatusOK, cache, cf)
		return nil
	})
}

// sizeParam reads a required unsigned decimal query parameter.
func sizeParam(q url.Values, name, what string) (uint64, error) {
	raw := q.Get(name)
	if raw == "" {
		return 0, badRequest(name, "the %s parameter is missing: give %s as a decimal number", name, what)
	}
	n, err := ParseDecimal(raw, 64)
	if err != nil {
		return 0, badRequest(name, "%s %q is not %s as a decimal number", name, raw, what)
	}
	return n, nil
}

// consistencyProof is GET /v1/proofs/consistency?from=N&to=M.
func (s *server) consistencyProof(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	from, err := sizeParam(q, "from", "the older tree size")
	if err != nil {
		return err
	}
	to, err := sizeParam(q, "to", "the newer tree size")
	if err != nil {
		return err
	}
	if from == 0 {
		return badRequest("from", "from is 0: a consistency proof starts at a tree size of at least 1")
	}
	if from > to {
		return badRequest("from", "from %d is larger than to %d: from is the older, smaller tree size", from, to)
	}
	return s.withView(func(v *ledger.View) error {
		head, err := v.Head()
		if err != nil {
			return err
		}
		if to > head.Size {
			return badRequest("to", "to %d is larger than the committed log size %d", to, head.Size)
		}
		proof, err := v.ConsistencyProof(from, to)
		if err != nil {
			return fmt.Errorf("consistency proof %d to %d: %w", from, to, err)
		}
		fromRoot, err := v.RootAt(from)
		if err != nil {
			return err
		}
		toRoot, err := v.RootAt(to)
		if err != nil {
			return err
		}
		if proof == nil {
			proof = [][]byte{}
		}
		s.writeJSON(w, http.StatusOK, cacheImmutable, client.ConsistencyProof{From: from, To: to, Proof: proof, FromRoot: fromRoot, ToRoot: toRoot})
		return nil
	})
}

// inclusionProof is GET /v1/proofs/inclusion?index=I&size=S.
func (s *server) inclusionProof(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	index, err := sizeParam(q, "index", "an entry index")
	if err != nil {
		return err
	}
	size, err := sizeParam(q, "size", "a tree size")
	if err != nil {
		return err
	}
	if index >= size {
		return badRequest("index", "index %d is not below the tree size %d: a tree of size %d holds entries 0 to %d", index, size, size, int64(size)-1)
	}
	return s.withView(func(v *ledger.View) error {
		head, err := v.Head()
		if err != nil {
			return err
		}
		if size > head.Size {
			return badRequest("size", "size %d is larger than the committed log size %d", size, head.Size)
		}
		proof, err := v.InclusionProof(index, size)
		if err != nil {
			return fmt.Errorf("inclusion proof of %d in %d: %w", index, size, err)
		}
		root, err := v.RootAt(size)
		if err != nil {
			return err
		}
		if proof == nil {
			proof = [][]byte{}
		}
		s.writeJSON(w, http.StatusOK, cacheImmutable, client.InclusionProof{Index: index, Size: size, Proof: proof, Root: root})
		return nil
	})
}

// roster is GET /v1/roster: the roster in force, or with ?version=N or
// ?digest=HEX a past version (rosterFile).
func (s *server) roster(w http.ResponseWriter, r *http.Request) error {
	if ok, err := s.rosterFile(w, r); ok {
		return err
	}
	return s.withView(func(v *ledger.View) error {
		ro, err := v.Roster()
		if err != nil {
			return err
		}
		d, err := ro.Digest()
		if err != nil {
			return fmt.Errorf("%w: roster digest: %v", ledger.ErrStoreCorrupt, err)
		}
		s.writeJSON(w, http.StatusOK, cacheNone, client.RosterResponse{Roster: *ro, Digest: d})
		return nil
	})
}

// openAPI is GET /v1/openapi.json.
func (s *server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	doc, err := OpenAPI()
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, cacheNone, doc)
	return nil
}
