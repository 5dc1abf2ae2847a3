package api

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// The event log. Events are what GET /v1/events streams and webhooks
// deliver, in one order for every reader: block by block, the block's log
// entries in index order, then the trusted checkpoint the block committed
// (a block of height h carries the co-signed checkpoint of height h−2).
// An entry event's id is its entry index ("12"); a checkpoint event's id is
// "checkpoint-H", H the checkpoint's height. Everything comes from
// committed state: the log is the durable outbox.

// EventCheckpoint is the type of a checkpoint event. Checkpoint events are
// sent only to readers that ask for them by type: there is one per block.
const EventCheckpoint = "checkpoint"

// EventTypes returns the event types a filter may name: the name of every
// transaction type whose accepted transactions are log entries (from the
// ledger's registry), then EventCheckpoint.
func EventTypes() []string {
	var out []string
	for _, t := range ledger.TxTypes() {
		if t.Entry() {
			out = append(out, t.Name)
		}
	}
	return append(out, EventCheckpoint)
}

// EventFilter selects events. The zero value selects every entry event
// (and no checkpoint event).
type EventFilter struct {
	Types []string // entry types and/or "checkpoint"; empty: every entry type
	Chain string   // records and grants of this evidence chain; empty: all
	Kind  string   // records of this evidence kind; empty: all
}

// ErrBadFilter is wrapped by NewEventFilter errors.
var ErrBadFilter = errors.New("bad event filter")

// NewEventFilter checks the types and returns the filter.
func NewEventFilter(types []string, chain, kind string) (EventFilter, error) {
	known := EventTypes()
	for _, t := range types {
		if !slices.Contains(known, t) {
			return EventFilter{}, fmt.Errorf("%w: type %q is not an event type: use %s", ErrBadFilter, t, strings.Join(known, ", "))
		}
	}
	return EventFilter{Types: types, Chain: chain, Kind: kind}, nil
}

// Checkpoints reports whether the filter selects checkpoint events.
func (f EventFilter) Checkpoints() bool { return slices.Contains(f.Types, EventCheckpoint) }

// Matches reports whether the filter selects entry e: of one of Types
// (every type when Types is empty), holding a record of Kind, and holding
// a record of Chain or naming it in its details (a grant of the chain). A
// filter whose only type is checkpoint selects no entry.
func (f EventFilter) Matches(e *client.Entry) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, e.Type) {
		return false
	}
	if f.Kind != "" && !slices.ContainsFunc(e.Records, func(r client.Record) bool { return r.Kind == f.Kind }) {
		return false
	}
	if f.Chain == "" {
		return true
	}
	if slices.ContainsFunc(e.Records, func(r client.Record) bool { return r.Chain == f.Chain }) {
		return true
	}
	if e.Details == nil {
		return false
	}
	return slices.ContainsFunc(e.Details.Fields(), func(fd ledger.Field) bool {
		return fd.Kind == ledger.FieldChain && fd.Value == f.Chain
	})
}

// Event is one event of the log: an entry or a trusted checkpoint.
type Event struct {
	ID         string
	Type       string                  // the entry's type, or EventCheckpoint
	Entry      *client.Entry           // set for an entry event
	Checkpoint *receipt.CheckpointFile // set for a checkpoint event
	After      Cursor                  // the position just after this event
}

// Data is the event's JSON body.
func (e *Event) Data() any {
	if e.Checkpoint != nil {
		return e.Checkpoint
	}
	return e.Entry
}

// Cursor is a position in the event log: every entry before Next, and the
// checkpoints of the blocks before Block, come before it.
type Cursor struct {
	Next  uint64
	Block int64
}

// String is the cursor's text form, "NEXT BLOCK".
func (c Cursor) String() string { return fmt.Sprintf("%d %d", c.Next, c.Block) }

// ParseCursor reads the text form of a cursor. A lone entry index (the
// form of earlier webhook cursor files) is placed with CursorAt; height is
// the committed height of v.
func ParseCursor(v *ledger.View, height int64, s string) (Cursor, error) {
	fields := strings.Fields(s)
	switch len(fields) {
	case 1:
		next, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return Cursor{}, fmt.Errorf("cursor %q: %w", s, err)
		}
		return CursorAt(v, height, next)
	case 2:
		next, err1 := strconv.ParseUint(fields[0], 10, 64)
		block, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil || block < 0 {
			return Cursor{}, fmt.Errorf("cursor %q is not two numbers, the next entry and the next block", s)
		}
		return Cursor{Next: next, Block: block}, nil
	}
	return Cursor{}, fmt.Errorf("cursor %q is not two numbers, the next entry and the next block", s)
}

