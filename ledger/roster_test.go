package ledger_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// TestRosterFromGenesisIsCommittedRoster checks that the roster built from
// the genesis roster (what `roster export --home` writes) is the committed
// one (GET /v1/roster) to the byte, and so has the same digest.
func TestRosterFromGenesisIsCommittedRoster(t *testing.T) {
	f := newFixture(t)
	committed, err := f.view().Roster()
	if err != nil {
		t.Fatal(err)
	}
	// Upper-case hex in the genesis: the roster still holds canonical keys.
	gs := f.a.Genesis.State
	gs.Members = append([]ledger.GenesisMember(nil), gs.Members...)
	gs.Members[0].Keys = []string{strings.ToUpper(gs.Members[0].Keys[0])}
	fromGenesis, err := gs.Roster(chainID)
	if err != nil {
		t.Fatal(err)
	}
	cj, err := json.Marshal(committed)
	if err != nil {
		t.Fatal(err)
	}
	gj, err := json.Marshal(fromGenesis)
	if err != nil {
		t.Fatal(err)
	}
	if string(cj) != string(gj) {
		t.Fatalf("genesis roster\n%s\ndiffers from the committed roster\n%s", gj, cj)
	}
	cd, err := committed.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if gd, err := fromGenesis.Digest(); err != nil || gd != cd {
		t.Fatalf("genesis roster digest %s, %v; committed %s", gd, err, cd)
	}
	names := make([]string, len(committed.Members))
	for i, m := range committed.Members {
		names[i] = m.Name
	}
	if want := []string{"arbitration", "bank-a", "bank-b", "court", "notary", "regulator"}; !reflect.DeepEqual(names, want) {
		t.Errorf("members %v, want sorted by name %v", names, want)
	}
	if committed.Version != ledger.RosterVersion || committed.ChainID != chainID {
		t.Errorf("roster version %d chain %q, want %d %q", committed.Version, committed.ChainID, ledger.RosterVersion, chainID)
	}
}

func TestNewRoster(t *testing.T) {
	k1 := mustKey(t)
	k2 := mustKey(t)
	r := ledger.NewRoster("c", []*ledger.Member{
		{Name: "court", Role: ledger.RoleCourt, Power: 5, Keys: []*crypto.PublicKey{k1}, Peer: "ignored"},
		{Name: "bank", Role: ledger.RoleBank, Power: 7, Keys: []*crypto.PublicKey{k2, k1}},
	}, nil)
	want := &ledger.Roster{Version: 1, ChainID: "c", Members: []ledger.RosterMember{
		{Name: "bank", Role: ledger.RoleBank, Power: 7, Keys: []string{hex.EncodeToString(k2.Bytes()), hex.EncodeToString(k1.Bytes())}},
		{Name: "court", Role: ledger.RoleCourt, Power: 5, Keys: []string{hex.EncodeToString(k1.Bytes())}},
	}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("NewRoster = %+v\nwant %+v", r, want)
	}
}

func TestGenesisRosterRejectsInvalid(t *testing.T) {
	f := newFixture(t)
	gs := f.a.Genesis.State
	gs.Members = append([]ledger.GenesisMember(nil), gs.Members...)
	gs.Members[1].Name = gs.Members[0].Name
	if r, err := gs.Roster(chainID); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("Roster of a genesis with a name twice = %+v, %v; want an error", r, err)
	}
}

func mustKey(t *testing.T) *crypto.PublicKey {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}
