package snapshots

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/store"
)

// Config configures a Manager.
type Config struct {
	// Dir holds the snapshots (HOME/data/snapshots); created if missing.
	Dir string
	// ChainID is the node's chain: snapshots of another are neither listed
	// nor restored.
	ChainID string
	// Interval takes a snapshot after the commit of every height that is a
	// multiple of it; 0 takes none (the node still restores one when it
	// joins by state sync).
	Interval uint64
	// Keep is how many of the latest snapshots are kept (at least 1).
	Keep int
	// ChunkSize is the size chunks are cut at, MinChunkSize to
	// MaxChunkSize; 0 is DefaultChunkSize. Members that keep the same size
	// write identical snapshots of a height.
	ChunkSize int
}

// Snapshot is a snapshot as the ABCI lists and offers it.
type Snapshot struct {
	Height   uint64
	Format   uint32
	Chunks   uint32
	Hash     []byte
	Metadata []byte
}

// Errors of Offer and ApplyChunk, which say what CometBFT's state sync is
// to do (package abci translates them).
var (
	// ErrUnknownFormat: the snapshot is of another format than Format;
	// CometBFT skips every snapshot of that format.
	ErrUnknownFormat = errors.New("snapshots: unknown snapshot format")
	// ErrUnusable: the snapshot may be sound but cannot be restored here
	// (another chain, another store schema, chunks out of order);
	// CometBFT tries another.
	ErrUnusable = errors.New("snapshots: the snapshot cannot be restored here")
	// ErrForged: what the snapshot claims does not check out (metadata
	// that does not decode or agree with the ABCI fields, an app hash
	// other than the trusted one, chunks or restored state that do not
	// match the metadata); its senders are not to be trusted. An error
	// carrying the senders is a *ForgedError.
	ErrForged = errors.New("snapshots: the snapshot does not check out")
	// ErrNoRestore: ApplyChunk without an accepted Offer.
	ErrNoRestore = errors.New("snapshots: no snapshot is being restored")
)

// ForgedError is a restore that failed because the snapshot's chunks or
// the state restored from them do not match what it claims. Senders are
// the nodes that sent its chunks.
type ForgedError struct {
	Senders []string
	Err     error
}

func (e *ForgedError) Error() string { return e.Err.Error() }

// Unwrap returns ErrForged and the cause.
func (e *ForgedError) Unwrap() []error { return []error{ErrForged, e.Err} }

// BadChunkError is a chunk whose SM3 is not the one its snapshot's
// metadata lists: nothing of it was written; fetch it again from another
// node, and refuse Sender.
type BadChunkError struct {
	Index  uint32
	Sender string
	Got    crypto.Hash
	Want   crypto.Hash
}

func (e *BadChunkError) Error() string {
	return fmt.Sprintf("snapshot chunk %d from %q has SM3 %s, the snapshot's metadata lists %s", e.Index, e.Sender, e.Got, e.Want)
}

// Manager takes snapshots of a store's committed state, keeps them on
// disk, serves them, and restores one into an empty store. Its methods are
// safe for concurrent use. It owns the goroutine that writes a snapshot:
// Close waits for it.
type Manager struct {
	cfg Config
	log *slog.Logger
	db  *store.DB

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the snapshot being written

	mu      sync.Mutex
	closed  bool
	snaps   []*Metadata // complete snapshots on disk, by ascending height
	writing int64       // the height being written; 0: none
	restore *restore    // the snapshot being restored, if any
}

