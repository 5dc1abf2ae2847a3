package main

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/receipt"
)

// The worked example of docs/RECEIPT.md, built by the receipt package's
// tests.
const (
	exampleReceipt  = "../../receipt/testdata/example-receipt.json"
	exampleRoster   = "../../receipt/testdata/example-roster.json"
	exampleOriginal = "../../receipt/testdata/example-original.txt"
	// A receipt after one roster change (bank-c added), which verifies with
	// the genesis roster exampleRoster.
	examplePathReceipt  = "../../receipt/testdata/example-path-receipt.json"
	examplePathOriginal = "../../receipt/testdata/example-path-original.txt"
	// A receipt of the example's record with an ECDSA token of TSA tsa-ec,
	// and its roster, which trusts tsa-ec.
	exampleTimeReceipt = "../../receipt/testdata/example-time-receipt.json"
	exampleTimeRoster  = "../../receipt/testdata/example-time-roster.json"
)

func TestVerifyTime(t *testing.T) {
	out, _, err := runCLI(t, "verify", "--receipt", exampleTimeReceipt, "--roster", exampleTimeRoster, "--file", exampleOriginal)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"✓ time        the record existed no later than 2026-11-01T00:00:06Z, as TSA tsa-ec states (RFC 3161 token over the checkpoint of size 9, height 4",
		"VERIFIED: record 6.0", "TRUSTED TIME: it existed no later than 2026-11-01T00:00:06Z, as TSA tsa-ec states (RFC 3161 token, sha256, serial 0x"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	// Without a token the step is skipped, and nothing is said of time.
	out, _, err = runCLI(t, "verify", "--receipt", exampleReceipt, "--roster", exampleRoster)
	if err != nil || !strings.Contains(out, "– time        not checked: the receipt carries no timestamp token") || strings.Contains(out, "TRUSTED TIME") {
		t.Errorf("a receipt without time: %v\n%s", err, out)
	}
	// One byte of the token changed: caught at the time step.
	data, err := os.ReadFile(exampleTimeReceipt)
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	r.Time.Token[len(r.Time.Token)-1] ^= 1
	b, _ := json.Marshal(r)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "verify", "--receipt", bad, "--roster", exampleTimeRoster)
	if exitCode(err) != 3 || !strings.Contains(out, "✗ time        the token does not verify as TSA \"tsa-ec\"'s over the stamped checkpoint") ||
		!strings.Contains(out, "NOT VERIFIED: the time step failed") {
		t.Errorf("a tampered token: %v\n%s", err, out)
	}
}

func TestVerifyRosterPath(t *testing.T) {
	out, _, err := runCLI(t, "verify", "--receipt", examplePathReceipt, "--roster", exampleRoster, "--file", examplePathOriginal)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"✓ roster_path genesis → v1 (add bank-c, entry ", "attested at height ", "by 40/50)",
		"    v1: add bank-c; entry ", "signed by bank bank-c", "VERIFIED"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, "verify", "--receipt", examplePathReceipt, "--roster", exampleRoster, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep receipt.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Steps[1].Name != receipt.StepRosterPath || rep.Steps[1].Facts["steps"] != "1" || !strings.HasPrefix(rep.Steps[1].Facts["path"], "genesis → v1 (add bank-c") {
		t.Errorf("report %+v", rep)
	}
	// The path tampered: a co-signature of its checkpoint altered.
	r, err := os.ReadFile(examplePathReceipt)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := receipt.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	pr.RosterPath.Steps[0].Signatures[0].Signature[8] ^= 1
	b, _ := json.Marshal(pr)
	bad := writeFile(t, t.TempDir(), "bad.json", string(b))
	out, _, err = runCLI(t, "verify", "--receipt", bad, "--roster", exampleRoster)
	if exitCode(err) != 3 || !strings.Contains(out, "✗ roster_path step 1 (to roster version 1): co-signatures by the roster before it do not verify") ||
		!strings.Contains(out, "NOT VERIFIED: the roster_path step failed") {
		t.Errorf("tampered path: exit %d\n%s", exitCode(err), out)
	}
}

