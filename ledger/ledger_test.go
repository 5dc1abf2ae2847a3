package ledger_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

const chainID = "evidenced-test"

// fixture is an initialised ledger over an in-memory store.
type fixture struct {
	t      *testing.T
	l      *ledger.Ledger
	st     *ledgertest.MemStore
	a      *ledgertest.Alliance
	height int64
	now    int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	a, err := ledgertest.NewAlliance(rand.Reader, chainID)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, l: ledger.New(ledger.Options{}), st: ledgertest.NewMemStore(), a: a, now: ledgertest.GenesisTime}
	out, err := f.l.InitChain(f.st, a.Genesis)
	if err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	f.st.Commit(out.Changes)
	return f
}

// block applies txs as the next block, one second after the previous one, and commits.
func (f *fixture) block(txs ...[]byte) *ledger.Outcome {
	f.t.Helper()
	f.height++
	f.now += int64(time.Second)
	out, err := f.l.Apply(f.st, ledger.Block{Height: f.height, Time: f.now, Txs: txs})
	if err != nil {
		f.t.Fatalf("Apply block %d: %v", f.height, err)
	}
	f.st.Commit(out.Changes)
	return out
}

// one applies a single tx and returns its result.
func (f *fixture) one(tx []byte) ledger.TxResult {
	f.t.Helper()
	return f.block(tx).Results[0]
}

func (f *fixture) view() *ledger.View { return ledger.NewView(f.st) }

func rec(chain string, step uint32, prev crypto.Hash, what string) ledger.Record {
	return ledger.Record{Kind: "loan-contract", Chain: chain, Step: step, Prev: prev, Commitment: ledgertest.Commitment(what), Size: 1234,
		Labels: []ledger.Label{{Key: "product", Value: "consumer-loan"}}}
}

// leafOf returns the leaf hash of entry index (the Prev of the next step).
func (f *fixture) leafOf(index uint64) crypto.Hash {
	f.t.Helper()
	b, err := f.view().EntryBytes(index)
	if err != nil {
		f.t.Fatal(err)
	}
	return ledger.LeafHash(b)
}

func wantCode(t *testing.T, got ledger.TxResult, want ledger.Code) {
	t.Helper()
	if got.Code != want {
		t.Fatalf("code = %d (%s: %s), want %d (%s)", got.Code, got.Code, got.Log, want, want)
	}
	if want != ledger.CodeOK && got.Log == "" {
		t.Fatalf("rejection %s carries no message", got.Code)
	}
}

