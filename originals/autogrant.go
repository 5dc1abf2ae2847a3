package originals

import (
	"context"
	"slices"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/ledger"
)

// Automatic grants (originals.auto_grant_roles): a bank may let its node
// grant the retrieval requests of chosen roles (courts, say) for its own
// records as they commit, instead of waiting for a person. Each automatic
// grant is an ordinary grant transaction naming the request, signed with
// the member key and logged like any grant.

// maxAsked bounds the committed requests waiting for the auto-granter;
// beyond it a request is left for a person (logged), and the catch-up at
// the next start finds it still open.
const maxAsked = 256

// noteRequests queues the retrieval requests in results for the
// auto-granter. It only queues, so it may run on the consensus goroutine.
func (s *Service) noteRequests(results []ledger.TxResult) {
	if len(s.conf.AutoGrantRoles) == 0 {
		return
	}
	ledger.EachTx(results, func(r *ledger.TxResult) {
		if r.Code != ledger.CodeOK || r.Type != ledger.TxRequest {
			return
		}
		select {
		case s.asked <- r.Index:
		default:
			s.log.Warn("too many retrieval requests waiting for the automatic grant: this one waits for a person or the next start", "request", r.Index)
		}
	})
}

// autoGranter grants the queued requests it may, after those still open
// from before the start (the catch-up).
func (s *Service) autoGranter() {
	var open []uint64
	if err := s.withView(func(v *ledger.View, _ int64) error {
		var err error
		open, err = v.Requests(ledger.RequestFilter{Owner: s.conf.Member, Open: true, Limit: maxAsked})
		return err
	}); err != nil {
		s.log.Warn("cannot list the open retrieval requests to grant automatically", "err", err)
	}
	for _, idx := range open {
		s.autoGrant(idx)
	}
	for {
		select {
		case <-s.ctx.Done():
			return
		case idx := <-s.asked:
			s.autoGrant(idx)
		}
	}
}

// autoGrant grants request idx when it is open, for this member's records,
// by a member of a role auto_grant_roles names.
func (s *Service) autoGrant(idx uint64) {
	var req api.GrantRequest
	var role ledger.Role
	var ok bool
	err := s.withView(func(v *ledger.View, _ int64) error {
		ri, err := v.Request(idx)
		if err != nil {
			return err
		}
		if ri.Owner != s.conf.Member || ri.Status != ledger.RequestOpen {
			return nil
		}
		m, err := v.Member(ri.Requester)
		if err != nil {
			return err
		}
		role = m.Role
		if !slices.Contains(s.conf.AutoGrantRoles, role) {
			s.log.Info("retrieval request waits for a grant or refusal: its requester's role is not granted automatically",
				"request", idx, "requester", ri.Requester, "role", role, "purpose", ri.Request.Purpose)
			return nil
		}
		ok = true
		req = api.GrantRequest{Request: idx, Ref: ri.Request.Record, Chain: ri.Request.Chain, Grantee: ri.Requester, Purpose: ri.Request.Purpose}
		return nil
	})
	if err != nil {
		s.log.Warn("cannot read a retrieval request to grant it automatically", "request", idx, "err", err)
		return
	}
	if !ok {
		return
	}
	if s.conf.AutoGrantExpiry > 0 {
		req.Expiry = s.conf.Now().Add(s.conf.AutoGrantExpiry)
	}
	ctx, cancel := context.WithTimeout(s.ctx, autoGrantWait)
	defer cancel()
	c, err := s.Grant(ctx, req)
	if err != nil {
		s.log.Warn("automatic grant of a retrieval request failed: it waits for a person", "request", idx, "grantee", req.Grantee, "err", err)
		return
	}
	attrs := []any{"request", idx, "grant", c.Result.Index, "grantee", req.Grantee, "role", role, "purpose", req.Purpose}
	if req.Ref != nil {
		attrs = append(attrs, "record", req.Ref.String())
	} else {
		attrs = append(attrs, "chain", req.Chain)
	}
	if !req.Expiry.IsZero() {
		attrs = append(attrs, "expires", req.Expiry.UTC())
	}
	s.log.Info("granted a retrieval request automatically", attrs...)
}

// autoGrantWait bounds one automatic grant, its commit included.
const autoGrantWait = 2 * time.Minute
