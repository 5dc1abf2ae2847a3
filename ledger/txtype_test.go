package ledger_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// TestTxTypes walks the registry: every row is found by number and name,
// its example encodes, decodes to an equal payload and re-encodes to the
// same bytes, costs what its origin says, and its public details hold
// together (fields, a summary with one argument per verb, a JSON form that
// NewDetails reads back).
func TestTxTypes(t *testing.T) {
	types := ledger.TxTypes()
	if len(types) < 8 {
		t.Fatalf("%d transaction types, want at least 8", len(types))
	}
	verbs := regexp.MustCompile(`%[-+# 0]*[0-9]*[a-zA-Z]`)
	names := map[string]bool{}
	for i, info := range types {
		t.Run(info.Name, func(t *testing.T) {
			if i > 0 && types[i-1].Type >= info.Type {
				t.Errorf("the registry is not in type-number order at %s", info.Name)
			}
			if names[info.Name] || info.Name != strings.ToLower(info.Name) || info.Name == "" {
				t.Errorf("type name %q is empty, repeated or not lowercase", info.Name)
			}
			names[info.Name] = true
			if info.Type.Info() != info || ledger.TxTypeNamed(info.Name) != info || info.Type.String() != info.Name {
				t.Fatalf("%s is not found by number or name", info.Name)
			}
			p := info.Example()
			if p.TxType() != info.Type {
				t.Fatalf("the example of %s is a %s payload", info.Name, p.TxType())
			}
			body := &ledger.Body{ChainID: chainID, Time: 1, Payload: p}
			if info.Origin == ledger.OriginMember {
				body.Signer = crypto.KeyID{1}
			}
			b, err := ledger.EncodeBody(body)
			if err != nil {
				t.Fatalf("the example does not encode: %v", err)
			}
			dec, err := ledger.DecodeBody(b)
			if err != nil {
				t.Fatalf("the example does not decode: %v", err)
			}
			if !reflect.DeepEqual(dec.Payload, p) {
				t.Errorf("decoded %#v, want %#v", dec.Payload, p)
			}
			again, err := ledger.EncodeBody(dec)
			if err != nil || string(again) != string(b) {
				t.Errorf("decode and encode again gives other bytes (%v)", err)
			}
			cost := body.WriteCost()
			switch {
			case info.Origin == ledger.OriginMember && cost < 5:
				t.Errorf("write cost %d: a member's transaction costs at least its entry's 5 writes", cost)
			case info.Origin != ledger.OriginMember && cost != 0:
				t.Errorf("write cost %d: genesis and proposer transactions are outside the block budget", cost)
			}
			if info.Entry() != (info.Origin != ledger.OriginProposer && !info.StateOnly) {
				t.Errorf("Entry() = %v for origin %d", info.Entry(), info.Origin)
			}
			if info.CarriesRecords() != (len(dec.EvidenceRecords()) > 0) {
				t.Errorf("CarriesRecords() = %v, the example carries %d records", info.CarriesRecords(), len(dec.EvidenceRecords()))
			}

			d := p.Details()
			if (d == nil) != (info.JSONKey == "") || (d == nil) != (info.NewDetails == nil) {
				t.Fatalf("details %v, JSON key %q, NewDetails set %v: all three or none", d != nil, info.JSONKey, info.NewDetails != nil)
			}
			if d == nil {
				return
			}
			fields := d.Fields()
			if len(fields) == 0 {
				t.Errorf("no fields")
			}
			for _, f := range fields {
				if f.Name == "" || f.Text() == "" {
					t.Errorf("field %+v has no name or no text", f)
				}
			}
			format, args := d.Summary()
			if n := len(verbs.FindAllString(format, -1)); n != len(args) || format == "" {
				t.Errorf("summary %q has %d verbs and %d arguments", format, n, len(args))
			}
			j, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			back := info.NewDetails()
			if err := json.Unmarshal(j, back); err != nil || !reflect.DeepEqual(back, d) {
				t.Errorf("details JSON %s reads back as %#v (%v)", j, back, err)
			}
		})
	}
	if ledger.TxType(200).Info() != nil || ledger.TxTypeNamed("nope") != nil || ledger.TxType(200).String() != "type_200" || ledger.TxBundle.String() != "bundle" {
		t.Errorf("unknown types are found")
	}
}

// TestFieldText: how the CLI prints each kind of value.
func TestFieldText(t *testing.T) {
	h := crypto.SM3([]byte("x"))
	tests := []struct {
		f    ledger.Field
		want string
	}{
		{ledger.Field{Kind: ledger.FieldText, Value: "(2026)沪0115民初1234号"}, "(2026)沪0115民初1234号"},
		{ledger.Field{Kind: ledger.FieldNumber, Value: uint64(42)}, "42"},
		{ledger.Field{Kind: ledger.FieldTime, Value: time.Date(2026, 12, 2, 1, 2, 3, 4, time.UTC)}, "2026-12-02T01:02:03.000000004Z"},
		{ledger.Field{Kind: ledger.FieldHash, Value: h}, h.String()},
		{ledger.Field{Kind: ledger.FieldRole, Value: ledger.RoleCourt}, "court"},
		{ledger.Field{Kind: ledger.FieldRecords, Value: []ledger.RecordRef{{Index: 6}, {Index: 7, Pos: 2}}}, "6, 7.2"},
		{ledger.Field{Kind: ledger.FieldKeys, Value: []ledger.HexBytes{{4, 0xab}, {4, 0xcd}}}, "04ab, 04cd"},
	}
	for _, tt := range tests {
		if got := tt.f.Text(); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.f.Value, got, tt.want)
		}
	}
	var hb ledger.HexBytes
	if err := hb.UnmarshalText([]byte("04AB")); err != nil || hb.String() != "04ab" {
		t.Errorf("HexBytes from 04AB: %v %v", hb, err)
	}
	if err := hb.UnmarshalText([]byte("0x")); err == nil {
		t.Errorf("HexBytes took 0x")
	}
}

// TestSignerName: a registration names the member it registers; a
// transaction its key's holder; a key no longer registered, nobody.
func TestSignerName(t *testing.T) {
	f := newFixture(t)
	v := f.view()
	court, err := v.Member("court")
	if err != nil {
		t.Fatal(err)
	}
	_, reg, err := v.Entry(court.Entry)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := v.SignerName(reg); err != nil || n != "court" {
		t.Errorf("signer of court's registration: %q %v", n, err)
	}
	res := f.one(f.a.Evidence(f.a.Key("bank-b"), f.now, rec("LOAN-SN", 1, crypto.Hash{}, "sn")))
	_, tx, err := f.view().Entry(res.Index)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.view().SignerName(tx); err != nil || n != "bank-b" {
		t.Errorf("signer of bank-b's evidence: %q %v", n, err)
	}
	tx.Body.Signer = f.a.Outsider.Public().ID()
	if n, err := f.view().SignerName(tx); err != nil || n != "" {
		t.Errorf("signer of an unregistered key: %q %v", n, err)
	}
}
