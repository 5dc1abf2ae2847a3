package receipt_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
	"github.com/evidenced/evidenced/tsa"
)

var update = flag.Bool("update", false, "rewrite testdata/example-* from the fixture")

// TestExampleFiles checks that testdata/example-receipt.json (the worked
// example of docs/RECEIPT.md), example-roster.json and example-original.txt
// are what the fixture builds; -update rewrites them.
func TestExampleFiles(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	r := f.receipt(t, ledger.RecordRef{Index: 6})
	r.Record.Salt = f.salts[0]
	rb, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	ob, err := json.MarshalIndent(f.roster(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"example-receipt.json": append(rb, '\n'),
		"example-roster.json":  append(ob, '\n'),
		"example-original.txt": f.originals[0],
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
			t.Fatalf("%v (run go test -run TestExampleFiles -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the fixture builds (run go test -run TestExampleFiles -update if the change is intended)", path)
		}
	}
	if rep := f.verify(r, f.roster(t), 0); !rep.OK {
		t.Errorf("the example does not verify: %+v", rep)
	}
}

// TestExamplePathFiles checks that testdata/example-path-receipt.json
// (the worked example of a roster path in docs/RECEIPT.md: a receipt after
// one roster change, verified with the genesis roster example-roster.json)
// and example-path-original.txt are what the path fixture builds; -update
// rewrites them.
func TestExamplePathFiles(t *testing.T) {
	f := newPathFixture(t, 1)
	r, err := receipt.Build(f.view, f.records[0])
	if err != nil {
		t.Fatal(err)
	}
	r.Record.Salt = f.salts[0]
	rb, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"example-path-receipt.json": append(rb, '\n'),
		"example-path-original.txt": f.original[0],
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
			t.Fatalf("%v (run go test -run TestExamplePathFiles -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the fixture builds (run go test -run TestExamplePathFiles -update if the change is intended)", path)
		}
	}
	// The files alone verify, with the genesis roster of example-roster.json.
	data, err := os.ReadFile("testdata/example-path-receipt.json")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := receipt.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := os.ReadFile("testdata/example-roster.json")
	if err != nil {
		t.Fatal(err)
	}
	genesis, err := receipt.ParseRoster(rd)
	if err != nil {
		t.Fatal(err)
	}
	rep := receipt.Verify(pr, genesis, receipt.VerifyOptions{File: bytes.NewReader(f.original[0])})
	if !rep.OK || len(pr.RosterPath.Steps) != 1 {
		t.Errorf("the path example does not verify with the genesis roster: %+v", rep)
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, fixtureOptions{})
	roster := f.roster(b)
	r := f.receipt(b, ledger.RecordRef{Index: 6})
	b.ReportAllocs()
	for b.Loop() {
		rep := receipt.Verify(r, roster, receipt.VerifyOptions{File: bytes.NewReader(f.originals[0]), Salt: f.salts[0]})
		if !rep.OK {
			b.Fatalf("%+v", rep)
		}
	}
}

// TestExampleTimeFiles checks testdata/example-time-receipt.json (the
// worked example of a receipt with time in docs/RECEIPT.md: record 6 with
// an ECDSA token of TSA tsa-ec over the checkpoint of height 4, linked to
// the receipt's checkpoint of height 1 by a consistency proof) and
// example-time-roster.json (its roster, which trusts tsa-ec): the files
// alone verify, the time step included. The TSAs' keys are not seedable
// and the roster (so its digest and the log) holds their certificates, so
// -update writes new files each time; without it they are only verified.
func TestExampleTimeFiles(t *testing.T) {
	f := newTimeFixture(t)
	f.stamp(t, cpHeight4, "tsa-ec", f.ec, tsa.SHA256)
	r := f.receipt(t, ledger.RecordRef{Index: 6})
	r.Record.Salt = f.salts[0]
	if *update {
		rb, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		ob, err := json.MarshalIndent(f.roster(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"example-time-receipt.json": rb, "example-time-roster.json": ob} {
			if err := os.WriteFile(filepath.Join("testdata", name), append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	data, err := os.ReadFile("testdata/example-time-receipt.json")
	if err != nil {
		t.Fatalf("%v (run go test -run TestExampleTimeFiles -update)", err)
	}
	got, err := receipt.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := os.ReadFile("testdata/example-time-roster.json")
	if err != nil {
		t.Fatal(err)
	}
	roster, err := receipt.ParseRoster(rd)
	if err != nil {
		t.Fatal(err)
	}
	if got.Time == nil || got.Time.TSA != "tsa-ec" || len(got.Time.ConsistencyProof) != 1 {
		t.Fatalf("the example's time: %+v", got.Time)
	}
	rep := receipt.Verify(got, roster, receipt.VerifyOptions{File: bytes.NewReader(f.originals[0])})
	if st := rep.Steps[len(rep.Steps)-1]; !rep.OK || !st.OK || st.Name != receipt.StepTime || st.Facts["tsa"] != "tsa-ec" || st.Facts["size"] != "9" {
		t.Errorf("the time example does not verify with its roster: %+v", rep)
	}
}
