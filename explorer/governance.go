package explorer

import (
	"cmp"
	"errors"
	"math/bits"
	"net/http"
	"slices"
	"strconv"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// Governance pages (docs/ARCHITECTURE.md, "Roster changes: proposals,
// votes and roster versions"): the governance page lists the open and the
// closed proposals and the roster versions, a proposal's page its votes,
// a version's page its seats. They read the ledger's views
// (View.Proposals, View.Proposal, View.LatestRosterVersion,
// View.RosterVersion).

// Limits of the governance pages.
const (
	// proposalsShown is how many proposals the governance page reads,
	// newest first; older ones are on the next page (?before=).
	proposalsShown = 100
	// versionsShown is how many roster versions the governance page
	// lists, newest first; each version's page links its neighbours.
	versionsShown = 100
	// proposalScan is how many proposal indexes one scan reads.
	proposalScan = 1000
)

func proposalURL(i uint64) string { return "/explorer/proposals/" + strconv.FormatUint(i, 10) }
func rosterURL(n uint32) string   { return "/explorer/rosters/" + strconv.FormatUint(uint64(n), 10) }

// rosterRow is a roster version in a list.
type rosterRow struct {
	Version  uint32
	Digest   crypto.Hash
	Pending  bool   // made, not in force yet
	From     int64  // the first block its validators sign, when not Pending
	InForce  bool   // the version in force now
	Attested int64  // the height of the checkpoint that put it in force
	Proposal uint64 // the proposal that made it; 0 for genesis
	Entry    uint64 // its roster entry; 0 for genesis
	Genesis  bool
	Seats    int
	Power    uint64
}

func rosterRowOf(rv *ledger.RosterVersionInfo, inForce uint32) rosterRow {
	return rosterRow{Version: rv.Version, Digest: rv.Digest, Pending: rv.Pending(), From: rv.From, InForce: rv.Version == inForce,
		Attested: int64(rv.Attested), Proposal: rv.Proposal, Entry: rv.Entry, Genesis: rv.Version == 0, Seats: len(rv.Seats),
		Power: rv.TotalPower()}
}

// proposalRow is a proposal with its tally.
type proposalRow struct {
	Index    uint64
	Height   int64 // the block that took it
	Change   string
	Member   string
	TSA      string          // add-tsa, remove-tsa: the TSA's name (Member is empty)
	TSAInfo  *ledger.TSAInfo // add-tsa: the TSA
	Proposer string
	Deadline uint64
	Left     int64 // blocks that may still take votes (open)
	Status   string
	Reason   string
	// The tally in the roster version that weighs the next vote (open) or
	// that weighed the deciding vote (decided).
	Approve, Reject, Total uint64
	Needed                 uint64 // the least approving power that passes
	Blocking               uint64 // the least rejecting power that rejects
	Decided                uint64 // the deciding vote's entry (passed, rejected, failed)
	HasDecided             bool
	DecidedHeight          int64
	Version                uint32 // the roster version it made (passed)
	Made                   bool
	Code                   string // why it failed (failed)
	Votes                  []voteRow
}

// voteRow is one member's vote on a proposal.
type voteRow struct {
	Member   string
	Decision string // approve or reject
	Power    uint64 // in the version of the tally
	Entry    uint64
	Height   int64
}

// needed returns the least power that is more than 2/3 of total
// (ledger.Trusted) and the least that is at least 1/3 of it.
func needed(total uint64) (pass, block uint64) {
	if total == 0 {
		return 0, 0
	}
	hi, lo := bits.Mul64(total, 2)
	q, _ := bits.Div64(hi, lo, 3)
	block = total / 3
	if total%3 != 0 {
		block++
	}
	return q + 1, block
}

// proposalRow reads the proposal at entry index, its tally and, with
// votes, each vote's block. height is the committed height: an open
// proposal is shown as the next block would count it (expired when that
// block is past its deadline), a decided one as its deciding vote did.
func proposalRowOf(v *ledger.View, index uint64, height int64, votes bool) (*proposalRow, error) {
	pi, err := v.Proposal(index, height+1)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, notFound("err.no_proposal", index)
	}
	if err != nil {
		return nil, err
	}
	e, _, err := v.Entry(index)
	if err != nil {
		return nil, err
	}
	r := &proposalRow{Index: index, Height: e.Height, Change: pi.Proposal.Change.Kind.String(), Member: pi.Proposal.Change.Seat.Name,
		Proposer: pi.Proposer, Deadline: pi.Proposal.Deadline, Status: pi.Status.String(), Reason: pi.Proposal.Reason}
	if c := &pi.Proposal.Change; c.Kind.IsTSA() {
		r.Member, r.TSA = "", c.TSA.Name
		if c.Kind == ledger.ChangeAddTSA {
			info := c.TSA.Info()
			r.TSAInfo = &info
		}
	}
	switch pi.Status {
	case ledger.ProposalOpen:
		r.Left = int64(pi.Proposal.Deadline) - height
	case ledger.ProposalPassed, ledger.ProposalRejected, ledger.ProposalFailed:
		d, _, err := v.Entry(pi.Decided)
		if err != nil {
			return nil, err
		}
		r.Decided, r.HasDecided, r.DecidedHeight = pi.Decided, true, d.Height
		if pi, err = v.Proposal(index, d.Height); err != nil {
			return nil, err
		}
		if pi.Status == ledger.ProposalPassed {
			r.Version, r.Made = pi.Version, true
		}
		if pi.Status == ledger.ProposalFailed {
			r.Code = pi.Code.String()
		}
	}
	r.Approve, r.Reject, r.Total = pi.Approve, pi.Reject, pi.Total
	r.Needed, r.Blocking = needed(pi.Total)
	if !votes {
		return r, nil
	}
	for _, vi := range pi.Votes {
		ve, _, err := v.Entry(vi.Entry)
		if err != nil {
			return nil, err
		}
		r.Votes = append(r.Votes, voteRow{Member: vi.Member, Decision: vi.Decision.String(), Power: vi.Power, Entry: vi.Entry, Height: ve.Height})
	}
	// In the order they were cast.
	slices.SortFunc(r.Votes, func(a, b voteRow) int { return cmp.Compare(a.Entry, b.Entry) })
	return r, nil
}