func TestInitChainRegistersRoster(t *testing.T) {
	f := newFixture(t)
	v := f.view()
	head, err := v.Head()
	if err != nil {
		t.Fatal(err)
	}
	if head.Size != 6 {
		t.Fatalf("log size after genesis = %d, want 6 (one entry per member)", head.Size)
	}
	ms, err := v.Members()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, m := range ms {
		names = append(names, m.Name)
	}
	want := []string{"arbitration", "bank-a", "bank-b", "court", "notary", "regulator"}
	if len(names) != len(want) {
		t.Fatalf("members = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("members = %v, want %v", names, want)
		}
	}
	m, err := v.MemberByKey(f.a.Key("court").Public().ID())
	if err != nil || m.Name != "court" || m.Role != ledger.RoleCourt || m.Power != 10 {
		t.Fatalf("MemberByKey(court) = %+v, %v", m, err)
	}
	e, tx, err := v.Entry(m.Entry)
	if err != nil {
		t.Fatal(err)
	}
	if e.Height != 0 || e.Time != ledgertest.GenesisTime || tx.Body.Type() != ledger.TxRegister || tx.Body.Payload.(*ledger.Member).Name != "court" {
		t.Fatalf("court's registration entry = %+v / %+v", e, tx.Body)
	}
	if _, err := f.l.InitChain(f.st, f.a.Genesis); !errors.Is(err, ledger.ErrAlreadyInitialized) {
		t.Fatalf("second InitChain: %v, want ErrAlreadyInitialized", err)
	}
	// Same genesis, same app hash.
	st2 := ledgertest.NewMemStore()
	out2, err := ledger.New(ledger.Options{}).InitChain(st2, f.a.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	if out2.AppHash != head.AppHash {
		t.Fatalf("genesis app hash differs between two runs: %s vs %s", out2.AppHash, head.AppHash)
	}
}

// TestMemberByNode: genesis records each member's consensus node id in
// consensus state, and only those ids are members' nodes.
func TestMemberByNode(t *testing.T) {
	f := newFixture(t)
	v := f.view()
	for name, p := range f.a.Parties {
		m, err := v.MemberByNode(p.Node)
		if err != nil || m.Name != name {
			t.Errorf("MemberByNode(%s's node %s) = %+v, %v", name, p.Node, m, err)
		}
	}
	var outsider ledger.NodeID
	copy(outsider[:], "an outsider's node..")
	if m, err := v.MemberByNode(outsider); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("MemberByNode(an outsider's node) = %+v, %v, want ErrNotFound", m, err)
	}
	// The node ids are consensus state: another node for one member is
	// another genesis app hash.
	g := *f.a.Genesis
	g.State.Members = slices.Clone(g.State.Members)
	g.State.Members[2].NodeID = outsider.String()
	other, err := ledger.New(ledger.Options{}).InitChain(ledgertest.NewMemStore(), &g)
	if err != nil {
		t.Fatal(err)
	}
	head, err := v.Head()
	if err != nil {
		t.Fatal(err)
	}
	if other.AppHash == head.AppHash {
		t.Fatal("the genesis app hash does not depend on the members' node ids")
	}
}

func TestParseNodeID(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef01234567"
	for _, s := range []string{id, strings.ToUpper(id)} {
		got, err := ledger.ParseNodeID(s)
		if err != nil || got.String() != id {
			t.Errorf("ParseNodeID(%q) = %s, %v, want %s", s, got, err, id)
		}
	}
	for _, s := range []string{"", id[:38], id + "89", "g" + id[1:], "0x" + id[2:], id[:39] + " "} {
		if got, err := ledger.ParseNodeID(s); err == nil {
			t.Errorf("ParseNodeID(%q) = %s, want an error", s, got)
		}
	}
}

