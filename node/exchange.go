package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/evidenced/evidenced/abci"
	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// roster is the genesis roster's libp2p side: which peer is which member,
// where to reach it, and who keeps replicas of whose originals. The roster
// is fixed at genesis, so it is read once.
type roster struct {
	byPeer map[peer.ID]string
	addr   map[string]peer.AddrInfo
	names  []string // members with a peer, by name
}

func loadRoster(gs *ledger.GenesisState) (*roster, error) {
	r := &roster{byPeer: map[peer.ID]string{}, addr: map[string]peer.AddrInfo{}}
	for _, m := range gs.Members {
		if m.Peer == "" {
			continue
		}
		id, err := peer.Decode(m.Peer)
		if err != nil {
			return nil, fmt.Errorf("roster member %s: peer id %q: %w", m.Name, m.Peer, err)
		}
		info := peer.AddrInfo{ID: id}
		for _, a := range m.Addrs {
			ma, err := multiaddr.NewMultiaddr(a)
			if err != nil {
				return nil, fmt.Errorf("roster member %s: address %q: %w", m.Name, a, err)
			}
			info.Addrs = append(info.Addrs, ma)
		}
		r.byPeer[id], r.addr[m.Name] = m.Name, info
		r.names = append(r.names, m.Name)
	}
	slices.Sort(r.names)
	return r, nil
}

// replicas returns the k members after owner in name order (wrapping),
// which keep copies of owner's originals. Every node computes the same.
func (r *roster) replicas(owner string, k int) []string {
	i, found := slices.BinarySearch(r.names, owner)
	if !found {
		i-- // start after where owner would be
	}
	var out []string
	for j := 1; j < len(r.names) && len(out) < k; j++ {
		m := r.names[(i+j+len(r.names))%len(r.names)]
		if m != owner {
			out = append(out, m)
		}
	}
	return out
}

// startExchange starts the libp2p host of the exchange of originals, when
// the node is configured with a listen address.
func (n *Node) startExchange() error {
	if n.cfg.Originals.Listen == "" {
		return nil
	}
	gs, err := ledger.ParseGenesisState(n.genesis.AppState)
	if err != nil {
		return err
	}
	if n.roster, err = loadRoster(gs); err != nil {
		return err
	}
	id, err := exchange.Identity(n.memberKey)
	if err != nil {
		return err
	}
	pid, err := peer.IDFromPrivateKey(id)
	if err != nil {
		return err
	}
	if n.roster.byPeer[pid] != n.cfg.Member {
		// Like a member key the roster does not hold for vote extensions:
		// the node still takes part in consensus, without originals.
		n.log.Error("the exchange of originals is off: this node's libp2p peer id (derived from its member key) is not its member's peer in the roster; the member key or the genesis is not this member's",
			"peer", pid.String(), "member", n.cfg.Member)
		return nil
	}
	n.p2p, err = exchange.New(exchange.Config{
		Identity:    id,
		ListenAddrs: []string{n.cfg.Originals.Listen},
		Members: func(p peer.ID) (string, bool) {
			m, ok := n.roster.byPeer[p]
			return m, ok
		},
		Authorize:  n.authorizeFetch,
		AcceptPush: n.acceptPush,
		Store:      blobAdapter{n.blobs},
		MaxSize:    n.cfg.Originals.MaxUploadBytes + 1<<20,
		Logger:     n.log.With("component", "exchange"),
	})
	if err != nil {
		return fmt.Errorf("start the exchange of originals on %s: %w", n.cfg.Originals.Listen, err)
	}
	n.replicate = make(chan crypto.Hash, 1024)
	n.bg.Add(2)
	go n.replicator()
	go n.catchUp()
	if every := time.Duration(n.cfg.Originals.ScrubInterval); every > 0 {
		n.bg.Add(1)
		go n.scrubber(every)
	}
	return nil
}

// errStopping is returned by withView once the node's store is closed.
var errStopping = errors.New("the node is stopping")

// withView calls fn with a view of committed state and its height.
func (n *Node) withView(fn func(v *ledger.View, height int64) error) error {
	db := n.db
	if db == nil {
		return errStopping
	}
	snap := db.Snapshot()
	defer snap.Close()
	return fn(ledger.NewView(snap), snap.Height())
}

