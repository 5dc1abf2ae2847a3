package ledger_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// viewQuery is one View query, with arguments naming things in subject.
type viewQuery struct {
	name string
	call func(v *ledger.View, s subject) error
}

// subject is what the queries ask about: an evidence record kept by the
// alliance at entry 6 (its transaction and cipher address) and a grant of it.
type subject struct {
	tx     crypto.Hash
	cipher crypto.Hash
	grant  uint64
	node   ledger.NodeID // the court's consensus node
}

// viewQueries calls every View query once.
var viewQueries = []viewQuery{
	{"Params", func(v *ledger.View, _ subject) error { _, err := v.Params(); return err }},
	{"Head", func(v *ledger.View, _ subject) error { _, err := v.Head(); return err }},
	{"EntryBytes", func(v *ledger.View, _ subject) error { _, err := v.EntryBytes(6); return err }},
	{"Entry", func(v *ledger.View, _ subject) error { _, _, err := v.Entry(6); return err }},
	{"IndexOfTx", func(v *ledger.View, s subject) error { _, err := v.IndexOfTx(s.tx); return err }},
	{"Record", func(v *ledger.View, _ subject) error {
		_, _, _, err := v.Record(ledger.RecordRef{Index: 6})
		return err
	}},
	{"ByCommitment", func(v *ledger.View, _ subject) error {
		_, err := v.ByCommitment(ledgertest.Commitment("v"), 10)
		return err
	}},
	{"Chain", func(v *ledger.View, _ subject) error { _, err := v.Chain("VIEW-1"); return err }},
	{"ChainSteps", func(v *ledger.View, _ subject) error { _, err := v.ChainSteps("VIEW-1", 1, 10); return err }},
	{"MemberEntries", func(v *ledger.View, _ subject) error { _, err := v.MemberEntries("bank-a", 0, 10); return err }},
	{"Attestations", func(v *ledger.View, _ subject) error {
		_, err := v.Attestations(ledger.RecordRef{Index: 6}, 10)
		return err
	}},
	{"Member", func(v *ledger.View, _ subject) error { _, err := v.Member("bank-a"); return err }},
	{"MemberByKey", func(v *ledger.View, _ subject) error {
		m, err := v.Member("court")
		if err != nil {
			return err
		}
		_, err = v.MemberByKey(m.Keys[0].ID())
		return err
	}},
	{"MemberByNode", func(v *ledger.View, s subject) error { _, err := v.MemberByNode(s.node); return err }},
	{"Members", func(v *ledger.View, _ subject) error { _, err := v.Members(); return err }},
	{"RootAt", func(v *ledger.View, _ subject) error { _, err := v.RootAt(3); return err }},
	{"InclusionProof", func(v *ledger.View, _ subject) error { _, err := v.InclusionProof(1, 7); return err }},
	{"ConsistencyProof", func(v *ledger.View, _ subject) error { _, err := v.ConsistencyProof(3, 7); return err }},
	{"Block", func(v *ledger.View, _ subject) error { _, err := v.Block(1); return err }},
	{"CheckpointText", func(v *ledger.View, _ subject) error { _, err := v.CheckpointText(1); return err }},
	{"SignedCheckpoint", func(v *ledger.View, _ subject) error { _, err := v.SignedCheckpoint(1); return err }},
	{"LatestCheckpoint", func(v *ledger.View, _ subject) error { _, err := v.LatestCheckpoint(); return err }},
	{"CheckpointCovering", func(v *ledger.View, _ subject) error { _, err := v.CheckpointCovering(0); return err }},
	{"TotalPower", func(v *ledger.View, _ subject) error { _, err := v.TotalPower(); return err }},
	{"Roster", func(v *ledger.View, _ subject) error { _, err := v.Roster(); return err }},
	{"Grant", func(v *ledger.View, s subject) error { _, err := v.Grant(s.grant); return err }},
	{"Custody", func(v *ledger.View, _ subject) error { _, err := v.Custody(ledger.RecordRef{Index: 6}, 10); return err }},
	{"Authorize", func(v *ledger.View, _ subject) error {
		_, _, err := v.Authorize("court", ledger.RecordRef{Index: 6}, ledgertest.GenesisTime)
		return err
	}},
	{"ByCipher", func(v *ledger.View, s subject) error { _, err := v.ByCipher(s.cipher, 10); return err }},
}