// governanceData is the governance page.
type governanceData struct {
	Height   int64
	Current  rosterRow
	Pending  *rosterRow // the newest version, when it is not in force yet
	Open     []proposalRow
	Closed   []proposalRow
	Versions []rosterRow
	Older    bool // versions older than those listed
	Pages    pager
}

func (s *server) governance(rq *request) error {
	var before uint64 // proposals below this entry; 0 with !bounded: all
	bounded := false
	if b := rq.r.URL.Query().Get("before"); b != "" {
		i, ok := parseIndex(b)
		if !ok {
			return badRequest("err.bad_index", b)
		}
		before, bounded = i, true
	}
	d := &governanceData{}
	err := s.withView(func(v *ledger.View, height int64) error {
		d.Height = height
		latest, inForce, err := v.LatestRosterVersion()
		if err != nil {
			return err
		}
		cur, err := v.RosterVersion(inForce)
		if err != nil {
			return err
		}
		d.Current = rosterRowOf(cur, inForce)
		for n := int64(latest); n >= 0 && n > int64(latest)-versionsShown; n-- {
			rv := &d.Current
			if uint32(n) != inForce {
				info, err := v.RosterVersion(uint32(n))
				if err != nil {
					return err
				}
				row := rosterRowOf(info, inForce)
				rv = &row
			}
			d.Versions = append(d.Versions, *rv)
			if n == int64(latest) && rv.Pending {
				p := *rv
				d.Pending = &p
			}
		}
		d.Older = int64(latest) >= versionsShown

		idxs, err := allProposals(v)
		if err != nil {
			return err
		}
		end := len(idxs)
		if bounded {
			end = 0
			for end < len(idxs) && idxs[end] < before {
				end++
			}
		}
		start := max(0, end-proposalsShown)
		for i := end - 1; i >= start; i-- {
			r, err := proposalRowOf(v, idxs[i], height, false)
			if err != nil {
				return err
			}
			if r.Status == ledger.ProposalOpen.String() {
				d.Open = append(d.Open, *r)
			} else {
				d.Closed = append(d.Closed, *r)
			}
		}
		if start > 0 {
			d.Pages.Next = "/explorer/governance?before=" + strconv.FormatUint(idxs[start], 10)
		}
		if end < len(idxs) {
			if end+proposalsShown >= len(idxs) {
				d.Pages.Prev = "/explorer/governance"
			} else {
				d.Pages.Prev = "/explorer/governance?before=" + strconv.FormatUint(idxs[end+proposalsShown], 10)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "governance", rq.T("gov.title"), d)
	return nil
}

// allProposals returns the entry of every proposal, oldest first.
func allProposals(v *ledger.View) ([]uint64, error) {
	var out []uint64
	from := uint64(0)
	for {
		idxs, err := v.Proposals(from, proposalScan)
		if err != nil {
			return nil, err
		}
		out = append(out, idxs...)
		if len(idxs) < proposalScan {
			return out, nil
		}
		from = idxs[len(idxs)-1] + 1
	}
}

// proposalData is a proposal's page.
type proposalData struct {
	proposalRow
	Details *detailsData // the change, field by field
}

func (s *server) proposal(rq *request) error {
	raw := rq.r.PathValue("index")
	index, ok := parseIndex(raw)
	if !ok {
		return badRequest("err.bad_index", raw)
	}
	d := &proposalData{}
	err := s.withView(func(v *ledger.View, height int64) error {
		r, err := proposalRowOf(v, index, height, true)
		if err != nil {
			return err
		}
		d.proposalRow = *r
		_, tx, err := v.Entry(index)
		if err != nil {
			return err
		}
		if p, ok := tx.Body.Payload.(*ledger.Proposal); ok {
			d.Details = rq.detailsOf(tx.Body.Type().String(), p.Details())
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "proposal", rq.T("proposal.title", index), d)
	return nil
}

// rosterData is a roster version's page.
type rosterData struct {
	rosterRow
	Superseded bool // a later version is in force
	Members    []seatRow
	TSAs       []ledger.TSAInfo // the trusted time-stamping authorities
	Prev, Next string           // neighbouring versions' pages
}

// seatRow is one member of a roster version.
type seatRow struct {
	Name  string
	Role  ledger.Role
	Power uint64
	KeyID crypto.KeyID // the member key's
	Keys  int
	Node  string
	Peer  string
}

func (s *server) roster(rq *request) error {
	raw := rq.r.PathValue("version")
	n, err := api.ParseDecimal(raw, 32)
	if err != nil {
		return badRequest("err.bad_version", raw)
	}
	d := &rosterData{}
	err = s.withView(func(v *ledger.View, _ int64) error {
		latest, inForce, err := v.LatestRosterVersion()
		if err != nil {
			return err
		}
		if uint32(n) > latest {
			return notFound("err.no_version", n, latest)
		}
		rv, err := v.RosterVersion(uint32(n))
		if err != nil {
			return err
		}
		d.rosterRow = rosterRowOf(rv, inForce)
		d.Superseded = rv.Version < inForce
		for _, st := range rv.Seats {
			row := seatRow{Name: st.Name, Role: st.Role, Power: st.Power, Keys: len(st.Keys), Node: st.Node.String(), Peer: st.Peer}
			if len(st.Keys) > 0 {
				row.KeyID = st.Keys[0].ID()
			}
			d.Members = append(d.Members, row)
		}
		d.TSAs = tsaInfos(rv.TSAs)
		if n > 0 {
			d.Prev = rosterURL(uint32(n - 1))
		}
		if uint32(n) < latest {
			d.Next = rosterURL(uint32(n + 1))
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "roster", rq.T("roster.title", n), d)
	return nil
}

// tsaInfos returns what the explorer shows of each TSA.
func tsaInfos(ts []ledger.TSA) []ledger.TSAInfo {
	out := make([]ledger.TSAInfo, len(ts))
	for i := range ts {
		out[i] = ts[i].Info()
	}
	return out
}

// govLinks are the governance pages an entry's page links to.
type govLinks struct {
	Proposal    uint64
	HasProposal bool
	Version     uint32
	HasVersion  bool
}

// govLinksOf returns the governance pages of a propose, vote or roster
// entry at index; nil for other entries.
func govLinksOf(index uint64, p ledger.Payload) *govLinks {
	switch p := p.(type) {
	case *ledger.Proposal:
		return &govLinks{Proposal: index, HasProposal: true}
	case *ledger.Vote:
		return &govLinks{Proposal: p.Proposal, HasProposal: true}
	case *ledger.RosterUpdate:
		return &govLinks{Proposal: p.Proposal, HasProposal: true, Version: p.Version, HasVersion: true}
	}
	return nil
}