// recordsOf returns the committed records whose kept original is addr, with
// the view and block time they were read at.
func (n *Node) recordsOf(addr crypto.Hash) (*ledger.View, []ledger.RecordRef, int64, func(), error) {
	db := n.db
	if db == nil {
		return nil, nil, 0, nil, errors.New("the node is stopping")
	}
	snap := db.Snapshot()
	v := ledger.NewView(snap)
	refs, err := v.ByCipher(addr, 16)
	if err != nil {
		snap.Close()
		return nil, nil, 0, nil, err
	}
	t, _ := db.CommittedTime()
	return v, refs, t, snap.Close, nil
}

// errNotServed is what a refused requester is told: nothing about whether
// the original exists.
var errNotServed = errors.New("not authorised for this original on this node's committed state: the owner must grant it to you first")

// authorizeFetch lets a member fetch a ciphertext it owns, holds a live
// grant for, or keeps as a replica of its owner.
func (n *Node) authorizeFetch(member string, addr crypto.Hash) error {
	v, refs, t, done, err := n.recordsOf(addr)
	if err != nil {
		return errNotServed
	}
	defer done()
	for _, ref := range refs {
		if _, _, err := v.Authorize(member, ref, t); err == nil {
			return nil
		}
		if _, owner, ok := recordOwner(v, ref); ok && slices.Contains(n.roster.replicas(owner, n.cfg.Originals.Replicas), member) {
			return nil
		}
	}
	return errNotServed
}

// acceptPush stores a replica when member owns a committed record of that
// original, of that size, and this node is one of its replicas.
func (n *Node) acceptPush(member string, addr crypto.Hash, size int64) error {
	if !slices.Contains(n.roster.replicas(member, n.cfg.Originals.Replicas), n.cfg.Member) {
		return fmt.Errorf("%s is not one of %s's replicas", n.cfg.Member, member)
	}
	v, refs, _, done, err := n.recordsOf(addr)
	if err != nil {
		return err
	}
	defer done()
	for _, ref := range refs {
		if r, owner, ok := recordOwner(v, ref); ok && owner == member && int64(r.CipherSize) == size {
			return nil
		}
	}
	return errors.New("no committed record of yours names this original with this size (yet): push after the block commits")
}

// noteCommitted queues this member's newly committed originals for
// replication. It runs on the consensus goroutine: it only queues.
func (n *Node) noteCommitted(b abci.CommittedBlock) {
	if n.p2p == nil {
		return
	}
	ledger.EachTx(b.Txs, func(r *ledger.TxResult) {
		if r.Code != ledger.CodeOK || r.Signer != n.cfg.Member || (r.Type != ledger.TxEvidence && r.Type != ledger.TxBatch) {
			return
		}
		n.pendingEntries.add(r.Index)
	})
	select {
	case n.replicate <- crypto.Hash{}: // wake the replicator
	default:
	}
}

// entryQueue is a set of committed entry indexes waiting for replication.
type entryQueue struct {
	mu sync.Mutex
	q  []uint64
}

func (e *entryQueue) add(i uint64) {
	e.mu.Lock()
	e.q = append(e.q, i)
	e.mu.Unlock()
}

func (e *entryQueue) take() []uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.q
	e.q = nil
	return q
}

// replicator pushes this member's committed originals to its replicas,
// retrying each with backoff while the node runs.
func (n *Node) replicator() {
	defer n.bg.Done()
	for {
		select {
		case <-n.stopping:
			return
		case <-n.replicate:
		}
		for _, idx := range n.pendingEntries.take() {
			for _, addr := range n.keptOriginals(idx) {
				for _, m := range n.roster.replicas(n.cfg.Member, n.cfg.Originals.Replicas) {
					n.bg.Add(1)
					go n.pushWithRetry(m, addr)
				}
			}
		}
	}
}