// errReader is a Reader whose reads fail once fail says so.
type errReader struct {
	r    ledger.Reader
	fail func(key []byte) bool
}

var errDisk = errors.New("disk on fire")

func (e *errReader) Get(key []byte) ([]byte, bool, error) {
	if e.fail(key) {
		return nil, false, errDisk
	}
	return e.r.Get(key)
}

func (e *errReader) Scan(prefix, start []byte, limit int) ([]ledger.KV, error) {
	if e.fail(prefix) {
		return nil, errDisk
	}
	return e.r.Scan(prefix, start, limit)
}

// newViewSubject commits what every View query can be asked about: a kept
// original (entry 6), a trusted checkpoint, and a grant of the original to
// the court.
func newViewSubject(t *testing.T) (*fixture, subject) {
	t.Helper()
	f := newFixture(t)
	bank := f.a.Key("bank-a")
	r1, dk := kept(t, bank, "VIEW-1", 1, crypto.Hash{}, "v")
	e6 := f.one(f.a.Evidence(bank, f.now, r1))
	wantCode(t, e6, ledger.CodeOK)
	f.advanceTo(3)
	wantCode(t, f.one(checkpointTx(t, chainID, 1, f.cosign(f.text(1), quorum...))), ledger.CodeOK)
	g := f.one(buildTx(t, chainID, bank, f.now, &ledger.Grant{Grantee: "court", Purpose: "case 1",
		Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 6}, Wrapped: wrapTo(t, f.a.Key("court"), dk)}}}))
	wantCode(t, g, ledger.CodeOK)
	s := subject{tx: e6.ID, cipher: *r1.Cipher, grant: g.Index, node: f.a.Parties["court"].Node}
	return f, s
}

// TestViewReaderErrors: every query passes a storage failure up, wrapped
// so that errors.Is finds it, whichever of its reads fails.
func TestViewReaderErrors(t *testing.T) {
	f, s := newViewSubject(t)
	for _, q := range viewQueries {
		if err := q.call(f.view(), s); err != nil {
			t.Fatalf("%s on the healthy store: %v", q.name, err)
		}
	}
	for _, q := range viewQueries {
		t.Run(q.name, func(t *testing.T) {
			// Fail the n-th read for every n until the query makes no
			// more reads than n: each of its reads fails once.
			for n := 1; ; n++ {
				reads := 0
				v := ledger.NewView(&errReader{r: f.st, fail: func([]byte) bool { reads++; return reads == n }})
				err := q.call(v, s)
				if reads < n {
					if n == 1 {
						t.Fatal("the query read nothing")
					}
					break
				}
				if !errors.Is(err, errDisk) {
					t.Fatalf("with read %d failing: %v, want an error wrapping the storage error", n, err)
				}
			}
		})
	}
}

// TestViewBeforeInit: queries of committed chain state on a store without
// a chain say so.
func TestViewBeforeInit(t *testing.T) {
	v := ledger.NewView(ledgertest.NewMemStore())
	// Queries of chain state say there is no chain; lookups by key find
	// nothing, which is all an empty store can tell them.
	notInitialized := []string{"Params", "Head", "Block", "CheckpointText", "LatestCheckpoint", "TotalPower",
		"Roster", "RootAt", "InclusionProof", "ConsistencyProof", "Grant", "Authorize", "MemberByNode"}
	for _, q := range viewQueries {
		err := q.call(v, subject{})
		switch {
		case slices.Contains(notInitialized, q.name):
			if !errors.Is(err, ledger.ErrNotInitialized) {
				t.Errorf("%s on an empty store = %v, want ErrNotInitialized", q.name, err)
			}
		case err != nil && !errors.Is(err, ledger.ErrNotFound):
			t.Errorf("%s on an empty store = %v, want nothing found", q.name, err)
		}
	}
}

