package receipt_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
)

// TestRosterPathAddTSA: a receipt signed after an add-tsa verifies against
// the genesis roster (which names no TSA) through a roster path whose step
// says what changed, and the roster it arrives at names the TSA.
func TestRosterPathAddTSA(t *testing.T) {
	f := newPathFixture(t, 0)
	tsa := ledgertest.TSA("tsa-sm2", 0, ledger.HashSM3)
	f.change(t, ledger.RosterChange{Kind: ledger.ChangeAddTSA, TSA: tsa})
	s := "Loan contract LOAN-2026-TSA (after add-tsa)\n"
	salt := bytes.Repeat([]byte{7}, 32)
	rec := ledger.Record{Kind: "loan-contract", Chain: "LOAN-2026-TSA", Step: 1, Commitment: crypto.SM3(salt, []byte(s)), Size: uint64(len(s))}
	out := f.block(t, f.a.Sign(f.keys["bank-a"], &ledger.Body{ChainID: testChain, Time: f.now() - int64(time.Millisecond), Payload: &ledger.Evidence{Record: rec}}))
	ref := ledger.RecordRef{Index: out.Results[0].Index}
	f.attest(t)

	genesis, gd := f.rosterVersion(t, 0)
	if genesis.TSAs != nil {
		t.Fatalf("genesis roster names TSAs: %+v", genesis.TSAs)
	}
	v1, d1 := f.rosterVersion(t, 1)
	if !reflect.DeepEqual(v1.TSAs, []ledger.TSA{tsa}) || d1 == gd {
		t.Fatalf("version 1 TSAs %+v, digest %s (genesis %s)", v1.TSAs, d1, gd)
	}
	r, err := receipt.Build(f.view, ref)
	if err != nil {
		t.Fatal(err)
	}
	if r.RosterDigest != d1 || r.RosterPath == nil || len(r.RosterPath.Steps) != 1 {
		t.Fatalf("receipt roster %s path %+v", r.RosterDigest, r.RosterPath)
	}
	rep := receipt.Verify(r, genesis, receipt.VerifyOptions{File: strings.NewReader(s), Salt: salt})
	if !rep.OK {
		t.Fatalf("verify: %+v", rep)
	}
	if st := stepOf(rep, "roster_path"); st == nil || !strings.Contains(st.Detail, "add TSA tsa-sm2") {
		t.Fatalf("roster_path step %+v", st)
	}
	// The roster file of version 1 round-trips through ParseRoster.
	b, err := json.Marshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	back, err := receipt.ParseRoster(b)
	if err != nil || !reflect.DeepEqual(back, v1) {
		t.Fatalf("ParseRoster: %+v, %v", back, err)
	}
}

func TestParseRosterTSAs(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	base := fx.roster(t)
	for _, tc := range []struct {
		name string
		tsas []ledger.TSA
		want string // "" when it parses
	}{
		{"none", nil, ""},
		{"two", []ledger.TSA{ledgertest.TSA("a", 0), ledgertest.TSA("b", 2, "sha256")}, ""},
		{"unsorted", []ledger.TSA{ledgertest.TSA("b", 0), ledgertest.TSA("a", 2)}, "sorted"},
		{"same name", []ledger.TSA{ledgertest.TSA("a", 0), ledgertest.TSA("a", 2)}, "twice"},
		{"same cert", []ledger.TSA{ledgertest.TSA("a", 0), ledgertest.TSA("b", 0)}, "certificate of a"},
		{"bad cert", []ledger.TSA{{Name: "a", Cert: []byte{0x30, 0}, Hashes: []string{"sm3"}}}, "does not parse"},
		{"bad hash", []ledger.TSA{{Name: "a", Cert: ledgertest.TSACert(0), Hashes: []string{"md5"}}}, "md5"},
		{"no hash", []ledger.TSA{{Name: "a", Cert: ledgertest.TSACert(0)}}, "hash algorithms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := *base
			r.TSAs = tc.tsas
			b, _ := json.Marshal(&r)
			_, err := receipt.ParseRoster(b)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("ParseRoster = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := receipt.ParseRoster(bytes.Repeat([]byte(" "), receipt.MaxRosterBytes+1)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("an oversized roster file: %v", err)
	}
}