// catchUp pushes, once at start, every original this member owns and holds
// to its replicas: pushes queued before a crash or stop are not lost, and a
// replica that already holds one answers at once.
func (n *Node) catchUp() {
	defer n.bg.Done()
	var own []crypto.Hash
	err := n.blobs.List(func(addr crypto.Hash, _ int64) error {
		select {
		case <-n.stopping:
			return errors.New("stopping")
		default:
		}
		if n.owns(addr) {
			own = append(own, addr)
		}
		return nil
	})
	if err != nil {
		return
	}
	for _, addr := range own {
		for _, m := range n.roster.replicas(n.cfg.Member, n.cfg.Originals.Replicas) {
			n.bg.Add(1)
			go n.pushWithRetry(m, addr)
		}
	}
	if len(own) > 0 {
		n.log.Info("replicating this member's originals", "originals", len(own), "replicas", n.roster.replicas(n.cfg.Member, n.cfg.Originals.Replicas))
	}
}

// owns reports whether a committed record of this member names addr.
func (n *Node) owns(addr crypto.Hash) bool {
	v, refs, _, done, err := n.recordsOf(addr)
	if err != nil {
		return false
	}
	defer done()
	for _, ref := range refs {
		if _, owner, ok := recordOwner(v, ref); ok && owner == n.cfg.Member {
			return true
		}
	}
	return false
}

// recordOwner returns the record ref names and the member that owns its
// evidence chain; false when either cannot be read.
func recordOwner(v *ledger.View, ref ledger.RecordRef) (*ledger.Record, string, bool) {
	r, _, _, err := v.Record(ref)
	if err != nil {
		return nil, "", false
	}
	ci, err := v.Chain(r.Chain)
	if err != nil {
		return nil, "", false
	}
	return r, ci.Owner, true
}

// fetchCopy gets ciphertext addr into the store from owner's node, else
// from one of owner's replicas, and returns the member that served it.
func (n *Node) fetchCopy(ctx context.Context, owner string, addr crypto.Hash) (string, error) {
	var errs []error
	for _, m := range append([]string{owner}, n.roster.replicas(owner, n.cfg.Originals.Replicas)...) {
		info, ok := n.roster.addr[m]
		if !ok || m == n.cfg.Member {
			continue
		}
		err := n.p2p.Connect(ctx, info)
		if err == nil {
			err = n.p2p.Fetch(ctx, info.ID, addr)
		}
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("from %s: %w", m, err))
	}
	return "", fmt.Errorf("%w: %w", ErrNoCopy, errors.Join(errs...))
}

// keptOriginals returns the cipher addresses of the kept originals of
// committed entry idx that this node holds.
func (n *Node) keptOriginals(idx uint64) []crypto.Hash {
	var tx *ledger.Tx
	if err := n.withView(func(v *ledger.View, _ int64) (err error) {
		_, tx, err = v.Entry(idx)
		return err
	}); err != nil {
		return nil
	}
	recs := tx.Body.EvidenceRecords()
	var out []crypto.Hash
	for _, r := range recs {
		if r.Cipher != nil && len(r.OwnerKey) > 0 && n.blobs.Has(*r.Cipher) {
			out = append(out, *r.Cipher)
		}
	}
	return out
}

