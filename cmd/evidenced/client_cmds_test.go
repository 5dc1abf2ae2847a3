package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// runCLI runs the evidenced root command in-process and returns stdout,
// stderr and the error Execute returned.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(""))
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// exitCode is the process exit status main would use for err.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

// testKey writes a new key to dir (encrypted under pass if not empty) and
// returns its path and key.
func testKey(t *testing.T, dir, pass string) (string, *crypto.PrivateKey) {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bank-a.key")
	if err := keyfile.Save(p, k, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	return p, k
}

// writeFile writes a file of evidence and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readSidecar reads and checks the sidecar of path: mode 0600 and a
// commitment that is SM3(salt ‖ file bytes).
func readSidecar(t *testing.T, path string) sidecar.File {
	t.Helper()
	fi, err := os.Stat(path + sidecar.Suffix)
	if err != nil {
		t.Fatalf("sidecar: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode = %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path + sidecar.Suffix)
	if err != nil {
		t.Fatal(err)
	}
	var sc sidecar.File
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatalf("sidecar JSON: %v\n%s", err, data)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Salt) != crypto.SaltSize {
		t.Errorf("salt is %d bytes, want %d", len(sc.Salt), crypto.SaltSize)
	}
	if want := crypto.SM3(sc.Salt, content); sc.Commitment != want {
		t.Errorf("sidecar commitment %s != SM3(salt ‖ file) %s", sc.Commitment, want)
	}
	if sc.Size != uint64(len(content)) || sc.Name != filepath.Base(path) || sc.Version != 1 {
		t.Errorf("sidecar = %+v: wrong size, file or version", sc)
	}
	return sc
}

// records returns the records of accepted transaction i.
func (n *fakeNode) records(i int) []ledger.Record {
	n.mu.Lock()
	defer n.mu.Unlock()
	tx := n.txs[i]
	return tx.Body.EvidenceRecords()
}

func TestSubmitStep1(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	f := writeFile(t, dir, "auth.pdf", "credit authorisation, signed")
	out, errOut, err := runCLI(t, "submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "LOAN-1", "--step", "1",
		"--kind", "credit-authorisation", "--label", "product=consumer-loan", "--label", "channel=app", f)
	if err != nil {
		t.Fatalf("submit: %v\nstderr: %s", err, errOut)
	}
	if len(n.txs) != 1 {
		t.Fatalf("node accepted %d transactions, want 1", len(n.txs))
	}
	tx := n.txs[0]
	if tx.Body.Type() != ledger.TxEvidence || tx.Body.Signer != key.Public().ID() || tx.Body.ChainID != "evidenced-test" {
		t.Errorf("body = type %v signer %s chain %q", tx.Body.Type(), tx.Body.Signer.Short(), tx.Body.ChainID)
	}
	sc := readSidecar(t, f)
	rec := n.records(0)[0]
	want := ledger.Record{Kind: "credit-authorisation", Chain: "LOAN-1", Step: 1, Commitment: sc.Commitment, Size: sc.Size,
		Labels: []ledger.Label{{Key: "channel", Value: "app"}, {Key: "product", Value: "consumer-loan"}}}
	if !reflect.DeepEqual(rec, want) {
		t.Errorf("record = %+v\nwant %+v", rec, want)
	}
	wantSC := sidecar.File{Version: 1, Name: "auth.pdf", Size: sc.Size, Salt: sc.Salt, Commitment: sc.Commitment, Chain: "LOAN-1", Step: 1,
		Kind: "credit-authorisation", Labels: map[string]string{"channel": "app", "product": "consumer-loan"}, Status: "committed",
		TxID: tx.ID(), Index: fakeGenesis, Height: 1, Time: fakeBase.Add(1e9), ChainID: "evidenced-test"}
	if !reflect.DeepEqual(sc, wantSC) {
		t.Errorf("sidecar = %+v\nwant %+v", sc, wantSC)
	}
	for _, s := range []string{"entry 3", "height 1", "tx " + tx.ID().String(), f + sidecar.Suffix, "2026-11-27T03:00:01Z"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	// The salt is a secret kept in the 0600 sidecar: neither the text nor
	// the JSON output shows it.
	if strings.Contains(out, sc.Salt.String()) {
		t.Errorf("submit prints the salt %s:\n%s", sc.Salt, out)
	}
	f2 := writeFile(t, dir, "loan.pdf", "the loan contract")
	js, errOut, err := runCLI(t, "submit", "-o", "json", "--node", n.srv.URL, "--key", keyPath, "--chain", "LOAN-1", "--step", "2",
		"--kind", "loan-contract", f2)
	if err != nil {
		t.Fatalf("submit -o json: %v\nstderr: %s", err, errOut)
	}
	if sc2 := readSidecar(t, f2); strings.Contains(js, sc2.Salt.String()) || strings.Contains(js, `"salt"`) || !strings.Contains(js, sc2.Commitment.String()) {
		t.Errorf("submit -o json prints the salt %s, or not the commitment %s:\n%s", sc2.Salt, sc2.Commitment, js)
	}
}

func TestSubmitSequenceLinksSteps(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	base := []string{"submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "LOAN-7", "--kind", "loan-step"}
	f1 := writeFile(t, dir, "1.json", `{"step":1}`)
	if _, e, err := runCLI(t, append(base, "--step", "1", f1)...); err != nil {
		t.Fatalf("step 1: %v %s", err, e)
	}
	f2, f3, f4 := writeFile(t, dir, "2.json", "two"), writeFile(t, dir, "3.json", "three"), writeFile(t, dir, "4.json", "four")
	if _, e, err := runCLI(t, append(base, "--step", "2", f2, f3, f4)...); err != nil {
		t.Fatalf("steps 2-4: %v %s", err, e)
	}
	if len(n.txs) != 4 {
		t.Fatalf("node accepted %d transactions, want 4", len(n.txs))
	}
	for i, f := range []string{f1, f2, f3, f4} {
		rec := n.records(i)[0]
		sc := readSidecar(t, f)
		if rec.Step != uint32(i+1) || sc.Step != rec.Step || rec.Commitment != sc.Commitment || sc.Index != uint64(fakeGenesis+i) {
			t.Errorf("file %d: record step %d commitment %s; sidecar %+v", i, rec.Step, rec.Commitment, sc)
		}
		var wantPrev crypto.Hash
		if i > 0 {
			wantPrev = n.entries[fakeGenesis+i-1].LeafHash
		}
		if rec.Prev != wantPrev {
			t.Errorf("step %d prev = %s, want leaf hash of step %d's entry %s", i+1, rec.Prev, i, wantPrev)
		}
	}
}

func TestSubmitStepChecks(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	base := []string{"submit", "--node", n.srv.URL, "--key", keyPath, "--kind", "loan-step"}
	if _, e, err := runCLI(t, append(base, "--chain", "LOAN-2", "--step", "1", writeFile(t, dir, "a", "a"))...); err != nil {
		t.Fatalf("step 1: %v %s", err, e)
	}
	tests := []struct {
		name  string
		args  []string
		want  string
		code  int
		posts int
	}{
		{"gap", []string{"--chain", "LOAN-2", "--step", "3"}, "chain LOAN-2 is at step 1; the next step is 2, not 3", 1, 0},
		{"restart", []string{"--chain", "LOAN-2", "--step", "1"}, "evidence chain LOAN-2 already exists (owner bank-a, 1 step(s)): the next step is 2", 1, 0},
		{"missing", []string{"--chain", "LOAN-9", "--step", "2"}, "evidence chain LOAN-9 does not exist yet, so its next step is 1, not 2", 1, 0},
		{"bad-kind", []string{"--chain", "LOAN-2", "--step", "2", "--kind", "Loan Contract"}, `kind "Loan Contract": use lowercase letters`, 1, 0},
		{"bad-label", []string{"--chain", "LOAN-2", "--step", "2", "--label", "novalue"}, `--label "novalue": want key=value`, 1, 0},
		{"dup-label", []string{"--chain", "LOAN-2", "--step", "2", "--label", "a=1", "--label", "a=2"}, "--label a is given twice", 1, 0},
		{"no-wait-sequence", []string{"--chain", "LOAN-2", "--step", "2", "--no-wait", "extra"}, "--no-wait with several files needs --batch", 1, 0},
		{"no-chain", []string{"--step", "2"}, "--chain ID is required", 1, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeFile(t, dir, "f"+tt.name, "content "+tt.name)
			before := n.posts
			args := append(append(append([]string{}, base...), tt.args...), f)
			if i == 6 {
				args = append(args, writeFile(t, dir, "g"+tt.name, "other"))
			}
			_, _, err := runCLI(t, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if exitCode(err) != tt.code || n.posts != before+tt.posts {
				t.Errorf("exit %d, posts %d; want exit %d and %d posts", exitCode(err), n.posts-before, tt.code, tt.posts)
			}
			if _, err := os.Stat(f + sidecar.Suffix); !os.IsNotExist(err) {
				t.Errorf("a sidecar was left behind: %v", err)
			}
		})
	}
}

func TestSubmitBatch(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	files := []string{writeFile(t, dir, "r1.json", "repayment 1"), writeFile(t, dir, "r2.json", "repayment 2"), writeFile(t, dir, "r3.json", "repayment 3")}
	out, e, err := runCLI(t, append([]string{"submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "DAY-0427", "--step", "1",
		"--kind", "repayment", "--batch", "-o", "json"}, files...)...)
	if err != nil {
		t.Fatalf("batch: %v %s", err, e)
	}
	if len(n.txs) != 1 || n.txs[0].Body.Type() != ledger.TxBatch {
		t.Fatalf("want one batch transaction, got %d", len(n.txs))
	}
	recs := n.records(0)
	if len(recs) != 3 {
		t.Fatalf("batch holds %d records, want 3", len(recs))
	}
	var got struct {
		Submissions []submission `json:"submissions"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, out)
	}
	if len(got.Submissions) != 3 {
		t.Fatalf("JSON has %d submissions, want 3", len(got.Submissions))
	}
	for i, f := range files {
		sc := readSidecar(t, f)
		wantChain := "DAY-0427." + string(rune('1'+i))
		if recs[i].Chain != wantChain || recs[i].Step != 1 || recs[i].Commitment != sc.Commitment || sc.Pos != uint16(i) || sc.Chain != wantChain {
			t.Errorf("record %d = %+v; sidecar %+v", i, recs[i], sc)
		}
		s := got.Submissions[i]
		if s.Chain != wantChain || s.Pos != uint16(i) || s.Sidecar != f+sidecar.Suffix || s.Result.TxID != n.txs[0].ID() || s.Result.Index != fakeGenesis {
			t.Errorf("submission %d = %+v", i, s)
		}
	}
	// Step 2 of every batch chain, again as one batch.
	files2 := []string{writeFile(t, dir, "s1", "a"), writeFile(t, dir, "s2", "b"), writeFile(t, dir, "s3", "c")}
	if _, e, err := runCLI(t, append([]string{"submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "DAY-0427", "--step", "2",
		"--kind", "repayment", "--batch"}, files2...)...); err != nil {
		t.Fatalf("batch step 2: %v %s", err, e)
	}
	leaf := n.entries[fakeGenesis].LeafHash
	for i, r := range n.records(1) {
		if r.Step != 2 || r.Prev != leaf {
			t.Errorf("record %d: step %d prev %s, want step 2 prev %s", i, r.Step, r.Prev, leaf)
		}
	}
}

func TestSubmitRejected(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	c := ledger.CodeChainOwner
	n.rejectAs = &client.Error{Status: 422, Code: c.String(), ResultCode: uint32(c), Message: "evidence chain LOAN-1 belongs to bank-b", Hint: c.Hint(), Field: "chain"}
	f := writeFile(t, dir, "x.pdf", "x")
	_, errOut, err := runCLI(t, "submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "LOAN-1", "--step", "1", "--kind", "loan-contract", f)
	if exitCode(err) != 2 {
		t.Fatalf("exit code %d (err %v), want 2", exitCode(err), err)
	}
	want := "rejected: chain_owner (13): evidence chain LOAN-1 belongs to bank-b\n  hint: " + c.Hint() + "\n"
	if errOut != want {
		t.Errorf("stderr = %q, want %q", errOut, want)
	}
	if _, err := os.Stat(f + sidecar.Suffix); !os.IsNotExist(err) {
		t.Errorf("sidecar of a rejected transaction was kept: %v", err)
	}
}

func TestSubmitSidecarExists(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	f := writeFile(t, dir, "c.pdf", "contract")
	if err := os.WriteFile(f+sidecar.Suffix, []byte("old salt"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "C-1", "--step", "1", "--kind", "contract", f}
	_, _, err := runCLI(t, args...)
	if err == nil || !strings.Contains(err.Error(), "already exists") || n.posts != 0 {
		t.Fatalf("err = %v, posts %d; want a refusal before submitting", err, n.posts)
	}
	if b, _ := os.ReadFile(f + sidecar.Suffix); string(b) != "old salt" {
		t.Errorf("existing sidecar was changed")
	}
	if _, e, err := runCLI(t, append(args, "--force")...); err != nil {
		t.Fatalf("--force: %v %s", err, e)
	}
	readSidecar(t, f)
}

func TestSubmitNoWait(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	f := writeFile(t, dir, "n.pdf", "no wait")
	out, e, err := runCLI(t, "submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "N-1", "--step", "1", "--kind", "contract", "--no-wait", f)
	if err != nil {
		t.Fatalf("%v %s", err, e)
	}
	sc := readSidecar(t, f)
	if sc.Status != "pending" || sc.TxID != n.txs[0].ID() || sc.Index != 0 {
		t.Errorf("sidecar = %+v, want pending with the tx id", sc)
	}
	if !strings.Contains(out, "accepted into the mempool, not yet committed") {
		t.Errorf("output = %q", out)
	}
}

func TestSubmitPassphrase(t *testing.T) {
	const pass = "correct horse battery staple"
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, pass)
	n := newFakeNode(t, key.Public())
	passFile := filepath.Join(dir, "pass.txt")
	if err := os.WriteFile(passFile, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong.txt")
	if err := os.WriteFile(wrongFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     string
		args    []string
		wantErr string
	}{
		{"file", "", []string{"--passphrase-file", passFile}, ""},
		{"env", pass, nil, ""},
		{"none", "", nil, "is encrypted: pass its passphrase with --passphrase-file FILE or the EVIDENCED_PASSPHRASE environment variable"},
		{"wrong", "", []string{"--passphrase-file", wrongFile}, "wrong passphrase"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envPassphrase, tt.env)
			f := writeFile(t, dir, "p"+tt.name, "evidence "+tt.name)
			args := append([]string{"submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "P-" + string(rune('0'+i)), "--step", "1", "--kind", "contract", f}, tt.args...)
			out, errOut, err := runCLI(t, args...)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("%v %s", err, errOut)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			for _, s := range []string{out, errOut, errString(err)} {
				if strings.Contains(s, pass) {
					t.Errorf("the passphrase appears in the output: %q", s)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNodeErrors(t *testing.T) {
	dead := newFakeNode(t, nil)
	url := dead.srv.URL
	dead.srv.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"refused", []string{"status", "--node", url}, "cannot reach the node at " + url + ": "},
		{"bad-url", []string{"members", "--node", "localhost:8080"}, `--node "localhost:8080" is not a node URL: use http://HOST:PORT`},
		{"bad-get-arg", []string{"get", "--node", url, "LOAN-1"}, `"LOAN-1" is neither an entry index`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != 1 {
				t.Fatalf("err = %v, want exit 1 with %q", err, tt.want)
			}
		})
	}
}

func TestNodeEnvDefault(t *testing.T) {
	n := newFakeNode(t, nil)
	t.Setenv(envNode, n.srv.URL)
	out, _, err := runCLI(t, "status")
	if err != nil || !strings.Contains(out, "evidenced-test") {
		t.Fatalf("status via %s: %v %q", envNode, err, out)
	}
}

func TestQueryCommands(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	files := []string{writeFile(t, dir, "a", "A"), writeFile(t, dir, "b", "B"), writeFile(t, dir, "c", "C")}
	if _, e, err := runCLI(t, append([]string{"submit", "--node", n.srv.URL, "--key", keyPath, "--chain", "LOAN-3", "--step", "1",
		"--kind", "loan-step", "--label", "product=consumer-loan"}, files...)...); err != nil {
		t.Fatalf("submit: %v %s", err, e)
	}
	sc := readSidecar(t, files[1])
	txid := n.txs[1].ID().String()
	tests := []struct {
		name string
		args []string
		want []string // substrings of the text output
		json any      // decoded -o json output must equal this
	}{
		{"status", []string{"status"}, []string{"chain id     evidenced-test", "validators   4", "catching up  no"}, nil},
		{"members", []string{"members"}, []string{"NAME", "bank-a  bank   10     " + key.Public().ID().Short()}, nil},
		{"get-index", []string{"get", "4"}, []string{"entry        4", "record 0     chain LOAN-3 step 2, kind loan-step", "commitment " + sc.Commitment.String(),
			"labels product=consumer-loan", "prev " + n.entries[3].LeafHash.String(), "signer       bank-a (key " + key.Public().ID().Short()}, ptrTo(n.entries[4])},
		{"get-txid", []string{"get", txid}, []string{"tx id        " + txid}, ptrTo(n.entries[4])},
		{"get-commitment", []string{"get", "--commitment", sc.Commitment.String()}, []string{"1 record(s)", "4      0    LOAN-3  2"}, nil},
		{"chain", []string{"chain", "LOAN-3"}, []string{"chain LOAN-3, owner bank-a, 3 step(s); next step 4 names prev " + n.entries[5].LeafHash.String(),
			"1     3", "2     4", "3     5"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--node", n.srv.URL)
			out, e, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("%v %s", err, e)
			}
			for _, s := range tt.want {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			jout, _, err := runCLI(t, append(args, "-o", "json")...)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid([]byte(jout)) {
				t.Fatalf("-o json output is not JSON:\n%s", jout)
			}
			if tt.json != nil {
				got := reflect.New(reflect.TypeOf(tt.json).Elem()).Interface()
				if err := json.Unmarshal([]byte(jout), got); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.json) {
					t.Errorf("JSON = %+v\nwant %+v", got, tt.json)
				}
			}
		})
	}
	// chain pages through the node's 2-step pages.
	jout, _, err := runCLI(t, "chain", "LOAN-3", "--node", n.srv.URL, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ch client.Chain
	if err := json.Unmarshal([]byte(jout), &ch); err != nil {
		t.Fatal(err)
	}
	if len(ch.Records) != 3 || ch.Records[2].Step != 3 || ch.Steps != 3 {
		t.Errorf("chain JSON = %+v, want all 3 steps", ch)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestUnreachableNode runs client commands against a node that is not
// there: each says once that it cannot reach it, names the URL it tried,
// and says to pass --node URL or set EVIDENCED_NODE, with where the APIs of
// make testnet and make run are.
func TestUnreachableNode(t *testing.T) {
	dead := newFakeNode(t, nil)
	url := dead.srv.URL
	dead.srv.Close()
	dir := t.TempDir()
	keyPath, _ := testKey(t, dir, "")
	tokenFile := writeFile(t, dir, "token", "some-api-token-0123456789\n")
	file := writeFile(t, dir, "contract.pdf", "the contract")
	node := []string{"--node", url}
	auth := []string{"--node", url, "--token-file", tokenFile}
	tests := [][]string{
		append([]string{"status"}, node...),
		append([]string{"members"}, node...),
		append([]string{"get", "3"}, node...),
		append([]string{"chain", "LOAN-1"}, node...),
		append([]string{"receipt", "3"}, node...),
		append([]string{"attestations", "3"}, node...),
		append([]string{"custody", "3"}, node...),
		append([]string{"proposals"}, node...),
		append([]string{"requests"}, node...),
		append([]string{"roster", "versions"}, node...),
		append([]string{"roster", "export"}, node...),
		append([]string{"certificate", "3", "--out", filepath.Join(dir, "cert.pdf")}, node...),
		append([]string{"fetch", "3", "--out", filepath.Join(dir, "x")}, auth...),
		append([]string{"grant", "3", "--to", "court", "--purpose", "trial"}, auth...),
		append([]string{"revoke", "9"}, auth...),
		append([]string{"submit", "--chain", "LOAN-1", "--step", "1", "--kind", "k", "--key", keyPath, file}, node...),
		append([]string{"submit", "--upload", "--chain", "LOAN-1", "--step", "1", "--kind", "k", file}, auth...),
		append([]string{"vote", "7", "approve"}, auth...),
		append([]string{"refuse", "7", "--reason", "no grounds"}, auth...),
		append([]string{"request", "3", "--purpose", "trial"}, auth...),
		append([]string{"attest", "3", "--statement", "notarised"}, auth...),
		{"status", "--node-from-env"}, // the URL comes from EVIDENCED_NODE
	}
	for _, args := range tests {
		if args[1] == "--node-from-env" {
			t.Setenv(envNode, url)
			args = args[:1]
			args = append(args, "-o", "json")
		}
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			_, _, err := runCLI(t, args...)
			if err == nil {
				t.Fatal("no error from a node that is not there")
			}
			msg := err.Error()
			if n := strings.Count(strings.ToLower(msg), "cannot reach"); n != 1 {
				t.Errorf("says %d times that it cannot reach the node:\n%s", n, msg)
			}
			for _, want := range []string{"cannot reach the node at " + url + ":", "connection refused", "pass --node URL or set " + envNode,
				"http://127.0.0.1:26602, :26612", "after make run it is http://127.0.0.1:8080"} {
				if !strings.Contains(msg, want) {
					t.Errorf("lacks %q:\n%s", want, msg)
				}
			}
			if !errors.Is(err, client.ErrUnreachable) || exitCode(err) != 1 {
				t.Errorf("err %v is not client.ErrUnreachable with exit status 1", err)
			}
		})
	}
}
