package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Paging limits of the list endpoints.
const (
	// DefaultLimit is the page size when the request has no limit parameter.
	DefaultLimit = 100
	// MaxLimit is the largest limit parameter accepted.
	MaxLimit = 1000
)

// submit is POST /v1/txs?wait=commit|sync&timeout=30s.
func (s *server) submit(w http.ResponseWriter, r *http.Request) error {
	waitCommit, wait, err := s.parseWait(r)
	if err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return badRequest("body", "the request body is empty: send the signed transaction bytes (Content-Type: application/octet-stream)")
	}
	// Decode here, so that a malformed transaction is answered without a
	// trip to the mempool and a timeout can name the tx id.
	tx, err := ledger.DecodeTx(body)
	if err != nil {
		if rej, ok := errors.AsType[*ledger.RejectError](err); ok {
			e := rejection(rej, crypto.Hash{}, 0)
			if body[0] == '{' || body[0] == '[' {
				e.body.Message += "; the body looks like JSON, but POST /v1/txs takes the raw signed transaction bytes"
			}
			return e
		}
		return badRequest("body", "the body is not a transaction: %v", err)
	}
	return s.send(w, r, body, tx, waitCommit, wait)
}

// parseWait reads the wait and timeout parameters of a submission.
func (s *server) parseWait(r *http.Request) (waitCommit bool, wait time.Duration, err error) {
	q, err := parseQuery(r)
	if err != nil {
		return false, 0, err
	}
	waitCommit = true
	switch mode := q.Get("wait"); mode {
	case "", client.WaitCommit:
	case client.WaitSync:
		waitCommit = false
	default:
		return false, 0, badRequest("wait", "wait %q is not a wait mode: use %q or %q", mode, client.WaitCommit, client.WaitSync)
	}
	wait = s.opts.DefaultWait
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 || d > s.opts.MaxWait {
			return false, 0, badRequest("timeout", "timeout %q is not a duration above 0s and at most %s: use a Go duration such as 30s", t, s.opts.MaxWait)
		}
		wait = d
	}
	return waitCommit, wait, nil
}

// readBody reads a request body of at most Options.MaxBodyBytes (413
// beyond).
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBodyMax(w, r, s.opts.MaxBodyBytes)
}

// readBodyMax reads a request body of at most max bytes (413 beyond).
func readBodyMax(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, tooLarge(max)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(max)
		}
		return nil, badRequest("body", "read the request body: %v", err)
	}
	return body, nil
}

// send submits the signed transaction raw (decoded as tx) and writes the
// SubmitResult: 200 after the commit, or 202 after CheckTx with wait=sync.
func (s *server) send(w http.ResponseWriter, r *http.Request, raw []byte, tx *ledger.Tx, waitCommit bool, wait time.Duration) error {
	id := tx.ID()
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	c, err := s.b.Submit(ctx, raw, waitCommit)
	if err != nil {
		return backendError(err, id)
	}
	if c == nil {
		return internal(fmt.Errorf("submit tx %s: the backend returned no result and no error", id))
	}
	if c.Result.Code != ledger.CodeOK {
		var height int64
		if waitCommit {
			height = c.Height
		}
		return rejection(&ledger.RejectError{Code: c.Result.Code, Msg: c.Result.Log}, id, height)
	}
	if !waitCommit {
		s.writeJSON(w, http.StatusAccepted, cacheNone, client.SubmitResult{TxID: id, Status: client.StatusPending})
		return nil
	}
	chains := c.Result.Chains
	if chains == nil {
		chains = []string{}
	}
	s.writeJSON(w, http.StatusOK, cacheNone, client.SubmitResult{
		TxID:   id,
		Status: client.StatusCommitted,
		Code:   ledger.CodeOK,
		Index:  c.Result.Index,
		Height: c.Height,
		Time:   c.Time.UTC(),
		Signer: c.Result.Signer,
		Type:   tx.Body.Type().String(),
		Chains: chains,
	})
	return nil
}