func TestEvidenceChainRules(t *testing.T) {
	f := newFixture(t)
	bankA, bankB := f.a.Key("bank-a"), f.a.Key("bank-b")

	r1 := f.one(f.a.Evidence(bankA, f.now, rec("LOAN-1", 1, crypto.Hash{}, "authorisation")))
	wantCode(t, r1, ledger.CodeOK)
	if r1.Signer != "bank-a" || r1.Type != ledger.TxEvidence || r1.Index != 6 || len(r1.Chains) != 1 || r1.Chains[0] != "LOAN-1" {
		t.Fatalf("result = %+v", r1)
	}
	prev := f.leafOf(r1.Index)

	tests := []struct {
		name string
		tx   []byte
		want ledger.Code
	}{
		{"gap", f.a.Evidence(bankA, f.now, rec("LOAN-1", 3, prev, "x")), ledger.CodeChainStep},
		{"repeat step 1", f.a.Evidence(bankA, f.now, rec("LOAN-1", 1, crypto.Hash{}, "again")), ledger.CodeChainStep},
		{"wrong prev", f.a.Evidence(bankA, f.now, rec("LOAN-1", 2, crypto.SM3([]byte("no")), "x")), ledger.CodeChainPrev},
		{"other bank", f.a.Evidence(bankB, f.now, rec("LOAN-1", 2, prev, "x")), ledger.CodeChainOwner},
		{"new chain not at step 1", f.a.Evidence(bankA, f.now, rec("LOAN-2", 2, prev, "x")), ledger.CodeChainStep},
		{"notary submits evidence", f.a.Evidence(f.a.Key("notary"), f.now, rec("N-1", 1, crypto.Hash{}, "x")), ledger.CodeRoleNotAllowed},
		{"regulator submits evidence", f.a.Evidence(f.a.Key("regulator"), f.now, rec("R-1", 1, crypto.Hash{}, "x")), ledger.CodeRoleNotAllowed},
		{"unregistered key", f.a.Evidence(f.a.Outsider, f.now, rec("O-1", 1, crypto.Hash{}, "x")), ledger.CodeUnknownKey},
		{"client time too old", f.a.Evidence(bankA, f.now-int64(time.Hour), rec("T-1", 1, crypto.Hash{}, "x")), ledger.CodeTimeWindow},
		{"client time too new", f.a.Evidence(bankA, f.now+int64(time.Hour), rec("T-2", 1, crypto.Hash{}, "x")), ledger.CodeTimeWindow},
		{"garbage", []byte("not a transaction"), ledger.CodeUnsupported},
		{"empty", nil, ledger.CodeMalformed},
		{"bank attests", f.a.Attest(bankA, f.now, "notarised", ledger.RecordRef{Index: r1.Index}), ledger.CodeRoleNotAllowed},
		{"attest missing entry", f.a.Attest(f.a.Key("notary"), f.now, "notarised", ledger.RecordRef{Index: 999}), ledger.CodeUnknownTarget},
		{"attest a registration", f.a.Attest(f.a.Key("notary"), f.now, "notarised", ledger.RecordRef{Index: 0}), ledger.CodeUnknownTarget},
		{"attest missing record position", f.a.Attest(f.a.Key("notary"), f.now, "notarised", ledger.RecordRef{Index: r1.Index, Pos: 1}), ledger.CodeUnknownTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.view().Head()
			res := f.one(tt.tx)
			wantCode(t, res, tt.want)
			after, _ := f.view().Head()
			if after.Size != before.Size {
				t.Fatalf("a rejected tx changed the log size %d -> %d", before.Size, after.Size)
			}
		})
	}

	r2 := f.one(f.a.Evidence(bankA, f.now, rec("LOAN-1", 2, prev, "contract")))
	wantCode(t, r2, ledger.CodeOK)
	ci, err := f.view().Chain("LOAN-1")
	if err != nil {
		t.Fatal(err)
	}
	if ci.Owner != "bank-a" || ci.Steps != 2 || ci.Last != r2.Index || ci.LeafHash != f.leafOf(r2.Index) {
		t.Fatalf("chain head = %+v", ci)
	}
	steps, err := f.view().ChainSteps("LOAN-1", 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0].Index != r1.Index || steps[1].Index != r2.Index {
		t.Fatalf("chain steps = %+v", steps)
	}
	// Attestation by the notary of both steps.
	ra := f.one(f.a.Attest(f.a.Key("notary"), f.now, "notarised", ledger.RecordRef{Index: r1.Index}, ledger.RecordRef{Index: r2.Index}))
	wantCode(t, ra, ledger.CodeOK)
	at, err := f.view().Attestations(ledger.RecordRef{Index: r2.Index}, 10)
	if err != nil || len(at) != 1 || at[0] != ra.Index {
		t.Fatalf("attestations of step 2 = %v, %v; want [%d]", at, err, ra.Index)
	}
}

func TestFork(t *testing.T) {
	// Two step-2 transactions in one block: the first wins, the second is a fork.
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	r1 := f.one(f.a.Evidence(bankA, f.now, rec("LOAN-F", 1, crypto.Hash{}, "one")))
	prev := f.leafOf(r1.Index)
	out := f.block(
		f.a.Evidence(bankA, f.now, rec("LOAN-F", 2, prev, "two-a")),
		f.a.Evidence(bankA, f.now, rec("LOAN-F", 2, prev, "two-b")),
	)
	wantCode(t, out.Results[0], ledger.CodeOK)
	wantCode(t, out.Results[1], ledger.CodeChainStep)
}