// New returns a Manager of the snapshots in cfg.Dir of db's state: it
// creates the directory, removes what an interrupted write left, and lists
// the snapshots there (skipping, with a warning, any that is damaged or of
// another chain).
func New(cfg Config, logger *slog.Logger, db *store.DB) (*Manager, error) {
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.ChunkSize < MinChunkSize || cfg.ChunkSize > MaxChunkSize {
		return nil, fmt.Errorf("snapshot chunk size %d: want %d to %d bytes", cfg.ChunkSize, MinChunkSize, MaxChunkSize)
	}
	if cfg.Keep < 1 {
		cfg.Keep = 1
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	m := &Manager{cfg: cfg, log: logger.With("component", "snapshots"), db: db}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if err := m.scan(); err != nil {
		return nil, err
	}
	return m, nil
}

// scan lists the snapshots in the directory and removes partial ones.
func (m *Manager) scan() error {
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil {
		return fmt.Errorf("snapshots: list %s: %w", m.cfg.Dir, err)
	}
	for _, e := range entries {
		path := filepath.Join(m.cfg.Dir, e.Name())
		if strings.HasSuffix(e.Name(), ".partial") {
			if err := os.RemoveAll(path); err != nil {
				return fmt.Errorf("snapshots: remove the unfinished %s: %w", path, err)
			}
			continue
		}
		h, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || !e.IsDir() {
			continue
		}
		meta, err := readMetadata(path)
		if err == nil && (meta.Height != h || meta.ChainID != m.cfg.ChainID) {
			err = fmt.Errorf("it holds height %d of chain %s", meta.Height, meta.ChainID)
		}
		if err != nil {
			m.log.Warn("skipping a snapshot that cannot be served: move it away, or delete it", "dir", path, "err", err)
			continue
		}
		m.snaps = append(m.snaps, meta)
	}
	slices.SortFunc(m.snaps, func(a, b *Metadata) int { return cmpHeight(a.Height, b.Height) })
	return nil
}

func cmpHeight(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readMetadata reads and decodes the metadata file of a snapshot directory.
func readMetadata(dir string) (*Metadata, error) {
	f, err := os.Open(filepath.Join(dir, metadataFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxMetadataBytes+1))
	if err != nil {
		return nil, err
	}
	return DecodeMetadata(b)
}

// File names in a snapshot directory.
const metadataFile = "metadata"

func chunkFile(i int) string { return fmt.Sprintf("chunk-%06d", i) }

func (m *Manager) snapshotDir(height uint64) string {
	return filepath.Join(m.cfg.Dir, strconv.FormatUint(height, 10))
}

// Close stops a snapshot being written (it is discarded) and waits for it.
// A restore in progress is left as it is: the store discards it at its
// next Open. Calling Close again does nothing.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

// Committed is called after the commit of every height, on the consensus
// path: when the height is due for a snapshot it pins a read-only view of
// the store at that height (a Badger read transaction, at once) and writes
// the snapshot in the background. It does nothing while the snapshot
// before is still being written (with a warning), or when the height
// already has one.
func (m *Manager) Committed(height int64) {
	if m.cfg.Interval == 0 || height <= 0 || uint64(height)%m.cfg.Interval != 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.has(uint64(height)) {
		return
	}
	if m.writing != 0 {
		m.log.Warn("snapshot skipped: the one before is still being written; if this repeats, raise statesync.snapshot_interval in evidenced.toml",
			"height", height, "writing", m.writing)
		return
	}
	snap := m.db.Snapshot()
	if snap.Height() != height {
		// Committed runs right after the commit, before the next one.
		snap.Close()
		m.log.Warn("snapshot skipped: the store is not at the height just committed", "height", height, "store_height", snap.Height())
		return
	}
	m.writing = height
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		start := time.Now()
		meta, err := m.write(m.ctx, snap)
		m.mu.Lock()
		m.writing = 0
		m.mu.Unlock()
		switch {
		case err == nil:
			m.log.Info("snapshot taken", "height", height, "chunks", len(meta.Chunks), "pairs", meta.Pairs,
				"hash", meta.Hash().String(), "dur", time.Since(start).Round(time.Millisecond))
		case errors.Is(err, context.Canceled):
			m.log.Info("snapshot abandoned: the node is stopping", "height", height)
		default:
			m.log.Error("snapshot failed; the node serves the snapshots it has", "height", height, "err", err)
		}
	}()
}

// has reports whether a snapshot of height is listed; the caller holds mu.
func (m *Manager) has(height uint64) bool {
	return slices.ContainsFunc(m.snaps, func(s *Metadata) bool { return s.Height == height })
}

// Create takes a snapshot of the store's committed state now and writes
// it before it returns (Committed does the same in the background). It
// fails while another snapshot is being written.
func (m *Manager) Create(ctx context.Context) (*Metadata, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errors.New("snapshots: closed")
	}
	if m.writing != 0 {
		m.mu.Unlock()
		return nil, fmt.Errorf("snapshots: the snapshot of height %d is being written; try again when it is done", m.writing)
	}
	snap := m.db.Snapshot()
	if snap.Height() <= 0 {
		m.mu.Unlock()
		snap.Close()
		return nil, fmt.Errorf("snapshots: nothing to snapshot: the store is at height %d", snap.Height())
	}
	m.writing = snap.Height()
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.writing = 0
		m.mu.Unlock()
	}()
	return m.write(ctx, snap)
}

