package receipt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
)

// attestFixture is the fixture with, after it, the notary's attestation of
// chain LOAN-2026-000001 (records 6 and 8) and a bank's refused one:
//
//	entry 9      attest by notary: notarised, targets 6 and 8, document, note (height 7)
//	block 9      trusted checkpoint of height 7 (tree size 10)
type attestFixture struct {
	*fixture
	document []byte // the notarial certificate the attestation commits to
}

// attestIndex is the log index of the fixture's attestation.
const attestIndex = 9

func newAttestFixture(tb testing.TB) *attestFixture {
	tb.Helper()
	f := &attestFixture{fixture: newFixture(tb, fixtureOptions{}), document: []byte("公证书 (2026)沪东证字第1234号\n")}
	t7 := ledgertest.GenesisTime + 7*int64(time.Second)
	tx := f.a.Sign(f.a.Key("notary"), &ledger.Body{ChainID: testChain, Time: t7 - int64(time.Millisecond), Payload: &ledger.Attestation{
		Statement: "notarised", Targets: []ledger.RecordRef{{Index: 6}, {Index: 8}},
		Document: crypto.SM3(f.document), Note: "(2026)沪东证字第1234号"}})
	f.apply(tb, t7, tx)
	f.apply(tb, t7+int64(time.Second))
	f.apply(tb, t7+2*int64(time.Second), f.checkpointTx(tb, 7, quorum))
	return f
}

