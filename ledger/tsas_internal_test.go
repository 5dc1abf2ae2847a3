package ledger

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/evidenced/evidenced/crypto"
)

// TestRosterVersionTSAEncoding: a roster version without TSAs encodes as
// versions did before rosters named TSAs (so stored ones decode), and one
// with TSAs round-trips.
func TestRosterVersionTSAEncoding(t *testing.T) {
	seat := Seat{Member: Member{Name: "bank-a", Role: RoleBank, Power: 10, Keys: []*crypto.PublicKey{exampleKey("k")}},
		Validator: make([]byte, ConsensusKeySize), Node: NodeID{1}}
	v := &rosterVersion{Version: 2, Proposal: 7, Entry: 8, From: 30, Attested: 28, Seats: []Seat{seat}}
	old := v.encode()
	// The layout before TSAs: header, count, seats, nothing more.
	want := append([]byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 28, 1}, encodeSeat(&seat)...)
	if !bytes.Equal(old, want) {
		t.Fatalf("version without TSAs:\n%x\nwant\n%x", old, want)
	}
	back, err := decodeRosterVersion(old)
	if err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("decode %+v, %v", back, err)
	}
	v.TSAs = []TSA{{Name: "a", Cert: []byte{0x30, 0}, Hashes: []string{HashSM3}}}
	back, err = decodeRosterVersion(v.encode())
	if err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("decode with TSAs %+v, %v", back, err)
	}
	if _, err := decodeRosterVersion(append(old, 0)); err == nil {
		t.Fatal("an empty TSA list decodes")
	}
}