func TestViewHead(t *testing.T) {
	a := testAlliance(t)
	st := ledgertest.NewMemStore()
	l := ledger.New(ledger.Options{})
	g, err := l.InitChain(st, a.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	st.Commit(g.Changes)
	want := ledger.LogHead{Size: 6, Root: g.LogRoot, AppHash: g.AppHash}
	if head, err := ledger.NewView(st).Head(); err != nil || head != want {
		t.Fatalf("Head after genesis = %+v, %v; want %+v", head, err, want)
	}
	bank, now := a.Key("bank-a"), ledgertest.GenesisTime
	out, err := l.Apply(st, ledger.Block{Height: 1, Time: now, Txs: [][]byte{
		a.Evidence(bank, now, rec("HEAD-1", 1, crypto.Hash{}, "1")),
		a.Batch(bank, now, []ledger.Record{rec("HEAD-2", 1, crypto.Hash{}, "2"), rec("HEAD-3", 1, crypto.Hash{}, "3"), rec("HEAD-4", 1, crypto.Hash{}, "4")}),
		a.Evidence(a.Key("notary"), now, rec("HEAD-5", 1, crypto.Hash{}, "5")), // rejected: counts nothing
	}})
	if err != nil {
		t.Fatal(err)
	}
	st.Commit(out.Changes)
	want = ledger.LogHead{Size: 8, Root: out.LogRoot, AppHash: out.AppHash, Records: 4}
	v := ledger.NewView(st)
	head, err := v.Head()
	if err != nil || head != want {
		t.Fatalf("Head = %+v, %v; want %+v", head, err, want)
	}
	if g.AppHash == out.AppHash || g.LogRoot == out.LogRoot {
		t.Fatal("a block appending entries left the app hash or log root unchanged")
	}
	if root, err := v.RootAt(8); err != nil || root != head.Root {
		t.Fatalf("RootAt(8) = %s, %v; want the head root %s", root, err, head.Root)
	}
	// RFC 9162: the root of the empty tree is the hash of the empty string.
	if root, err := v.RootAt(0); err != nil || root != crypto.SM3(nil) {
		t.Fatalf("RootAt(0) = %s, %v; want SM3 of nothing", root, err)
	}
	// Entry 0 alone: its root is its leaf hash.
	e0, err := v.EntryBytes(0)
	if err != nil {
		t.Fatal(err)
	}
	if root, err := v.RootAt(1); err != nil || root != ledger.LeafHash(e0) {
		t.Fatalf("RootAt(1) = %s, %v; want the leaf hash of entry 0", root, err)
	}
}

// TestViewProofArguments: proofs are only asked of committed tree sizes.
func TestViewProofArguments(t *testing.T) {
	f := newFixture(t) // 6 entries
	v := f.view()
	// A refused argument is the caller's mistake, said as such: not a
	// damaged store, and naming what the View holds.
	for _, tc := range []struct {
		name string
		call func() error
		want string // in the error; "" for success
	}{
		{"root at the head", func() error { _, err := v.RootAt(6); return err }, ""},
		{"root beyond the head", func() error { _, err := v.RootAt(7); return err }, "tree size 7 is beyond the committed log size 6"},
		{"inclusion of the last entry", func() error { _, err := v.InclusionProof(5, 6); return err }, ""},
		{"inclusion at its own index", func() error { _, err := v.InclusionProof(5, 5); return err }, "need index < size <= 6"},
		{"inclusion beyond the head", func() error { _, err := v.InclusionProof(5, 7); return err }, "need index < size <= 6"},
		{"inclusion of a missing entry", func() error { _, err := v.InclusionProof(6, 7); return err }, "need index < size <= 6"},
		{"consistency 1 to 6", func() error { _, err := v.ConsistencyProof(1, 6); return err }, ""},
		{"consistency 6 to 6", func() error { _, err := v.ConsistencyProof(6, 6); return err }, ""},
		{"consistency from 0", func() error { _, err := v.ConsistencyProof(0, 6); return err }, "need 0 < from <= to <= 6"},
		{"consistency backwards", func() error { _, err := v.ConsistencyProof(4, 3); return err }, "need 0 < from <= to <= 6"},
		{"consistency beyond the head", func() error { _, err := v.ConsistencyProof(3, 7); return err }, "need 0 < from <= to <= 6"},
	} {
		err := tc.call()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ledger.ErrStoreCorrupt)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// TestViewIndexes: the queries over the indexes the ledger keeps find
// what was accepted, in order, from where they are asked to start.
func TestViewIndexes(t *testing.T) {
	f := newFixture(t)
	bank, notary := f.a.Key("bank-a"), f.a.Key("notary")
	same := ledgertest.Commitment("the same original")
	r1 := rec("IDX-1", 1, crypto.Hash{}, "1")
	r1.Commitment = same
	e6 := f.one(f.a.Evidence(bank, f.now, r1))
	wantCode(t, e6, ledger.CodeOK)
	r2 := rec("IDX-2", 1, crypto.Hash{}, "2")
	r2.Commitment = same
	e7 := f.one(f.a.Batch(bank, f.now, []ledger.Record{rec("IDX-3", 1, crypto.Hash{}, "3"), r2}))
	wantCode(t, e7, ledger.CodeOK)
	e8 := f.one(f.a.Evidence(bank, f.now, rec("IDX-1", 2, f.leafOf(e6.Index), "1b")))
	wantCode(t, e8, ledger.CodeOK)
	e9 := f.one(f.a.Evidence(bank, f.now, rec("IDX-1", 3, f.leafOf(e8.Index), "1c")))
	wantCode(t, e9, ledger.CodeOK)
	a1 := f.one(f.a.Attest(notary, f.now, "notarised", ledger.RecordRef{Index: e6.Index}, ledger.RecordRef{Index: e7.Index, Pos: 1}))
	wantCode(t, a1, ledger.CodeOK)
	a2 := f.one(f.a.Attest(f.a.Key("court"), f.now, "reviewed", ledger.RecordRef{Index: e7.Index, Pos: 1}))
	wantCode(t, a2, ledger.CodeOK)
	v := f.view()

	refs := func(rs ...ledger.RecordRef) []ledger.RecordRef { return rs }
	idx := func(is ...uint64) []uint64 { return is }
	for _, tc := range []struct {
		name string
		got  func() (any, error)
		want any
	}{
		{"ByCommitment, oldest first", func() (any, error) { return v.ByCommitment(same, 10) }, refs(ledger.RecordRef{Index: 6}, ledger.RecordRef{Index: 7, Pos: 1})},
		{"ByCommitment, limit 1", func() (any, error) { return v.ByCommitment(same, 1) }, refs(ledger.RecordRef{Index: 6})},
		{"ByCommitment of nothing", func() (any, error) { return v.ByCommitment(ledgertest.Commitment("none"), 10) }, refs()},
		{"ChainSteps from 1", func() (any, error) { return v.ChainSteps("IDX-1", 1, 10) }, refs(ledger.RecordRef{Index: 6}, ledger.RecordRef{Index: 8}, ledger.RecordRef{Index: 9})},
		{"ChainSteps from 2, limit 1", func() (any, error) { return v.ChainSteps("IDX-1", 2, 1) }, refs(ledger.RecordRef{Index: 8})},
		{"ChainSteps from 0", func() (any, error) { return v.ChainSteps("IDX-1", 0, 2) }, refs(ledger.RecordRef{Index: 6}, ledger.RecordRef{Index: 8})},
		{"ChainSteps past the head", func() (any, error) { return v.ChainSteps("IDX-1", 4, 10) }, refs()},
		{"ChainSteps of a batch record", func() (any, error) { return v.ChainSteps("IDX-2", 1, 10) }, refs(ledger.RecordRef{Index: 7, Pos: 1})},
		{"ChainSteps of no chain", func() (any, error) { return v.ChainSteps("IDX-0", 1, 10) }, refs()},
		{"ChainSteps of a prefix of a chain id", func() (any, error) { return v.ChainSteps("IDX", 1, 10) }, refs()},
		{"MemberEntries", func() (any, error) { return v.MemberEntries("bank-a", 0, 10) }, idx(0, 6, 7, 8, 9)},
		{"MemberEntries from 7, limit 2", func() (any, error) { return v.MemberEntries("bank-a", 7, 2) }, idx(7, 8)},
		{"MemberEntries of the notary", func() (any, error) { return v.MemberEntries("notary", 0, 10) }, idx(2, a1.Index)},
		{"MemberEntries of no member", func() (any, error) { return v.MemberEntries("nobody", 0, 10) }, idx()},
		{"Attestations", func() (any, error) { return v.Attestations(ledger.RecordRef{Index: 7, Pos: 1}, 10) }, idx(a1.Index, a2.Index)},
		{"Attestations, limit 1", func() (any, error) { return v.Attestations(ledger.RecordRef{Index: 7, Pos: 1}, 1) }, idx(a1.Index)},
		{"Attestations of an unattested record", func() (any, error) { return v.Attestations(ledger.RecordRef{Index: 7}, 10) }, idx()},
	} {
		got, err := tc.got()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !equalAny(got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}

	c, err := v.Chain("IDX-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (ledger.ChainInfo{ID: "IDX-1", Owner: "bank-a", Steps: 3, LeafHash: f.leafOf(9), Last: 9}); *c != want {
		t.Fatalf("Chain = %+v, want %+v", *c, want)
	}
	for _, id := range []string{"IDX-0", strings.Repeat("L", ledger.MaxChainIDLen+1)} {
		if _, err := v.Chain(id); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Chain(%.10s…) = %v, want ErrNotFound", id, err)
		}
		if _, err := v.ChainSteps(id, 1, 10); id != "IDX-0" && !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("ChainSteps of a %d-byte id = %v, want ErrNotFound", len(id), err)
		}
	}

	// Record finds each record of an entry, and nothing else.
	for _, tc := range []struct {
		ref   ledger.RecordRef
		chain string // "" when there is no such record
	}{
		{ledger.RecordRef{Index: 6}, "IDX-1"},
		{ledger.RecordRef{Index: 7}, "IDX-3"},
		{ledger.RecordRef{Index: 7, Pos: 1}, "IDX-2"},
		{ledger.RecordRef{Index: 7, Pos: 2}, ""},
		{ledger.RecordRef{Index: 6, Pos: 1}, ""},
		{ledger.RecordRef{Index: 0}, ""},            // a registration
		{ledger.RecordRef{Index: a1.Index}, ""},     // an attestation
		{ledger.RecordRef{Index: a2.Index + 1}, ""}, // beyond the log
	} {
		r, e, tx, err := v.Record(tc.ref)
		if tc.chain == "" {
			if !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("Record(%v) = %+v, %v; want ErrNotFound", tc.ref, r, err)
			}
			continue
		}
		if err != nil || r.Chain != tc.chain || e.Height != int64(tc.ref.Index-5) || tx.ID() != f.txIDAt(tc.ref.Index) {
			t.Errorf("Record(%v) = chain %v at height %v, %v; want chain %s", tc.ref, r, e, err, tc.chain)
		}
	}
	if i, err := v.IndexOfTx(e7.ID); err != nil || i != 7 {
		t.Fatalf("IndexOfTx(batch) = %d, %v; want 7", i, err)
	}
}

