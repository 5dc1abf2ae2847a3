package exchange_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// testTimeout bounds every network call of a test.
const testTimeout = 30 * time.Second

// roster maps peer IDs to member names. Safe for concurrent use.
type roster struct {
	mu sync.Mutex
	m  map[peer.ID]string
}

func (r *roster) add(id peer.ID, member string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[peer.ID]string)
	}
	r.m[id] = member
}

func (r *roster) remove(id peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, id)
}

func (r *roster) lookup(id peer.ID) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.m[id]
	return m, ok
}

// calls records the arguments of Authorize or AcceptPush calls.
type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

func (c *calls) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// node is one member host in a test.
type node struct {
	name      string
	h         *exchange.Host
	store     *memStore
	authorize calls
	accept    calls
}

// nodeOpts tunes a test node.
type nodeOpts struct {
	store      *memStore
	maxStreams int
	idle       time.Duration // default testTimeout
	// deny lists members Authorize refuses; acceptPush false refuses pushes.
	deny       map[string]bool
	acceptPush bool
}

// newNode starts a host for member name on loopback, with r as its roster
// and an identity derived from a fresh SM2 key, and adds it to onRoster.
func newNode(t *testing.T, name string, r *roster, onRoster *roster, o nodeOpts) *node {
	t.Helper()
	key, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := exchange.Identity(key)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := exchange.PeerID(key)
	if err != nil {
		t.Fatal(err)
	}
	if onRoster != nil {
		onRoster.add(pid, name)
	}
	n := &node{name: name, store: o.store}
	if n.store == nil {
		n.store = newMemStore()
	}
	cfg := exchange.Config{
		Identity:    id,
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Members:     r.lookup,
		Authorize: func(member string, addr crypto.Hash) error {
			n.authorize.add("%s %s", member, addr)
			if o.deny[member] {
				return errors.New("no grant on record")
			}
			return nil
		},
		Store:       n.store,
		MaxStreams:  o.maxStreams,
		IdleTimeout: testTimeout,
	}
	if o.idle > 0 {
		cfg.IdleTimeout = o.idle
	}
	if o.acceptPush {
		cfg.AcceptPush = func(member string, addr crypto.Hash, size int64) error {
			n.accept.add("%s %s %d", member, addr, size)
			return nil
		}
	}
	h, err := exchange.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID() != pid {
		t.Fatalf("host ID %s, PeerID %s", h.ID(), pid)
	}
	n.h = h
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
	})
	return n
}

// connect connects a to b through b's advertised addresses.
func connect(t *testing.T, a, b *node) {
	t.Helper()
	infos, err := peer.AddrInfosFromP2pAddrs(b.h.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].ID != b.h.ID() {
		t.Fatalf("Addrs of %s = %v", b.name, b.h.Addrs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := a.h.Connect(ctx, infos[0]); err != nil {
		t.Fatalf("connect %s to %s: %v", a.name, b.name, err)
	}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func randomBlob(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// blobSize spans several copy buffers and ends mid-buffer.
const blobSize = 3*256<<10 + 12345

func TestFetch(t *testing.T) {
	var r roster
	a := newNode(t, "bank-a", &r, &r, nodeOpts{})
	c := newNode(t, "court-c", &r, &r, nodeOpts{})
	connect(t, c, a)

	tests := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"multi buffer", blobSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := randomBlob(t, tt.size)
			addr := a.store.put(want)
			if c.store.Has(addr) {
				t.Fatal("blob visible before fetch")
			}
			if err := c.h.Fetch(testCtx(t), a.h.ID(), addr); err != nil {
				t.Fatal(err)
			}
			got, ok := c.store.get(addr)
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("fetched %d bytes (ok=%v), want the %d served", len(got), ok, len(want))
			}
			if a.authorize.get()[len(a.authorize.get())-1] != "court-c "+addr.String() {
				t.Fatalf("Authorize calls %q", a.authorize.get())
			}
			if _, ok := c.store.partialLen(addr); ok {
				t.Error("partial left after commit")
			}
			// Already held: no second transfer.
			opens := len(a.store.servedOffsets())
			if err := c.h.Fetch(testCtx(t), a.h.ID(), addr); err != nil {
				t.Fatal(err)
			}
			if n := len(a.store.servedOffsets()); n != opens {
				t.Errorf("second Fetch of a held blob served again")
			}
		})
	}
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	if c.store.sawBlob {
		t.Error("blob was visible while it was being received")
	}
}

