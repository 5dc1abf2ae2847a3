package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Governor is implemented by a Backend whose node signs member
// transactions with its member key: roster proposals and votes, and
// retrieval requests and refusals. The endpoints that submit them answer
// 501 without it.
type Governor interface {
	// Govern signs a transaction carrying p (a *ledger.Proposal,
	// *ledger.Vote, *ledger.Request or *ledger.Refusal) with the node's
	// member key, submits it and waits for its commit, as Submit with
	// waitCommit does (same errors).
	Govern(ctx context.Context, p ledger.Payload) (*Committed, error)
}

var errNotGovernor = newError(http.StatusNotImplemented, "not_implemented", "",
	"this node does not sign proposals or votes")

// maxProposalScan bounds the proposals GET /v1/proposals reads to list the
// newest first.
const maxProposalScan = 100_000

// decodeStrict decodes a JSON body of at most max bytes into v: one
// object, known fields only, nothing after it. Errors are 400 naming the
// body.
func decodeStrict(body []byte, max int, v any, what string) *httpError {
	if len(body) > max {
		return badRequest("body", "the body is %d bytes, more than the %d of %s", len(body), max, what)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body", "the body is not %s: %v", what, err)
	}
	if dec.More() {
		return badRequest("body", "the body is not %s: data after the JSON object", what)
	}
	return nil
}

// decodeProposal decodes the body of POST /v1/proposals, filling a zero
// deadline with height + client.DefaultProposalWindow.
func decodeProposal(body []byte, height int64) (client.ProposalRequest, *ledger.Proposal, *httpError) {
	const what = `a proposal: send {"change", "member", and the fields the change needs}`
	var req client.ProposalRequest
	if e := decodeStrict(body, client.MaxGovernBody, &req, what); e != nil {
		return req, nil, e
	}
	if req.Deadline == 0 {
		req.Deadline = uint64(max(height, 0)) + client.DefaultProposalWindow
	}
	p, err := req.Proposal()
	if err != nil {
		var fe *client.FieldError
		if errors.As(err, &fe) {
			return req, nil, badRequest(fe.Field, "%s", fe.Msg)
		}
		return req, nil, badRequest("body", "%v", err)
	}
	return req, p, nil
}

// decodeVote decodes the body of POST /v1/proposals/{index}/votes.
func decodeVote(body []byte) (ledger.Decision, *httpError) {
	var req client.VoteRequest
	if e := decodeStrict(body, client.MaxGovernBody, &req, `a vote: send {"decision": "approve" or "reject"}`); e != nil {
		return 0, e
	}
	var d ledger.Decision
	if err := d.UnmarshalText([]byte(req.Decision)); err != nil {
		return 0, badRequest("decision", "%v", err)
	}
	return d, nil
}

func (s *server) governor() (Governor, error) {
	g, ok := s.b.(Governor)
	if !ok {
		return nil, errNotGovernor
	}
	return g, nil
}

// propose is POST /v1/proposals.
func (s *server) propose(w http.ResponseWriter, r *http.Request) error {
	g, err := s.governor()
	if err != nil {
		return err
	}
	body, err := readBodyMax(w, r, client.MaxGovernBody)
	if err != nil {
		return err
	}
	var height int64
	if err := s.withHeight(func(_ *ledger.View, h int64) error { height = h; return nil }); err != nil {
		return err
	}
	_, p, herr := decodeProposal(body, height)
	if herr != nil {
		return herr
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.DefaultWait)
	defer cancel()
	c, err := g.Govern(ctx, p)
	if err != nil {
		return s.governError(err)
	}
	return s.writeGoverned(w, c, c.Result.Index, "")
}

// vote is POST /v1/proposals/{index}/votes.
func (s *server) vote(w http.ResponseWriter, r *http.Request) error {
	g, err := s.governor()
	if err != nil {
		return err
	}
	index, err := proposalParam(r)
	if err != nil {
		return err
	}
	body, err := readBodyMax(w, r, client.MaxGovernBody)
	if err != nil {
		return err
	}
	d, herr := decodeVote(body)
	if herr != nil {
		return herr
	}
	// A vote on what is no proposal is answered 404 before signing.
	if err := s.withHeight(func(v *ledger.View, h int64) error {
		_, err := v.Proposal(index, h)
		return proposalError(err, index)
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.DefaultWait)
	defer cancel()
	c, err := g.Govern(ctx, &ledger.Vote{Proposal: index, Decision: d})
	if err != nil {
		return s.governError(err)
	}
	return s.writeGoverned(w, c, index, d.String())
}

func (s *server) governError(err error) error { return backendError(err, crypto.Hash{}) }

// writeGoverned answers a committed propose or vote with where the
// proposal stands at the commit.
func (s *server) writeGoverned(w http.ResponseWriter, c *Committed, proposal uint64, decision string) error {
	out := client.GovernResult{TxID: c.Result.ID, Status: client.StatusCommitted, Code: ledger.CodeOK, Index: c.Result.Index,
		Height: c.Height, Time: c.Time.UTC(), Signer: c.Result.Signer, Type: c.Result.Type.String(), Proposal: proposal, Decision: decision}
	if err := s.withHeight(func(v *ledger.View, h int64) error {
		info, err := v.Proposal(proposal, max(h, c.Height))
		if err != nil {
			return corruptIfNotFound(err)
		}
		out.Change, out.Member, out.Deadline = info.Proposal.Change.Kind.String(), info.Proposal.Change.Seat.Name, info.Proposal.Deadline
		out.TSA = info.Proposal.Change.TSA.Name
		out.ProposalStatus = info.Status.String()
		out.Tally = client.Tally{Approve: info.Approve, Reject: info.Reject, Total: info.Total}
		if info.Status == ledger.ProposalPassed {
			out.Version = info.Version
		}
		return nil
	}); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, cacheNone, out)
	return nil
}