func (n *Node) pushWithRetry(member string, addr crypto.Hash) {
	defer n.bg.Done()
	info, ok := n.roster.addr[member]
	if !ok {
		return
	}
	ctx, cancel := n.untilStop()
	defer cancel()
	wait := time.Second
	for attempt := 1; ; attempt++ {
		err := n.p2p.Connect(ctx, info)
		if err == nil {
			err = n.p2p.Push(ctx, info.ID, addr)
		}
		if err == nil || errors.Is(err, exchange.ErrAddressMismatch) {
			if err == nil {
				n.log.Debug("original replicated", "to", member, "addr", addr.String()[:16])
			}
			return
		}
		if ctx.Err() != nil || attempt == 12 {
			n.log.Warn("could not replicate an original; the scrub will retry", "to", member, "addr", addr.String()[:16], "err", err)
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// ErrNoCopy is returned by FetchOriginal when no member node could serve
// the ciphertext.
var ErrNoCopy = errors.New("no member node served the original")

// Fetched describes an original FetchOriginal wrote.
type Fetched = api.Fetched

// FetchOriginal retrieves the original of ref for this node's member:
// it logs the access on chain first (as owner, or through the member's live
// grant), gets the ciphertext (held here, or from the owner's node, else
// from a replica), decrypts it with the member key and checks it against
// the record's commitment while writing the plaintext to w. If the check
// fails after bytes were written, w holds a prefix of garbage: write to a
// temporary file and keep it only on success.
func (n *Node) FetchOriginal(ctx context.Context, ref ledger.RecordRef, w io.Writer) (*Fetched, error) {
	if n.p2p == nil {
		return nil, errors.New("this node does not exchange originals: set originals.listen in evidenced.toml")
	}
	snap := n.db.Snapshot()
	v := ledger.NewView(snap)
	t, _ := n.db.CommittedTime()
	r, _, _, err := v.Record(ref)
	if err != nil {
		snap.Close()
		return nil, err
	}
	grant, via, err := v.Authorize(n.cfg.Member, ref, t)
	if err != nil {
		snap.Close()
		return nil, err
	}
	wrapped := r.OwnerKey
	if via {
		g, err := v.Grant(grant)
		if err != nil {
			snap.Close()
			return nil, err
		}
		wrapped = nil
		for _, k := range g.Keys {
			if k.Ref == ref {
				wrapped = k.Wrapped
			}
		}
	}
	ci, err := v.Chain(r.Chain)
	snap.Close()
	if err != nil {
		return nil, err
	}
	out := &Fetched{Ref: ref, Record: *r, Grant: grant, Via: via}

	// The access is on chain before anything is decrypted.
	body := &ledger.Body{ChainID: n.genesis.ChainID, Time: time.Now().UnixNano(),
		Payload: &ledger.Access{Ref: ref, ViaGrant: via, Grant: grant}}
	tx, err := ledger.SignTx(n.memberKey, rand.Reader, body)
	if err != nil {
		return nil, err
	}
	c, err := (&backend{n: n}).Submit(ctx, tx, true)
	if err != nil {
		return nil, fmt.Errorf("log the access on chain: %w", err)
	}
	out.Access = c.Result.Index

	addr := *r.Cipher
	if !n.blobs.Has(addr) {
		if out.From, err = n.fetchCopy(ctx, ci.Owner, addr); err != nil {
			return out, err
		}
	}
	key, salt, err := blob.UnwrapKey(n.memberKey, wrapped)
	if err != nil {
		return out, fmt.Errorf("unwrap the data key of record %d.%d with the member key: %w", ref.Index, ref.Pos, err)
	}
	defer clear(key[:])
	out.Salt = salt
	out.Size, err = n.blobs.DecryptCommitted(addr, key, salt, r.Commitment, w)
	if err != nil {
		return out, fmt.Errorf("decrypt original of record %d.%d: %w", ref.Index, ref.Pos, err)
	}
	return out, nil
}

// blobAdapter gives the exchange the blob store with the errors it names.
type blobAdapter struct{ s *blob.Store }

func mapBlobErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, blob.ErrNotFound):
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	case errors.Is(err, blob.ErrBusy):
		return fmt.Errorf("%w: %w", exchange.ErrBusy, err)
	case errors.Is(err, blob.ErrAddressMismatch):
		return fmt.Errorf("%w: %w", exchange.ErrAddressMismatch, err)
	}
	return err
}

func (a blobAdapter) Has(addr crypto.Hash) bool { return a.s.Has(addr) }

func (a blobAdapter) Size(addr crypto.Hash) (int64, error) {
	n, err := a.s.Size(addr)
	return n, mapBlobErr(err)
}

func (a blobAdapter) OpenBlob(addr crypto.Hash) (io.ReadSeekCloser, error) {
	f, err := a.s.OpenBlob(addr)
	if err != nil {
		return nil, mapBlobErr(err)
	}
	return f, nil
}

func (a blobAdapter) Receive(addr crypto.Hash, size int64) (exchange.Incoming, error) {
	in, err := a.s.Receive(addr, size)
	if err != nil {
		return nil, mapBlobErr(err)
	}
	return incomingAdapter{in}, nil
}