func (f *attestFixture) attestReceipt(tb testing.TB) *receipt.Receipt {
	tb.Helper()
	r, err := receipt.BuildAttestation(f.view, attestIndex)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestAttestationReceipt(t *testing.T) {
	f := newAttestFixture(t)
	r := f.attestReceipt(t)
	a := r.Attestation
	if a == nil || a.Statement != "notarised" || a.Note != "(2026)沪东证字第1234号" || a.Signer != "notary" || a.Role != ledger.RoleNotary ||
		len(a.Targets) != 2 || a.Targets[0] != (ledger.RecordRef{Index: 6}) || a.Targets[1] != (ledger.RecordRef{Index: 8}) ||
		a.Document != crypto.SM3(f.document) || a.Height != 7 || r.LeafIndex != attestIndex || r.TreeSize != 10 {
		t.Fatalf("receipt = %+v, attestation %+v", r, a)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"record"`)) || !bytes.Contains(b, []byte(`"attestation":{"statement":"notarised"`)) {
		t.Errorf("JSON = %s, want an attestation and no record", b)
	}
	r2, err := receipt.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	rep := receipt.Verify(r2, f.roster(t), receipt.VerifyOptions{})
	if !rep.OK || len(rep.Steps) != 8 || rep.Steps[3].Name != receipt.StepAttestation || !rep.Steps[3].OK {
		t.Fatalf("report = %+v", rep)
	}
	if fs := rep.Steps[3].Facts; fs["statement"] != "notarised" || fs["targets"] != "6, 8" || fs["member"] != "notary" || fs["role"] != "notary" ||
		fs["note"] != "(2026)沪东证字第1234号" || fs["document"] != crypto.SM3(f.document).String() {
		t.Errorf("attestation facts = %v", fs)
	}
	if got := receipt.StepsOf(r2); got[3] != receipt.StepAttestation {
		t.Errorf("StepsOf = %v", got)
	}
	// The document is the file of an attestation receipt.
	rep = receipt.Verify(r2, f.roster(t), receipt.VerifyOptions{File: bytes.NewReader(f.document)})
	if !rep.OK || !rep.Steps[2].OK || rep.Steps[2].Facts["document"] != crypto.SM3(f.document).String() {
		t.Errorf("with the document: %+v", rep)
	}
	rep = receipt.Verify(r2, f.roster(t), receipt.VerifyOptions{File: bytes.NewReader(append(bytes.Clone(f.document), 0))})
	if rep.OK || rep.FailedStep != receipt.StepFile || rep.Steps[2].Reason != receipt.ReasonDocument {
		t.Errorf("with another document: %+v", rep)
	}
	// Record receipts are unchanged by the attestation field.
	rec := f.receipt(t, ledger.RecordRef{Index: 8})
	if rec.Attestation != nil || receipt.StepsOf(rec)[3] != receipt.StepRecord {
		t.Errorf("record receipt = %+v", rec)
	}
}

func TestAttestationReceiptErrors(t *testing.T) {
	f := newAttestFixture(t)
	for _, index := range []uint64{6, 8, 100} {
		if _, err := receipt.BuildAttestation(f.view, index); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("BuildAttestation(%d) = %v, want ErrNotFound", index, err)
		}
	}
	if _, err := receipt.Build(f.view, ledger.RecordRef{Index: attestIndex}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Build(attestation) = %v, want ErrNotFound", err)
	}
}

// TestAttestationTamper changes the attestation's statement, target, note
// and signer, and the leaf, and checks that verification fails at the
// attestation step with the reason that names it.
func TestAttestationTamper(t *testing.T) {
	f := newAttestFixture(t)
	roster := f.roster(t)
	good := f.attestReceipt(t)
	for _, tt := range []struct {
		name   string
		change func(r *receipt.Receipt)
		step   string
		reason string
		fields string
	}{
		{"statement", func(r *receipt.Receipt) { r.Attestation.Statement = "reviewed" }, receipt.StepAttestation, receipt.ReasonAttestationDiffers, "statement"},
		{"target", func(r *receipt.Receipt) { r.Attestation.Targets[1].Index = 7 }, receipt.StepAttestation, receipt.ReasonAttestationDiffers, "targets"},
		{"target added", func(r *receipt.Receipt) {
			r.Attestation.Targets = append(r.Attestation.Targets, ledger.RecordRef{Index: 7})
		},
			receipt.StepAttestation, receipt.ReasonAttestationDiffers, "targets"},
		{"note", func(r *receipt.Receipt) { r.Attestation.Note = "(2026)沪东证字第1235号" }, receipt.StepAttestation, receipt.ReasonAttestationDiffers, "note"},
		{"signer", func(r *receipt.Receipt) { r.Attestation.Signer, r.Attestation.Role = "court", ledger.RoleCourt },
			receipt.StepAttestation, receipt.ReasonAttestationDiffers, "signer, role"},
		{"record added", func(r *receipt.Receipt) { r.Record.Kind = "loan-contract" }, receipt.StepAttestation, receipt.ReasonAttestationDiffers, "record"},
		{"leaf statement", func(r *receipt.Receipt) { r.Leaf[bytes.Index(r.Leaf, []byte("notarised"))] = 'N' }, receipt.StepAttestation, receipt.ReasonLeaf, ""},
		{"leaf target", func(r *receipt.Receipt) { r.Leaf[bytes.Index(r.Leaf, []byte("notarised"))+len("notarised")+2+7] = 7 },
			receipt.StepAttestation, receipt.ReasonTxSignature, ""},
		{"leaf of a record", func(r *receipt.Receipt) { r.Leaf = f.receipt(t, ledger.RecordRef{Index: 8}).Leaf }, receipt.StepAttestation, receipt.ReasonLeaf, ""},
		{"attestation removed", func(r *receipt.Receipt) { r.Attestation = nil }, receipt.StepRecord, receipt.ReasonLeaf, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := clone(t, good)
			tt.change(r)
			rep := receipt.Verify(r, roster, receipt.VerifyOptions{})
			if rep.OK || rep.FailedStep != tt.step {
				t.Fatalf("failed at %q, want %q: %+v", rep.FailedStep, tt.step, rep)
			}
			st := rep.Steps[3]
			if st.Reason != tt.reason || tt.fields != "" && st.Facts["fields"] != tt.fields {
				t.Errorf("step = %+v, want reason %s fields %q", st, tt.reason, tt.fields)
			}
		})
	}
}

// TestExampleAttestationFiles checks testdata/example-attestation-receipt.json
// (the worked example of an attestation receipt in docs/RECEIPT.md, verified
// with example-roster.json) and example-attestation-document.txt;
// -update rewrites them.
func TestExampleAttestationFiles(t *testing.T) {
	f := newAttestFixture(t)
	r := f.attestReceipt(t)
	rb, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"example-attestation-receipt.json": append(rb, '\n'),
		"example-attestation-document.txt": f.document,
	}
	for name, want := range files {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestExampleAttestationFiles -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the fixture builds (run go test -run TestExampleAttestationFiles -update if the change is intended)", path)
		}
	}
	rd, err := os.ReadFile("testdata/example-roster.json")
	if err != nil {
		t.Fatal(err)
	}
	roster, err := receipt.ParseRoster(rd)
	if err != nil {
		t.Fatal(err)
	}
	if rep := receipt.Verify(r, roster, receipt.VerifyOptions{File: bytes.NewReader(f.document)}); !rep.OK {
		t.Errorf("the example does not verify: %+v", rep)
	}
}