func proposalParam(r *http.Request) (uint64, error) {
	raw := r.PathValue("proposal")
	index, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, badRequest("proposal", "proposal %q is not an entry index: a proposal is named by the log index of its propose entry", raw)
	}
	return index, nil
}

// proposalError turns "no proposal there" into a 404.
func proposalError(err error, index uint64) error {
	if errors.Is(err, ledger.ErrNotFound) {
		return notFound("proposal", "entry %d is not a roster proposal", index)
	}
	return err
}

// proposalJSON is the public form of a proposal.
func proposalJSON(v *ledger.View, info *ledger.ProposalInfo) (client.Proposal, error) {
	e, _, err := v.Entry(info.Entry)
	if err != nil {
		return client.Proposal{}, corruptIfNotFound(err)
	}
	d := info.Proposal.Details().(*ledger.ProposalDetails)
	out := client.Proposal{Proposal: info.Entry, Proposer: info.Proposer, Height: e.Height, ProposalDetails: *d,
		Status: info.Status.String(), Decided: info.Decided, Votes: make([]client.VoteInfo, 0, len(info.Votes)),
		Tally: client.Tally{Approve: info.Approve, Reject: info.Reject, Total: info.Total}}
	if k := info.Proposal.Change.Kind; k == ledger.ChangeAdd || k == ledger.ChangeRotate {
		out.Addrs = slices.Clone(info.Proposal.Change.Seat.Addrs)
	}
	switch info.Status {
	case ledger.ProposalPassed:
		ver := info.Version
		out.Version = &ver
	case ledger.ProposalFailed:
		out.Failure, out.FailureCode = info.Code.String(), info.Code
	}
	for _, vi := range info.Votes {
		out.Votes = append(out.Votes, client.VoteInfo{Member: vi.Member, Decision: vi.Decision.String(), Entry: vi.Entry, Power: vi.Power})
	}
	return out, nil
}

// proposalStatuses are the values of GET /v1/proposals?status=.
var proposalStatuses = []string{"open", "passed", "rejected", "failed", "expired"}