func TestReplay(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	body := &ledger.Body{ChainID: chainID, Time: f.now, Payload: &ledger.Evidence{Record: *ptr(rec("LOAN-R", 1, crypto.Hash{}, "r"))}}
	tx1, err := ledger.SignTx(bankA, rand.Reader, body)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh signature over the same body is the same transaction.
	tx2, err := ledger.SignTx(bankA, rand.Reader, body)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(tx1, tx2) {
		t.Fatal("SM2 signatures are randomised; two signatures should differ")
	}
	out := f.block(tx1, tx1)
	wantCode(t, out.Results[0], ledger.CodeOK)
	wantCode(t, out.Results[1], ledger.CodeDuplicate)
	wantCode(t, f.one(tx2), ledger.CodeDuplicate)
	wantCode(t, f.one(tx1), ledger.CodeDuplicate)
	id := out.Results[0].ID
	idx, err := f.view().IndexOfTx(id)
	if err != nil || idx != out.Results[0].Index {
		t.Fatalf("IndexOfTx = %d, %v; want %d", idx, err, out.Results[0].Index)
	}
}

func TestBadSignature(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	good := f.a.Evidence(bankA, f.now, rec("LOAN-S", 1, crypto.Hash{}, "s"))
	tx, err := ledger.DecodeTx(good)
	if err != nil {
		t.Fatal(err)
	}
	// Signature by bank-b over a body naming bank-a's key.
	sig, err := f.a.Key("bank-b").Sign(rand.Reader, tx.BodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := ledger.EncodeTx(tx.BodyBytes, sig)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.one(forged), ledger.CodeBadSignature)
	// A signature over different bytes.
	sig2, _ := bankA.Sign(rand.Reader, []byte("something else"))
	other, _ := ledger.EncodeTx(tx.BodyBytes, sig2)
	wantCode(t, f.one(other), ledger.CodeBadSignature)
	// No signature at all.
	none, _ := ledger.EncodeTx(tx.BodyBytes, nil)
	wantCode(t, f.one(none), ledger.CodeBadSignature)
	// The genuine one is still accepted afterwards.
	wantCode(t, f.one(good), ledger.CodeOK)
}

func TestWrongChainAndGenesisOnly(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	r := rec("LOAN-W", 1, crypto.Hash{}, "w")
	wrong := f.a.Sign(bankA, &ledger.Body{ChainID: "other-chain", Time: f.now, Payload: &ledger.Evidence{Record: r}})
	wantCode(t, f.one(wrong), ledger.CodeWrongChain)
	reg := f.a.Sign(bankA, &ledger.Body{ChainID: chainID, Time: f.now,
		Payload: &ledger.Member{Name: "evil", Role: ledger.RoleBank, Power: 100, Keys: []*crypto.PublicKey{f.a.Outsider.Public()}}})
	wantCode(t, f.one(reg), ledger.CodeGenesisOnly)
}