// txIDAt returns the id of the transaction in entry index.
func (f *fixture) txIDAt(index uint64) crypto.Hash {
	f.t.Helper()
	_, tx, err := f.view().Entry(index)
	if err != nil {
		f.t.Fatal(err)
	}
	return tx.ID()
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []ledger.RecordRef:
		return slices.Equal(a, b.([]ledger.RecordRef))
	case []uint64:
		return slices.Equal(a, b.([]uint64))
	}
	return false
}

// TestViewMembers: the committed roster as genesis gave it.
func TestViewMembers(t *testing.T) {
	f := newFixture(t)
	v := f.view()
	ms, err := v.Members()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(f.a.Genesis.State.Members) {
		t.Fatalf("%d members, want %d", len(ms), len(f.a.Genesis.State.Members))
	}
	for i, gm := range f.a.Genesis.State.Members { // registered in genesis order
		m, err := v.Member(gm.Name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != gm.Name || m.Role != gm.Role || m.Power != gm.Power || m.Entry != uint64(i) || len(m.Keys) != 1 ||
			hex.EncodeToString(m.Keys[0].Bytes()) != gm.Keys[0] {
			t.Errorf("Member(%s) = %+v, want %+v at entry %d", gm.Name, *m, gm, i)
		}
		byKey, err := v.MemberByKey(m.Keys[0].ID())
		if err != nil || byKey.Name != gm.Name {
			t.Errorf("MemberByKey(key of %s) = %+v, %v", gm.Name, byKey, err)
		}
	}
	if _, err := v.MemberByKey(f.a.Outsider.Public().ID()); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("MemberByKey(outsider) = %v, want ErrNotFound", err)
	}
	if !slices.IsSortedFunc(ms, func(a, b *ledger.MemberInfo) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatal("Members are not in name order")
	}
	if p, err := v.TotalPower(); err != nil || p != 50 {
		t.Fatalf("TotalPower = %d, %v; want 50", p, err)
	}
}

