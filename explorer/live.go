package explorer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// liveBacklog bounds the past blocks one live event batch replays: a
// client further behind (Last-Event-ID or ?after= long ago) gets the last
// liveBacklog blocks, as many as the home page shows.
const liveBacklog = latestBlocks

// liveBlock is the data of a block event.
type liveBlock struct {
	Height  int64     `json:"height"`
	Time    time.Time `json:"time"`    // block time, UTC
	First   uint64    `json:"first"`   // the block's entries are [first, size)
	Size    uint64    `json:"size"`    // log size after the block
	Records uint64    `json:"records"` // evidence records in the log after the block
}

// liveEvidence is the data of an evidence event: the evidence records a
// block appended, newest first (at most latestRecords).
type liveEvidence struct {
	Height  int64          `json:"height"`
	Records []latestRecord `json:"evidence"`
}

// liveCheckpoint is the data of a checkpoint event: the trusted checkpoint
// a block carried (of the height two below it).
type liveCheckpoint struct {
	Height  int64       `json:"height"`
	Size    uint64      `json:"size"`
	Root    crypto.Hash `json:"root"`
	Signers []string    `json:"signers"`
	Power   uint64      `json:"power"`
	Total   uint64      `json:"total"`
}

// live is GET /explorer/live?after=H: Server-Sent Events, for each block
// committed after height H (by default, after the current one) an event
// "block", when it appended evidence records an event "evidence", and,
// when the block carried a trusted checkpoint, an event "checkpoint";
// each event's id is the block's height, so a reconnecting browser
// resumes with Last-Event-ID.
func (s *server) live(rq *request) error {
	after := int64(-1)
	if id := rq.r.Header.Get("Last-Event-ID"); id != "" {
		h, ok := parseHeight(id)
		if !ok {
			return badRequest("err.bad_height", id)
		}
		after = h
	} else if a := rq.r.URL.Query().Get("after"); a != "" {
		h, ok := parseHeight(a)
		if !ok {
			return badRequest("err.bad_height", a)
		}
		after = h
	}
	release, err := s.opts.Streams.Acquire(true)
	if err != nil {
		return err
	}
	defer release()
	if after < 0 {
		if err := s.withView(func(_ *ledger.View, height int64) error {
			after = height
			return nil
		}); err != nil {
			return err
		}
	}
	err = api.ServeEvents(rq.w, rq.r, s.src, func(buf *bytes.Buffer) (bool, error) {
		err := s.withView(func(v *ledger.View, height int64) error {
			var err error
			after, err = liveEvents(buf, v, after, height)
			return err
		})
		if unavailable(err) {
			return false, nil // not ready for a moment: try again at the next change or tick
		}
		return false, err
	})
	if err != nil {
		// The stream has started: end it; the browser reconnects.
		s.log.Warn("explorer live stream ended", "after", after, "err", err)
	}
	return nil
}

// liveEvents writes to out the events of the blocks after height after up
// to height (at most liveBacklog of them) and returns the last height
// written.
func liveEvents(out *bytes.Buffer, v *ledger.View, after, height int64) (int64, error) {
	if height <= after {
		return after, nil
	}
	from := max(after+1, height-liveBacklog+1)
	blocks := make([]*ledger.BlockInfo, 0, height-from+1)
	for h := from; h <= height; h++ {
		b, err := v.Block(h)
		if err != nil {
			return after, fmt.Errorf("block %d: %w", h, err)
		}
		blocks = append(blocks, b)
	}
	head, err := v.Head()
	if err != nil {
		return after, err
	}
	// Records after each block, counted back from the head.
	records := make([]uint64, len(blocks))
	records[len(blocks)-1] = head.Records
	for i := len(blocks) - 1; i > 0; i-- {
		n, err := recordsIn(v, blocks[i])
		if err != nil {
			return after, err
		}
		records[i-1] = records[i] - n
	}
	var ps *powers
	for i, b := range blocks {
		if err := writeEvent(out, b.Height, "block", liveBlock{Height: b.Height, Time: unixTime(b.Time), First: b.First, Size: b.Size, Records: records[i]}); err != nil {
			return after, err
		}
		if b.Size > b.First && (i == 0 || records[i] > records[i-1]) {
			recs, err := evidenceIn(v, b.First, b.Size, latestRecords)
			if err != nil {
				return after, err
			}
			if len(recs) > 0 {
				if err := writeEvent(out, b.Height, "evidence", liveEvidence{Height: b.Height, Records: recs}); err != nil {
					return after, err
				}
			}
		}
		if b.Height < 2 {
			continue
		}
		sc, err := v.SignedCheckpoint(uint64(b.Height - 2))
		if errors.Is(err, ledger.ErrNotFound) {
			continue
		}
		if err != nil {
			return after, err
		}
		if ps == nil {
			ps = newPowers(v)
		}
		row, err := ps.row(sc)
		if err != nil {
			return after, err
		}
		if err := writeEvent(out, b.Height, "checkpoint", liveCheckpoint{Height: row.Height, Size: row.Size, Root: row.Root, Signers: row.Signers, Power: row.Power, Total: row.Total}); err != nil {
			return after, err
		}
	}
	return height, nil
}

// recordsIn counts the evidence records a block appended.
func recordsIn(v *ledger.View, b *ledger.BlockInfo) (uint64, error) {
	var n uint64
	for i := b.First; i < b.Size; i++ {
		_, tx, err := v.Entry(i)
		if err != nil {
			return 0, err
		}
		n += uint64(len(tx.Body.EvidenceRecords()))
	}
	return n, nil
}

// writeEvent writes one Server-Sent Event.
func writeEvent(out *bytes.Buffer, id int64, event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	out.WriteString("id: " + strconv.FormatInt(id, 10) + "\nevent: " + event + "\ndata: ")
	out.Write(b)
	out.WriteString("\n\n")
	return nil
}
