package testnet_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/testnet"
)

// TestSeedScenario is the platform's legal service end to end, driven by
// the CLI against four evidenced processes (bank, notary, court,
// regulator), as issue 16 tells it:
//  1. the bank preserves a credit-loan chain (authorisation → agreement →
//     disbursement) with its originals, personal data only inside them;
//  2. the notary attests the chain;
//  3. the court files a retrieval request with a Chinese case number, which
//     the bank's core system receives by webhook;
//  4. the bank grants it;
//  5. the court fetches the originals, verifies them, and prints an
//     evidence certificate, which verifies offline;
//  6. the regulator sees the whole audit trail (requests, grants,
//     accesses, attestations) from its own node.
//
// The refusals a user meets on the way are checked with their codes: a
// bank attesting, a bank filing a request, a grant answering someone
// else's request, a control character in a purpose.
func TestSeedScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test starts four node processes; run without -short")
	}
	// The bank's core system takes retrieval requests by webhook.
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	hooks := &receiver{secret: []byte(hex.EncodeToString(raw))}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	c := startAllianceArgs(t, "evidenced-seed", "bank,notary,court,regulator", nil, func(a *testnet.Alliance) {
		bank := a.Members[0].Home
		if err := os.WriteFile(filepath.Join(bank, "config", "hook-secret"), append(append([]byte{}, hooks.secret...), '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(bank)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Webhooks = []config.Webhook{{Name: "core-banking", URL: srv.URL, SecretFile: "config/hook-secret", Types: []string{"request"}}}
		cfg.WebhookPolicy.Allow = []string{"127.0.0.1"} // the receiver is on this machine
		if err := cfg.Save(bank); err != nil {
			t.Fatal(err)
		}
	})
	bank, notary, court, regulator := c.nodes[0], c.nodes[1], c.nodes[2], c.nodes[3]
	dir := t.TempDir()
	const chain = "CREDIT-2026-000123"
	const caseNo = "(2026)沪0115民初1234号"

	// as runs the CLI against p's node with p's API token.
	as := func(p *proc, args ...string) ([]byte, error) {
		return c.run(append(args, "--node", p.m.API, "--token-file", p.m.TokensFile)...)
	}
	mustJSON := func(out []byte, err error, v any) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	refused := func(what, code string, out []byte, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), code) {
			t.Fatalf("%s: want a refusal with code %s, got %v\n%s", what, code, err, out)
		}
		msg := strings.TrimSpace(err.Error())
		if i := strings.LastIndex(msg, ": "); i > 0 && strings.HasPrefix(msg, "evidenced ") {
			msg = msg[i+2:] // the CLI's own words, after "evidenced ARGS: exit status N: "
		}
		t.Logf("  ✓ refused: %s (%s): %s", what, code, msg)
	}

	// 1. The bank preserves the chain, each step with its original.
	steps := []struct{ kind, file, text string }{
		{"credit-authorisation", "authorisation.txt", "个人征信查询授权书 — 借款人 张三，身份证号 310101199001011234（合成数据）"},
		{"loan-agreement", "agreement.txt", "个人信用借款合同 — 借款人 张三，金额 人民币 50,000 元，期限 12 个月（合成数据）"},
		{"disbursement", "disbursement.txt", "放款凭证 — 收款账户 6222 0000 1234 5678，金额 50,000 元（合成数据）"},
	}
	var ids []string
	for i, s := range steps {
		f := filepath.Join(dir, s.file)
		if err := os.WriteFile(f, []byte(s.text), 0o600); err != nil {
			t.Fatal(err)
		}
		var sub struct {
			Submissions []struct {
				Result struct {
					Index uint64 `json:"index"`
				} `json:"result"`
			} `json:"submissions"`
		}
		out, err := as(bank, "submit", "--upload", "--chain", chain, "--step", strconv.Itoa(i+1), "--kind", s.kind, "-o", "json", f)
		mustJSON(out, err, &sub)
		if len(sub.Submissions) != 1 {
			t.Fatalf("submit: %s", out)
		}
		ids = append(ids, strconv.FormatUint(sub.Submissions[0].Result.Index, 10))
	}
	t.Logf("✓ 1. the bank preserved chain %s: entries %v, originals kept encrypted; names and account numbers only inside the originals", chain, ids)

	// waitSeen waits until p's node has committed what q lists.
	waitSeen := func(p *proc, what string, want string, q ...string) {
		t.Helper()
		c.eventually(p.m.Name+"'s node shows "+what, 30*time.Second, func() error {
			out, err := c.run(append(q, "--node", p.m.API)...)
			if err != nil {
				return err
			}
			if !strings.Contains(string(out), want) {
				return fmt.Errorf("not yet: %s", out)
			}
			return nil
		})
	}

	// 2. The notary attests the whole chain; a bank may not attest.
	out, err := as(bank, "attest", "--chain", chain, "--statement", "notarised", "--note", "（2026）沪东证经字第88号")
	refused("a bank attesting", "role_not_allowed", out, err)
	var att struct {
		Index    uint64 `json:"index"`
		HeadStep uint32 `json:"head_step"`
	}
	// --through 3: the notary's node may be a block behind the bank's; it
	// waits for step 3 and covers steps 1 to 3 exactly.
	out, err = as(notary, "attest", "--chain", chain, "--through", "3", "--statement", "notarised", "--note", "（2026）沪东证经字第88号", "-o", "json")
	mustJSON(out, err, &att)
	if att.HeadStep != 3 {
		t.Fatalf("the notary's attestation covers up to step %d, want 3: %s", att.HeadStep, out)
	}
	t.Logf("✓ 2. the notary attested the chain up to step 3 (entry %d)", att.Index)

	// 3. The court files a request with a Chinese case number; a bank may
	// not, and a purpose with a control character is refused.
	out, err = as(bank, "request", "--chain", chain, "--purpose", caseNo)
	refused("a request filed by a bank", "role_not_allowed", out, err)
	out, err = as(court, "request", "--chain", chain, "--purpose", "(2026)\x07沪0115民初1234号")
	refused("a purpose with a control character", "control", out, err)
	var req struct {
		Index uint64 `json:"index"`
	}
	out, err = as(court, "request", "--chain", chain, "--purpose", caseNo, "-o", "json")
	mustJSON(out, err, &req)
	t.Logf("✓ 3. the court filed request %d for chain %s, case %s", req.Index, chain, caseNo)

	// The bank gets it as a webhook, signed (HMAC-SM3), with the case number.
	c.eventually("the bank's webhook receives the request", 30*time.Second, func() error {
		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		if len(hooks.bad) > 0 {
			t.Fatalf("bad webhook deliveries: %v", hooks.bad)
		}
		if len(hooks.got) == 0 {
			return errors.New("no delivery yet")
		}
		if d := hooks.got[0]; d.typ != "request" || d.index != req.Index {
			t.Fatalf("webhook delivery %+v, want event request of entry %d", d, req.Index)
		}
		return nil
	})
	t.Logf("✓ 3. the bank's core system got request %d by webhook (event request, signed)", req.Index)

	// The bank's node lists it open once it has committed that block.
	c.eventually("the bank's node lists the request open", 30*time.Second, func() error {
		out, err := c.run("requests", "--open", "--for", "bank", "--node", bank.m.API)
		if err != nil {
			return err
		}
		if !strings.Contains(string(out), caseNo) {
			return fmt.Errorf("not listed yet: %s", out)
		}
		return nil
	})

	// 4. The bank grants it. Answering the court's request with a grant to
	// someone else is refused.
	out, err = as(bank, "grant", ids[0], "--to", "notary", "--purpose", caseNo, "--request", strconv.FormatUint(req.Index, 10))
	refused("a grant to the notary answering the court's request", "request_mismatch", out, err)
	var grant struct {
		Index uint64 `json:"index"`
	}
	out, err = as(bank, "grant", "--request", strconv.FormatUint(req.Index, 10), "-o", "json")
	mustJSON(out, err, &grant)
	t.Logf("✓ 4. the bank granted request %d (grant entry %d)", req.Index, grant.Index)

	// 5. The court fetches every original (each checked against its record
	// and receipt), and prints an evidence certificate of the agreement.
	for i, id := range ids {
		copyPath := filepath.Join(dir, "court-"+steps[i].file)
		c.eventually("the court fetches "+id, 30*time.Second, func() error {
			_, err := as(court, "fetch", id, "--out", copyPath)
			return err
		})
		got, err := os.ReadFile(copyPath)
		if err != nil || string(got) != steps[i].text {
			t.Fatalf("the court's copy of %s: %q, %v", id, got, err)
		}
	}
	t.Logf("✓ 5. the court fetched the 3 originals through its own node, each checked against its record")
	// The court checks its own copy of the agreement (fetch wrote the
	// salt beside it) against the certificate.
	courtCopy := filepath.Join(dir, "court-"+steps[1].file)
	roster := filepath.Join(dir, "roster.json")
	if _, err := c.run("roster", "export", "--home", court.m.Home, "--out", roster); err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(dir, "certificate.pdf")
	c.eventually("the certificate (with its trusted time)", 60*time.Second, func() error {
		if _, err := c.run("certificate", ids[1], "--out", cert, "--lang", "zh", "--node", court.m.API); err != nil {
			return err
		}
		r, code := c.verify("--certificate", cert, "--roster", roster, "--file", courtCopy, "--sidecar", courtCopy+".evidence.json")
		if !r.OK || code != 0 {
			return fmt.Errorf("verify --certificate: exit %d, failed step %q", code, r.FailedStep)
		}
		if st := r.step("time"); st == nil || !st.OK {
			return fmt.Errorf("no trusted time yet")
		}
		return nil
	})
	if _, err := exec.LookPath("pdftotext"); err == nil {
		text, err := exec.Command("pdftotext", "-layout", cert, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"存证证书", chain, "notarised", "court"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("the certificate's text lacks %q:\n%s", want, text)
			}
		}
	} else if os.Getenv("EVIDENCED_REQUIRE_PDFTOOLS") == "1" {
		t.Fatal("pdftotext is missing (poppler-utils); .ci/run installs it")
	}
	t.Logf("✓ 5. the court's certificate of entry %s verifies offline with the roster and the original (time step included)", ids[1])

	// 6. The regulator sees the whole audit trail from its own node.
	waitSeen(regulator, "the court's retrieval of step 3", "retrieved", "custody", ids[2])
	trail := map[string][]string{}
	for _, q := range [][]string{{"requests"}, {"custody", ids[0]}, {"custody", ids[1]}, {"attestations", ids[1]}, {"chain", chain}} {
		out, err := c.run(append(q, "--node", regulator.m.API)...)
		if err != nil {
			t.Fatal(err)
		}
		trail[strings.Join(q, " ")] = strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	wantIn := func(q string, parts ...string) {
		t.Helper()
		text := strings.Join(trail[q], "\n")
		for _, p := range parts {
			if !strings.Contains(text, p) {
				t.Errorf("the regulator's `%s` lacks %q:\n%s", q, p, text)
			}
		}
	}
	wantIn("requests", strconv.FormatUint(req.Index, 10), "court", caseNo)
	wantIn("custody "+ids[0], "court", "retrieved")
	wantIn("attestations "+ids[1], "notarised", "notary")
	wantIn("chain "+chain, "notarised by notary")
	t.Log("✓ 6. the regulator's node shows the request, the grant, the court's retrievals and the notary's attestation")
}
