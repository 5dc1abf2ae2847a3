package explorer

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// homeData is the home page.
type homeData struct {
	ChainID     string
	Member      string // the member running this node
	Height      int64
	Size        uint64
	Records     uint64
	Root        crypto.Hash
	Latest      *checkpointRow // nil before the first trusted checkpoint
	Evidence    []latestRecord // the newest evidence records, newest first
	Blocks      []blockRow
	Checkpoints []checkpointRow
}

// blockRow is one row of the latest blocks: a block with entries, or a
// run of empty blocks [Height-Empty+1, Height] collapsed into one row.
type blockRow struct {
	Height  int64
	Time    time.Time
	Entries uint64
	Empty   int64 // > 0: this row is that many empty blocks, the newest at Height
}

// From is the oldest height of an empty run.
func (b blockRow) From() int64 { return b.Height - b.Empty + 1 }

// latestRecord is one row of the home page's latest evidence.
type latestRecord struct {
	Ref       recordRef `json:"-"`
	ID        string    `json:"id"` // Ref.ID, for live.js
	Chain     string    `json:"chain"`
	Step      uint32    `json:"step"`
	Kind      string    `json:"kind"`
	Submitter string    `json:"submitter"`
	Time      time.Time `json:"time"` // block time
}

// checkpointRow is a trusted checkpoint in a list.
type checkpointRow struct {
	Height  int64
	Size    uint64
	Root    crypto.Hash
	Signers []string
	Power   uint64
	Total   uint64
	Stamp   *stampRow // its RFC 3161 token, when stamped
}

// stampRow is the time-stamp token of a checkpoint: the trusted time.
type stampRow struct {
	TSA      string
	GenTime  time.Time
	Accepted int64 // the height of the block that accepted the token
	Serial   string
	Hash     string
}

// stampOf returns the token of the checkpoint of height h, or nil.
func stampOf(v *ledger.View, h int64) (*stampRow, error) {
	ti, err := v.Timestamp(h)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &stampRow{TSA: ti.TSA, GenTime: ti.GenTime.UTC(), Accepted: ti.Accepted, Serial: ti.Serial, Hash: ti.Hash}, nil
}

