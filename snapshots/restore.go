package snapshots

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/store"
)

// restore is a snapshot being restored.
type restore struct {
	meta    *Metadata
	r       *store.Restore
	next    uint32   // the chunk expected next
	last    []byte   // the last key written
	pairs   uint64   // pairs written
	senders []string // the nodes that sent the chunks written
	start   time.Time
}

// Offer checks a snapshot offered for restoring against trustedAppHash,
// the app hash that CometBFT's light client verified for its height, and
// starts restoring it into the store, which must hold no committed state
// (an error wrapping store.ErrNotEmpty otherwise). It accepts only a
// snapshot of Format (ErrUnknownFormat) whose metadata decodes, agrees with
// s (height, chunk count, hash) and claims trustedAppHash (ErrForged), of
// this chain and this binary's store schema (ErrUnusable). A restore
// already in progress is abandoned first.
func (m *Manager) Offer(s Snapshot, trustedAppHash []byte) error {
	if s.Format != Format {
		return fmt.Errorf("%w: format %d, this node restores format %d", ErrUnknownFormat, s.Format, Format)
	}
	meta, err := DecodeMetadata(s.Metadata)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrForged, err)
	}
	hash := meta.Hash()
	switch {
	case meta.Height != s.Height || uint64(len(meta.Chunks)) != uint64(s.Chunks) || !bytes.Equal(hash[:], s.Hash):
		return fmt.Errorf("%w: the metadata (height %d, %d chunks, hash %s) disagrees with the snapshot offered (height %d, %d chunks, hash %x)",
			ErrForged, meta.Height, len(meta.Chunks), hash, s.Height, s.Chunks, s.Hash)
	case meta.ChainID != m.cfg.ChainID:
		return fmt.Errorf("%w: it is of chain %s, this node's is %s", ErrUnusable, meta.ChainID, m.cfg.ChainID)
	case meta.Schema != store.SchemaVersion:
		return fmt.Errorf("%w: its state has store schema %d, this binary's is %d: join with a binary of schema %d, or block-sync from genesis",
			ErrUnusable, meta.Schema, store.SchemaVersion, meta.Schema)
	case !bytes.Equal(meta.AppHash[:], trustedAppHash):
		return fmt.Errorf("%w: it claims app hash %s at height %d, the light client trusts %x there", ErrForged, meta.AppHash, meta.Height, trustedAppHash)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.restore != nil {
		m.log.Info("abandoning the snapshot being restored for another", "height", m.restore.meta.Height, "offered", meta.Height)
		if err := m.restore.r.Abort(); err != nil {
			return fmt.Errorf("abandon the restore of height %d: %w", m.restore.meta.Height, err)
		}
		m.restore = nil
	}
	r, err := m.db.BeginRestore()
	if err != nil {
		return fmt.Errorf("restore the snapshot of height %d: %w", meta.Height, err)
	}
	m.restore = &restore{meta: meta, r: r, start: time.Now()}
	m.log.Info("restoring a snapshot (state sync)", "height", meta.Height, "chunks", len(meta.Chunks), "pairs", meta.Pairs,
		"app_hash", meta.AppHash.String(), "hash", hash.String())
	return nil
}

