package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// fakeNode is an in-memory node that follows notes/api.md: it decodes
// submitted transactions with ledger.DecodeTx, verifies the signature with
// the one key it knows, enforces the evidence-chain step/prev rules and
// serves entries, chains, commitments, status and members.
type fakeNode struct {
	t       *testing.T
	srv     *httptest.Server
	chainID string
	pub     *crypto.PublicKey

	mu       sync.Mutex
	entries  []client.Entry // index = position
	txs      []*ledger.Tx   // accepted transactions, in order
	chains   map[string]*client.Chain
	rejectAs *client.Error // when set, every POST /v1/txs is answered with it
	posts    int
	maxPage  int // the node's own page-size cap for /v1/chains

	proposals []client.ProposalRequest // bodies of POST /v1/proposals
	votes     []client.VoteRequest     // bodies of POST /v1/proposals/{p}/votes
	attests   []client.AttestRequest   // bodies of POST /v1/attestations
	attester  string                   // the role the node's member has for POST /v1/attestations; "" means notary
}

const fakeGenesis = 3 // entries 0..2 are genesis registrations (not served)

var fakeBase = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

func newFakeNode(t *testing.T, pub *crypto.PublicKey) *fakeNode {
	t.Helper()
	n := &fakeNode{t: t, chainID: "evidenced-test", pub: pub, chains: map[string]*client.Chain{}, maxPage: 2}
	for i := 0; i < fakeGenesis; i++ {
		n.entries = append(n.entries, client.Entry{Index: uint64(i), Type: "register"})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", n.status)
	mux.HandleFunc("GET /v1/members", n.members)
	mux.HandleFunc("POST /v1/txs", n.submit)
	mux.HandleFunc("GET /v1/entries/{index}", n.entry)
	mux.HandleFunc("GET /v1/txs/{txid}", n.entryByTx)
	mux.HandleFunc("GET /v1/chains/{chain}", n.chain)
	mux.HandleFunc("GET /v1/commitments/{hex}", n.commitment)
	n.governRoutes(mux)
	n.attestRoutes(mux)
	n.srv = httptest.NewServer(mux)
	t.Cleanup(n.srv.Close)
	return n
}

func (n *fakeNode) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		n.t.Errorf("fake node: encode: %v", err)
	}
}

func (n *fakeNode) fail(w http.ResponseWriter, e *client.Error) {
	n.write(w, e.Status, client.ErrorResponse{Error: e})
}

func (n *fakeNode) rejectCode(w http.ResponseWriter, c ledger.Code, field, format string, args ...any) {
	status := http.StatusUnprocessableEntity
	if c == ledger.CodeDuplicate {
		status = http.StatusConflict
	}
	n.fail(w, &client.Error{Status: status, Code: c.String(), ResultCode: uint32(c), Message: fmt.Sprintf(format, args...), Hint: c.Hint(), Field: field})
}

func (n *fakeNode) status(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.write(w, 200, client.Status{ChainID: n.chainID, Moniker: "bank", Member: "bank-a", Role: "bank",
		Height: int64(len(n.txs)), LogSize: uint64(len(n.entries)), BlockTime: fakeBase, Validators: 4})
}

func (n *fakeNode) members(w http.ResponseWriter, r *http.Request) {
	n.write(w, 200, client.MembersResponse{Members: []client.Member{
		{Name: "bank-a", Role: ledger.RoleBank, Power: 10, Keys: []client.MemberKey{{ID: n.pub.ID(), PublicKey: n.pub.Bytes()}}},
		{Name: "court", Role: ledger.RoleCourt, Power: 10, Keys: []client.MemberKey{{ID: crypto.KeyID{0xcc, 1}, PublicKey: n.pub.Bytes()}}},
	}})
}