func TestBatch(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	var recs []ledger.Record
	for i := range 50 {
		recs = append(recs, rec(chainName("B", i), 1, crypto.Hash{}, chainName("doc", i)))
	}
	res := f.one(f.a.Batch(bankA, f.now, recs))
	wantCode(t, res, ledger.CodeOK)
	if len(res.Chains) != 50 {
		t.Fatalf("batch extended %d chains, want 50", len(res.Chains))
	}
	refs, err := f.view().ByCommitment(ledgertest.Commitment(chainName("doc", 17)), 10)
	if err != nil || len(refs) != 1 || refs[0] != (ledger.RecordRef{Index: res.Index, Pos: 17}) {
		t.Fatalf("ByCommitment = %v, %v", refs, err)
	}
	r, _, _, err := f.view().Record(refs[0])
	if err != nil || r.Chain != chainName("B", 17) {
		t.Fatalf("Record = %+v, %v", r, err)
	}
	// A batch naming one chain twice is refused whole.
	before, _ := f.view().Head()
	dup := []ledger.Record{rec("C-1", 1, crypto.Hash{}, "a"), rec("C-2", 1, crypto.Hash{}, "b"), rec("C-1", 1, crypto.Hash{}, "c")}
	wantCode(t, f.one(f.a.Batch(bankA, f.now, dup)), ledger.CodeBatchChainRepeat)
	// A batch with one bad link is refused whole.
	bad := []ledger.Record{rec("D-1", 1, crypto.Hash{}, "a"), rec(chainName("B", 3), 5, crypto.SM3([]byte("x")), "b")}
	wantCode(t, f.one(f.a.Batch(bankA, f.now, bad)), ledger.CodeChainStep)
	after, _ := f.view().Head()
	if after.Size != before.Size {
		t.Fatal("a refused batch changed the log")
	}
	if _, err := f.view().Chain("D-1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("chain D-1 of a refused batch exists: %v", err)
	}
	// Too many records for the chain's parameters.
	many := make([]ledger.Record, ledger.DefaultMaxBatchRecords+1)
	for i := range many {
		many[i] = rec(chainName("M", i), 1, crypto.Hash{}, chainName("m", i))
	}
	wantCode(t, f.one(f.a.Batch(bankA, f.now, many)), ledger.CodeBatchTooLarge)
}

func TestProofs(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	for i := range 20 {
		wantCode(t, f.one(f.a.Evidence(bankA, f.now, rec(chainName("P", i), 1, crypto.Hash{}, chainName("p", i)))), ledger.CodeOK)
	}
	v := f.view()
	head, err := v.Head()
	if err != nil {
		t.Fatal(err)
	}
	for idx := uint64(0); idx < head.Size; idx++ {
		for _, size := range []uint64{idx + 1, head.Size} {
			proof, err := v.InclusionProof(idx, size)
			if err != nil {
				t.Fatal(err)
			}
			root, err := v.RootAt(size)
			if err != nil {
				t.Fatal(err)
			}
			entry, _ := v.EntryBytes(idx)
			if err := ledger.VerifyInclusion(entry, idx, size, proof, root); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", idx, size, err)
			}
			if idx > 0 {
				other, _ := v.EntryBytes(idx - 1)
				if ledger.VerifyInclusion(other, idx, size, proof, root) == nil {
					t.Fatalf("inclusion proof of %d accepted entry %d", idx, idx-1)
				}
			}
		}
	}
	if root, _ := v.RootAt(head.Size); root != head.Root {
		t.Fatalf("RootAt(size) %s != head root %s", root, head.Root)
	}
	for m := uint64(1); m <= head.Size; m++ {
		proof, err := v.ConsistencyProof(m, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		r1, _ := v.RootAt(m)
		if err := ledger.VerifyConsistency(m, head.Size, proof, r1, head.Root); err != nil {
			t.Fatalf("consistency %d -> %d: %v", m, head.Size, err)
		}
	}
}

func TestMemberEntriesAndQueries(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	r := f.one(f.a.Evidence(bankA, f.now, rec("LOAN-Q", 1, crypto.Hash{}, "q")))
	es, err := f.view().MemberEntries("bank-a", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[1] != r.Index {
		t.Fatalf("bank-a entries = %v, want its registration and %d", es, r.Index)
	}
	if _, err := f.view().IndexOfTx(crypto.SM3([]byte("nope"))); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("IndexOfTx(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := f.view().Entry(1 << 40); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Entry(huge) = %v, want ErrNotFound", err)
	}
	if _, err := f.view().Member("nobody"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Member(nobody) = %v", err)
	}
}

