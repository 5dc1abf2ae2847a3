package ledger_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// Trusted TSAs: in genesis, in roster versions and roster entries, in the
// roster digest, and changed by proposals of kind add-tsa and remove-tsa.

// withTSAs returns a fixture whose genesis names TSA "tsa-a" (SM3, its
// certificate in base64 DER) and "tsa-ec" (SHA-256, its certificate in
// PEM), listed out of order.
func withTSAs(t *testing.T) *fixture {
	return newFixtureWith(t, func(g *ledger.Genesis) {
		g.State.TSAs = []ledger.GenesisTSA{
			{Name: "tsa-ec", Cert: string(ledgertest.TSACertPEM(2)), Hashes: []string{"sha256"}},
			{Name: "tsa-a", Cert: base64.StdEncoding.EncodeToString(ledgertest.TSACert(0)), Hashes: []string{"sm3", "sha256"}},
		}
	})
}

func TestGenesisTSAs(t *testing.T) {
	f := withTSAs(t)
	want := []ledger.TSA{ledgertest.TSA("tsa-a", 0, "sha256", "sm3"), ledgertest.TSA("tsa-ec", 2, "sha256")}
	got, err := f.view().TSAs()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("TSAs() = %+v, %v; want %+v", got, err, want)
	}
	v0, err := f.view().RosterVersion(0)
	if err != nil || !reflect.DeepEqual(v0.TSAs, want) {
		t.Fatalf("version 0 TSAs %+v, %v", v0, err)
	}
	r, err := f.view().Roster()
	if err != nil || !reflect.DeepEqual(r.TSAs, want) {
		t.Fatalf("roster TSAs %+v, %v", r, err)
	}
	gr, err := f.a.Genesis.State.Roster(chainID)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := r.Digest()
	if gd, _ := gr.Digest(); gd != d || v0.Digest != d {
		t.Fatalf("digests: committed %s, genesis %s, version 0 %s", d, gd, v0.Digest)
	}
	// The roster file carries them: cert as base64, hashes sorted.
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"tsas":[{"name":"tsa-a","cert":"`+base64.StdEncoding.EncodeToString(ledgertest.TSACert(0))+`","hashes":["sha256","sm3"]}`) {
		t.Fatalf("roster JSON %s", b)
	}
	if sub := want[0].Subject(); !strings.Contains(sub, "Test SM2 TSA A") {
		t.Errorf("subject %q", sub)
	}
	if sub := want[1].Subject(); !strings.Contains(sub, "Test ECDSA TSA") {
		t.Errorf("subject %q", sub)
	}
}

func TestGenesisTSAsRejected(t *testing.T) {
	cert := base64.StdEncoding.EncodeToString(ledgertest.TSACert(0))
	for _, tc := range []struct {
		name string
		tsas []ledger.GenesisTSA
		want string
	}{
		{"bad base64", []ledger.GenesisTSA{{Name: "a", Cert: "%%%", Hashes: []string{"sm3"}}}, "base64"},
		{"not a certificate", []ledger.GenesisTSA{{Name: "a", Cert: base64.StdEncoding.EncodeToString([]byte{0x30, 1, 2}), Hashes: []string{"sm3"}}}, "does not parse"},
		{"no hashes", []ledger.GenesisTSA{{Name: "a", Cert: cert}}, "hash algorithms"},
		{"unknown hash", []ledger.GenesisTSA{{Name: "a", Cert: cert, Hashes: []string{"md5"}}}, "md5"},
		{"repeated hash", []ledger.GenesisTSA{{Name: "a", Cert: cert, Hashes: []string{"sm3", "sm3"}}}, "one each"},
		{"empty name", []ledger.GenesisTSA{{Cert: cert, Hashes: []string{"sm3"}}}, "TSA name is empty"},
		{"long name", []ledger.GenesisTSA{{Name: strings.Repeat("a", 65), Cert: cert, Hashes: []string{"sm3"}}}, "more than 64"},
		{"name with a space", []ledger.GenesisTSA{{Name: "a b", Cert: cert, Hashes: []string{"sm3"}}}, "TSA name"},
		{"same name", []ledger.GenesisTSA{{Name: "a", Cert: cert, Hashes: []string{"sm3"}}, {Name: "a", Cert: string(ledgertest.TSACertPEM(1)), Hashes: []string{"sm3"}}}, "twice"},
		{"same cert", []ledger.GenesisTSA{{Name: "a", Cert: cert, Hashes: []string{"sm3"}}, {Name: "b", Cert: string(ledgertest.TSACertPEM(0)), Hashes: []string{"sm3"}}}, "certificate of a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := ledgertest.NewAlliance(rand.Reader, chainID)
			gs := a.Genesis.State
			gs.TSAs = tc.tsas
			b, _ := json.Marshal(gs)
			_, err := ledger.ParseGenesisState(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseGenesisState = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestRosterDigestTSAs: a roster without TSAs has the digest it had
// before rosters named any (nil and empty alike); TSAs change it; their
// order and their hashes' order do not.
func TestRosterDigestTSAs(t *testing.T) {
	f := newFixture(t)
	r, err := f.view().Roster()
	if err != nil {
		t.Fatal(err)
	}
	if r.TSAs != nil {
		t.Fatalf("a genesis without TSAs: %+v", r.TSAs)
	}
	if b, _ := json.Marshal(r); strings.Contains(string(b), "tsas") {
		t.Fatalf("roster JSON without TSAs names them: %s", b)
	}
	d0, _ := r.Digest()
	r.TSAs = []ledger.TSA{}
	if d, _ := r.Digest(); d != d0 {
		t.Fatalf("an empty TSA list changes the digest")
	}
	r.TSAs = []ledger.TSA{ledgertest.TSA("b", 1), ledgertest.TSA("a", 0, "sm3", "sha256")}
	d1, _ := r.Digest()
	if d1 == d0 {
		t.Fatal("TSAs do not change the digest")
	}
	r.TSAs = []ledger.TSA{{Name: "a", Cert: ledgertest.TSACert(0), Hashes: []string{"sm3", "sha256"}}, ledgertest.TSA("b", 1)}
	if d, _ := r.Digest(); d != d1 {
		t.Fatal("the TSAs' order changes the digest")
	}
	r.TSAs[1].Hashes = []string{"sha256"}
	if d, _ := r.Digest(); d == d1 {
		t.Fatal("a TSA's hashes do not change the digest")
	}
}

func TestGovernanceTSAs(t *testing.T) {
	f := withTSAs(t)
	add := ledger.RosterChange{Kind: ledger.ChangeAddTSA, TSA: ledgertest.TSA("tsa-b", 1, "sm3")}
	// Rejected at once: a name or a certificate the roster already has, a
	// TSA it does not have, a certificate that does not parse, bad hashes.
	wantCode(t, f.propose("notary", ledger.RosterChange{Kind: ledger.ChangeAddTSA, TSA: ledgertest.TSA("tsa-a", 1)}, 50), ledger.CodeDuplicateTSA)
	wantCode(t, f.propose("notary", ledger.RosterChange{Kind: ledger.ChangeAddTSA, TSA: ledgertest.TSA("tsa-z", 2)}, 50), ledger.CodeDuplicateTSA)
	wantCode(t, f.propose("notary", ledger.RosterChange{Kind: ledger.ChangeRemoveTSA, TSA: ledger.TSA{Name: "tsa-b"}}, 50), ledger.CodeNotTSA)
	for _, bad := range []ledger.TSA{
		{Name: "tsa-b", Cert: []byte{0x30, 0x03, 1, 2, 3}, Hashes: []string{"sm3"}},
		{Name: "tsa-b", Cert: ledgertest.TSACert(1), Hashes: []string{"sm3", "sha256"}}, // not sorted
		{Name: "tsa-b", Cert: ledgertest.TSACert(1), Hashes: []string{"sha1"}},
		{Name: "", Cert: ledgertest.TSACert(1), Hashes: []string{"sm3"}},
	} {
		_, err := ledger.EncodeBody(&ledger.Body{ChainID: chainID, Time: 1, Payload: &ledger.Proposal{Change: ledger.RosterChange{Kind: ledger.ChangeAddTSA, TSA: bad}, Deadline: 50}})
		var re *ledger.RejectError
		if !errors.As(err, &re) || re.Code != ledger.CodeMalformed {
			t.Errorf("add-tsa of %+v: %v, want malformed", bad, err)
		}
	}

	p := f.propose("notary", add, 50)
	wantCode(t, p, ledger.CodeOK)
	pi, err := f.view().Proposal(p.Index, f.height)
	if err != nil || !reflect.DeepEqual(pi.Proposal.Change.TSA, add.TSA) {
		t.Fatalf("proposal %+v, %v", pi, err)
	}
	d := pi.Proposal.Details().(*ledger.ProposalDetails)
	if d.Change != "add-tsa" || d.TSA != "tsa-b" || !bytes.Equal(d.TSACert, add.TSA.Cert) || !reflect.DeepEqual(d.TSAHashes, []string{"sm3"}) || d.Member != "" {
		t.Fatalf("details %+v", d)
	}
	out := f.vote(p.Index, ledger.Approve, "bank-a", "bank-b", "notary", "court")
	_, tx, err := f.view().Entry(out.Results[0].Index + 1)
	if err != nil || tx.Body.Type() != ledger.TxRoster {
		t.Fatalf("entry after the deciding vote: %v", err)
	}
	upd := tx.Body.Payload.(*ledger.RosterUpdate)
	want := []ledger.TSA{ledgertest.TSA("tsa-a", 0, "sha256", "sm3"), add.TSA, ledgertest.TSA("tsa-ec", 2, "sha256")}
	if upd.Version != 1 || len(upd.Seats) != 6 || !reflect.DeepEqual(upd.TSAs, want) {
		t.Fatalf("roster entry %+v", upd)
	}
	if d, _ := upd.Roster(chainID).Digest(); d != upd.Digest {
		t.Fatalf("roster entry digest %s, its roster's %s", upd.Digest, d)
	}
	// Pending: the TSAs in force are still genesis's.
	if got, _ := f.view().TSAs(); len(got) != 2 {
		t.Fatalf("TSAs in force while version 1 is pending: %+v", got)
	}
	cp := f.attest(nil)
	if len(cp.ValidatorUpdates) != 0 {
		t.Fatalf("a TSA change changes validators: %+v", cp.ValidatorUpdates)
	}
	if got, _ := f.view().TSAs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("TSAs in force %+v", got)
	}
	c := f.height
	for h, n := range map[int64]int{c: 2, c + 2: 3, math.MaxInt64: 3} {
		if at, err := f.view().RosterAt(h); err != nil || len(at.TSAs) != n {
			t.Errorf("RosterAt(%d) = %+v, %v; want %d TSAs", h, at, err, n)
		}
	}

	// Remove two, one by one: the second leaves none.
	for i, name := range []string{"tsa-a", "tsa-b", "tsa-ec"} {
		f.block()
		p = f.propose("bank-a", ledger.RosterChange{Kind: ledger.ChangeRemoveTSA, TSA: ledger.TSA{Name: name}}, uint64(f.height+50))
		wantCode(t, p, ledger.CodeOK)
		f.vote(p.Index, ledger.Approve, "bank-a", "bank-b", "notary", "court")
		f.attest(nil)
		got, err := f.view().TSAs()
		if err != nil || len(got) != 2-i {
			t.Fatalf("after removing %s: %+v, %v", name, got, err)
		}
	}
	r, _ := f.view().Roster()
	if r.TSAs != nil {
		t.Fatalf("roster after removing every TSA: %+v", r.TSAs)
	}
	rv, _ := f.view().RosterVersion(4)
	if d, _ := r.Digest(); rv.Digest != d || len(rv.TSAs) != 0 {
		t.Fatalf("version 4 %+v", rv)
	}
}

// TestRosterEntryTSAWire: a roster entry without TSAs has the bytes it
// had before TSAs (nothing after the seats); with TSAs, they round-trip;
// a written empty list is not canonical.
func TestRosterEntryTSAWire(t *testing.T) {
	_, seat := newSeat(t, "bank-a", ledger.RoleBank, 10)
	without := &ledger.RosterUpdate{Version: 1, Proposal: 9, Seats: []ledger.Seat{seat}}
	b0 := mustBody(t, without)
	with := &ledger.RosterUpdate{Version: 1, Proposal: 9, Seats: []ledger.Seat{seat}, TSAs: []ledger.TSA{ledgertest.TSA("a", 0)}}
	b1 := mustBody(t, with)
	if !bytes.HasPrefix(b1, b0) || b1[len(b0)] != 1 {
		t.Fatalf("TSAs are not appended after the seats: %x / %x", b0, b1)
	}
	back, err := ledger.DecodeBody(b1)
	if err != nil || !reflect.DeepEqual(back.Payload, with) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	if _, err := ledger.DecodeBody(append(bytes.Clone(b0), 0)); err == nil {
		t.Fatal("an empty TSA list decodes")
	}
}

func mustBody(t *testing.T, p ledger.Payload) []byte {
	t.Helper()
	b, err := ledger.EncodeBody(&ledger.Body{ChainID: chainID, Time: 1, Payload: p})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
