package testnet_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/testnet"
	"github.com/evidenced/evidenced/tsa"
)

// stampBound is how soon after its commit a record's receipt carries a
// token, with the generated alliance's stamper (interval 5 s) and
// development TSA: the checkpoint that covers the record is trusted a
// block or two after the commit, then the stamper asks the TSA and
// commits the token.
const stampBound = 30 * time.Second

// TestTrustedTime: a 4-member alliance whose genesis trusts an ECDSA
// development TSA served by the bank's node; the bank's and (pointing at
// the bank's TSA) the notary's nodes are stampers. A record's receipt
// carries an RFC 3161 token within stampBound of its commit; with every
// node stopped `evidenced verify` passes its time step, naming the TSA
// and the time, and `openssl ts -verify` accepts the receipt's token over
// the receipt's stamped checkpoint with the roster's TSA certificate.
// While the TSA is down (the bank's node killed) the chain keeps
// committing and the notary's stamper counts the TSA unreachable; once it
// is back, the records committed meanwhile get a token. A token with one
// byte changed, a token of a TSA the roster does not trust and a token
// over another checkpoint each fail at the time step.
func TestTrustedTime(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test starts four node processes; run without -short")
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is needed (.ci/run installs it): %v", err)
	}
	var tsaURL string
	c := startAllianceArgs(t, "evidenced-time", "bank,notary,court,arbitration", []string{"--tsa", "ecdsa"}, func(a *testnet.Alliance) {
		if a.TSA == nil || a.TSA.Kind != "ecdsa" || a.TSA.Hash != "sha256" {
			t.Fatalf("alliance tsa = %+v, want an ecdsa development TSA stamping sha256", a.TSA)
		}
		tsaURL = a.TSA.URL
		// The notary's node stamps too, with the TSA the bank's node serves.
		cfg, err := config.Load(a.Members[1].Home)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Timestamp.Stamp = true
		cfg.Timestamp.TSAs = []config.TimestampTSA{{Name: a.TSA.Name, URL: a.TSA.URL, Hash: a.TSA.Hash}}
		if err := cfg.Save(a.Members[1].Home); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("✓ 4-member alliance running; genesis trusts TSA %s (ECDSA P-256, served by the bank's node at %s); stampers: bank, notary", c.a.TSA.Name, tsaURL)
	dir := t.TempDir()
	bank, notary := c.nodes[0], c.nodes[1]

	submit := func(api, chain, text string) (file, sidecar string, index uint64) {
		t.Helper()
		file = filepath.Join(dir, chain+".txt")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := c.run("submit", "--node", api, "--key", c.a.ClientKey, "--chain", chain, "--step", "1",
			"--kind", "loan-contract", "--output", "json", file)
		if err != nil {
			t.Fatal(err)
		}
		var sub struct {
			Submissions []struct {
				Sidecar string `json:"sidecar"`
				Result  struct {
					Index uint64 `json:"index"`
				} `json:"result"`
			} `json:"submissions"`
		}
		if err := json.Unmarshal(out, &sub); err != nil || len(sub.Submissions) != 1 {
			t.Fatalf("submit output %s: %v", out, err)
		}
		return file, sub.Submissions[0].Sidecar, sub.Submissions[0].Result.Index
	}
	// receiptTime fetches the receipt of sidecar's record from api into
	// path and returns its time, nil when it has none.
	receiptTime := func(api string, index uint64, sidecar, path string) (*receiptTimeJSON, error) {
		if _, err := c.run("receipt", "--node", api, fmt.Sprint(index), "--sidecar", sidecar, "--out", path); err != nil {
			return nil, err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var r struct {
			Time *receiptTimeJSON `json:"time"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		return r.Time, nil
	}
	waitTime := func(api string, index uint64, sidecar, path string, bound time.Duration) (*receiptTimeJSON, time.Duration) {
		t.Helper()
		start := time.Now()
		var rt *receiptTimeJSON
		c.eventually("the receipt carries a token", bound, func() error {
			var err error
			if rt, err = receiptTime(api, index, sidecar, path); err != nil {
				return err
			}
			if rt == nil {
				return fmt.Errorf("the receipt has no time yet")
			}
			return nil
		})
		return rt, time.Since(start)
	}

	// 1. A record's receipt gets a token.
	file1, sidecar1, index1 := submit(bank.m.API, "LOAN-T-1", "借款合同 LOAN-T-1: 12 instalments — synthetic")
	receipt1 := filepath.Join(dir, "receipt1.json")
	rt1, lag := waitTime(notary.m.API, index1, sidecar1, receipt1, stampBound)
	if rt1.TSA != c.a.TSA.Name || len(rt1.Token) == 0 || rt1.Checkpoint == "" {
		t.Fatalf("receipt time %+v", rt1)
	}
	t.Logf("✓ entry %d: the receipt carries a token of %s %.1f s after the commit (bound %s)", index1, rt1.TSA, lag.Seconds(), stampBound)

	roster := filepath.Join(dir, "roster.json")
	if _, err := c.run("roster", "export", "--home", c.a.Members[2].Home, "--out", roster); err != nil {
		t.Fatal(err)
	}

	// A healthy alliance logs no ERROR: not at start (members dialling each
	// other before all are up, or at once), not while stamping.
	for _, p := range c.nodes {
		if c.logLine(p, "level=ERROR") {
			t.Fatalf("%s logged an ERROR while healthy:\n%s", p.m.Name, c.logTails())
		}
	}
	t.Log("✓ no node logged an ERROR from start to here")
	// The notary issues an evidence certificate of entry 1: a signed PDF
	// that carries the receipt and verifies offline, trusted time included.
	if _, err := certificate.LoadFont(""); err != nil && os.Getenv("EVIDENCED_REQUIRE_PDFTOOLS") == "" {
		t.Logf("– no certificate: %v", err)
	} else {
		cert := filepath.Join(dir, "cert1.pdf")
		if out, err := c.run("certificate", fmt.Sprint(index1), "--node", notary.m.API, "--out", cert); err != nil {
			t.Fatalf("certificate: %v\n%s", err, out)
		}
		out, err := c.run("verify", "--certificate", cert, "--roster", roster, "--file", file1, "--sidecar", sidecar1)
		if err != nil || !bytes.Contains(out, []byte("✓ certificate_signature the certificate content is signed (SM2) by notary (notary)")) ||
			!bytes.Contains(out, []byte("TRUSTED TIME: it existed no later than")) {
			t.Fatalf("verify --certificate: %v\n%s", err, out)
		}
		t.Logf("✓ the notary's node issued a certificate of entry %d (PDF, SM2-signed, receipt inside) that verifies offline with its trusted time", index1)
	}

	// 2. The TSA is down: the bank's node (which serves it) is killed.
	c.kill(0, syscall.SIGKILL)
	h0, err := c.height(notary)
	if err != nil {
		t.Fatal(err)
	}
	file2, sidecar2, index2 := submit(notary.m.API, "LOAN-T-2", "放款凭证 LOAN-T-2 — synthetic")
	receipt2 := filepath.Join(dir, "receipt2.json")
	c.eventually("entry 2's receipt (without time)", 30*time.Second, func() error {
		rt, err := receiptTime(notary.m.API, index2, sidecar2, receipt2)
		if err == nil && rt != nil {
			t.Fatalf("with the TSA down, entry %d's receipt has a time %+v", index2, rt)
		}
		return err
	})
	// A later record, in a later checkpoint: once the TSA is back, the
	// notary's stamper stamps the latest checkpoint, which covers both.
	_, _, index3 := submit(notary.m.API, "LOAN-T-3", "还款记录 LOAN-T-3 — synthetic")
	c.eventually("the chain commits with the TSA down", 30*time.Second, func() error {
		h, err := c.height(notary)
		if err != nil {
			return err
		}
		if h < h0+5 {
			return fmt.Errorf("height %d, want %d", h, h0+5)
		}
		return nil
	})
	c.eventually("the notary's stamper counts the TSA unreachable", stampBound, func() error {
		n, err := metric(notary.m.API, fmt.Sprintf(`evidenced_timestamp_requests_total{result="unreachable",tsa="%s"}`, c.a.TSA.Name))
		if err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("unreachable count %v", n)
		}
		return nil
	})
	if !c.logLine(notary, "level=WARN", "tsa="+c.a.TSA.Name, tsaURL) {
		t.Fatalf("the notary logged no WARN naming the TSA %s and its URL %s", c.a.TSA.Name, tsaURL)
	}
	t.Logf("✓ TSA down: the chain committed entries %d and %d and went on (height %d and 5 more); the notary's stamper counted the TSA unreachable and warned; entry %d's receipt had no time", index2, index3, h0, index2)

	// 3. The TSA is back: the record committed meanwhile gets a token.
	c.start(0)
	rt2, lag2 := waitTime(notary.m.API, index2, sidecar2, receipt2, 60*time.Second)
	if rt2.Checkpoint == rt1.Checkpoint {
		t.Fatal("entries 1 and 2 have the same stamped checkpoint")
	}
	t.Logf("✓ TSA back: entry %d's receipt carries a token %.1f s after the bank's node restarted", index2, lag2.Seconds())

	// 4. Offline: every node stopped.
	c.stopAll()
	var r2 verifyReport
	for i, tc := range []struct{ receipt, file, sidecar string }{{receipt1, file1, sidecar1}, {receipt2, file2, sidecar2}} {
		r, code := c.verify("--receipt", tc.receipt, "--roster", roster, "--file", tc.file, "--sidecar", tc.sidecar)
		if !r.OK || code != 0 {
			t.Fatalf("verify %s: exit %d, report %+v", tc.receipt, code, r)
		}
		if i == 1 {
			r2 = r
		}
		st := r.step("time")
		if st == nil || !st.OK || !strings.Contains(st.Detail, c.a.TSA.Name) {
			t.Fatalf("verify %s: time step %+v, want it passed, naming %s", tc.receipt, st, c.a.TSA.Name)
		}
		t.Logf("  ✓ %s: time: %s", filepath.Base(tc.receipt), st.Detail)
	}
	// Which checkpoint got entry 2's token depends on timing: the latest
	// one, which the notary's stamper asks for (reached through a
	// consistency proof), or its own, when the restarted bank's node
	// stamps it while it replays the blocks it missed. Both are sound.
	if st := r2.step("time"); strings.Contains(st.Detail, "consistency proof") {
		t.Logf("  (entry %d's token is over a later checkpoint, through a consistency proof)", index2)
	}

	// openssl ts -verify: the receipt's token over its stamped checkpoint,
	// with the roster's TSA certificate as the CA.
	checkpoint := filepath.Join(dir, "checkpoint.txt")
	token := filepath.Join(dir, "token.der")
	ca := filepath.Join(dir, "tsa-ca.pem")
	if err := os.WriteFile(checkpoint, []byte(rt1.Checkpoint), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(token, rt1.Token, 0o644); err != nil {
		t.Fatal(err)
	}
	caDER := rosterTSACert(t, roster, c.a.TSA.Name)
	if out, err := exec.Command("openssl", "x509", "-inform", "DER", "-in", writeTemp(t, dir, "ca.der", caDER), "-out", ca).CombinedOutput(); err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, out)
	}
	out, err := exec.Command("openssl", "ts", "-verify", "-data", checkpoint, "-in", token, "-token_in", "-CAfile", ca).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify of the receipt's token: %v\n%s", err, out)
	}
	t.Log("✓ openssl ts -verify -data checkpoint.txt -in token.der -token_in -CAfile tsa-ca.pem: Verification: OK")

	// 5. Tampering fails at the time step.
	other, err := tsa.NewAuthority(tsa.ECDSAP256, "tsa-other", time.Now().Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := ledgertest.Stamp(other, tsa.SHA256, []byte(rt1.Checkpoint), big.NewInt(99), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(rt1.Token)
	flipped[len(flipped)-10] ^= 0x01 // inside the signature
	for _, tc := range []struct {
		name string
		edit func(tm map[string]any)
	}{
		{"one byte of the token changed", func(tm map[string]any) { tm["token"] = flipped }},
		{"a token of a TSA the roster does not trust", func(tm map[string]any) { tm["token"] = foreign }},
		{"a token over another checkpoint", func(tm map[string]any) { tm["token"] = rt2.Token }},
	} {
		bad := editReceiptTime(t, receipt1, filepath.Join(dir, "tampered.json"), tc.edit)
		r, code := c.verify("--receipt", bad, "--roster", roster, "--file", file1, "--sidecar", sidecar1)
		if r.OK || code == 0 || r.FailedStep != "time" {
			t.Fatalf("%s: exit %d, failed step %q; want a failure at time (%+v)", tc.name, code, r.FailedStep, r)
		}
		t.Logf("  ✓ %s: fails at time: %s", tc.name, r.step("time").Detail)
	}
}

// receiptTimeJSON is the time of a receipt as its JSON holds it.
type receiptTimeJSON struct {
	TSA        string `json:"tsa"`
	Token      []byte `json:"token"`
	Checkpoint string `json:"checkpoint"`
}

// step returns the step of the report named name, or nil.
func (r verifyReport) step(name string) *verifyStep {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// editReceiptTime writes to out the receipt at in with its time edited.
func editReceiptTime(t *testing.T, in, out string, edit func(tm map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	tm, ok := r["time"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no time", in)
	}
	edit(tm)
	for k, v := range tm {
		if b, ok := v.([]byte); ok {
			tm[k] = base64.StdEncoding.EncodeToString(b)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// rosterTSACert returns the DER certificate of the roster file's TSA name.
func rosterTSACert(t *testing.T, roster, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(roster)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		TSAs []struct {
			Name string `json:"name"`
			Cert []byte `json:"cert"`
		} `json:"tsas"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	for _, a := range r.TSAs {
		if a.Name == name {
			return a.Cert
		}
	}
	t.Fatalf("the roster %s names no TSA %s: %s", roster, name, raw)
	return nil
}

func writeTemp(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// metric reads one sample of GET /metrics of api.
func metric(api, series string) (float64, error) {
	resp, err := http.Get(strings.TrimSuffix(api, "/") + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("GET /metrics has no %s", series)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
