package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Original is an original that Backend.KeepOriginal holds encrypted in the
// node's store, ready to be named by an evidence record.
type Original struct {
	Owner      string      // the member whose member key OwnerKey is wrapped to
	Cipher     crypto.Hash // SM3 of the ciphertext: its address in the store
	CipherSize int64       // bytes of ciphertext stored
	Size       int64       // bytes of the original (plaintext) read
	Commitment crypto.Hash // SM3(Salt ‖ original)
	// Salt is the fresh crypto.SaltSize-byte commitment salt. The node
	// keeps it only inside OwnerKey; the client must save it.
	Salt []byte
	// OwnerKey is the data key ‖ Salt wrapped (blob.WrapKey) to the owner's
	// member key: the record's OwnerKey.
	OwnerKey []byte
}

// ErrOriginalTooLarge is returned by Backend.KeepOriginal (wrapped, with
// the limit) when an original is longer than the node accepts. The API
// answers 413.
var ErrOriginalTooLarge = errors.New("the original is larger than this node accepts")

// originalParams lists the query parameters of POST /v1/originals.
var originalParams = map[string]bool{"kind": true, "chain": true, "step": true, "prev": true, "label": true, "wait": true, "timeout": true}

// submitOriginal is POST /v1/originals?kind=K&chain=C&step=N[&prev=HEX]
// [&label=k=v…]&wait=commit|sync&timeout=30s with the original as the raw
// request body. The node streams it into its store of encrypted originals,
// and builds, signs (Options.Signer) and submits the evidence record that
// names it. If the record does not go in, the stored ciphertext is removed.
func (s *server) submitOriginal(w http.ResponseWriter, r *http.Request) error {
	if err := s.signsForClients(); err != nil {
		return err
	}
	waitCommit, wait, err := s.parseWait(r)
	if err != nil {
		return err
	}
	rec, herr := parseOriginalQuery(r)
	if herr != nil {
		return herr
	}
	if r.ContentLength == 0 {
		return badRequest("body", "the request body is empty: send the original's bytes as the body (Content-Type: application/octet-stream)")
	}
	// Build from a snapshot (the chain's head for prev), and check the
	// record as the ledger will, before reading a byte of the body. The
	// commitment is a stand-in until the original is sealed.
	rec.Commitment = crypto.Hash{1}
	var body *ledger.Body
	if err := s.withView(func(v *ledger.View) error {
		var err error
		body, err = s.evidenceBody(v, &client.EvidenceRequest{EvidenceRecord: rec})
		return err
	}); err != nil {
		return err
	}
	// The data key is wrapped to the member that signs: sign the stand-in
	// body (never sent) to learn the key the node signs with.
	_, probe, err := s.signBody(r.Context(), body)
	if err != nil {
		return err
	}

	var (
		txID crypto.Hash
		tx   *ledger.Tx
		c    *Committed
	)
	in := &bodyReader{r: r.Body}
	orig, err := s.b.KeepOriginal(r.Context(), in, r.ContentLength, probe.Body.Signer, func(o *Original) error {
		lr := &body.Payload.(*ledger.Evidence).Record
		lr.Commitment, lr.Size = o.Commitment, uint64(o.Size)
		lr.Cipher, lr.CipherSize, lr.OwnerKey = &o.Cipher, uint64(o.CipherSize), o.OwnerKey
		body.Time = s.opts.Now().UnixNano() // the upload may have taken a while
		raw, signed, err := s.signBody(r.Context(), body)
		if err != nil {
			return err
		}
		tx = signed
		txID = tx.ID()
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		c, err = s.b.Submit(ctx, raw, waitCommit)
		if err != nil {
			return fmt.Errorf("submit the record of original %s: %w", o.Cipher, err)
		}
		if c == nil {
			return internal(fmt.Errorf("submit tx %s: the backend returned no result and no error", txID))
		}
		if c.Result.Code != ledger.CodeOK {
			rej := &ledger.RejectError{Code: c.Result.Code, Msg: c.Result.Log}
			if waitCommit {
				return &CommitRejectError{Height: c.Height, Err: rej}
			}
			return rej
		}
		return nil
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrOriginalTooLarge):
		e := newError(http.StatusRequestEntityTooLarge, ledger.CodeTooLarge.String(), "body", "%v", err)
		e.body.Hint = "send a smaller original, or ask the node's operator to raise originals.max_upload_bytes"
		return e
	case in.err != nil && !errors.Is(err, context.DeadlineExceeded):
		return badRequest("body", "reading the request body failed after %d bytes: %v; nothing was kept, send the original again", in.n, in.err)
	default:
		return backendError(err, txID)
	}
	out := client.OriginalResult{
		TxID: txID, Status: client.StatusPending,
		Chain: body.EvidenceRecords()[0].Chain, Step: body.EvidenceRecords()[0].Step,
		Commitment: orig.Commitment, Size: uint64(orig.Size), Salt: orig.Salt,
		Cipher: orig.Cipher, CipherSize: uint64(orig.CipherSize),
	}
	if !waitCommit {
		s.writeJSON(w, http.StatusAccepted, cacheNone, out)
		return nil
	}
	chains := c.Result.Chains
	if chains == nil {
		chains = []string{}
	}
	out.Status, out.Code, out.Index, out.Height, out.Time = client.StatusCommitted, ledger.CodeOK, c.Result.Index, c.Height, c.Time.UTC()
	out.Signer, out.Type, out.Chains = c.Result.Signer, tx.Body.Type().String(), chains
	s.writeJSON(w, http.StatusOK, cacheNone, out)
	return nil
}