func readExample(t *testing.T) (*receipt.Receipt, []byte) {
	t.Helper()
	data, err := os.ReadFile(exampleReceipt)
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return r, data
}

func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	r, _ := readExample(t)
	salt := r.Record.Salt.String()
	r.Record.Salt = nil
	noSalt, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	noSaltPath := writeFile(t, dir, "nosalt.json", string(noSalt))
	tampered := writeFile(t, dir, "tampered.txt", "Loan contract LOAN-2026-000001\nBorrower: (see bank file 88121)\nAmount: CNY 500,000\nTerm: 12 months\n")
	sc := writeFile(t, dir, "orig.evidence.json", `{"version":1,"salt":"`+salt+`","commitment":"`+r.Record.Commitment.String()+`"}`)

	tests := []struct {
		name string
		args []string
		code int
		out  []string // phrases stdout must hold
	}{
		{"receipt only", []string{"--receipt", exampleReceipt, "--roster", exampleRoster}, 0,
			[]string{"✓ roster", "– file", "not checked", "✓ signatures", "VERIFIED: record 6.0 was accepted by the alliance in block 1 at 2026-11-01T00:00:01Z"}},
		{"with file, salt in receipt", []string{"--receipt", exampleReceipt, "--roster", exampleRoster, "--file", exampleOriginal}, 0, []string{"✓ file", "VERIFIED"}},
		{"with file and sidecar", []string{"--receipt", noSaltPath, "--roster", exampleRoster, "--file", exampleOriginal, "--sidecar", sc}, 0, []string{"✓ file"}},
		{"with file and --salt", []string{"--receipt", noSaltPath, "--roster", exampleRoster, "--file", exampleOriginal, "--salt", salt}, 0, []string{"✓ file"}},
		{"no salt", []string{"--receipt", noSaltPath, "--roster", exampleRoster, "--file", exampleOriginal}, 3,
			[]string{"✗ file", "no salt: pass the sidecar", "– record", "NOT VERIFIED: the file step failed"}},
		{"tampered file", []string{"--receipt", exampleReceipt, "--roster", exampleRoster, "--file", tampered}, 3, []string{"✗ file", "not the record's commitment"}},
		{"missing receipt", []string{"--receipt", filepath.Join(dir, "none.json"), "--roster", exampleRoster}, 1, nil},
		{"roster is not a roster", []string{"--receipt", exampleReceipt, "--roster", exampleReceipt}, 1, nil},
		{"missing original", []string{"--receipt", exampleReceipt, "--roster", exampleRoster, "--file", filepath.Join(dir, "none")}, 1, nil},
		{"bad salt", []string{"--receipt", exampleReceipt, "--roster", exampleRoster, "--salt", "xyz"}, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCLI(t, append([]string{"verify"}, tc.args...)...)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d, want %d: %v\n%s", got, tc.code, err, out)
			}
			for _, p := range tc.out {
				if !strings.Contains(out, p) {
					t.Errorf("output does not say %q:\n%s", p, out)
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		out, _, err := runCLI(t, "verify", "--receipt", exampleReceipt, "--roster", exampleRoster, "--file", tampered, "-o", "json")
		if exitCode(err) != 3 {
			t.Fatalf("exit %d", exitCode(err))
		}
		var rep receipt.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.OK || rep.FailedStep != receipt.StepFile || len(rep.Steps) != len(receipt.Steps()) || !rep.Steps[0].OK {
			t.Errorf("report %+v", rep)
		}
	})
}

