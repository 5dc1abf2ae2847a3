package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/peertest"
	"github.com/evidenced/evidenced/internal/testutil"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestOriginalsExchange runs four in-process member nodes: the bank keeps an
// encrypted original; arbitration may fetch it only with a grant, its
// access is logged first, a replica serves it with the bank's node down,
// revocation refuses it again, and a peer outside the roster is refused.
func TestOriginalsExchange(t *testing.T) {
	a, err := testnet.Generate(testnet.Options{Out: filepath.Join(t.TempDir(), "alliance"), ChainID: "evidenced-originals",
		Members: []string{"bank", "court", "notary", "arbitration"}, BasePort: testutil.FreePortBase(t, 42000, 1500, 40),
		TimeoutCommit: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nodes := map[string]*node.Node{}
	homes := map[string]string{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, m := range a.Members {
		n, err := node.New(m.Home, logger)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		nodes[m.Name], homes[m.Name] = n, m.Home
		t.Cleanup(func() { n.Stop(context.Background()) })
	}
	bankAPI, err := client.New(nodes["bank"].APIURL())
	if err != nil {
		t.Fatal(err)
	}
	memberKey := func(name string) *crypto.PrivateKey {
		k, err := keyfile.Load(filepath.Join(homes[name], "keys", "member.pem"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	bankKey := memberKey("bank")
	clientKey, err := keyfile.Load(a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The bank keeps an original: sealed into its node's store, the record
	// naming it with key ‖ salt wrapped to the bank's member key.
	original := bytes.Repeat([]byte("loan contract, page after page. "), 40000) // 1.2 MiB
	dk, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, crypto.SaltSize)
	rand.Read(salt)
	bankBlobs, err := blob.Open(filepath.Join(homes["bank"], node.BlobDir))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := bankBlobs.Seal(ctx, bytes.NewReader(original), dk, salt, 0)
	if err != nil {
		t.Fatal(err)
	}
	wrap := func(to *crypto.PublicKey) []byte {
		w, err := to.Encrypt(rand.Reader, append(dk[:], salt...))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-O1", Step: 1, Commitment: sealed.Commitment, Size: uint64(sealed.PlainSize),
		Cipher: &sealed.Address, CipherSize: uint64(sealed.CipherSize), OwnerKey: wrap(bankKey.Public())}
	apiClient := bankAPI
	submit := func(key *crypto.PrivateKey, b *ledger.Body) *client.SubmitResult {
		t.Helper()
		b.ChainID, b.Time = a.ChainID, time.Now().UnixNano()
		tx, err := ledger.SignTx(key, rand.Reader, b)
		if err != nil {
			t.Fatal(err)
		}
		res, err := apiClient.Submit(ctx, tx, true)
		if err != nil {
			t.Fatalf("submit %s: %v", b.Type(), err)
		}
		return res
	}
	for _, n := range nodes {
		waitHeight(ctx, t, n, 2)
	}
	res := submit(clientKey, &ledger.Body{Payload: &ledger.Evidence{Record: rec}})
	ref := ledger.RecordRef{Index: res.Index}
	for _, n := range nodes {
		waitHeight(ctx, t, n, res.Height)
	}

	// Without a grant, arbitration's node refuses before anything is logged.
	var out bytes.Buffer
	if _, err := nodes["arbitration"].Originals().FetchOriginal(ctx, ref, &out); !errors.Is(err, ledger.ErrNotGranted) {
		t.Fatalf("fetch without a grant = %v, want ErrNotGranted", err)
	}

	// The bank grants it; arbitration fetches it from the bank's node.
	// (the originals service's Grant rewraps the bank's key and salt to arbitration's member key.)
	if _, err := nodes["bank"].Originals().Grant(ctx, api.GrantRequest{Chain: "LOAN-O1", Grantee: "nobody", Purpose: "x"}); !isCode(err, ledger.CodeUnknownMember) {
		t.Fatalf("grant to a non-member = %v", err)
	}
	if _, err := nodes["court"].Originals().Grant(ctx, api.GrantRequest{Ref: &ref, Grantee: "arbitration", Purpose: "x"}); !isCode(err, ledger.CodeChainOwner) {
		t.Fatalf("grant by a member that does not own the record = %v", err)
	}
	gc, err := nodes["bank"].Originals().Grant(ctx, api.GrantRequest{Chain: "LOAN-O1", Grantee: "arbitration", Purpose: "arbitration case 2026-17",
		Expiry: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatalf("grant: %v", err)
	}
	g := &client.SubmitResult{Index: gc.Result.Index, Height: gc.Height}
	waitHeight(ctx, t, nodes["arbitration"], g.Height)
	got, err := nodes["arbitration"].Originals().FetchOriginal(ctx, ref, &out)
	if err != nil {
		t.Fatalf("fetch with a grant: %v", err)
	}
	if !bytes.Equal(out.Bytes(), original) || got.From != "bank" || !got.Via || got.Grant != g.Index || got.Access <= g.Index {
		t.Fatalf("fetched %d bytes (equal %v) from %q via grant %v %d, access %d", out.Len(), bytes.Equal(out.Bytes(), original), got.From, got.Via, got.Grant, got.Access)
	}
	// The access committed on arbitration's node; the bank's may be a
	// block behind.
	arb, err := client.New(nodes["arbitration"].APIURL())
	if err != nil {
		t.Fatal(err)
	}
	st, err := arb.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(ctx, t, nodes["bank"], st.Height)
	e, err := bankAPI.Entry(ctx, got.Access)
	if err != nil || e.Type != ledger.TxAccess.String() {
		t.Fatalf("access entry %d: %+v, %v", got.Access, e, err)
	}

	// A retrieval request (调取) through the nodes' APIs: the court files
	// one for the chain with a Chinese case number, the bank's node lists
	// it as open and answers it with a grant naming it (the grantee, the
	// chain and the purpose come from the request), and the court fetches.
	withToken := func(name string) *client.Client {
		t.Helper()
		for _, m := range a.Members {
			if m.Name == name {
				c, err := client.New(nodes[name].APIURL(), client.WithToken(readToken(t, m.TokensFile)))
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
		}
		t.Fatalf("no member %s", name)
		return nil
	}
	courtAPI, bankTok := withToken("court"), withToken("bank")
	const caseNo = "(2026)沪0115民初1234号"
	rq, err := courtAPI.FileRequest(ctx, client.RetrievalRequestBody{Chain: "LOAN-O1", Purpose: caseNo})
	if err != nil {
		t.Fatalf("the court's request: %v", err)
	}
	t.Logf("request %d committed at height %d", rq.Index, rq.Height)
	waitHeight(ctx, t, nodes["bank"], rq.Height)
	open, err := bankTok.Requests(ctx, client.RequestsQuery{Owner: "bank", Open: true})
	if err != nil || len(open.Requests) != 1 || open.Requests[0].Index != rq.Index || open.Requests[0].Requester != "court" || open.Requests[0].Purpose != caseNo {
		t.Fatalf("the bank's open requests: %+v, %v", open, err)
	}
	gr, err := bankTok.Grant(ctx, client.GrantRequest{Request: rq.Index, Expires: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if err != nil {
		t.Fatalf("the bank's grant answering request %d: %v", rq.Index, err)
	}
	t.Logf("grant %d committed at height %d", gr.Index, gr.Height)
	waitHeight(ctx, t, nodes["court"], gr.Height)
	out.Reset()
	if got, err := nodes["court"].Originals().FetchOriginal(ctx, ref, &out); err != nil || !got.Via || got.Grant != gr.Index || !bytes.Equal(out.Bytes(), original) {
		t.Fatalf("the court's fetch through the grant answering its request: %+v, %v", got, err)
	}
	if ri, err := courtAPI.RetrievalRequest(ctx, rq.Index); err != nil || ri.Status != "granted" || ri.Answer == nil || *ri.Answer != gr.Index {
		t.Fatalf("request %d after the grant: %+v, %v", rq.Index, ri, err)
	}

	// The bank's replicas (court and notary, after it in name order) got a copy.
	for _, m := range []string{"court", "notary"} {
		s, err := blob.Open(filepath.Join(homes[m], node.BlobDir))
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); !s.Has(sealed.Address); {
			if time.Now().After(deadline) {
				t.Fatalf("%s never received its replica", m)
			}
			time.Sleep(100 * time.Millisecond) // polling interval
		}
	}

	// A corrupted replica is found by the scrub and fetched again.
	notaryBlobs, err := blob.Open(filepath.Join(homes["notary"], node.BlobDir))
	if err != nil {
		t.Fatal(err)
	}
	peertest.CorruptBlob(t, notaryBlobs, sealed.Address)
	checked, corrupt, repaired, err := nodes["notary"].Originals().Scrub(ctx)
	if err != nil || checked != 1 || corrupt != 1 || repaired != 1 {
		t.Fatalf("scrub: checked %d, corrupt %d, repaired %d, %v; want 1, 1, 1", checked, corrupt, repaired, err)
	}
	if err := notaryBlobs.Verify(sealed.Address); err != nil {
		t.Fatalf("the repaired replica does not verify: %v", err)
	}

	// With the bank's node down and arbitration's copy gone, a replica serves it.
	if err := nodes["bank"].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if apiClient, err = client.New(nodes["court"].APIURL()); err != nil {
		t.Fatal(err)
	}
	arbBlobs, err := blob.Open(filepath.Join(homes["arbitration"], node.BlobDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := arbBlobs.Remove(sealed.Address); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	got, err = nodes["arbitration"].Originals().FetchOriginal(ctx, ref, &out)
	if err != nil || !bytes.Equal(out.Bytes(), original) || (got.From != "court" && got.From != "notary") {
		t.Fatalf("fetch with the bank down: from %q, %v", got.From, err)
	}

	// A peer outside the roster cannot fetch anything.
	outsider, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := exchange.Identity(outsider)
	if err != nil {
		t.Fatal(err)
	}
	h, err := exchange.New(exchange.Config{Identity: id, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Members:   func(peer.ID) (string, bool) { return "outsider", true },
		Authorize: func(string, crypto.Hash) error { return nil }, Store: peertest.EmptyStore{}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	notary := peertest.RosterPeer(t, homes["notary"], "notary")
	err = h.Connect(ctx, notary)
	if err == nil {
		err = h.Fetch(ctx, notary.ID, sealed.Address)
	}
	if err == nil {
		t.Fatal("a peer outside the roster fetched an original")
	}

	// Revoked: refused again, and nothing more is logged.
	rv := submit(bankKey, &ledger.Body{Payload: &ledger.Revoke{Grant: g.Index}})
	waitHeight(ctx, t, nodes["arbitration"], rv.Height)
	if _, err := nodes["arbitration"].Originals().FetchOriginal(ctx, ref, &out); !errors.Is(err, ledger.ErrNotGranted) {
		t.Fatalf("fetch after revoke = %v, want ErrNotGranted", err)
	}
}

// waitHeight polls n's API until it has committed height h.
func waitHeight(ctx context.Context, t *testing.T, n *node.Node, h int64) {
	t.Helper()
	c, err := client.New(n.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := c.Status(ctx)
		if err == nil && st.Height >= h {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("height %d never reached: %v", h, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// isCode reports whether err is a ledger rejection with code c.
func isCode(err error, c ledger.Code) bool {
	var re *ledger.RejectError
	return errors.As(err, &re) && re.Code == c
}