// TestRoster: the roster a verifier needs, and its digest over the
// canonical encoding documented on Roster.Digest.
func TestRoster(t *testing.T) {
	f := newFixture(t)
	r, err := f.view().Roster()
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 || r.ChainID != chainID || len(r.Members) != 6 {
		t.Fatalf("Roster = version %d chain %q with %d members", r.Version, r.ChainID, len(r.Members))
	}
	byName := map[string]ledger.GenesisMember{}
	for _, gm := range f.a.Genesis.State.Members {
		byName[gm.Name] = gm
	}
	for i, m := range r.Members {
		gm := byName[m.Name]
		if i > 0 && r.Members[i-1].Name >= m.Name {
			t.Fatalf("roster members are not sorted by name: %s after %s", m.Name, r.Members[i-1].Name)
		}
		if m.Role != gm.Role || m.Power != gm.Power || !slices.Equal(m.Keys, gm.Keys) {
			t.Errorf("roster member %+v, genesis says %+v", m, gm)
		}
	}

	// The documented encoding, spelled out.
	enc := []byte("evidenced/roster/v1")
	enc = append(append(enc, byte(len(chainID))), chainID...)
	enc = binary.BigEndian.AppendUint16(enc, uint16(len(r.Members)))
	for _, m := range r.Members {
		enc = append(append(enc, byte(len(m.Name))), m.Name...)
		enc = append(enc, byte(m.Role))
		enc = binary.BigEndian.AppendUint64(enc, m.Power)
		enc = append(enc, byte(len(m.Keys)))
		for _, k := range m.Keys {
			enc = append(enc, hexBytes(t, k)...)
		}
	}
	d, err := r.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d != crypto.SM3(enc) {
		t.Fatalf("Digest = %s, want SM3 of the documented encoding %s", d, crypto.SM3(enc))
	}

	// The digest does not depend on member order, and depends on
	// everything else.
	shuffled := *r
	shuffled.Members = slices.Clone(r.Members)
	slices.Reverse(shuffled.Members)
	if d2, err := shuffled.Digest(); err != nil || d2 != d {
		t.Fatalf("Digest of the reversed roster = %s, %v; want %s", d2, err, d)
	}
	if shuffled.Members[0].Name != "regulator" {
		t.Fatal("Digest sorted the caller's members in place")
	}
	for _, tc := range []struct {
		name string
		edit func(r *ledger.Roster)
	}{
		{"chain id", func(r *ledger.Roster) { r.ChainID = "other-chain" }},
		{"a name", func(r *ledger.Roster) { r.Members[0].Name = "arbitrage" }},
		{"a role", func(r *ledger.Roster) { r.Members[0].Role = ledger.RoleCourt }},
		{"a power", func(r *ledger.Roster) { r.Members[0].Power++ }},
		{"a key", func(r *ledger.Roster) { r.Members[0].Keys = r.Members[1].Keys }},
		{"a second key", func(r *ledger.Roster) {
			r.Members[0].Keys = append(slices.Clone(r.Members[0].Keys), r.Members[1].Keys[0])
		}},
		{"a member less", func(r *ledger.Roster) { r.Members = r.Members[1:] }},
	} {
		c := *r
		c.Members = slices.Clone(r.Members)
		tc.edit(&c)
		if d2, err := c.Digest(); err != nil || d2 == d {
			t.Errorf("changing %s: Digest = %s, %v; want another digest", tc.name, d2, err)
		}
	}
	for _, key := range []string{"zz", "04", hex.EncodeToString(make([]byte, 66))} {
		c := *r
		c.Members = slices.Clone(r.Members)
		c.Members[2].Keys = []string{key}
		if _, err := c.Digest(); err == nil || !strings.Contains(err.Error(), c.Members[2].Name) {
			t.Errorf("Digest with key %q = %v, want an error naming the member", key, err)
		}
	}
}