func TestReceiptCommand(t *testing.T) {
	r, data := readExample(t)
	salt := r.Record.Salt
	r.Record.Salt = nil
	served, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	pathReceipt, err := os.ReadFile(examplePathReceipt)
	if err != nil {
		t.Fatal(err)
	}
	timeReceipt, err := os.ReadFile(exampleTimeReceipt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch from := req.URL.Query().Get("from_roster"); {
		case req.URL.Path == "/v1/evidence/20/receipt":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(timeReceipt)
		case req.URL.Path == "/v1/evidence/19/receipt" && from == "":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(pathReceipt)
		case from == strings.Repeat("0", 64):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"status":400,"code":"bad_request","field":"from_roster","message":"from_roster 00 is not the digest of a roster version"}}`))
		case req.URL.Path == "/v1/evidence/6/receipt":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(served)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"status":404,"code":"not_found","message":"no such record"}}`))
		}
	}))
	defer srv.Close()
	dir := t.TempDir()

	out := filepath.Join(dir, "r.json")
	stdout, _, err := runCLI(t, "receipt", "6", "--node", srv.URL, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "receipt of record 6.0 (loan-contract \"LOAN-2026-000001\" step 1) written to") || !strings.Contains(stdout, "  no trusted time yet") {
		t.Errorf("output: %s", stdout)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("receipt file: %v %v", st, err)
	}
	if _, _, err := runCLI(t, "verify", "--receipt", out, "--roster", exampleRoster); err != nil {
		t.Errorf("the fetched receipt does not verify: %v", err)
	}

	sc := writeFile(t, dir, "orig.evidence.json", `{"version":1,"salt":"`+salt.String()+`","commitment":"`+r.Record.Commitment.String()+`"}`)
	withSalt := filepath.Join(dir, "salted.json")
	if _, _, err := runCLI(t, "receipt", "6", "--node", srv.URL, "--out", withSalt, "--sidecar", sc); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(withSalt)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Errorf("receipt with the sidecar's salt differs from the example:\n%s", got)
	}
	if st, _ := os.Stat(withSalt); st.Mode().Perm() != 0o600 {
		t.Errorf("a receipt holding the salt has mode %v, want 0600", st.Mode().Perm())
	}

	wrong := writeFile(t, dir, "other.evidence.json", `{"version":1,"salt":"00","commitment":"`+crypto.Hash{}.String()+`"}`)
	if _, _, err := runCLI(t, "receipt", "6", "--node", srv.URL, "--sidecar", wrong); err == nil || !strings.Contains(err.Error(), "pass the sidecar of this record") {
		t.Errorf("wrong sidecar: %v", err)
	}
	if _, _, err := runCLI(t, "receipt", "7", "--node", srv.URL); err == nil || !strings.Contains(err.Error(), "no such record") {
		t.Errorf("missing record: %v", err)
	}
	stdout, _, err = runCLI(t, "receipt", "6", "--node", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// With a roster path.
	pout, _, err := runCLI(t, "receipt", "19", "--node", srv.URL, "--out", filepath.Join(dir, "path.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pout, "  roster path  genesis → v1 (entry ") || !strings.Contains(pout, "verify it with the roster of digest ") {
		t.Errorf("receipt with a roster path: %s", pout)
	}
	// With time.
	tout, _, err := runCLI(t, "receipt", "20", "--node", srv.URL, "--out", filepath.Join(dir, "time.json"))
	if err != nil || !strings.Contains(tout, "  trusted time 2026-11-01T00:00:06Z, RFC 3161 token of TSA tsa-ec over the checkpoint after block 4 (verify checks it)") {
		t.Errorf("receipt with time: %v\n%s", err, tout)
	}
	tout, _, err = runCLI(t, "receipt", "20", "--node", srv.URL, "--out", filepath.Join(dir, "time2.json"), "-o", "json")
	var saved struct {
		Time struct {
			TSA           string `json:"tsa"`
			GenTime       string `json:"gen_time"`
			StampedHeight int64  `json:"stamped_height"`
			StampedSize   uint64 `json:"stamped_tree_size"`
		} `json:"time"`
	}
	if err != nil || json.Unmarshal([]byte(tout), &saved) != nil || saved.Time.TSA != "tsa-ec" || saved.Time.GenTime != "2026-11-01T00:00:06Z" || saved.Time.StampedHeight != 4 || saved.Time.StampedSize != 9 {
		t.Errorf("receipt with time, JSON: %v\n%s", err, tout)
	}
	if _, _, err := runCLI(t, "receipt", "6", "--node", srv.URL, "--from-roster", strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "is not the digest of a roster version") {
		t.Errorf("unknown --from-roster: %v", err)
	}
	if _, _, err := runCLI(t, "receipt", "6", "--node", srv.URL, "--from-roster", "genesis"); err == nil || !strings.Contains(err.Error(), "is not a roster digest") {
		t.Errorf("bad --from-roster: %v", err)
	}
	// A digest the node knows.
	if _, _, err := runCLI(t, "receipt", "6", "--node", srv.URL, "--from-roster", strings.ToUpper(r.RosterDigest.String())); err != nil {
		t.Errorf("--from-roster %s: %v", r.RosterDigest, err)
	}
	if _, err := receipt.Parse([]byte(stdout)); err != nil {
		t.Errorf("printed receipt does not parse: %v", err)
	}
}

func TestRosterExportHome(t *testing.T) {
	data, err := os.ReadFile(exampleRoster)
	if err != nil {
		t.Fatal(err)
	}
	roster, err := receipt.ParseRoster(data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := roster.Digest()
	if err != nil {
		t.Fatal(err)
	}
	gs := ledger.GenesisState{Params: ledger.DefaultGenesisParams()}
	for i := len(roster.Members) - 1; i >= 0; i-- { // genesis order need not be name order
		m := roster.Members[i]
		node := crypto.SM3([]byte("node/" + m.Name)) // a stand-in node id
		gm := ledger.GenesisMember{Name: m.Name, Role: m.Role, Power: m.Power, Keys: m.Keys, NodeID: hex.EncodeToString(node[:ledger.NodeIDSize])}
		if m.Power > 0 {
			vk := crypto.SM3([]byte(m.Name)) // a stand-in consensus key
			gm.Validator = hex.EncodeToString(vk[:])
		}
		gs.Members = append(gs.Members, gm)
	}
	app, err := json.Marshal(gs)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(home, "config"), "genesis.json", `{"chain_id":"evidenced-test","genesis_time":"2026-11-01T00:00:00Z","app_state":`+string(app)+`}`)

	out := filepath.Join(t.TempDir(), "roster.json")
	stdout, _, err := runCLI(t, "roster", "export", "--home", home, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "digest "+want.String()) {
		t.Errorf("output does not give digest %s:\n%s", want, stdout)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Errorf("exported roster differs from the example:\n%s", got)
	}
	if _, _, err := runCLI(t, "roster", "export"); exitCode(err) != 1 {
		t.Errorf("no source: %v", err)
	}
	if _, _, err := runCLI(t, "roster", "export", "--home", t.TempDir()); err == nil {
		t.Error("a home without genesis exported a roster")
	}
}

func TestVerifyConsistencyCommand(t *testing.T) {
	r, data := readExample(t)
	dir := t.TempDir()
	cf, err := r.CheckpointFile()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cf)
	if err != nil {
		t.Fatal(err)
	}
	cpPath := writeFile(t, dir, "cp.json", string(b))
	cf.Signatures = cf.Signatures[1:]
	b, err = json.Marshal(cf)
	if err != nil {
		t.Fatal(err)
	}
	weak := writeFile(t, dir, "weak.json", string(b))
	rPath := writeFile(t, dir, "r.json", string(data))

	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"same checkpoint", []string{"--old", rPath, "--new", cpPath}, 0, "✓ CONSISTENT"},
		{"untrusted", []string{"--old", rPath, "--new", weak}, 3, "✗ NOT CONSISTENT: newer checkpoint: checkpoint is not trusted"},
		{"missing file", []string{"--old", filepath.Join(dir, "none"), "--new", cpPath}, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCLI(t, append([]string{"verify-consistency", "--roster", exampleRoster, "--proof", filepath.Join(dir, "unused")}, tc.args...)...)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d, want %d: %v\n%s", got, tc.code, err, out)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("output does not say %q:\n%s", tc.out, out)
			}
		})
	}
}
