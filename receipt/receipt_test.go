package receipt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

func TestBuild(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	roster := f.roster(t)
	digest, err := roster.Digest()
	if err != nil {
		t.Fatal(err)
	}
	cp1, err := f.view.SignedCheckpoint(1)
	if err != nil {
		t.Fatal(err)
	}
	cp2, err := f.view.SignedCheckpoint(4)
	if err != nil {
		t.Fatal(err)
	}
	leaf6, err := f.view.EntryBytes(6)
	if err != nil {
		t.Fatal(err)
	}
	_, tx6, err := f.view.Entry(6)
	if err != nil {
		t.Fatal(err)
	}
	t1 := cp1.Checkpoint.Time

	tests := []struct {
		name     string
		ref      ledger.RecordRef
		original int
		size     uint64 // tree size of the covering checkpoint
		cp       *ledger.SignedCheckpoint
		check    func(t *testing.T, r *receipt.Receipt)
	}{
		{"evidence", ledger.RecordRef{Index: 6}, 0, 8, cp1, func(t *testing.T, r *receipt.Receipt) {
			want := receipt.Record{Pos: 0, Type: "evidence", Kind: "loan-contract", Chain: "LOAN-2026-000001", Step: 1,
				Commitment: crypto.SM3(f.salts[0], f.originals[0]), Size: uint64(len(f.originals[0])),
				Labels:    map[string]string{"branch": "shenzhen-01", "product": "consumer-loan"},
				Submitter: "bank-a", SubmitterKey: f.a.Key("bank-a").Public().ID(), TxID: tx6.ID(),
				Height: 1, Time: t1, ClientTime: t1.Add(-time.Millisecond)}
			if !reflect.DeepEqual(r.Record, want) {
				t.Errorf("record = %+v\nwant %+v", r.Record, want)
			}
			if !bytes.Equal(r.Leaf, leaf6) {
				t.Error("leaf is not entry 6")
			}
		}},
		{"batch position 1 with cipher", ledger.RecordRef{Index: 7, Pos: 1}, 2, 8, cp1, func(t *testing.T, r *receipt.Receipt) {
			c := crypto.SM3([]byte("sealed copy"))
			if r.Record.Type != "batch" || r.Record.Pos != 1 || r.Record.Chain != "LOAN-2026-000003" || r.Record.Cipher == nil || *r.Record.Cipher != c || r.Record.Submitter != "bank-b" {
				t.Errorf("record = %+v", r.Record)
			}
		}},
		{"later step", ledger.RecordRef{Index: 8}, 3, 9, cp2, func(t *testing.T, r *receipt.Receipt) {
			if r.Record.Step != 2 || r.Record.Prev != ledger.LeafHash(leaf6) || r.Record.Height != 4 {
				t.Errorf("record = %+v", r.Record)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.receipt(t, tc.ref)
			if r.Version != 1 || r.ChainID != testChain || r.LeafIndex != tc.ref.Index || r.TreeSize != tc.size || r.RosterDigest != digest {
				t.Errorf("version %d chain %q index %d size %d digest %s", r.Version, r.ChainID, r.LeafIndex, r.TreeSize, r.RosterDigest)
			}
			if r.Checkpoint != string(tc.cp.Text) {
				t.Errorf("checkpoint = %q, want %q", r.Checkpoint, tc.cp.Text)
			}
			if len(r.Signatures) != len(quorum) {
				t.Fatalf("%d signatures, want %d", len(r.Signatures), len(quorum))
			}
			for i, s := range r.Signatures {
				if s.Member != quorum[i] || s.PublicKey != roster.Members[memberIndex(roster, s.Member)].Keys[0] {
					t.Errorf("signature %d: member %q key %s", i, s.Member, s.PublicKey)
				}
			}
			tc.check(t, r)
			for _, withFile := range []bool{false, true} {
				i := -1
				if withFile {
					i = tc.original
				}
				rep := f.verify(r, roster, i)
				if !rep.OK || rep.FailedStep != "" || len(rep.Steps) != 8 || rep.Steps[7].Reason != receipt.ReasonNoTime {
					t.Fatalf("with file %v: %+v", withFile, rep)
				}
				if got := rep.Steps[2]; got.Skipped == withFile || got.OK != withFile {
					t.Errorf("with file %v: file step %+v", withFile, got)
				}
				// Facts carry the values behind each passed step's detail.
				for _, st := range rep.Steps {
					if st.OK && (len(st.Facts) == 0 || st.Reason != "") {
						t.Errorf("passed step %s: facts %v, reason %q", st.Name, st.Facts, st.Reason)
					}
				}
				if fs := rep.Steps[3].Facts; fs["chain"] != r.Record.Chain || fs["commitment"] != r.Record.Commitment.String() || fs["member"] != r.Record.Submitter {
					t.Errorf("record step facts %v do not match the record %+v", fs, r.Record)
				}
				if withFile && rep.Steps[2].Facts["size"] != fmt.Sprint(r.Record.Size) {
					t.Errorf("file step facts %v, want size %d", rep.Steps[2].Facts, r.Record.Size)
				}
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			back, err := receipt.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, r) {
				t.Errorf("JSON round trip changed the receipt:\n%+v\n%+v", back, r)
			}
		})
	}
}

func memberIndex(r *ledger.Roster, name string) int {
	for i, m := range r.Members {
		if m.Name == name {
			return i
		}
	}
	return -1
}

func TestBuildErrors(t *testing.T) {
	f := newFixture(t, fixtureOptions{partial: true})
	tests := []struct {
		name string
		ref  ledger.RecordRef
		want error
	}{
		{"no checkpoint yet", ledger.RecordRef{Index: 8}, receipt.ErrNotYet},
		{"no such entry", ledger.RecordRef{Index: 9}, ledger.ErrNotFound},
		{"no such position", ledger.RecordRef{Index: 6, Pos: 1}, ledger.ErrNotFound},
		{"not evidence", ledger.RecordRef{Index: 0}, ledger.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := receipt.Build(f.view, tc.ref)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := receipt.Build(f.view, ledger.RecordRef{Index: 6}); err != nil {
		t.Errorf("entry 6 is covered by the first checkpoint: %v", err)
	}
}

func TestVerifySignatureQuorum(t *testing.T) {
	f := newFixture(t, fixtureOptions{signers: allValidators})
	roster := f.roster(t)
	good := f.receipt(t, ledger.RecordRef{Index: 6})
	regulatorSig, err := f.a.Key("regulator").Sign(nil, []byte(good.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	outsiderSig, err := f.a.Outsider.Sign(nil, []byte(good.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(r *receipt.Receipt)
		ok     bool
		detail string // a phrase the signatures step's detail must contain
	}{
		{"all five", func(r *receipt.Receipt) {}, true, "5 members"},
		{"one corrupted, four remain", func(r *receipt.Receipt) { r.Signatures[2].Signature[10] ^= 1 }, true, `"bank-b": the SM2 signature does not verify`},
		{"two removed", func(r *receipt.Receipt) { r.Signatures = r.Signatures[:3] }, false, "30 of 50 voting power, not more than 2/3"},
		{"duplicate counted once", func(r *receipt.Receipt) {
			r.Signatures = append(r.Signatures[:3], r.Signatures[0])
		}, false, `"arbitration": signed more than once`},
		{"regulator has no power", func(r *receipt.Receipt) {
			pk := hexKey(f.a.Key("regulator").Public())
			r.Signatures = append(r.Signatures[:3], receipt.Signature{Member: "regulator", PublicKey: pk, Signature: regulatorSig})
		}, false, `"regulator": holds no voting power`},
		{"outsider", func(r *receipt.Receipt) {
			r.Signatures = append(r.Signatures[:3], receipt.Signature{Member: "outsider", PublicKey: hexKey(f.a.Outsider.Public()), Signature: outsiderSig})
		}, false, `"outsider": not a member`},
		{"outsider key under a member's name", func(r *receipt.Receipt) {
			r.Signatures[1] = receipt.Signature{Member: "bank-a", PublicKey: hexKey(f.a.Outsider.Public()), Signature: outsiderSig}
			r.Signatures = r.Signatures[:4]
		}, false, `"bank-a": public_key is not the member key`},
		{"no signatures", func(r *receipt.Receipt) { r.Signatures = nil }, false, "0 of 50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := clone(t, good)
			tc.mutate(r)
			rep := f.verify(r, roster, 0)
			if rep.OK != tc.ok {
				t.Fatalf("ok = %v, want %v: %+v", rep.OK, tc.ok, rep)
			}
			if !tc.ok && rep.FailedStep != receipt.StepSignatures {
				t.Fatalf("failed at %q, want signatures", rep.FailedStep)
			}
			if d := rep.Steps[6].Detail; !strings.Contains(d, tc.detail) {
				t.Errorf("detail %q does not say %q", d, tc.detail)
			}
		})
	}
}

func hexKey(k *crypto.PublicKey) string {
	b, _ := json.Marshal(receipt.HexBytes(k.Bytes()))
	return strings.Trim(string(b), `"`)
}

func TestParse(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	good, err := json.Marshal(f.receipt(t, ledger.RecordRef{Index: 6}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string
		want  string // part of the error; empty when it must parse
	}{
		{"good", string(good), ""},
		{"unknown field", strings.Replace(string(good), `"leaf_index"`, `"extra":1,"leaf_index"`, 1), "unknown field"},
		{"trailing data", string(good) + "{}", "after the JSON value"},
		{"version 2 without a path", strings.Replace(string(good), `"version":1`, `"version":2`, 1), "a version 2 receipt needs a roster_path"},
		{"version 3", strings.Replace(string(good), `"version":1`, `"version":3`, 1), "receipt version 3: this program reads versions 1 and 2 only"},
		{"version 1 with a path", strings.Replace(string(good), `"version":1,`, `"version":1,"roster_path":{"from_version":0,"from_digest":"`+strings.Repeat("00", 32)+`","steps":[]},`, 1), "a version 1 receipt has no roster_path"},
		{"too large", string(good) + strings.Repeat(" ", receipt.MaxReceiptBytes), "more than"},
		{"no version", strings.Replace(string(good), `"version":1,`, ``, 1), "no version field"},
		{"not JSON", "receipt", "not JSON"},
		{"bad base64", strings.Replace(string(good), `"leaf":"`, `"leaf":"!`, 1), "illegal base64"},
		{"bad hash", strings.Replace(string(good), `"roster_digest":"`, `"roster_digest":"X`, 1), "malformed hash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := receipt.Parse([]byte(tc.input))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, receipt.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed saying %q", err, tc.want)
			}
		})
	}
}

func TestParseRoster(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	good, err := json.Marshal(f.roster(t))
	if err != nil {
		t.Fatal(err)
	}
	key := f.roster(t).Members[0].Keys[0]
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"good", string(good), ""},
		{"unknown field", strings.Replace(string(good), `"chain_id"`, `"x":0,"chain_id"`, 1), "unknown field"},
		{"version 2", strings.Replace(string(good), `"version":1`, `"version":2`, 1), "roster version 2"},
		{"no chain id", strings.Replace(string(good), `"chain_id":"`+testChain+`"`, `"chain_id":""`, 1), "no chain_id"},
		{"bad role", strings.Replace(string(good), `"role":"bank"`, `"role":"shop"`, 1), "role"},
		{"duplicate key", strings.Replace(string(good), f.roster(t).Members[1].Keys[0], key, 1), "registered twice"},
		{"short key", strings.Replace(string(good), key, key[:64], 1), "key 0"},
		{"duplicate member", strings.Replace(string(good), `"name":"bank-a"`, `"name":"arbitration"`, 1), "appears twice"},
		{"trailing", string(good) + "x", "after the JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := receipt.ParseRoster([]byte(tc.input))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(r, f.roster(t)) {
					t.Errorf("roster = %+v", r)
				}
				return
			}
			if !errors.Is(err, receipt.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed saying %q", err, tc.want)
			}
		})
	}
}