func TestFetchRefused(t *testing.T) {
	var r roster
	a := newNode(t, "bank-a", &r, &r, nodeOpts{deny: map[string]bool{"court-c": true}})
	c := newNode(t, "court-c", &r, &r, nodeOpts{})
	connect(t, c, a)
	held := a.store.put(randomBlob(t, 1000))
	missing := crypto.SM3([]byte("not stored anywhere"))

	tests := []struct {
		name     string
		addr     crypto.Hash
		wantErr  error
		wantText []string
	}{
		{"forbidden", held, exchange.ErrForbidden, []string{`"court-c"`, "grant", "no grant on record"}},
		// Authorization comes first, so a refused member learns nothing.
		{"forbidden when missing", missing, exchange.ErrForbidden, []string{`"court-c"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.h.Fetch(testCtx(t), a.h.ID(), tt.addr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Fetch error %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if c.store.Has(tt.addr) {
				t.Error("refused blob stored")
			}
			if _, ok := c.store.partialLen(tt.addr); ok {
				t.Error("refused fetch left a partial")
			}
		})
	}

	t.Run("not found", func(t *testing.T) {
		d := newNode(t, "notary-d", &r, &r, nodeOpts{})
		connect(t, d, a)
		err := d.h.Fetch(testCtx(t), a.h.ID(), missing)
		if !errors.Is(err, exchange.ErrNotFound) {
			t.Fatalf("Fetch error %v, want ErrNotFound", err)
		}
		if d.store.Has(missing) {
			t.Error("missing blob stored")
		}
	})
}

func TestFetchResume(t *testing.T) {
	const cut = 300_000
	tests := []struct {
		name string
		// server and client knobs for the first, failing transfer
		serverFailAfter int64
		clientFailAfter int64
		// wantOffset is the offset the second fetch must ask for; -1: the
		// partial length, whatever arrived before the server failed.
		wantOffset int64
	}{
		{"client disk full", 0, cut, cut},
		{"server read error", cut, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r roster
			as, cs := newMemStore(), newMemStore()
			as.failReadAfter = tt.serverFailAfter
			cs.failWriteAfter = tt.clientFailAfter
			a := newNode(t, "bank-a", &r, &r, nodeOpts{store: as})
			c := newNode(t, "court-c", &r, &r, nodeOpts{store: cs})
			connect(t, c, a)
			want := randomBlob(t, blobSize)
			addr := a.store.put(want)

			if err := c.h.Fetch(testCtx(t), a.h.ID(), addr); err == nil {
				t.Fatal("first Fetch succeeded despite the failure")
			}
			if c.store.Has(addr) {
				t.Fatal("interrupted fetch made the blob visible")
			}
			held, ok := c.store.partialLen(addr)
			if !ok {
				t.Fatal("no partial kept for resume")
			}
			wantOff := tt.wantOffset
			if wantOff < 0 {
				if held > cut {
					t.Fatalf("partial %d bytes, server sent at most %d", held, cut)
				}
				wantOff = int64(held)
			} else if int64(held) != wantOff {
				t.Fatalf("partial %d bytes, want %d", held, wantOff)
			}

			if err := c.h.Fetch(testCtx(t), a.h.ID(), addr); err != nil {
				t.Fatal(err)
			}
			if got := a.store.servedOffsets(); len(got) != 2 || got[0] != 0 || got[1] != wantOff {
				t.Fatalf("served offsets %v, want [0 %d]", got, wantOff)
			}
			if got, _ := c.store.get(addr); !bytes.Equal(got, want) {
				t.Fatal("resumed blob differs")
			}
		})
	}
}

func TestFetchCancel(t *testing.T) {
	var r roster
	as := newMemStore()
	as.blockAt, as.blocked, as.release = 100_000, make(chan struct{}), make(chan struct{})
	a := newNode(t, "bank-a", &r, &r, nodeOpts{store: as})
	c := newNode(t, "court-c", &r, &r, nodeOpts{})
	connect(t, c, a)
	want := randomBlob(t, blobSize)
	addr := a.store.put(want)

	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- c.h.Fetch(ctx, a.h.ID(), addr) }()
	select {
	case <-as.blocked:
	case err := <-done:
		t.Fatalf("Fetch ended before the server blocked: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch error %v, want context.Canceled", err)
	}
	close(as.release)
	if c.store.Has(addr) {
		t.Fatal("cancelled fetch made the blob visible")
	}
	if err := c.h.Fetch(testCtx(t), a.h.ID(), addr); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.store.get(addr); !bytes.Equal(got, want) {
		t.Fatal("blob differs after a cancelled then resumed fetch")
	}
}

func TestFetchCorrupt(t *testing.T) {
	var r roster
	as := newMemStore()
	as.flip = true
	a := newNode(t, "bank-a", &r, &r, nodeOpts{store: as})
	c := newNode(t, "court-c", &r, &r, nodeOpts{})
	connect(t, c, a)
	addr := a.store.put(randomBlob(t, blobSize))

	err := c.h.Fetch(testCtx(t), a.h.ID(), addr)
	if !errors.Is(err, exchange.ErrAddressMismatch) {
		t.Fatalf("Fetch error %v, want ErrAddressMismatch", err)
	}
	if c.store.Has(addr) {
		t.Error("corrupt blob made visible")
	}
	if _, ok := c.store.partialLen(addr); ok {
		t.Error("corrupt partial kept")
	}
}

func TestPushReplicate(t *testing.T) {
	var r roster
	a := newNode(t, "bank-a", &r, &r, nodeOpts{})
	b := newNode(t, "notary-b", &r, &r, nodeOpts{acceptPush: true})
	c := newNode(t, "court-c", &r, &r, nodeOpts{})
	connect(t, a, b)
	connect(t, c, b)
	want := randomBlob(t, blobSize)
	addr := a.store.put(want)

	if err := a.h.Push(testCtx(t), b.h.ID(), addr); err != nil {
		t.Fatal(err)
	}
	if got := b.accept.get(); len(got) != 1 || got[0] != fmt.Sprintf("bank-a %s %d", addr, blobSize) {
		t.Fatalf("AcceptPush calls %q", got)
	}
	if got, _ := b.store.get(addr); !bytes.Equal(got, want) {
		t.Fatal("replica holds different bytes")
	}
	// The replica serves it on.
	if err := c.h.Fetch(testCtx(t), b.h.ID(), addr); err != nil {
		t.Fatal(err)
	}
	if got := b.authorize.get(); len(got) != 1 || got[0] != "court-c "+addr.String() {
		t.Fatalf("replica Authorize calls %q", got)
	}
	if got, _ := c.store.get(addr); !bytes.Equal(got, want) {
		t.Fatal("fetched from the replica: bytes differ")
	}
	// Pushing again sends nothing: the replica already holds it all.
	if err := a.h.Push(testCtx(t), b.h.ID(), addr); err != nil {
		t.Fatal(err)
	}
	if got := a.store.servedOffsets(); len(got) != 2 || got[0] != 0 || got[1] != blobSize {
		t.Fatalf("pusher offsets %v, want [0 %d]", got, blobSize)
	}
}

func TestPush(t *testing.T) {
	const held = 123_456
	tests := []struct {
		name       string
		flip       bool // pusher's copy is corrupt
		acceptPush bool
		partial    int // bytes the replica already holds
		wantErr    error
		wantOffset int64
	}{
		{name: "resume", acceptPush: true, partial: held, wantOffset: held},
		{name: "refused", acceptPush: false, wantErr: exchange.ErrForbidden},
		{name: "corrupt", acceptPush: true, flip: true, wantErr: exchange.ErrAddressMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r roster
			as := newMemStore()
			as.flip = tt.flip
			a := newNode(t, "bank-a", &r, &r, nodeOpts{store: as})
			b := newNode(t, "notary-b", &r, &r, nodeOpts{acceptPush: tt.acceptPush})
			connect(t, a, b)
			want := randomBlob(t, blobSize)
			addr := a.store.put(want)
			if tt.partial > 0 {
				b.store.partial[addr] = append([]byte(nil), want[:tt.partial]...)
			}

			err := a.h.Push(testCtx(t), b.h.ID(), addr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Push error %v, want %v", err, tt.wantErr)
			}
			got, ok := b.store.get(addr)
			if tt.wantErr != nil {
				if ok {
					t.Fatal("replica stored a refused or corrupt blob")
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatal("replica holds different bytes")
			}
			if off := a.store.servedOffsets(); len(off) != 1 || off[0] != tt.wantOffset {
				t.Fatalf("pushed from offsets %v, want [%d]", off, tt.wantOffset)
			}
		})
	}

	t.Run("not held", func(t *testing.T) {
		var r roster
		a := newNode(t, "bank-a", &r, &r, nodeOpts{})
		b := newNode(t, "notary-b", &r, &r, nodeOpts{acceptPush: true})
		connect(t, a, b)
		err := a.h.Push(testCtx(t), b.h.ID(), crypto.SM3([]byte("nothing")))
		if !errors.Is(err, exchange.ErrNotFound) {
			t.Fatalf("Push error %v, want ErrNotFound", err)
		}
	})
}

func TestNonMemberRefused(t *testing.T) {
	var r roster // the alliance roster: a only
	a := newNode(t, "bank-a", &r, &r, nodeOpts{acceptPush: true})
	addr := a.store.put(randomBlob(t, 1000))
	// The outsider's own roster lists a, so it does try to connect.
	var outsiders roster
	outsiders.add(a.h.ID(), "bank-a")
	o := newNode(t, "outsider", &outsiders, &outsiders, nodeOpts{})
	oAddr := o.store.put(randomBlob(t, 10))

	infos, err := peer.AddrInfosFromP2pAddrs(a.h.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	// The outsider's side of the handshake may complete before a's gater
	// closes the connection, so Connect itself may report success; no
	// stream gets through.
	err = o.h.Connect(testCtx(t), infos[0])
	t.Logf("outsider Connect: %v", err)
	if err := o.h.Fetch(testCtx(t), a.h.ID(), addr); err == nil {
		t.Error("outsider fetched from a member")
	} else {
		t.Logf("outsider Fetch: %v", err)
	}
	if o.store.Has(addr) {
		t.Error("outsider holds the blob")
	}
	if got := a.authorize.get(); len(got) != 0 {
		t.Errorf("Authorize called for an outsider: %q", got)
	}
	// The member will not talk to the outsider either.
	oInfos, err := peer.AddrInfosFromP2pAddrs(o.h.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.h.Connect(testCtx(t), oInfos[0]); !errors.Is(err, exchange.ErrNotMember) {
		t.Errorf("Connect to outsider: %v, want ErrNotMember", err)
	}
	if err := a.h.Fetch(testCtx(t), o.h.ID(), oAddr); !errors.Is(err, exchange.ErrNotMember) {
		t.Errorf("Fetch from outsider: %v, want ErrNotMember", err)
	}
	if err := a.h.Push(testCtx(t), o.h.ID(), addr); !errors.Is(err, exchange.ErrNotMember) {
		t.Errorf("Push to outsider: %v, want ErrNotMember", err)
	}
}

// TestRosterChange: the host follows a roster that changes while it
// runs. Prune disconnects a removed member's peer, which is refused when
// it dials again; a rotated member's new peer is admitted and its old one
// refused; a member added later is admitted.
func TestRosterChange(t *testing.T) {
	var r roster
	a := newNode(t, "bank-a", &r, &r, nodeOpts{})
	b := newNode(t, "bank-b", &r, &r, nodeOpts{})
	cOld := newNode(t, "court", &r, &r, nodeOpts{})
	held := a.store.put(randomBlob(t, 1000))
	for _, n := range []*node{b, cOld} {
		connect(t, n, a)
		if err := n.h.Fetch(testCtx(t), a.h.ID(), held); err != nil {
			t.Fatalf("%s fetches before the change: %v", n.name, err)
		}
	}
	if got := a.h.Prune(); len(got) != 0 {
		t.Fatalf("Prune with an unchanged roster disconnected %v", got)
	}

	// bank-b removed; court rotated to a new node; notary added. The
	// newcomers' own rosters are the new one.
	r.remove(b.h.ID())
	r.remove(cOld.h.ID())
	cNew := newNode(t, "court", &r, &r, nodeOpts{})
	d := newNode(t, "notary", &r, &r, nodeOpts{})
	got := a.h.Prune()
	want := []peer.ID{b.h.ID(), cOld.h.ID()}
	if want[1] < want[0] {
		want[0], want[1] = want[1], want[0]
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Prune = %v, want %v (bank-b and court's old node)", got, want)
	}
	for _, n := range []*node{b, cOld} {
		held2 := a.store.put(randomBlob(t, 100))
		// Its own roster still lists bank-a, so it redials: refused.
		if err := n.h.Fetch(testCtx(t), a.h.ID(), held2); err == nil {
			t.Errorf("%s (out of the roster) fetched after Prune", n.name)
		}
		if n.store.Has(held2) {
			t.Errorf("%s holds a blob fetched after it left the roster", n.name)
		}
		if err := a.h.Fetch(testCtx(t), n.h.ID(), held2); !errors.Is(err, exchange.ErrNotMember) {
			t.Errorf("bank-a fetches from %s after it left: %v, want ErrNotMember", n.name, err)
		}
	}
	for _, n := range []*node{cNew, d} {
		connect(t, n, a)
		if err := n.h.Fetch(testCtx(t), a.h.ID(), held); err != nil {
			t.Errorf("%s (joined the roster) cannot fetch: %v", n.name, err)
		}
	}
	if got := a.h.Prune(); len(got) != 0 {
		t.Errorf("second Prune disconnected %v", got)
	}
}

func TestBusy(t *testing.T) {
	var r roster
	as := newMemStore()
	as.blockAt, as.blocked, as.release = 0, make(chan struct{}), make(chan struct{})
	a := newNode(t, "bank-a", &r, &r, nodeOpts{store: as, maxStreams: 1})
	c := newNode(t, "court-c", &r, &r, nodeOpts{})
	d := newNode(t, "notary-d", &r, &r, nodeOpts{})
	connect(t, c, a)
	connect(t, d, a)
	want := randomBlob(t, blobSize)
	addr := a.store.put(want)

	done := make(chan error, 1)
	go func() { done <- c.h.Fetch(testCtx(t), a.h.ID(), addr) }()
	select { // c's transfer holds the only slot
	case <-as.blocked:
	case err := <-done:
		t.Fatalf("Fetch ended before the server blocked: %v", err)
	}

	if err := d.h.Fetch(testCtx(t), a.h.ID(), addr); !errors.Is(err, exchange.ErrBusy) {
		t.Errorf("second Fetch error %v, want ErrBusy", err)
	}
	if err := a.h.Push(testCtx(t), d.h.ID(), addr); err == nil {
		// d does not accept pushes: only checks that a's client side is not
		// limited by its own serving slots.
		t.Error("push to a node refusing replicas succeeded")
	} else if !errors.Is(err, exchange.ErrForbidden) {
		t.Errorf("push error %v, want ErrForbidden", err)
	}
	close(as.release)
	if err := <-done; err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	if got, _ := c.store.get(addr); !bytes.Equal(got, want) {
		t.Fatal("blob differs")
	}
	// The slot is free again.
	if err := d.h.Fetch(testCtx(t), a.h.ID(), addr); err != nil {
		t.Fatalf("Fetch after the slot freed: %v", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	var r roster
	as := newMemStore()
	as.blockAt, as.blocked, as.release = 1000, make(chan struct{}), make(chan struct{})
	a := newNode(t, "bank-a", &r, &r, nodeOpts{store: as})
	// The release must come before a's Close, which waits for its transfer.
	t.Cleanup(func() { close(as.release) })
	c := newNode(t, "court-c", &r, &r, nodeOpts{idle: 300 * time.Millisecond})
	connect(t, c, a)
	addr := a.store.put(randomBlob(t, blobSize))

	// The server stalls after 1000 bytes; the client gives up after one
	// idle period instead of waiting for its 30 s context.
	start := time.Now()
	err := c.h.Fetch(testCtx(t), a.h.ID(), addr)
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Fetch error %v, want a timeout", err)
	}
	if d := time.Since(start); d > testTimeout/2 {
		t.Fatalf("Fetch took %v", d)
	}
	if held, _ := c.store.partialLen(addr); held != 1000 {
		t.Errorf("partial %d bytes, want the 1000 served", held)
	}
}