// proposals is GET /v1/proposals?status=S&before=INDEX&limit=N: newest
// first.
func (s *server) proposals(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	status := q.Get("status")
	if status != "" && !slices.Contains(proposalStatuses, status) {
		return badRequest("status", "status %q is not a proposal status: use open, passed, rejected, failed or expired", status)
	}
	before := uint64(math.MaxUint64)
	if raw := q.Get("before"); raw != "" {
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil || n == 0 {
			return badRequest("before", "before %q is not an entry index: use the next of the previous page", raw)
		}
		before = n
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	return s.withHeight(func(v *ledger.View, h int64) error {
		var all []uint64
		for from := uint64(0); len(all) < maxProposalScan; {
			page, err := v.Proposals(from, MaxLimit)
			if err != nil {
				return err
			}
			for _, i := range page {
				if i < before {
					all = append(all, i)
				}
			}
			if len(page) < MaxLimit {
				break
			}
			from = page[len(page)-1] + 1
		}
		out := client.ProposalsResponse{Proposals: []client.Proposal{}}
		for k := len(all) - 1; k >= 0; k-- {
			info, err := v.Proposal(all[k], h)
			if err != nil {
				return corruptIfNotFound(err)
			}
			if status != "" && info.Status.String() != status {
				continue
			}
			if len(out.Proposals) == limit {
				out.Next = out.Proposals[limit-1].Proposal
				break
			}
			pj, err := proposalJSON(v, info)
			if err != nil {
				return err
			}
			out.Proposals = append(out.Proposals, pj)
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// proposal is GET /v1/proposals/{index}.
func (s *server) proposal(w http.ResponseWriter, r *http.Request) error {
	index, err := proposalParam(r)
	if err != nil {
		return err
	}
	return s.withHeight(func(v *ledger.View, h int64) error {
		info, err := v.Proposal(index, h)
		if err != nil {
			return proposalError(err, index)
		}
		out, err := proposalJSON(v, info)
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// rosterVersionJSON is the public form of a roster version.
func rosterVersionJSON(info *ledger.RosterVersionInfo, inForce uint32, seats bool) client.RosterVersion {
	out := client.RosterVersion{Version: info.Version, Digest: info.Digest, Attested: info.Attested, Proposal: info.Proposal,
		Entry: info.Entry, Pending: info.Pending(), InForce: info.Version == inForce, Power: info.TotalPower(), Members: len(info.Seats),
		TSAs: info.TSAs}
	if !info.Pending() {
		from := info.From
		out.From = &from
	}
	if seats {
		out.Seats = make([]client.Seat, 0, len(info.Seats))
		for i := range info.Seats {
			out.Seats = append(out.Seats, client.SeatOf(&info.Seats[i]))
		}
	}
	return out
}

// rosterVersions is GET /v1/roster/versions: every version, oldest first.
func (s *server) rosterVersions(w http.ResponseWriter, _ *http.Request) error {
	return s.withView(func(v *ledger.View) error {
		latest, inForce, err := v.LatestRosterVersion()
		if err != nil {
			return err
		}
		out := client.RosterVersionsResponse{Versions: make([]client.RosterVersion, 0, latest+1), Latest: latest, InForce: inForce}
		for n := uint32(0); n <= latest; n++ {
			info, err := v.RosterVersion(n)
			if err != nil {
				return corruptIfNotFound(err)
			}
			out.Versions = append(out.Versions, rosterVersionJSON(info, inForce, false))
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// rosterVersion is GET /v1/roster/versions/{n}, with the seats.
func (s *server) rosterVersion(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("n")
	n, err := strconv.ParseUint(raw, 10, 32)
	if err != nil {
		return badRequest("n", "roster version %q is not a version number (0 is genesis)", raw)
	}
	return s.withView(func(v *ledger.View) error {
		info, err := v.RosterVersion(uint32(n))
		if errors.Is(err, ledger.ErrNotFound) {
			return notFound("n", "%v", err)
		}
		if err != nil {
			return err
		}
		_, inForce, err := v.LatestRosterVersion()
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, cacheNone, rosterVersionJSON(info, inForce, true))
		return nil
	})
}

// rosterFile answers GET /v1/roster?version=N and/or ?digest=HEX: a past
// roster version as a roster file holds it (both: they must name the same
// version). ok is false when the query names neither (the roster in
// force).
func (s *server) rosterFile(w http.ResponseWriter, r *http.Request) (ok bool, err error) {
	q, err := parseQuery(r)
	if err != nil {
		return true, err
	}
	rawV, rawD := q.Get("version"), q.Get("digest")
	if rawV == "" && rawD == "" {
		return false, nil
	}
	var n uint64
	var d crypto.Hash
	if rawV != "" {
		if n, err = strconv.ParseUint(rawV, 10, 32); err != nil {
			return true, badRequest("version", "version %q is not a roster version number (0 is genesis)", rawV)
		}
	}
	if rawD != "" {
		if d, err = parseHash(rawD); err != nil {
			return true, badRequest("digest", "digest %q is not 64 hex digits", rawD)
		}
	}
	return true, s.withView(func(v *ledger.View) error {
		p, err := v.Params()
		if err != nil {
			return err
		}
		info, err := findRosterVersion(v, rawV != "", uint32(n), rawD != "", d)
		if err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, cacheNone, client.RosterResponse{Roster: *info.Roster(p.ChainID), Digest: info.Digest})
		return nil
	})
}

// findRosterVersion finds the roster version numbered n (byNumber) and/or
// with digest d (byDigest).
func findRosterVersion(v *ledger.View, byNumber bool, n uint32, byDigest bool, d crypto.Hash) (*ledger.RosterVersionInfo, error) {
	if byNumber {
		info, err := v.RosterVersion(n)
		if errors.Is(err, ledger.ErrNotFound) {
			return nil, notFound("version", "%v", err)
		}
		if err != nil {
			return nil, err
		}
		if byDigest && info.Digest != d {
			return nil, notFound("digest", "roster version %d has digest %s, not %s", n, info.Digest, d)
		}
		return info, nil
	}
	latest, _, err := v.LatestRosterVersion()
	if err != nil {
		return nil, err
	}
	for i := uint32(0); i <= latest; i++ {
		info, err := v.RosterVersion(i)
		if err != nil {
			return nil, corruptIfNotFound(err)
		}
		if info.Digest == d {
			return info, nil
		}
	}
	return nil, notFound("digest", "no roster version of this alliance has digest %s", d)
}