// tooLarge is the 413 of a body over max bytes. Its code is the ledger's
// too_large, since the ledger would reject the transaction with it.
func tooLarge(max int64) *httpError {
	e := rejection(&ledger.RejectError{Code: ledger.CodeTooLarge,
		Msg: fmt.Sprintf("the request body is larger than %d bytes", max)}, crypto.Hash{}, 0)
	e.body.Status = http.StatusRequestEntityTooLarge
	return e
}

// status is GET /v1/status.
func (s *server) status(w http.ResponseWriter, r *http.Request) error {
	st, err := s.b.Status(r.Context())
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if st == nil {
		return internal(errors.New("status: the backend returned no status and no error"))
	}
	out := *st
	out.BlockTime = out.BlockTime.UTC()
	s.writeJSON(w, http.StatusOK, cacheNone, out)
	return nil
}

// entry is GET /v1/entries/{index}.
func (s *server) entry(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("index")
	index, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return badRequest("index", "index %q is not an entry index: use a decimal number from 0", raw)
	}
	return s.withView(func(v *ledger.View) error {
		out, err := loadEntry(v, index)
		if errors.Is(err, ledger.ErrNotFound) {
			e := notFound("index", "there is no entry %d in the log", index)
			if head, herr := v.Head(); herr == nil && head.Size > 0 {
				e.body.Message = fmt.Sprintf("there is no entry %d: the log holds entries 0 to %d", index, int64(head.Size)-1)
			}
			e.body.Hint = "entries appear once the block holding them is committed"
			return e
		}
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, cacheImmutable, out)
		return nil
	})
}

// txByID is GET /v1/txs/{txid}.
func (s *server) txByID(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("txid")
	id, err := parseHash(raw)
	if err != nil {
		return badRequest("txid", "tx id %q is not 64 hex digits", raw)
	}
	return s.withView(func(v *ledger.View) error {
		index, err := v.IndexOfTx(id)
		if errors.Is(err, ledger.ErrNotFound) {
			e := notFound("txid", "no committed transaction has id %s", id)
			e.body.Hint = "a transaction is found once the block holding it is committed; a rejected one never is"
			return e
		}
		if err != nil {
			return err
		}
		out, err := loadEntry(v, index)
		if err != nil {
			return fmt.Errorf("tx %s: %w", id, corruptIfNotFound(err))
		}
		s.writeJSON(w, http.StatusOK, cacheImmutable, out)
		return nil
	})
}