// ApplyChunk restores chunk index of the snapshot accepted by Offer, sent
// by sender, and reports whether the snapshot is then wholly restored and
// committed. Chunks come in order. A chunk whose SM3 is not the
// metadata's is refused before anything of it is written, with a
// *BadChunkError: fetch it again from another node. After the last chunk
// the restored state is checked against the metadata and the trusted app
// hash (the package documentation lists the checks) and committed at the
// snapshot's height. A chunk that does not decode, or state that does not
// check out, ends the restore with a *ForgedError (the store is empty
// again); ErrUnusable for a chunk out of order; any other error is a
// failure of the store.
func (m *Manager) ApplyChunk(index uint32, chunk []byte, sender string) (restored bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := m.restore
	if rs == nil {
		return false, ErrNoRestore
	}
	if index != rs.next {
		m.abandon()
		return false, fmt.Errorf("%w: chunk %d came when chunk %d was due", ErrUnusable, index, rs.next)
	}
	if got, want := crypto.SM3(chunk), rs.meta.Chunks[index]; got != want {
		return false, &BadChunkError{Index: index, Sender: sender, Got: got, Want: want}
	}
	if !slices.Contains(rs.senders, sender) {
		rs.senders = append(rs.senders, sender)
	}
	n, last, err := DecodeChunk(chunk, rs.last, func(key, value []byte) error {
		if rs.pairs++; rs.pairs > rs.meta.Pairs {
			return fmt.Errorf("%w: the chunks hold more than the %d pairs of the metadata", ErrForged, rs.meta.Pairs)
		}
		return rs.r.Put(key, value)
	})
	if err != nil {
		return false, m.fail(fmt.Errorf("chunk %d: %w", index, err))
	}
	rs.last = bytes.Clone(last)
	rs.next++
	m.log.Debug("snapshot chunk restored", "height", rs.meta.Height, "chunk", index, "of", len(rs.meta.Chunks), "pairs", n, "sender", sender)
	if int(rs.next) < len(rs.meta.Chunks) {
		return false, nil
	}
	head, err := rs.check()
	if err != nil {
		return false, m.fail(err)
	}
	if err := rs.r.Commit(int64(rs.meta.Height), rs.meta.AppHash[:], rs.meta.Time); err != nil {
		return false, m.fail(err)
	}
	m.restore = nil
	m.log.Info("snapshot restored (state sync)", "height", rs.meta.Height, "app_hash", rs.meta.AppHash.String(),
		"entries", head.Size, "records", head.Records, "pairs", rs.pairs, "chunks", len(rs.meta.Chunks),
		"senders", len(rs.senders), "dur", time.Since(rs.start).Round(time.Millisecond))
	return true, nil
}

// check checks the restored state before it is committed and returns the
// log head.
func (rs *restore) check() (ledger.LogHead, error) {
	if rs.pairs != rs.meta.Pairs {
		return ledger.LogHead{}, fmt.Errorf("%w: the chunks hold %d pairs, the metadata %d", ErrForged, rs.pairs, rs.meta.Pairs)
	}
	var head ledger.LogHead
	err := rs.r.Read(func(r ledger.Reader) error {
		var err error
		if head, err = ledger.VerifyLog(r); err != nil {
			return fmt.Errorf("%w: the restored log: %v", ErrForged, err)
		}
		if head.AppHash != rs.meta.AppHash {
			return fmt.Errorf("%w: the restored state has app hash %s, the trusted app hash of height %d is %s", ErrForged, head.AppHash, rs.meta.Height, rs.meta.AppHash)
		}
		v := ledger.NewView(r)
		p, err := v.Params()
		if err != nil {
			return fmt.Errorf("%w: the restored parameters: %v", ErrForged, err)
		}
		if p.ChainID != rs.meta.ChainID {
			return fmt.Errorf("%w: the restored state is of chain %s, not %s", ErrForged, p.ChainID, rs.meta.ChainID)
		}
		b, err := v.Block(int64(rs.meta.Height))
		if err != nil {
			return fmt.Errorf("%w: the restored record of block %d: %v", ErrForged, rs.meta.Height, err)
		}
		if b.Time != rs.meta.Time || b.Size != head.Size {
			return fmt.Errorf("%w: the restored block %d has time %d and log size %d; the metadata says time %d, the log has %d entries",
				ErrForged, rs.meta.Height, b.Time, b.Size, rs.meta.Time, head.Size)
		}
		return nil
	})
	return head, err
}

// fail ends the restore in progress after err: the store is emptied. A
// forgery is returned as a *ForgedError naming the senders. The caller
// holds mu.
func (m *Manager) fail(err error) error {
	rs := m.restore
	m.abandon()
	if errors.Is(err, ErrForged) || errors.Is(err, ErrMalformed) {
		if !errors.Is(err, ErrForged) {
			err = fmt.Errorf("%w: %w", ErrForged, err)
		}
		return &ForgedError{Senders: slices.Clone(rs.senders), Err: fmt.Errorf("snapshot of height %d: %w", rs.meta.Height, err)}
	}
	return fmt.Errorf("restore the snapshot of height %d: %w", rs.meta.Height, err)
}

// abandon aborts the restore in progress; the caller holds mu.
func (m *Manager) abandon() {
	if m.restore == nil {
		return
	}
	if err := m.restore.r.Abort(); err != nil {
		m.log.Error("could not empty the store after a failed restore; move it aside before starting again", "err", err)
	}
	m.restore = nil
}