// write writes the snapshot of snap (and closes it), lists it and prunes
// the oldest beyond Keep.
func (m *Manager) write(ctx context.Context, snap *store.Snapshot) (*Metadata, error) {
	defer snap.Close()
	height, appHash, t, err := snap.Committed()
	if err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", snap.Height(), err)
	}
	if len(appHash) != crypto.HashSize {
		return nil, fmt.Errorf("snapshot of height %d: the committed app hash is %d bytes, want %d", height, len(appHash), crypto.HashSize)
	}
	final := m.snapshotDir(uint64(height))
	tmp := filepath.Join(m.cfg.Dir, "."+strconv.FormatInt(height, 10)+".partial")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	w := &chunkWriter{dir: tmp, size: m.cfg.ChunkSize}
	err = snap.Export(func(key, value []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return w.add(key, value)
	})
	if err == nil {
		err = w.close()
	} else {
		w.abandon()
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	meta := &Metadata{ChainID: m.cfg.ChainID, Height: uint64(height), AppHash: crypto.Hash(appHash), Time: t,
		Schema: store.SchemaVersion, Pairs: w.pairs, Chunks: w.hashes}
	if len(meta.Chunks) == 0 {
		return nil, fmt.Errorf("snapshot of height %d: the store holds no state", height)
	}
	if err := writeSynced(filepath.Join(tmp, metadataFile), meta.Encode()); err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	ok = true
	if err := atomicfile.SyncDir(m.cfg.Dir); err != nil {
		return nil, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	m.mu.Lock()
	m.snaps = slices.DeleteFunc(m.snaps, func(s *Metadata) bool { return s.Height == meta.Height })
	m.snaps = append(m.snaps, meta)
	slices.SortFunc(m.snaps, func(a, b *Metadata) int { return cmpHeight(a.Height, b.Height) })
	var prune []*Metadata
	if extra := len(m.snaps) - m.cfg.Keep; extra > 0 {
		prune = slices.Clone(m.snaps[:extra])
		m.snaps = slices.Delete(m.snaps, 0, extra)
	}
	m.mu.Unlock()
	for _, p := range prune {
		if err := os.RemoveAll(m.snapshotDir(p.Height)); err != nil {
			m.log.Warn("could not remove an old snapshot; remove it by hand", "height", p.Height, "err", err)
		}
	}
	return meta, nil
}

// writeSynced writes a new file and syncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// List returns the snapshots this node serves, oldest first.
func (m *Manager) List() []Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Snapshot, 0, len(m.snaps))
	for _, s := range m.snaps {
		h := s.Hash()
		out = append(out, Snapshot{Height: s.Height, Format: Format, Chunks: uint32(len(s.Chunks)), Hash: h[:], Metadata: s.Encode()})
	}
	return out
}

// LoadChunk returns chunk index of the snapshot of height in format, or
// nil when this node does not hold it. A chunk whose SM3 on disk is not
// the one its metadata lists is not served: the snapshot is dropped, with
// an error in the log.
func (m *Manager) LoadChunk(height uint64, format, index uint32) ([]byte, error) {
	if format != Format {
		return nil, nil
	}
	m.mu.Lock()
	i := slices.IndexFunc(m.snaps, func(s *Metadata) bool { return s.Height == height })
	var meta *Metadata
	if i >= 0 {
		meta = m.snaps[i]
	}
	m.mu.Unlock()
	if meta == nil || index >= uint32(len(meta.Chunks)) {
		return nil, nil
	}
	path := filepath.Join(m.snapshotDir(height), chunkFile(int(index)))
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // pruned meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("load snapshot chunk %d of height %d: %w", index, height, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxChunkBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load snapshot chunk %d of height %d: %w", index, height, err)
	}
	if got := crypto.SM3(b); got != meta.Chunks[index] {
		m.log.Error("a snapshot chunk on disk is damaged: the snapshot is no longer served, and removed",
			"height", height, "chunk", index, "file", path)
		m.mu.Lock()
		m.snaps = slices.DeleteFunc(m.snaps, func(s *Metadata) bool { return s == meta })
		m.mu.Unlock()
		_ = os.RemoveAll(m.snapshotDir(height))
		return nil, nil
	}
	return b, nil
}