// damageReader is a Reader whose n-th read returns damaged values: the
// value read (every value, for a scan) with a byte added or removed.
type damageReader struct {
	r        ledger.Reader
	n, reads int
	grow     bool
}

func (d *damageReader) damage(v []byte) []byte {
	if d.grow {
		return append(v, 0xa5)
	}
	if len(v) == 0 {
		return v
	}
	return v[:len(v)-1]
}

func (d *damageReader) Get(key []byte) ([]byte, bool, error) {
	v, found, err := d.r.Get(key)
	if d.reads++; d.reads == d.n && found {
		v = d.damage(v)
	}
	return v, found, err
}

func (d *damageReader) Scan(prefix, start []byte, limit int) ([]ledger.KV, error) {
	kvs, err := d.r.Scan(prefix, start, limit)
	if d.reads++; d.reads == d.n {
		for i := range kvs {
			kvs[i].Value = d.damage(kvs[i].Value)
		}
	}
	return kvs, err
}

// TestViewDamagedStore: a query reading a damaged value fails with
// ErrStoreCorrupt, or does not need the value; it never panics.
func TestViewDamagedStore(t *testing.T) {
	f, s := newViewSubject(t)
	for _, q := range viewQueries {
		for _, grow := range []bool{false, true} {
			for n := 1; ; n++ {
				d := &damageReader{r: f.st, n: n, grow: grow}
				err := q.call(ledger.NewView(d), s)
				if d.reads < n {
					break
				}
				if err != nil && !errors.Is(err, ledger.ErrStoreCorrupt) {
					t.Errorf("%s with read %d damaged (grow %v): %v, want ErrStoreCorrupt", q.name, n, grow, err)
				}
			}
		}
	}
}
