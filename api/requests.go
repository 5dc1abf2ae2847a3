package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// Retrieval requests (调取): a court or arbitration node files them, the
// owner's node refuses them here or answers them with a grant (POST
// /v1/grants with "request"). The node signs both with its member key
// through Governor, like proposals and votes, so they need no originals
// on the node; a bearer token needs the grant scope, which covers every
// custody action the member takes (grant, revoke, request, refuse).

// maxRequestBody bounds the bodies of POST /v1/requests and refuse.
const maxRequestBody = 8 << 10

// fileRequest is POST /v1/requests.
func (s *server) fileRequest(w http.ResponseWriter, r *http.Request) error {
	g, err := s.governor()
	if err != nil {
		return err
	}
	body, err := readBodyMax(w, r, maxRequestBody)
	if err != nil {
		return err
	}
	rb, herr := decodeRetrievalRequest(body)
	if herr != nil {
		return herr
	}
	p := &ledger.Request{Chain: rb.Chain, Purpose: rb.Purpose}
	if rb.Record != "" {
		if err := s.withView(func(v *ledger.View) error {
			ref, err := s.resolveRecord(v, rb.Record)
			p.Record = &ref
			return err
		}); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.DefaultWait)
	defer cancel()
	c, err := g.Govern(ctx, p)
	return s.writeCommitted(w, c, err, ledger.TxRequest)
}

// refuseRequest is POST /v1/requests/{index}/refuse.
func (s *server) refuseRequest(w http.ResponseWriter, r *http.Request) error {
	g, err := s.governor()
	if err != nil {
		return err
	}
	index, err := requestParam(r)
	if err != nil {
		return err
	}
	body, err := readBodyMax(w, r, maxRequestBody)
	if err != nil {
		return err
	}
	reason, herr := decodeRefusal(body)
	if herr != nil {
		return herr
	}
	if err := s.withView(func(v *ledger.View) error {
		_, err := v.Request(index)
		return requestError(err, index)
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.DefaultWait)
	defer cancel()
	c, err := g.Govern(ctx, &ledger.Refusal{Request: index, Reason: reason})
	return s.writeCommitted(w, c, err, ledger.TxRefuse)
}

// decodeRetrievalRequest decodes the body of POST /v1/requests: one record
// or one chain, and a purpose, returned normalised to NFC and checked as
// the ledger checks text (400 naming the field otherwise).
func decodeRetrievalRequest(body []byte) (client.RetrievalRequestBody, *httpError) {
	var rb client.RetrievalRequestBody
	if e := decodeStrict(body, maxRequestBody, &rb, `a retrieval request: send {"record" or "chain", "purpose"}`); e != nil {
		return rb, e
	}
	if (rb.Record == "") == (rb.Chain == "") {
		return rb, badRequest("record", "name either one record (\"record\": \"12\") or one evidence chain (\"chain\")")
	}
	if rb.Chain != "" && !ledger.ValidChainID(rb.Chain) {
		return rb, badRequest("chain", "chain %q is not an evidence-chain id: use letters, digits and . _ - : (not starting with punctuation)", rb.Chain)
	}
	if rb.Purpose = ledger.NormalizeText(rb.Purpose); rb.Purpose == "" {
		return rb, badRequest("purpose", "a request needs its purpose: the case number")
	}
	if err := ledger.CheckText("purpose", rb.Purpose, ledger.MaxPurposeLen); err != nil {
		return rb, badRequest("purpose", "%s", err.(*ledger.RejectError).Msg)
	}
	return rb, nil
}

// decodeRefusal decodes the body of POST /v1/requests/{request}/refuse: the
// reason, normalised to NFC and checked as the ledger checks text.
func decodeRefusal(body []byte) (string, *httpError) {
	var rb client.RefusalBody
	if e := decodeStrict(body, maxRequestBody, &rb, `a refusal: send {"reason"}`); e != nil {
		return "", e
	}
	reason := ledger.NormalizeText(rb.Reason)
	if reason == "" {
		return "", badRequest("reason", "a refusal needs its reason")
	}
	if err := ledger.CheckText("reason", reason, ledger.MaxNoteLen); err != nil {
		return "", badRequest("reason", "%s", err.(*ledger.RejectError).Msg)
	}
	return reason, nil
}

// retrievalRequest is GET /v1/requests/{index}.
func (s *server) retrievalRequest(w http.ResponseWriter, r *http.Request) error {
	index, err := requestParam(r)
	if err != nil {
		return err
	}
	return s.withView(func(v *ledger.View) error {
		info, err := v.Request(index)
		if err != nil {
			return requestError(err, index)
		}
		out, err := requestJSON(v, info)
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// retrievalRequests is GET
// /v1/requests?owner=M&requester=M&status=open&from=INDEX&limit=N: oldest
// first.
func (s *server) retrievalRequests(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	f := ledger.RequestFilter{Owner: q.Get("owner"), Requester: q.Get("requester")}
	for field, m := range map[string]string{"owner": f.Owner, "requester": f.Requester} {
		if m != "" && !ledger.ValidIdent(m, ledger.MaxNameLen) {
			return badRequest(field, "%s %q is not a member name", field, m)
		}
	}
	switch st := q.Get("status"); st {
	case "":
	case "open":
		f.Open = true
	default:
		return badRequest("status", "status %q: use status=open for the requests not answered yet, or leave it out", st)
	}
	if raw := q.Get("from"); raw != "" {
		if f.From, err = strconv.ParseUint(raw, 10, 64); err != nil {
			return badRequest("from", "from %q is not an entry index: use the next of the previous page", raw)
		}
	}
	if f.Limit, err = parseLimit(q); err != nil {
		return err
	}
	return s.withView(func(v *ledger.View) error {
		idx, err := v.Requests(f)
		if err != nil {
			return err
		}
		out := client.RetrievalRequests{Requests: make([]client.RetrievalRequest, 0, len(idx))}
		for _, i := range idx {
			info, err := v.Request(i)
			if err != nil {
				return corruptIfNotFound(err)
			}
			rj, err := requestJSON(v, info)
			if err != nil {
				return err
			}
			out.Requests = append(out.Requests, rj)
		}
		if len(idx) == f.Limit {
			next := idx[len(idx)-1] + 1
			out.Next = &next
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// requestJSON is the public form of a retrieval request.
func requestJSON(v *ledger.View, info *ledger.RequestInfo) (client.RetrievalRequest, error) {
	e, _, err := v.Entry(info.Entry)
	if err != nil {
		return client.RetrievalRequest{}, corruptIfNotFound(err)
	}
	out := client.RetrievalRequest{Index: info.Entry, Requester: info.Requester, Owner: info.Owner, Chain: info.Request.Chain,
		Purpose: info.Request.Purpose, Status: info.Status.String(), Reason: info.Reason, Height: e.Height, Time: time.Unix(0, e.Time).UTC()}
	if info.Request.Record != nil {
		out.Record = info.Request.Record.String()
	}
	if info.Status != ledger.RequestOpen {
		a := info.Answer
		out.Answer = &a
	}
	return out, nil
}

func requestParam(r *http.Request) (uint64, error) {
	raw := r.PathValue("request")
	index, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, badRequest("request", "request %q is not an entry index: a request is named by the log index of its request entry", raw)
	}
	return index, nil
}

// requestError turns "no request there" into a 404.
func requestError(err error, index uint64) error {
	if errors.Is(err, ledger.ErrNotFound) {
		return notFound("request", "entry %d is not a retrieval request", index)
	}
	return err
}