func TestCheckMatchesApply(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	good := f.a.Evidence(bankA, f.now, rec("LOAN-C", 1, crypto.Hash{}, "c"))
	res, err := f.l.Check(f.st, good, f.now)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res, ledger.CodeOK)
	head, _ := f.view().Head()
	if head.Size != 6 {
		t.Fatal("Check changed committed state")
	}
	res, _ = f.l.Check(f.st, f.a.Evidence(f.a.Key("court"), f.now, rec("LOAN-C", 1, crypto.Hash{}, "c")), f.now)
	wantCode(t, res, ledger.CodeRoleNotAllowed)
	wantCode(t, f.one(good), ledger.CodeOK)
	res, _ = f.l.Check(f.st, good, f.now)
	wantCode(t, res, ledger.CodeDuplicate)
}

func TestParallelVerifyIsDeterministic(t *testing.T) {
	a, err := ledgertest.NewAlliance(rand.Reader, chainID)
	if err != nil {
		t.Fatal(err)
	}
	var txs [][]byte
	for i := range 200 {
		key := a.Key("bank-a")
		if i%7 == 0 {
			key = a.Outsider
		}
		if i%11 == 0 {
			key = a.Key("notary")
		}
		txs = append(txs, a.Evidence(key, ledgertest.GenesisTime, rec(chainName("V", i%150), 1, crypto.Hash{}, chainName("v", i))))
	}
	var hashes []crypto.Hash
	for _, workers := range []int{1, 2, 8} {
		st := ledgertest.NewMemStore()
		l := ledger.New(ledger.Options{Workers: workers})
		g, err := l.InitChain(st, a.Genesis)
		if err != nil {
			t.Fatal(err)
		}
		st.Commit(g.Changes)
		out, err := l.Apply(st, ledger.Block{Height: 1, Time: ledgertest.GenesisTime, Txs: txs})
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, out.AppHash)
	}
	if hashes[0] != hashes[1] || hashes[1] != hashes[2] {
		t.Fatalf("app hash depends on the number of verify workers: %v", hashes)
	}
}

func TestApplyBeforeInit(t *testing.T) {
	l := ledger.New(ledger.Options{})
	if _, err := l.Apply(ledgertest.NewMemStore(), ledger.Block{Height: 1}); !errors.Is(err, ledger.ErrNotInitialized) {
		t.Fatalf("Apply before InitChain = %v, want ErrNotInitialized", err)
	}
}

func ptr[T any](v T) *T { return &v }

func chainName(p string, i int) string { return p + "-" + strconv.Itoa(i) }

func TestBlockFull(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	batch := func(prefix string, n int) []byte {
		recs := make([]ledger.Record, n)
		for i := range recs {
			recs[i] = rec(chainName(prefix, i), 1, crypto.Hash{}, chainName(prefix+"doc", i))
		}
		return f.a.Batch(bankA, f.now, recs)
	}
	// Fill the block's write budget exactly: full batches, then one batch
	// of what is left; a one-record batch after that does not fit.
	cost := func(n int) int {
		return (&ledger.Body{Payload: &ledger.Batch{Records: make([]ledger.Record, n)}}).WriteCost()
	}
	var txs [][]byte
	full := ledger.MaxBlockWrites / cost(ledger.DefaultMaxBatchRecords)
	for i := range full {
		txs = append(txs, batch(chainName("F", i), ledger.DefaultMaxBatchRecords))
	}
	left := ledger.MaxBlockWrites - full*cost(ledger.DefaultMaxBatchRecords)
	last := (left - cost(0)) / (cost(1) - cost(0))
	signed := (&ledger.Body{Payload: &ledger.Evidence{}}).WriteCost()
	if ledger.MaxBlockWrites/signed != 10000 || ledger.MaxBlockWrites/cost(1000) != 26 {
		t.Fatalf("a block takes %d signed records or %d batches of 1000: the docs say 10000 and 26", ledger.MaxBlockWrites/signed, ledger.MaxBlockWrites/cost(1000))
	}
	txs = append(txs, batch("G", last))
	txs = append(txs, batch("H", 1))
	out := f.block(txs...)
	for _, r := range out.Results[:len(txs)-1] {
		wantCode(t, r, ledger.CodeOK)
	}
	wantCode(t, out.Results[len(txs)-1], ledger.CodeBlockFull)
	// The next block takes it.
	wantCode(t, f.one(txs[len(txs)-1]), ledger.CodeOK)
}

