package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/client"
)

// mark is the committed head of the chain at one moment.
type mark struct {
	Height    int64     `json:"height"`
	BlockTime time.Time `json:"block_time"`
	LogSize   uint64    `json:"log_size,omitempty"` // evidenced only
	Records   uint64    `json:"records,omitempty"`  // evidenced only: records accepted since genesis
	Wall      time.Time `json:"-"`                  // local time the mark was read
}

// meter reads the committed head and counts what was committed between two
// marks.
type meter interface {
	// mark reads the committed head now.
	mark(ctx context.Context) (mark, error)
	// committed returns the transactions committed after a up to and
	// including b.
	committed(ctx context.Context, a, b mark) (int64, error)
}

// apiMeter reads GET /v1/status of one evidenced node: every log entry
// after genesis is one accepted transaction (checkpoint co-signatures are
// not log entries).
type apiMeter struct{ c *client.Client }

func (m apiMeter) mark(ctx context.Context) (mark, error) {
	s, err := m.c.Status(ctx)
	if err != nil {
		return mark{}, err
	}
	return mark{Height: s.Height, BlockTime: s.BlockTime, LogSize: s.LogSize, Records: s.Records, Wall: time.Now()}, nil
}

func (apiMeter) committed(_ context.Context, a, b mark) (int64, error) {
	if b.LogSize < a.LogSize {
		return 0, fmt.Errorf("log shrank from %d to %d entries: is the node the same?", a.LogSize, b.LogSize)
	}
	return int64(b.LogSize - a.LogSize), nil
}

// rpcMeter reads CometBFT's /status and /blockchain on one node.
type rpcMeter struct {
	hc   *http.Client
	base string
}

// rpcInt is an integer that CometBFT's JSON encodes as a string ("12") or,
// in some fields, a number.
type rpcInt int64

// UnmarshalJSON accepts "12" and 12.
func (n *rpcInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %q", b)
	}
	*n = rpcInt(v)
	return nil
}

// MarshalJSON writes n as CometBFT does, as a decimal string.
func (n rpcInt) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

// rpcStatus is the part of CometBFT's /status result the meter reads.
type rpcStatus struct {
	SyncInfo struct {
		LatestBlockHeight rpcInt    `json:"latest_block_height"`
		LatestBlockTime   time.Time `json:"latest_block_time"`
	} `json:"sync_info"`
}

// blockMeta is the part of a /blockchain block meta the meter reads.
type blockMeta struct {
	NumTxs rpcInt `json:"num_txs"`
	Header struct {
		Height rpcInt    `json:"height"`
		Time   time.Time `json:"time"`
	} `json:"header"`
}

// blockchainInfo is CometBFT's /blockchain result.
type blockchainInfo struct {
	LastHeight rpcInt      `json:"last_height"`
	BlockMetas []blockMeta `json:"block_metas"`
}

// blockchainPage is the most block metas CometBFT's /blockchain returns.
const blockchainPage = 20

func (m rpcMeter) mark(ctx context.Context) (mark, error) {
	raw, err := rpcCall(ctx, m.hc, m.base, "status", nil)
	if err != nil {
		return mark{}, fmt.Errorf("status of %s: %w", m.base, err)
	}
	var s rpcStatus
	if err := json.Unmarshal(raw, &s); err != nil {
		return mark{}, fmt.Errorf("status of %s: %w", m.base, err)
	}
	return mark{Height: int64(s.SyncInfo.LatestBlockHeight), BlockTime: s.SyncInfo.LatestBlockTime, Wall: time.Now()}, nil
}

func (m rpcMeter) committed(ctx context.Context, a, b mark) (int64, error) {
	var total int64
	for lo := a.Height + 1; lo <= b.Height; lo += blockchainPage {
		hi := min(lo+blockchainPage-1, b.Height)
		raw, err := rpcCall(ctx, m.hc, m.base, "blockchain", map[string]any{
			"minHeight": strconv.FormatInt(lo, 10), "maxHeight": strconv.FormatInt(hi, 10)})
		if err != nil {
			return 0, fmt.Errorf("blocks %d to %d: %w", lo, hi, err)
		}
		n, err := countTxs(raw, lo, hi)
		if err != nil {
			return 0, fmt.Errorf("blocks %d to %d: %w", lo, hi, err)
		}
		total += n
	}
	return total, nil
}

// countTxs sums num_txs over the block metas of a /blockchain result,
// checking that it lists exactly heights lo to hi.
func countTxs(raw []byte, lo, hi int64) (int64, error) {
	var info blockchainInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return 0, fmt.Errorf("decode /blockchain result: %w", err)
	}
	if int64(len(info.BlockMetas)) != hi-lo+1 {
		return 0, fmt.Errorf("/blockchain listed %d blocks, want %d (pruned?)", len(info.BlockMetas), hi-lo+1)
	}
	var total int64
	seen := make(map[int64]bool, len(info.BlockMetas))
	for _, bm := range info.BlockMetas {
		h := int64(bm.Header.Height)
		if h < lo || h > hi || seen[h] {
			return 0, fmt.Errorf("/blockchain listed height %d, want each of %d to %d once", h, lo, hi)
		}
		if bm.NumTxs < 0 {
			return 0, fmt.Errorf("block %d has %d transactions", h, bm.NumTxs)
		}
		seen[h] = true
		total += int64(bm.NumTxs)
	}
	return total, nil
}