type incomingAdapter struct{ *blob.Incoming }

func (i incomingAdapter) Commit() error { return mapBlobErr(i.Incoming.Commit()) }

// Scrub rehashes every original this node holds; a corrupt one is moved
// aside by the store and fetched again from the owner's node or a replica.
// It returns how many were checked, found corrupt and repaired.
func (n *Node) Scrub(ctx context.Context) (checked, corrupt, repaired int, err error) {
	var bad []crypto.Hash
	checked, corrupt, err = n.blobs.Scrub(ctx, func(addr crypto.Hash, err error) {
		n.log.Warn("corrupt original found by the scrub; fetching it again", "addr", addr.String()[:16], "err", err)
		bad = append(bad, addr)
	})
	if err != nil {
		return checked, corrupt, 0, fmt.Errorf("scrub the originals: %w", err)
	}
	for _, addr := range bad {
		if err := n.refetch(ctx, addr); err != nil {
			n.log.Error("could not repair a corrupt original", "addr", addr.String()[:16], "err", err)
			continue
		}
		repaired++
	}
	return checked, corrupt, repaired, nil
}

// refetch gets addr again from the owner's node or one of its replicas.
func (n *Node) refetch(ctx context.Context, addr crypto.Hash) error {
	if n.p2p == nil {
		return errors.New("this node does not exchange originals")
	}
	v, refs, _, done, err := n.recordsOf(addr)
	if err != nil {
		return err
	}
	var owner string
	for _, ref := range refs {
		if _, o, ok := recordOwner(v, ref); ok {
			owner = o
			break
		}
	}
	done()
	if owner == "" {
		return errors.New("no committed record names this original")
	}
	from, err := n.fetchCopy(ctx, owner, addr)
	if err != nil {
		return err
	}
	n.log.Info("corrupt original repaired", "addr", addr.String()[:16], "from", from)
	return nil
}

// scrubber runs Scrub every originals.scrub_interval while the node runs.
func (n *Node) scrubber(every time.Duration) {
	defer n.bg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-n.stopping:
			return
		case <-t.C:
		}
		ctx, cancel := n.untilStop()
		checked, corrupt, repaired, err := n.Scrub(ctx)
		if err != nil {
			cancel()
			n.log.Error("scrub failed", "err", err)
			continue
		}
		orphans, err := n.SweepOrphans(ctx, orphanAge)
		cancel()
		if err != nil {
			n.log.Error("orphan sweep failed", "err", err)
		}
		n.log.Info("originals scrubbed", "checked", checked, "corrupt", corrupt, "repaired", repaired, "orphans_removed", orphans)
	}
}

// orphanAge is how long a ciphertext that no committed record names is
// kept before the scrub removes it: an upload's record is committed within
// seconds, or never.
const orphanAge = time.Hour

// SweepOrphans removes the ciphertexts older than olderThan that no
// committed record names: uploads whose record was rejected or never
// committed. It returns how many it removed.
func (n *Node) SweepOrphans(ctx context.Context, olderThan time.Duration) (int, error) {
	var orphans []crypto.Hash
	err := n.blobs.List(func(addr crypto.Hash, _ int64) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, refs, _, done, err := n.recordsOf(addr)
		if err != nil {
			return err
		}
		done()
		if len(refs) > 0 {
			return nil
		}
		f, err := n.blobs.OpenBlob(addr)
		if err != nil {
			return nil // removed meanwhile
		}
		fi, err := f.Stat()
		f.Close()
		if err == nil && time.Since(fi.ModTime()) >= olderThan {
			orphans = append(orphans, addr)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep orphan originals: %w", err)
	}
	removed := 0
	for _, addr := range orphans {
		if err := n.blobs.Remove(addr); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return removed, fmt.Errorf("remove orphan original %s: %w", addr.String()[:16], err)
		}
		n.log.Info("removed an original no committed record names", "addr", addr.String()[:16])
		removed++
	}
	return removed, nil
}

// untilStop returns a context cancelled when the node stops (or cancel is
// called).
func (n *Node) untilStop() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-n.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