// signBody signs b with Options.Signer and returns the signed
// transaction's bytes, decoded too.
func (s *server) signBody(ctx context.Context, b *ledger.Body) ([]byte, *ledger.Tx, error) {
	raw, err := s.opts.Signer(ctx, b)
	if err != nil {
		if rej, ok := errors.AsType[*ledger.RejectError](err); ok {
			return nil, nil, rejection(rej, crypto.Hash{}, 0)
		}
		var he *httpError
		if errors.As(err, &he) {
			return nil, nil, he
		}
		return nil, nil, internal(fmt.Errorf("sign evidence for a client: %w", err))
	}
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		return nil, nil, internal(fmt.Errorf("the node's signer returned bytes that are not a transaction: %w", err))
	}
	return raw, tx, nil
}

// bodyReader remembers the error of reading the request body, to tell a
// client that went away (400) from a failure of the node (500).
type bodyReader struct {
	r   io.Reader
	n   int64
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// parseOriginalQuery reads the record parameters of POST /v1/originals.
// Every error is a 400 naming the parameter.
func parseOriginalQuery(r *http.Request) (client.EvidenceRecord, *httpError) {
	var zero client.EvidenceRecord
	q, err := parseQuery(r)
	if err != nil {
		var he *httpError
		errors.As(err, &he)
		return zero, he
	}
	for name, vs := range q {
		if !originalParams[name] {
			return zero, badRequest(name, "%s is not a parameter of POST /v1/originals: use kind, chain, step, prev, label, wait and timeout", name)
		}
		if name != "label" && len(vs) > 1 {
			return zero, badRequest(name, "%s is given %d times: give it once", name, len(vs))
		}
	}
	var wr wireRecord
	if q.Has("kind") {
		wr.Kind = new(q.Get("kind"))
	}
	if q.Has("chain") {
		wr.Chain = new(q.Get("chain"))
	}
	if q.Has("step") {
		raw := q.Get("step")
		n, err := strconv.ParseUint(raw, 10, 32)
		if err != nil {
			return zero, badRequest("step", "step %q is not a step number: use a decimal number from 1 to 4294967295", raw)
		}
		wr.Step = new(uint32(n))
	}
	if q.Has("prev") {
		wr.Prev = new(q.Get("prev"))
	}
	for _, l := range q["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return zero, badRequest("label", "label %q is not key=value: use, e.g., label=product=consumer-loan", l)
		}
		if wr.Labels == nil {
			wr.Labels = map[string]string{}
		}
		if _, dup := wr.Labels[k]; dup {
			return zero, badRequest("label", "label %s is given twice: give each key once", k)
		}
		wr.Labels[k] = v
	}
	// The commitment and size come from the body: stand-ins let
	// checkRecord check the rest.
	wr.Commitment, wr.Size = new(crypto.Hash{1}.String()), new(uint64(0))
	rec, herr := checkRecord("", &wr)
	if herr != nil {
		if herr.body.Field == "labels" {
			herr.body.Field = "label"
		}
		return zero, herr
	}
	return rec, nil
}