func (n *fakeNode) submit(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.posts++
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
		n.fail(w, &client.Error{Status: 400, Code: client.CodeBadRequest, Message: "Content-Type must be application/octet-stream"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, client.MaxTxBody))
	if err != nil {
		n.fail(w, &client.Error{Status: 413, Code: client.CodeBadRequest, Message: "transaction too large"})
		return
	}
	if n.rejectAs != nil {
		n.fail(w, n.rejectAs)
		return
	}
	tx, err := ledger.DecodeTx(body)
	if err != nil {
		n.rejectCode(w, ledger.CodeMalformed, "", "%v", err)
		return
	}
	if tx.Body.Signer != n.pub.ID() {
		n.rejectCode(w, ledger.CodeUnknownKey, "", "key %s is not registered", tx.Body.Signer.Short())
		return
	}
	if err := n.pub.Verify(tx.BodyBytes, tx.Signature); err != nil {
		n.rejectCode(w, ledger.CodeBadSignature, "", "signature: %v", err)
		return
	}
	if tx.Body.ChainID != n.chainID {
		n.rejectCode(w, ledger.CodeWrongChain, "chain_id", "body names chain %q, not %q", tx.Body.ChainID, n.chainID)
		return
	}
	for _, old := range n.txs {
		if old.ID() == tx.ID() {
			n.rejectCode(w, ledger.CodeDuplicate, "", "transaction %s was already accepted", tx.ID())
			return
		}
	}
	recs := tx.Body.EvidenceRecords()
	for _, rec := range recs {
		head := n.chains[rec.Chain]
		steps, leaf := uint32(0), crypto.Hash{}
		if head != nil {
			steps, leaf = head.Steps, head.HeadLeafHash
		}
		if rec.Step != steps+1 {
			n.rejectCode(w, ledger.CodeChainStep, "step", "evidence chain %s is at step %d, so the next step is %d, not %d", rec.Chain, steps, steps+1, rec.Step)
			return
		}
		if rec.Prev != leaf {
			n.rejectCode(w, ledger.CodeChainPrev, "prev", "evidence chain %s step %d: prev %s does not name step %d's entry", rec.Chain, rec.Step, rec.Prev, steps)
			return
		}
	}
	height := int64(len(n.txs) + 1)
	btime := fakeBase.Add(time.Duration(height) * time.Second)
	index := uint64(len(n.entries))
	eb := (&ledger.Entry{Height: height, Time: btime.UnixNano(), TxBytes: body}).Encode()
	leaf := ledger.LeafHash(eb)
	e := client.Entry{Index: index, Height: height, Time: btime, LeafHash: leaf, Entry: eb, TxID: tx.ID(),
		Type: tx.Body.Type().String(), ChainID: tx.Body.ChainID, Signer: "bank-a", SignerKey: tx.Body.Signer,
		ClientTime: time.Unix(0, tx.Body.Time).UTC()}
	var chains []string
	for i, rec := range recs {
		var labels map[string]string
		if len(rec.Labels) > 0 {
			labels = map[string]string{}
			for _, l := range rec.Labels {
				labels[l.Key] = l.Value
			}
		}
		e.Records = append(e.Records, client.Record{Pos: uint16(i), Kind: rec.Kind, Chain: rec.Chain, Step: rec.Step, Prev: rec.Prev,
			Commitment: rec.Commitment, Size: rec.Size, Labels: labels})
		head := n.chains[rec.Chain]
		if head == nil {
			head = &client.Chain{Chain: rec.Chain, Owner: "bank-a"}
			n.chains[rec.Chain] = head
		}
		head.Steps, head.HeadLeafHash, head.HeadIndex = rec.Step, leaf, index
		head.Records = append(head.Records, client.ChainRecord{Step: rec.Step, Index: index, Pos: uint16(i), Height: height, Time: btime,
			TxID: tx.ID(), Kind: rec.Kind, Commitment: rec.Commitment, Size: rec.Size, Prev: rec.Prev})
		chains = append(chains, rec.Chain)
	}
	n.entries = append(n.entries, e)
	n.txs = append(n.txs, tx)
	if r.URL.Query().Get("wait") == client.WaitSync {
		n.write(w, 202, client.SubmitResult{TxID: tx.ID(), Status: client.StatusPending})
		return
	}
	n.write(w, 200, client.SubmitResult{TxID: tx.ID(), Status: client.StatusCommitted, Index: index, Height: height, Time: btime,
		Signer: "bank-a", Type: tx.Body.Type().String(), Chains: chains})
}

func (n *fakeNode) entry(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		n.fail(w, &client.Error{Status: 400, Code: client.CodeBadRequest, Message: "index is not a number", Field: "index"})
		return
	}
	if i < fakeGenesis || i >= uint64(len(n.entries)) {
		n.fail(w, &client.Error{Status: 404, Code: client.CodeNotFound, Message: fmt.Sprintf("no entry %d: the log has %d", i, len(n.entries)), Field: "index"})
		return
	}
	n.write(w, 200, n.entries[i])
}

func (n *fakeNode) entryByTx(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.entries[fakeGenesis:] {
		if e.TxID.String() == r.PathValue("txid") {
			n.write(w, 200, e)
			return
		}
	}
	n.fail(w, &client.Error{Status: 404, Code: client.CodeNotFound, Message: "no accepted transaction " + r.PathValue("txid"), Field: "txid"})
}

func (n *fakeNode) chain(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := n.chains[r.PathValue("chain")]
	if ch == nil {
		n.fail(w, &client.Error{Status: 404, Code: client.CodeNotFound, Message: "no evidence chain " + r.PathValue("chain"), Field: "chain"})
		return
	}
	from, limit := uint64(1), n.maxPage
	if s := r.URL.Query().Get("from"); s != "" {
		from, _ = strconv.ParseUint(s, 10, 32)
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		if l, _ := strconv.Atoi(s); l > 0 && l < limit {
			limit = l
		}
	}
	page := *ch
	page.Records = []client.ChainRecord{}
	for _, rec := range ch.Records {
		if uint64(rec.Step) >= from && len(page.Records) < limit {
			page.Records = append(page.Records, rec)
		}
	}
	n.write(w, 200, page)
}

func (n *fakeNode) commitment(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var c crypto.Hash
	if err := c.UnmarshalText([]byte(r.PathValue("hex"))); err != nil {
		n.fail(w, &client.Error{Status: 400, Code: client.CodeBadRequest, Message: "commitment must be 64 lowercase hex digits", Field: "hex"})
		return
	}
	out := client.CommitmentRecords{Commitment: c, Records: []client.CommitmentRecord{}}
	for _, e := range n.entries[fakeGenesis:] {
		for _, rec := range e.Records {
			if rec.Commitment == c {
				out.Records = append(out.Records, client.CommitmentRecord{Index: e.Index, Pos: rec.Pos, Chain: rec.Chain, Step: rec.Step,
					Height: e.Height, Time: e.Time, TxID: e.TxID})
			}
		}
	}
	n.write(w, 200, out)
}