func TestViewBlock(t *testing.T) {
	f := newFixture(t)
	bankA := f.a.Key("bank-a")
	genesis, err := f.view().Block(0)
	if err != nil {
		t.Fatal(err)
	}
	if genesis.First != 0 || genesis.Size != 6 || genesis.Time != ledgertest.GenesisTime {
		t.Fatalf("genesis block = %+v, want entries [0, 6) at the genesis time", genesis)
	}
	f.block() // empty
	f.block(f.a.Evidence(bankA, f.now, rec("LOAN-B", 1, crypto.Hash{}, "b1")), f.a.Evidence(bankA, f.now, rec("LOAN-C", 1, crypto.Hash{}, "c1")))
	for _, want := range []ledger.BlockInfo{
		{Height: 1, Time: ledgertest.GenesisTime + int64(time.Second), First: 6, Size: 6},
		{Height: 2, Time: ledgertest.GenesisTime + 2*int64(time.Second), First: 6, Size: 8},
	} {
		got, err := f.view().Block(want.Height)
		if err != nil {
			t.Fatal(err)
		}
		if *got != want {
			t.Errorf("Block(%d) = %+v, want %+v", want.Height, *got, want)
		}
	}
	for _, h := range []int64{3, -1} {
		if _, err := f.view().Block(h); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Block(%d) = %v, want ErrNotFound", h, err)
		}
	}
}

// TestGenesisValidatorsBound: the consensus validators must be exactly the
// roster's voting members, each with its consensus key and power.
func TestGenesisValidatorsBound(t *testing.T) {
	a, err := ledgertest.NewAlliance(rand.Reader, chainID)
	if err != nil {
		t.Fatal(err)
	}
	vs := a.Validators
	clone := func() []ledger.ConsensusValidator {
		out := make([]ledger.ConsensusValidator, len(vs))
		copy(out, vs)
		return out
	}
	other := crypto.SM3([]byte("not a member's validator"))
	for _, tc := range []struct {
		name string
		vs   []ledger.ConsensusValidator
		want string
	}{
		{"missing", clone()[1:], "is not in the genesis validator set"},
		{"extra", append(clone(), ledger.ConsensusValidator{PubKey: other[:], Power: 10}), "is no member's validator"},
		{"power differs", func() []ledger.ConsensusValidator { c := clone(); c[0].Power = 11; return c }(), "must agree"},
		{"twice", append(clone(), vs[0]), "appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := *a.Genesis
			g.Validators = tc.vs
			_, err := ledger.New(ledger.Options{}).InitChain(ledgertest.NewMemStore(), &g)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("InitChain = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if _, err := ledger.New(ledger.Options{}).InitChain(ledgertest.NewMemStore(), a.Genesis); err != nil {
		t.Fatalf("InitChain with the matching validators: %v", err)
	}

	// The roster itself: a voting member needs a consensus key, a member
	// without power has none, and no two share one.
	for _, tc := range []struct {
		name string
		edit func(ms []ledger.GenesisMember)
		want string
	}{
		{"voting member without a key", func(ms []ledger.GenesisMember) { ms[0].Validator = "" }, "has voting power but its validator"},
		{"short key", func(ms []ledger.GenesisMember) { ms[0].Validator = "abcd" }, "has voting power but its validator"},
		{"key without power", func(ms []ledger.GenesisMember) { ms[5].Validator = ms[0].Validator }, "no voting power"},
		{"shared key", func(ms []ledger.GenesisMember) { ms[1].Validator = ms[0].Validator }, "has the validator key of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs := a.Genesis.State
			gs.Members = append([]ledger.GenesisMember(nil), gs.Members...)
			tc.edit(gs.Members)
			b, err := json.Marshal(gs)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ledger.ParseGenesisState(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseGenesisState = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