// chain is GET /v1/chains/{chain}?from=1&limit=100.
func (s *server) chain(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("chain")
	if !ledger.ValidChainID(id) {
		return badRequest("chain", "chain %q is not an evidence-chain id: use 1 to %d letters, digits and . _ - : (not starting with punctuation)", id, ledger.MaxChainIDLen)
	}
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	from := uint32(1)
	if raw := q.Get("from"); raw != "" {
		n, err := strconv.ParseUint(raw, 10, 32)
		if err != nil || n == 0 {
			return badRequest("from", "from %q is not a step number: use a decimal number from 1", raw)
		}
		from = uint32(n)
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	return s.withView(func(v *ledger.View) error {
		head, err := v.Chain(id)
		if errors.Is(err, ledger.ErrNotFound) {
			e := notFound("chain", "there is no evidence chain %s", id)
			e.body.Hint = "an evidence chain exists once its step 1 is committed"
			return e
		}
		if err != nil {
			return err
		}
		refs, err := v.ChainSteps(id, from, limit)
		if err != nil {
			return err
		}
		out := client.Chain{
			Chain:        head.ID,
			Owner:        head.Owner,
			Steps:        head.Steps,
			HeadLeafHash: head.LeafHash,
			HeadIndex:    head.Last,
			Records:      make([]client.ChainRecord, 0, len(refs)),
		}
		for _, ref := range refs {
			rec, e, tx, err := v.Record(ref)
			if err != nil {
				return fmt.Errorf("chain %s step at %d/%d: %w", id, ref.Index, ref.Pos, corruptIfNotFound(err))
			}
			out.Records = append(out.Records, client.ChainRecord{
				Step:       rec.Step,
				Index:      ref.Index,
				Pos:        ref.Pos,
				Height:     e.Height,
				Time:       unixTime(e.Time),
				TxID:       tx.ID(),
				Kind:       rec.Kind,
				Commitment: rec.Commitment,
				Size:       rec.Size,
				Prev:       rec.Prev,
			})
			atts, err := chainAttestations(v, ref)
			if err != nil {
				return err
			}
			out.Records[len(out.Records)-1].Attestations = atts
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// commitment is GET /v1/commitments/{commitment}?limit=100.
func (s *server) commitment(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("commitment")
	c, err := parseHash(raw)
	if err != nil {
		return badRequest("commitment", "commitment %q is not 64 hex digits", raw)
	}
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	return s.withView(func(v *ledger.View) error {
		refs, err := v.ByCommitment(c, limit)
		if err != nil {
			return err
		}
		if len(refs) == 0 {
			e := notFound("commitment", "no committed record carries commitment %s", c)
			e.body.Hint = "the commitment is SM3(salt ‖ original): take it, with the salt, from the submission's evidence file"
			return e
		}
		out := client.CommitmentRecords{Commitment: c, Records: make([]client.CommitmentRecord, 0, len(refs))}
		for _, ref := range refs {
			rec, e, tx, err := v.Record(ref)
			if err != nil {
				return fmt.Errorf("commitment %s record %d/%d: %w", c, ref.Index, ref.Pos, corruptIfNotFound(err))
			}
			out.Records = append(out.Records, client.CommitmentRecord{
				Index:  ref.Index,
				Pos:    ref.Pos,
				Chain:  rec.Chain,
				Step:   rec.Step,
				Height: e.Height,
				Time:   unixTime(e.Time),
				TxID:   tx.ID(),
			})
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// members is GET /v1/members.
func (s *server) members(w http.ResponseWriter, _ *http.Request) error {
	return s.withView(func(v *ledger.View) error {
		ms, err := v.Members()
		if err != nil {
			return err
		}
		out := client.MembersResponse{Members: make([]client.Member, 0, len(ms))}
		for _, m := range ms {
			keys := make([]client.MemberKey, 0, len(m.Keys))
			for _, k := range m.Keys {
				keys = append(keys, client.MemberKey{ID: k.ID(), PublicKey: k.Bytes()})
			}
			out.Members = append(out.Members, client.Member{Name: m.Name, Role: m.Role, Power: m.Power, Keys: keys})
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// withView runs fn over a snapshot of committed state and releases it.
func (s *server) withView(fn func(v *ledger.View) error) error {
	return s.withHeight(func(v *ledger.View, _ int64) error { return fn(v) })
}

// withHeight is withView that also passes the height v was committed at.
func (s *server) withHeight(fn func(v *ledger.View, height int64) error) error {
	v, height, release, err := s.b.Snapshot()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer release()
	return fn(v, height)
}

// corruptIfNotFound turns ErrNotFound for something an index points at into
// ErrStoreCorrupt, so that it is answered as a 500 rather than a 404.
func corruptIfNotFound(err error) error {
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("%w: %v", ledger.ErrStoreCorrupt, err)
	}
	return err
}

// parseQuery parses the query string strictly: a malformed one is a 400
// rather than silently dropped parameters.
func parseQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("query", "the query string does not decode: %v", err)
	}
	return q, nil
}

// parseLimit reads the limit parameter: DefaultLimit when absent, else 1 to
// MaxLimit.
func parseLimit(q url.Values) (int, error) {
	raw := q.Get("limit")
	if raw == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.ParseUint(raw, 10, 32)
	if err != nil || n == 0 || n > MaxLimit {
		return 0, badRequest("limit", "limit %q is not a page size: use a decimal number from 1 to %d", raw, MaxLimit)
	}
	return int(n), nil
}

// parseHash parses 64 hex digits; upper case is accepted and folded.
func parseHash(s string) (crypto.Hash, error) {
	var h crypto.Hash
	err := h.UnmarshalText([]byte(strings.ToLower(s)))
	return h, err
}
