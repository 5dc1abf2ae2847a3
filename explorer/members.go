package explorer

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// memberData is a member's page.
type memberData struct {
	Name         string
	Role         ledger.Role
	Power, Total uint64
	Keys         []keyRow
	Peer         string
	Registered   uint64 // its registration entry
	Entries      []entryRow
	Pages        pager
}

func (s *server) member(rq *request) error {
	name := rq.r.PathValue("name")
	if !validName(name) {
		return badRequest("err.bad_member", name)
	}
	var upTo uint64 // entries at or below this index; 0 with !bounded: all
	bounded := false
	if f := rq.r.URL.Query().Get("from"); f != "" {
		i, ok := parseIndex(f)
		if !ok {
			return badRequest("err.bad_index", f)
		}
		upTo, bounded = i, true
	}
	d := &memberData{}
	err := s.withView(func(v *ledger.View, _ int64) error {
		m, err := v.Member(name)
		if errors.Is(err, ledger.ErrNotFound) {
			return notFound("err.no_member", name)
		}
		if err != nil {
			return err
		}
		if d.Total, err = v.TotalPower(); err != nil {
			return err
		}
		d.Name, d.Role, d.Power, d.Peer, d.Registered = m.Name, m.Role, m.Power, m.Peer, m.Entry
		for _, k := range m.Keys {
			d.Keys = append(d.Keys, keyRow{ID: k.ID(), Public: hexString(k.Bytes())})
		}
		head, err := v.Head()
		if err != nil {
			return err
		}
		before := head.Size
		if bounded && upTo < head.Size {
			before = upTo + 1
		}
		idxs, older, err := newestEntries(v, name, before, pageSize)
		if err != nil {
			return err
		}
		for _, idx := range idxs {
			e, err := api.EntryJSON(v, idx)
			if err != nil {
				return err
			}
			d.Entries = append(d.Entries, rq.entryRow(e))
		}
		if older && len(idxs) > 0 {
			d.Pages.Next = memberURL(name) + "?from=" + strconv.FormatUint(idxs[len(idxs)-1]-1, 10)
		}
		if before < head.Size {
			newer, err := v.MemberEntries(name, before, pageSize)
			if err != nil {
				return err
			}
			if len(newer) > 0 {
				d.Pages.Prev = memberURL(name) + "?from=" + strconv.FormatUint(newer[len(newer)-1], 10)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "member", rq.T("member.title", name), d)
	return nil
}

// newestEntries returns up to n entry indexes of member name below before,
// newest first, and whether it has older ones. The ledger scans a member's
// entries oldest first only, so it searches for the start of the newest
// n+1 with scans of at most n+1 entries: doubling the distance back from
// before, then bisecting.
func newestEntries(v *ledger.View, name string, before uint64, n int) ([]uint64, bool, error) {
	if before == 0 || n <= 0 {
		return nil, false, nil
	}
	// full reports whether [s, before) holds at least n+1 entries; it is
	// true up to some s and false above it.
	full := func(s uint64) ([]uint64, bool, error) {
		es, err := v.MemberEntries(name, s, n+1)
		if err != nil {
			return nil, false, err
		}
		return es, len(es) == n+1 && es[n] < before, nil
	}
	hi := before // [hi, before) holds at most n entries
	lo, step := uint64(0), uint64(n+1)
	for {
		s := uint64(0)
		if before > step {
			s = before - step
		}
		_, ok, err := full(s)
		if err != nil {
			return nil, false, err
		}
		if ok {
			lo = s
			break
		}
		if s == 0 {
			// Fewer than n+1 entries in all: they are the answer.
			es, err := v.MemberEntries(name, 0, n+1)
			if err != nil {
				return nil, false, err
			}
			es = slices.DeleteFunc(es, func(i uint64) bool { return i >= before })
			slices.Reverse(es)
			return es, false, nil
		}
		hi, step = s, step*2
	}
	// full(lo) and not full(hi): find the largest such lo.
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		_, ok, err := full(mid)
		if err != nil {
			return nil, false, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	es, _, err := full(lo)
	if err != nil {
		return nil, false, err
	}
	out := slices.Clone(es[1:]) // es[0] is older than the n shown
	slices.Reverse(out)
	return out, true, nil
}

// allianceData is the alliance page.
type allianceData struct {
	ChainID      string
	RosterDigest crypto.Hash
	Roster       rosterRow  // the version in force
	Pending      *rosterRow // the newest version, when not in force yet
	Total        uint64
	Latest       int64     // latest trusted checkpoint height; -1 if none
	LatestTime   time.Time // its block time
	Height       int64     // the latest committed block
	HeightTime   time.Time // its block time
	Stale        bool      // HeightTime is older than Options.StaleAfter: blocks stopped, no validator is called online
	StaleFor     string    // how long ago, in minutes, when Stale
	Idle         bool      // blocks are fresh but the latest checkpoint is older than Options.StaleAfter: no records came
	IdleFor      string    // how long ago, in minutes, when Idle
	ScanFrom     int64     // the checkpoints looked at: heights [ScanFrom, Latest]
	Window       int64
	Members      []allianceRow
	TSAs         []ledger.TSAInfo // the trusted time-stamping authorities in force
}

// allianceRow is one member of the alliance page.
type allianceRow struct {
	Name      string
	Role      ledger.Role
	Power     uint64
	Validator bool
	Online    bool  // co-signed a trusted checkpoint within the window
	Signed    bool  // co-signed one of those looked at
	Last      int64 // the last checkpoint it co-signed, when Signed
	Lag       int64 // heights from Last to the latest trusted checkpoint
}

func (s *server) alliance(rq *request) error {
	d := &allianceData{Window: s.opts.OnlineWindow, Latest: -1}
	err := s.withView(func(v *ledger.View, height int64) error {
		p, err := v.Params()
		if err != nil {
			return err
		}
		// Liveness is block progress: checkpoints move only when records
		// arrive, so an old checkpoint under fresh blocks is an idle, not a
		// halted, alliance.
		b, err := v.Block(height)
		if err != nil {
			return err
		}
		d.Height, d.HeightTime = height, unixTime(b.Time)
		now := s.opts.Now()
		if age := now.Sub(d.HeightTime); age > s.opts.StaleAfter {
			d.Stale, d.StaleFor = true, strconv.FormatInt(int64(age/time.Minute), 10)
		}
		latest, inForce, err := v.LatestRosterVersion()
		if err != nil {
			return err
		}
		cur, err := v.RosterVersion(inForce)
		if err != nil {
			return err
		}
		d.Roster = rosterRowOf(cur, inForce)
		d.TSAs = tsaInfos(cur.TSAs)
		if latest != inForce {
			nv, err := v.RosterVersion(latest)
			if err != nil {
				return err
			}
			row := rosterRowOf(nv, inForce)
			d.Pending = &row
		}
		d.ChainID, d.RosterDigest, d.Total = p.ChainID, cur.Digest, cur.TotalPower()
		cps, low, err := recentCheckpoints(v, checkpointScan)
		if err != nil {
			return err
		}
		last := map[string]int64{}
		for _, sc := range cps { // newest first
			for _, sg := range sc.Signatures {
				if _, seen := last[sg.Member]; !seen {
					last[sg.Member] = sc.Checkpoint.Height
				}
			}
		}
		if len(cps) > 0 {
			d.Latest, d.ScanFrom, d.LatestTime = cps[0].Checkpoint.Height, low, cps[0].Checkpoint.Time
			if age := now.Sub(d.LatestTime); !d.Stale && age > s.opts.StaleAfter {
				d.Idle, d.IdleFor = true, strconv.FormatInt(int64(age/time.Minute), 10)
			}
		}
		for _, m := range cur.Seats {
			row := allianceRow{Name: m.Name, Role: m.Role, Power: m.Power, Validator: m.Power > 0}
			if h, ok := last[m.Name]; ok {
				row.Signed, row.Last, row.Lag = true, h, d.Latest-h
				row.Online = row.Lag < d.Window && !d.Stale
			}
			d.Members = append(d.Members, row)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "alliance", rq.T("alliance.title"), d)
	return nil
}