// CursorHead is the position after every committed event: the start of
// the next block.
func CursorHead(v *ledger.View, height int64) (Cursor, error) {
	h, err := v.Head()
	if err != nil {
		return Cursor{}, err
	}
	return Cursor{Next: h.Size, Block: height + 1}, nil
}

// CursorAt is the position just before entry index: in its block, before
// the block's checkpoint. An index at or past the log's end is in the next
// block; height is the committed height of v.
func CursorAt(v *ledger.View, height int64, index uint64) (Cursor, error) {
	b, err := v.EntryBytes(index)
	if errors.Is(err, ledger.ErrNotFound) {
		h, herr := v.Head()
		if herr != nil {
			return Cursor{}, herr
		}
		if index < h.Size {
			return Cursor{}, err
		}
		// Past the end: the next block to commit holds it.
		return Cursor{Next: index, Block: height + 1}, nil
	}
	if err != nil {
		return Cursor{}, err
	}
	e, err := ledger.DecodeEntry(b)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w: entry %d: %v", ledger.ErrStoreCorrupt, index, err)
	}
	return Cursor{Next: index, Block: e.Height}, nil
}

// CursorAfter is the position just after the event of id lastID (the
// Last-Event-ID of a resuming reader); height is the committed height of v.
func CursorAfter(v *ledger.View, height int64, lastID string) (Cursor, error) {
	if hs, ok := strings.CutPrefix(lastID, EventCheckpoint+"-"); ok {
		h, err := strconv.ParseInt(hs, 10, 64)
		if err != nil || h < 0 {
			return Cursor{}, fmt.Errorf("%w: event id %q: want an entry index or checkpoint-HEIGHT", ErrBadFilter, lastID)
		}
		// The checkpoint of h is committed by block h+2, after its entries.
		b, err := v.Block(h + 2)
		if err != nil {
			return Cursor{}, fmt.Errorf("event %s: %w", lastID, err)
		}
		return Cursor{Next: b.Size, Block: h + 3}, nil
	}
	i, err := strconv.ParseUint(lastID, 10, 64)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w: event id %q: want an entry index or checkpoint-HEIGHT", ErrBadFilter, lastID)
	}
	c, err := CursorAt(v, height, i)
	if err != nil {
		return Cursor{}, err
	}
	c.Next = i + 1
	return c, nil
}

// ReadBudget bounds the entries and blocks one ReadEvents call looks at,
// so that a reader far behind with a filter that matches rarely does not
// hold one view of the store for long: it reads on in the next call.
const ReadBudget = 4096

// ReadEvents returns up to limit events from c that f selects, on view v
// of committed state, and the cursor after the last event read (which may
// be past events f skipped). more is true when it stopped at limit or at
// ReadBudget rather than at the end of the committed blocks: call again.
func ReadEvents(v *ledger.View, c Cursor, f EventFilter, limit int) (out []Event, next Cursor, more bool, err error) {
	for looked := 0; ; looked++ {
		if len(out) >= limit || looked >= ReadBudget {
			return out, c, true, nil
		}
		b, err := v.Block(c.Block)
		if errors.Is(err, ledger.ErrNotFound) {
			return out, c, false, nil // not committed yet
		}
		if err != nil {
			return out, c, false, err
		}
		c.Next = max(c.Next, b.First)
		for ; c.Next < b.Size; c.Next++ {
			if len(out) >= limit || looked >= ReadBudget {
				return out, c, true, nil
			}
			looked++
			e, err := loadEntry(v, c.Next)
			if err != nil {
				return out, c, false, err
			}
			if f.Matches(e) {
				out = append(out, Event{ID: strconv.FormatUint(e.Index, 10), Type: e.Type, Entry: e,
					After: Cursor{Next: c.Next + 1, Block: c.Block}})
			}
		}
		if len(out) >= limit {
			return out, c, true, nil // the block's checkpoint comes next time
		}
		if f.Checkpoints() && c.Block >= 2 {
			sc, err := v.SignedCheckpoint(uint64(c.Block - 2))
			switch {
			case errors.Is(err, ledger.ErrNotFound):
			case err != nil:
				return out, c, false, err
			default:
				cf, err := receipt.NewCheckpointFile(v, sc)
				if err != nil {
					return out, c, false, err
				}
				out = append(out, Event{ID: fmt.Sprintf("%s-%d", EventCheckpoint, c.Block-2), Type: EventCheckpoint, Checkpoint: cf,
					After: Cursor{Next: c.Next, Block: c.Block + 1}})
			}
		}
		c.Block++
	}
}