func (s *server) home(rq *request) error {
	st, err := s.src.Status(rq.r.Context())
	if err != nil {
		return err
	}
	d := &homeData{Member: st.Member}
	err = s.withView(func(v *ledger.View, height int64) error {
		p, err := v.Params()
		if err != nil {
			return err
		}
		head, err := v.Head()
		if err != nil {
			return err
		}
		d.ChainID, d.Height, d.Size, d.Records, d.Root = p.ChainID, height, head.Size, head.Records, head.Root
		if d.Blocks, err = latestBlockRows(v, height, latestBlocks, blockScan); err != nil {
			return err
		}
		if d.Evidence, err = latestEvidence(v, head.Size, latestRecords, evidenceScan); err != nil {
			return err
		}
		ps := newPowers(v)
		cps, _, err := recentCheckpoints(v, latestCheckpoints)
		if err != nil {
			return err
		}
		for _, sc := range cps {
			row, err := ps.row(sc)
			if err != nil {
				return err
			}
			d.Checkpoints = append(d.Checkpoints, row)
		}
		if len(d.Checkpoints) > 0 {
			d.Latest = &d.Checkpoints[0]
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "home", rq.T("home.title"), d)
	return nil
}

// latestBlockRows returns up to n rows of the blocks at or below height,
// newest first, looking at no more than scan blocks: each block with
// entries is a row, and each run of empty blocks one row that counts them.
func latestBlockRows(v *ledger.View, height int64, n int, scan int64) ([]blockRow, error) {
	var rows []blockRow
	for h := height; h >= 0 && h > height-scan && len(rows) < n; h-- {
		b, err := v.Block(h)
		if errors.Is(err, ledger.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if b.Size > b.First {
			rows = append(rows, blockRow{Height: h, Time: unixTime(b.Time), Entries: b.Size - b.First})
			continue
		}
		if last := len(rows) - 1; last >= 0 && rows[last].Empty > 0 && rows[last].From() == h+1 {
			rows[last].Empty++
			continue
		}
		rows = append(rows, blockRow{Height: h, Time: unixTime(b.Time), Empty: 1})
	}
	return rows, nil
}

// latestEvidence returns up to n evidence records of the log's entries
// below size, newest first, looking at no more than scan entries.
func latestEvidence(v *ledger.View, size uint64, n int, scan uint64) ([]latestRecord, error) {
	return evidenceIn(v, size-min(size, scan), size, n)
}

// evidenceIn returns up to n evidence records of the entries [first,
// size), newest first.
func evidenceIn(v *ledger.View, first, size uint64, n int) ([]latestRecord, error) {
	var out []latestRecord
	for i := size; i > first && len(out) < n; i-- {
		e, tx, err := v.Entry(i - 1)
		if err != nil {
			return nil, err
		}
		recs := tx.Body.EvidenceRecords()
		if len(recs) == 0 {
			continue
		}
		who, err := v.SignerName(tx)
		if err != nil {
			return nil, err
		}
		for pos := len(recs) - 1; pos >= 0 && len(out) < n; pos-- {
			r := &recs[pos]
			ref := recordRef{Index: i - 1, Pos: uint16(pos)}
			out = append(out, latestRecord{Ref: ref, ID: ref.ID(), Chain: r.Chain, Step: r.Step,
				Kind: r.Kind, Submitter: who, Time: unixTime(e.Time)})
		}
	}
	return out, nil
}

// powers gives the voting power of a checkpoint's co-signers in the
// roster version that signs it (View.RosterSigning): a checkpoint from
// before a roster change is weighed by the roster of its time.
type powers struct {
	v         *ledger.View
	byVersion map[uint32]*versionPowers
}

// versionPowers is the power of each member of one roster version, and
// the total.
type versionPowers struct {
	of    map[string]uint64
	total uint64
}

func newPowers(v *ledger.View) *powers { return &powers{v: v, byVersion: map[uint32]*versionPowers{}} }

// at returns the powers of the roster version that co-signs the
// checkpoint of height h.
func (p *powers) at(h int64) (*versionPowers, error) {
	rv, err := p.v.RosterSigning(h)
	if err != nil {
		return nil, err
	}
	if vp, ok := p.byVersion[rv.Version]; ok {
		return vp, nil
	}
	vp := &versionPowers{of: make(map[string]uint64, len(rv.Seats)), total: rv.TotalPower()}
	for _, st := range rv.Seats {
		vp.of[st.Name] = st.Power
	}
	p.byVersion[rv.Version] = vp
	return vp, nil
}

// row describes a trusted checkpoint: its signers and their power.
func (p *powers) row(sc *ledger.SignedCheckpoint) (checkpointRow, error) {
	vp, err := p.at(sc.Checkpoint.Height)
	if err != nil {
		return checkpointRow{}, err
	}
	r := checkpointRow{Height: sc.Checkpoint.Height, Size: sc.Checkpoint.Size, Root: sc.Checkpoint.Root, Total: vp.total,
		Signers: make([]string, 0, len(sc.Signatures))}
	for _, sg := range sc.Signatures {
		r.Signers = append(r.Signers, sg.Member)
		r.Power += vp.of[sg.Member]
	}
	r.Stamp, err = stampOf(p.v, sc.Checkpoint.Height)
	return r, err
}

// recentCheckpoints returns up to n trusted checkpoints, newest first,
// among the checkpointScan heights up to the latest trusted one, and the
// lowest height it looked at (-1 when there is no trusted checkpoint).
func recentCheckpoints(v *ledger.View, n int) ([]*ledger.SignedCheckpoint, int64, error) {
	latest, err := v.LatestCheckpoint()
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, -1, nil
	}
	if err != nil {
		return nil, 0, err
	}
	out := []*ledger.SignedCheckpoint{latest}
	low := latest.Checkpoint.Height
	for h := low - 1; h >= 0 && h > latest.Checkpoint.Height-checkpointScan && len(out) < n; h-- {
		low = h
		sc, err := v.SignedCheckpoint(uint64(h))
		if errors.Is(err, ledger.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, sc)
	}
	return out, low, nil
}

// blockData is a block's page.
type blockData struct {
	Height      int64
	Time        time.Time
	First, Size uint64
	Last, Count uint64 // the last entry and how many, when Count > 0
	Entries     []entryRow
	From, To    uint64 // the entries shown, [From, To)
	Pages       pager
	Prev, Next  string // neighbouring blocks' pages
	Checkpoint  *checkpointDetail
	Carries     string // the page of the block whose checkpoint this block carries, if any
	CarriesOf   int64  // that block's height
}

// checkpointDetail is a trusted checkpoint in full.
type checkpointDetail struct {
	checkpointRow
	Text        string
	Time        time.Time
	CommittedIn int64
	SignerRows  []signerRow
}

// signerRow is one co-signer of a checkpoint.
type signerRow struct {
	Name  string
	Power uint64
}

// entryRow is a log entry in a list: metadata only.
type entryRow struct {
	Index  uint64
	Height int64
	Time   time.Time
	Type   string
	Signer string
	TxID   crypto.Hash
	Steps  []chainStep // the records' chains (the first few)
	More   int         // records not in Steps
	Detail string      // what a non-evidence entry does, in the page language
}

// chainStep is one record named by its chain and step.
type chainStep struct {
	Ref   recordRef
	Chain string
	Step  uint32
}

// stepsShown bounds the chains listed in one row of a batch entry.
const stepsShown = 3

// entryRow describes entry e in rq's language.
func (rq *request) entryRow(e *client.Entry) entryRow {
	r := entryRow{Index: e.Index, Height: e.Height, Time: e.Time, Type: e.Type, Signer: e.Signer, TxID: e.TxID}
	for i, rec := range e.Records {
		if i == stepsShown {
			r.More = len(e.Records) - i
			break
		}
		r.Steps = append(r.Steps, chainStep{Ref: recordRef{Index: e.Index, Pos: rec.Pos}, Chain: rec.Chain, Step: rec.Step})
	}
	r.Detail = rq.summary(e)
	return r
}

func (s *server) block(rq *request) error {
	raw := rq.r.PathValue("height")
	h, ok := parseHeight(raw)
	if !ok {
		return badRequest("err.bad_height", raw)
	}
	d := &blockData{Height: h}
	err := s.withView(func(v *ledger.View, height int64) error {
		b, err := v.Block(h)
		if errors.Is(err, ledger.ErrNotFound) {
			return notFound("err.no_block", h, height)
		}
		if err != nil {
			return err
		}
		d.Time, d.First, d.Size, d.Count = unixTime(b.Time), b.First, b.Size, b.Size-b.First
		if d.Count > 0 {
			d.Last = b.Size - 1
		}
		d.From = b.First
		if f := rq.r.URL.Query().Get("from"); f != "" {
			i, ok := parseIndex(f)
			if !ok || i < b.First || i >= b.Size {
				return badRequest("err.bad_from", f, b.First, b.Size)
			}
			d.From = i
		}
		d.To = min(d.From+pageSize, b.Size)
		for i := d.From; i < d.To; i++ {
			e, err := api.EntryJSON(v, i)
			if err != nil {
				return err
			}
			d.Entries = append(d.Entries, rq.entryRow(e))
		}
		if d.From > b.First {
			d.Pages.Prev = blockURL(h) + "?from=" + strconv.FormatUint(max(b.First, d.From-min(d.From, pageSize)), 10)
		}
		if d.To < b.Size {
			d.Pages.Next = blockURL(h) + "?from=" + strconv.FormatUint(d.To, 10)
		}
		if h > 0 {
			d.Prev = blockURL(h - 1)
		}
		if h < height {
			d.Next = blockURL(h + 1)
		}
		ps := newPowers(v)
		sc, err := v.SignedCheckpoint(uint64(h))
		switch {
		case err == nil:
			if d.Checkpoint, err = ps.detail(sc); err != nil {
				return err
			}
		case !errors.Is(err, ledger.ErrNotFound):
			return err
		}
		if h >= 2 {
			switch _, err := v.SignedCheckpoint(uint64(h - 2)); {
			case err == nil:
				d.Carries, d.CarriesOf = blockURL(h-2), h-2
			case !errors.Is(err, ledger.ErrNotFound):
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "block", rq.T("block.title", h), d)
	return nil
}

// detail describes a trusted checkpoint in full.
func (p *powers) detail(sc *ledger.SignedCheckpoint) (*checkpointDetail, error) {
	row, err := p.row(sc)
	if err != nil {
		return nil, err
	}
	vp, err := p.at(sc.Checkpoint.Height)
	if err != nil {
		return nil, err
	}
	d := &checkpointDetail{checkpointRow: row, Text: string(sc.Text), Time: sc.Checkpoint.Time.UTC(), CommittedIn: sc.Checkpoint.Height + 2}
	for _, sg := range sc.Signatures {
		d.SignerRows = append(d.SignerRows, signerRow{Name: sg.Member, Power: vp.of[sg.Member]})
	}
	return d, nil
}

// txData is the page of one log entry.
type txData struct {
	Index      uint64
	Height     int64
	Time       time.Time
	TxID       crypto.Hash
	LeafHash   crypto.Hash
	Type       string
	Signer     string
	SignerKey  crypto.KeyID
	HasKey     bool
	ClientTime time.Time
	Records    []recordRow
	Details    *detailsData
	Grant      *grantState // a grant's revocation, from state
	Gov        *govLinks   // a propose, vote or roster entry's governance pages
	// Attestation is an attest entry's own ref, whose receipt proves the
	// attestation (nil for other types).
	Attestation *recordRef
}

// recordRow is an evidence record: metadata only (label keys, never values).
type recordRow struct {
	Ref        recordRef
	Kind       string
	Chain      string
	Step       uint32
	Commitment crypto.Hash
	Size       uint64
	Kept       bool // the alliance keeps its encrypted original
	CipherSize uint64
	Labels     []ledger.Label // public chain metadata, like the kind (never personal data)
}

// rowOf describes record rec at ref.
func rowOf(ref recordRef, rec *ledger.Record) recordRow {
	r := recordRow{Ref: ref, Kind: rec.Kind, Chain: rec.Chain, Step: rec.Step, Commitment: rec.Commitment, Size: rec.Size}
	if rec.Kept() {
		r.Kept, r.CipherSize = true, rec.CipherSize
	}
	r.Labels = rec.Labels
	return r
}

// keyRow is one SM2 public key and its id (SM3 of the key).
type keyRow struct {
	ID     crypto.KeyID
	Public string // hex of the 65-byte uncompressed point
}

// grantState is whether a grant entry was revoked since.
type grantState struct {
	Revoked   bool
	RevokedAt uint64 // the revoke's entry
}

func (s *server) txByID(rq *request) error {
	raw := rq.r.PathValue("txid")
	id, ok := parseHash(raw)
	if !ok {
		return badRequest("err.bad_txid", raw)
	}
	return s.txPage(rq, func(v *ledger.View) (uint64, error) {
		i, err := v.IndexOfTx(id)
		if errors.Is(err, ledger.ErrNotFound) {
			return 0, notFound("err.no_tx", id.String())
		}
		return i, err
	})
}

func (s *server) entryByIndex(rq *request) error {
	raw := rq.r.PathValue("index")
	i, ok := parseIndex(raw)
	if !ok {
		return badRequest("err.bad_index", raw)
	}
	return s.txPage(rq, func(*ledger.View) (uint64, error) { return i, nil })
}

// txPage renders the entry find returns.
func (s *server) txPage(rq *request, find func(v *ledger.View) (uint64, error)) error {
	d := &txData{}
	err := s.withView(func(v *ledger.View, _ int64) error {
		index, err := find(v)
		if err != nil {
			return err
		}
		e, err := api.EntryJSON(v, index)
		if errors.Is(err, ledger.ErrNotFound) {
			return notFound("err.no_entry", index)
		}
		if err != nil {
			return err
		}
		_, tx, err := v.Entry(index)
		if err != nil {
			return err
		}
		*d = txData{Index: index, Height: e.Height, Time: e.Time, TxID: e.TxID, LeafHash: e.LeafHash, Type: e.Type,
			Signer: e.Signer, SignerKey: e.SignerKey, HasKey: e.SignerKey != crypto.KeyID{}, ClientTime: e.ClientTime}
		recs := tx.Body.EvidenceRecords()
		for i := range recs {
			d.Records = append(d.Records, rowOf(recordRef{Index: index, Pos: uint16(i)}, &recs[i]))
		}
		d.Details = rq.details(e)
		d.Gov = govLinksOf(index, tx.Body.Payload)
		if tx.Body.Type() == ledger.TxAttest {
			d.Attestation = &recordRef{Index: index}
		}
		// A grant's page also says whether it still holds.
		switch g, err := v.Grant(index); {
		case err == nil:
			d.Grant = &grantState{Revoked: g.Revoked, RevokedAt: g.RevokedAt}
		case !errors.Is(err, ledger.ErrNotFound):
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "tx", rq.T("tx.title", d.Index), d)
	return nil
}

// evidenceData is the page of one evidence record.
type evidenceData struct {
	recordRow
	PrevStep, NextStep *recordRef
	Submitter          string
	Height             int64
	Time               time.Time
	TxID               crypto.Hash
	Covered            *checkpointRow // the earliest trusted checkpoint covering it; nil: pending
	Attestations       []attestRow
}

// attestRow is one attestation of a record.
type attestRow struct {
	Index     uint64
	Member    string
	Statement string
	Time      time.Time
}

// record resolves the record id raw on v: a 400 when it does not parse, a
// 404 that says what is missing.
func record(v *ledger.View, raw string) (recordRef, *ledger.Record, *ledger.Entry, *ledger.Tx, error) {
	ref, ok := parseRecordID(raw)
	if !ok {
		return ref, nil, nil, nil, badRequest("err.bad_record", raw)
	}
	rec, e, tx, err := v.Record(ref.ledger())
	if errors.Is(err, ledger.ErrNotFound) {
		if _, err := v.EntryBytes(ref.Index); errors.Is(err, ledger.ErrNotFound) {
			return ref, nil, nil, nil, notFound("err.no_entry", ref.Index)
		} else if err != nil {
			return ref, nil, nil, nil, err
		}
		pe := notFound("err.no_record", ref.Index, ref.Pos)
		pe.link, pe.linkKey = entryURL(ref.Index), "err.see_entry"
		return ref, nil, nil, nil, pe
	}
	return ref, rec, e, tx, err
}

func (s *server) evidence(rq *request) error {
	d := &evidenceData{}
	err := s.withView(func(v *ledger.View, _ int64) error {
		ref, rec, e, tx, err := record(v, rq.r.PathValue("id"))
		if err != nil {
			return err
		}
		d.recordRow = rowOf(ref, rec)
		d.Height, d.Time, d.TxID = e.Height, unixTime(e.Time), tx.ID()
		if d.Submitter, err = signerName(v, tx); err != nil {
			return err
		}
		if rec.Step > 1 {
			if d.PrevStep, err = stepRef(v, rec.Chain, rec.Step-1); err != nil {
				return err
			}
		}
		if d.NextStep, err = stepRef(v, rec.Chain, rec.Step+1); err != nil {
			return err
		}
		switch sc, err := v.CheckpointCovering(ref.Index); {
		case err == nil:
			ps := newPowers(v)
			row, err := ps.row(sc)
			if err != nil {
				return err
			}
			d.Covered = &row
		case !errors.Is(err, ledger.ErrNotFound):
			return err
		}
		atts, err := v.Attestations(ref.ledger(), listAttestations)
		if err != nil {
			return err
		}
		for _, idx := range atts {
			ae, err := api.EntryJSON(v, idx)
			if err != nil {
				return err
			}
			row := attestRow{Index: idx, Member: ae.Signer, Time: ae.Time}
			if a, ok := ae.Details.(*ledger.Attestation); ok {
				row.Statement = a.Statement
			}
			d.Attestations = append(d.Attestations, row)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "evidence", rq.T("evidence.title", d.Ref.ID()), d)
	return nil
}

// stepRef returns the record of step of chain, nil if there is none.
func stepRef(v *ledger.View, chain string, step uint32) (*recordRef, error) {
	refs, err := v.ChainSteps(chain, step, 1)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, nil
	}
	r := refOf(refs[0])
	return &r, nil
}

// signerName is the member that signed tx ("" for a key no longer
// registered).
func signerName(v *ledger.View, tx *ledger.Tx) (string, error) { return v.SignerName(tx) }

// chainData is an evidence chain's timeline page.
type chainData struct {
	ID       string
	Owner    string
	Steps    uint32
	Timeline []stepRow
	Pages    pager
}

// stepRow is one step of the timeline.
type stepRow struct {
	Step       uint32
	Ref        recordRef
	Kind       string
	Height     int64
	Time       time.Time
	Submitter  string
	Commitment crypto.Hash
}

func (s *server) chain(rq *request) error {
	id := rq.r.PathValue("chain")
	if !ledger.ValidChainID(id) {
		return badRequest("err.bad_chain", id)
	}
	from := uint32(1)
	if f := rq.r.URL.Query().Get("from"); f != "" {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil || n == 0 {
			return badRequest("err.bad_step", f)
		}
		from = uint32(n)
	}
	d := &chainData{ID: id}
	err := s.withView(func(v *ledger.View, _ int64) error {
		ci, err := v.Chain(id)
		if errors.Is(err, ledger.ErrNotFound) {
			return notFound("err.no_chain", id)
		}
		if err != nil {
			return err
		}
		d.Owner, d.Steps = ci.Owner, ci.Steps
		refs, err := v.ChainSteps(id, from, pageSize)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			rec, e, tx, err := v.Record(ref)
			if err != nil {
				return err
			}
			who, err := signerName(v, tx)
			if err != nil {
				return err
			}
			d.Timeline = append(d.Timeline, stepRow{Step: rec.Step, Ref: refOf(ref), Kind: rec.Kind, Height: e.Height,
				Time: unixTime(e.Time), Submitter: who, Commitment: rec.Commitment})
		}
		if from > 1 {
			d.Pages.Prev = chainURL(id) + "?from=" + strconv.FormatUint(uint64(max(1, int64(from)-pageSize)), 10)
		}
		if uint64(from)+pageSize <= uint64(ci.Steps) {
			d.Pages.Next = chainURL(id) + "?from=" + strconv.FormatUint(uint64(from)+pageSize, 10)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "chain", rq.T("chain.title", id), d)
	return nil
}

// custodyData is the custody page of a record.
type custodyData struct {
	Ref        recordRef
	Chain      string
	Step       uint32
	Owner      string
	Kept       bool
	CipherSize uint64
	Events     []custodyRow
	Truncated  bool
}

// custodyRow is one grant or access of a record's original.
type custodyRow struct {
	Index     uint64
	Type      string // grant or access
	Member    string // who granted, or who retrieved
	Height    int64
	Time      time.Time
	Grantee   string
	Purpose   string
	Expires   time.Time
	HasExpiry bool
	Expired   bool // at the time of the latest block
	Revoked   bool
	RevokedAt uint64
	ViaGrant  uint64 // access through this grant
	Via       bool   // false: the owner retrieved its own original
}

// custodyLimit bounds the events a custody page lists.
const custodyLimit = 500

func (s *server) custody(rq *request) error {
	d := &custodyData{}
	err := s.withView(func(v *ledger.View, height int64) error {
		ref, rec, _, _, err := record(v, rq.r.PathValue("id"))
		if err != nil {
			return err
		}
		d.Ref, d.Chain, d.Step = ref, rec.Chain, rec.Step
		r := rowOf(ref, rec)
		d.Kept, d.CipherSize = r.Kept, r.CipherSize
		ci, err := v.Chain(rec.Chain)
		if err != nil {
			return err
		}
		d.Owner = ci.Owner
		var now int64
		if b, err := v.Block(height); err == nil {
			now = b.Time
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		idxs, err := v.Custody(ref.ledger(), custodyLimit+1)
		if err != nil {
			return err
		}
		if len(idxs) > custodyLimit {
			idxs, d.Truncated = idxs[:custodyLimit], true
		}
		for _, idx := range idxs {
			e, tx, err := v.Entry(idx)
			if err != nil {
				return err
			}
			who, err := signerName(v, tx)
			if err != nil {
				return err
			}
			row := custodyRow{Index: idx, Type: tx.Body.Type().String(), Member: who, Height: e.Height, Time: unixTime(e.Time)}
			switch p := tx.Body.Payload.(type) {
			case *ledger.Grant:
				g, err := v.Grant(idx)
				if err != nil {
					return err
				}
				row.Grantee, row.Purpose, row.Revoked, row.RevokedAt = g.Grantee, g.Purpose, g.Revoked, g.RevokedAt
				if g.Expiry != 0 {
					row.Expires, row.HasExpiry, row.Expired = unixTime(g.Expiry), true, now >= g.Expiry
				}
			case *ledger.Access:
				row.Via, row.ViaGrant = p.ViaGrant, p.Grant
			}
			d.Events = append(d.Events, row)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rq.render(http.StatusOK, "custody", rq.T("custody.title", d.Ref.ID()), d)
	return nil
}
