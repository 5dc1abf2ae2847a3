package testnet_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/testnet"
)

// screenshotDir is where TestExplorerInBrowser writes a screenshot of each
// page: $EVIDENCED_TEST_OUTPUT/explorer, by default test-output/explorer
// at the module root (ignored by git).
func screenshotDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("EVIDENCED_TEST_OUTPUT")
	if root == "" {
		root = filepath.Join("..", "test-output")
	}
	dir, err := filepath.Abs(filepath.Join(root, "explorer"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium finds a headless-capable Chromium; without one the test skips,
// unless EVIDENCED_REQUIRE_BROWSER is set (CI), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("EVIDENCED_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium on PATH: apt-get install chromium fonts-wqy-microhei")
	}
	t.Skip("no chromium on PATH (apt-get install chromium fonts-wqy-microhei)")
	return ""
}

// browser drives one headless Chromium tab against a node's explorer.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the node's API URL
	out  string // screenshot directory
	shot int    // screenshots taken
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls the JavaScript predicate until it is true (30 s at most).
// A navigation under way (a form submitted, a redirect) destroys the
// page's JavaScript context; the poll then starts again in the new page.
func (b *browser) waitFor(what, predicate string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(100*time.Millisecond)))
		if err == nil {
			return
		}
		if navigating(err) && time.Now().Before(deadline) {
			continue
		}
		b.t.Fatalf("%s (%s): %v; the page says:\n%s", what, predicate, err, b.text())
	}
}

// navigating reports whether err says the page's JavaScript context went
// away because the page is being replaced.
func navigating(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context") || strings.Contains(msg, "context was destroyed") || strings.Contains(msg, "Inspected target navigated")
}

// text is the rendered text of the page.
func (b *browser) text() string {
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

// open loads path, waits for a page of kind, saves a screenshot named
// after name, and returns the page's text.
func (b *browser) open(path, kind, name string) string {
	b.t.Helper()
	b.do("navigate to "+path, chromedp.Navigate(b.base+path))
	return b.landed(kind, name)
}

// landed waits until the current page is of kind, then screenshots it.
func (b *browser) landed(kind, name string) string {
	b.t.Helper()
	b.waitFor("a "+kind+" page", fmt.Sprintf(`document.readyState === "complete" && document.body && document.body.dataset.page === %q`, kind))
	b.screenshot(name)
	return b.text()
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.shot++
	if err := os.WriteFile(filepath.Join(b.out, fmt.Sprintf("%02d-%s.png", b.shot, name)), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func mustContain(t *testing.T, page, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the %s page does not show %q; it says:\n%s", page, w, text)
		}
	}
}

// TestExplorerInBrowser loads every kind of explorer page of a running
// four-member alliance in headless Chromium: live blocks on the home
// page, block, transaction, evidence, chain timeline, member, alliance,
// governance (an open proposal, its page, the genesis roster version),
// custody and search pages, the in-browser verification of a good and a
// tampered file, the language switch, and every page at phone width. A
// screenshot of each page is written to test-output/explorer.
func TestExplorerInBrowser(t *testing.T) {
	chrome := chromium(t)
	out := screenshotDir(t)
	c := startCluster(t, "evidenced-explorer-e2e", nil)
	member := map[string]testnet.Member{}
	for _, p := range c.nodes {
		member[p.m.Name] = p.m
	}
	bank, court, notary := member["bank"], member["court"], member["notary"]
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// The evidence the pages show. Step 1 is uploaded (so it has an
	// original, a grant and a retrieval); step 2 is a local file with its
	// sidecar, so its receipt carries the salt.
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const chain = "LOAN-WEB-2026-0001"
	// submit runs evidenced submit with args and returns the one result.
	submit := func(args ...string) client.SubmitResult {
		t.Helper()
		o, err := c.run(append([]string{"submit", "--node", bank.API, "-o", "json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Submissions []struct {
				Result client.SubmitResult `json:"result"`
			} `json:"submissions"`
		}
		if err := json.Unmarshal(o, &out); err != nil || len(out.Submissions) != 1 {
			t.Fatalf("submit %v: %s (%v)", args, o, err)
		}
		return out.Submissions[0].Result
	}
	step1 := submit("--upload", "--token-file", bank.TokensFile, "--chain", chain, "--step", "1", "--kind", "credit-authorisation",
		write("authorisation.pdf", "credit authorisation of loan LOAN-WEB-2026-0001\n"))
	contract := write("contract.pdf", "loan contract LOAN-WEB-2026-0001, signed\n")
	step2 := submit("--key", c.a.ClientKey, "--chain", chain, "--step", "2", "--kind", "loan-contract", "--label", "product=consumer-loan", contract)
	var sidecar struct {
		Salt       string `json:"salt"`
		Commitment string `json:"commitment"`
	}
	if b, err := os.ReadFile(contract + ".evidence.json"); err != nil || json.Unmarshal(b, &sidecar) != nil {
		t.Fatalf("the sidecar of %s: %v", contract, err)
	}

	// The notary attests step 2 with its member key, once its node has it.
	c.waitAll(step2.Height)
	ncfg, err := config.Load(notary.Home)
	if err != nil {
		t.Fatal(err)
	}
	nkey, err := keyfile.Load(config.Path(notary.Home, ncfg.Keys.MemberKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	att, err := ledger.SignTx(nkey, rand.Reader, &ledger.Body{ChainID: c.a.ChainID, Time: time.Now().UnixNano(),
		Payload: &ledger.Attestation{Statement: "notarised", Targets: []ledger.RecordRef{{Index: step2.Index}}, Note: "(2026) 京证字第 0001 号"}})
	if err != nil {
		t.Fatal(err)
	}
	ncl, err := client.New(notary.API)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancelSubmit := context.WithTimeout(ctx, 30*time.Second)
	defer cancelSubmit()
	attested, err := ncl.Submit(sctx, att, true)
	if err != nil {
		t.Fatal(err)
	}

	// The bank grants the court step 1; the court retrieves it.
	id1 := strconv.FormatUint(step1.Index, 10)
	if _, err := c.run("grant", id1, "--to", "court", "--purpose", "(2026) case 0001", "--expires", "720h",
		"--node", bank.API, "--token-file", bank.TokensFile, "-o", "json"); err != nil {
		t.Fatal(err)
	}
	c.waitAll(attested.Height + 1)
	if _, err := c.run("fetch", id1, "--out", filepath.Join(dir, "court-copy.pdf"), "--node", court.API, "--token-file", court.TokensFile, "-o", "json"); err != nil {
		t.Fatal(err)
	}

	// The receipt of step 2, with the salt from the sidecar; and a
	// tampered copy of the contract.
	id2 := strconv.FormatUint(step2.Index, 10)
	receiptFile := filepath.Join(dir, "contract.receipt.json")
	// The generated alliance stamps with its development TSA: wait for
	// the receipt that carries the token, so the time step is checked too.
	c.eventually("the receipt of step 2, with its trusted time", 60*time.Second, func() error {
		if _, err := c.run("receipt", id2, "--sidecar", contract+".evidence.json", "--out", receiptFile, "--node", bank.API); err != nil {
			return err
		}
		raw, err := os.ReadFile(receiptFile)
		if err != nil {
			return err
		}
		var r struct {
			Time json.RawMessage `json:"time"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		if r.Time == nil {
			return errors.New("the receipt has no time yet")
		}
		return nil
	})
	tampered := write("contract-tampered.pdf", "loan contract LOAN-WEB-2026-0001, signed.\n")

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	b := &browser{t: t, ctx: bctx, base: bank.API, out: out}

	// Home, in Chinese by default, with blocks arriving live.
	home := b.open("/explorer/", "home", "home-zh")
	if lang := eval[string](b, `document.documentElement.lang`); !strings.HasPrefix(lang, "zh") {
		t.Errorf("the default language is %q, want Chinese", lang)
	}
	mustContain(t, "home", home, c.a.ChainID, "区块")
	first := eval[int](b, `parseInt(document.querySelector("#latest-blocks tbody tr td").innerText, 10)`)
	submit("--key", c.a.ClientKey, "--chain", "LOAN-WEB-LIVE", "--step", "1", "--kind", "repayment", write("repayment.json", `{"paid": true}`))
	b.waitFor("a newer block at the top of the live list without a reload",
		fmt.Sprintf(`parseInt(document.querySelector("#latest-blocks tbody tr td").innerText, 10) > %d`, first))
	b.waitFor("trusted checkpoints listed", `document.querySelectorAll("#latest-checkpoints tbody tr").length > 0`)
	b.screenshot("home-live")

	// Block, transaction (by tx id and by entry index), evidence.
	text := b.open(fmt.Sprintf("/explorer/blocks/%d", step2.Height), "block", "block")
	mustContain(t, "block", text, strconv.FormatInt(step2.Height, 10), step2.TxID.String()[:8], chain)
	text = b.open("/explorer/txs/"+step2.TxID.String(), "tx", "tx")
	// Labels are public chain metadata, shown; the salt never is.
	mustContain(t, "tx", text, chain, "loan-contract", "bank", "product=consumer-loan")
	if strings.Contains(text, sidecar.Salt) {
		t.Errorf("the tx page shows the salt:\n%s", text)
	}
	text = b.open("/explorer/entries/"+strconv.FormatUint(attested.Index, 10), "tx", "entry-attestation")
	mustContain(t, "attestation entry", text, "notarised", "notary")
	text = b.open("/explorer/evidence/"+id2, "evidence", "evidence")
	mustContain(t, "evidence", text, chain, "loan-contract", sidecar.Commitment, "notary")

	// The evidence chain as a timeline: step 1 before step 2.
	text = b.open("/explorer/chains/"+chain, "chain", "chain-timeline")
	if i1, i2 := strings.Index(text, "credit-authorisation"), strings.Index(text, "loan-contract"); i1 < 0 || i2 < 0 || i1 > i2 {
		t.Errorf("the timeline does not show step 1 (credit-authorisation) before step 2 (loan-contract):\n%s", text)
	}

	// Member and alliance pages.
	text = b.open("/explorer/members/notary", "member", "member")
	mustContain(t, "member", text, "notary", notary.MemberKey[:16])
	text = b.open("/explorer/alliance", "alliance", "alliance")
	mustContain(t, "alliance", text, "bank", "notary", "court", "arbitration")
	if n := eval[int](b, `document.querySelectorAll("#alliance-members tr[data-status=online]").length`); n != 4 {
		t.Errorf("%d validators shown online, want 4:\n%s", n, text)
	}

	// Governance: an open proposal by the notary, its page, and the
	// genesis roster (version 0), in force.
	prop, err := ledger.SignTx(nkey, rand.Reader, &ledger.Body{ChainID: c.a.ChainID, Time: time.Now().UnixNano(),
		Payload: &ledger.Proposal{Change: ledger.RosterChange{Kind: ledger.ChangeSetRole,
			Seat: ledger.Seat{Member: ledger.Member{Name: "court", Role: ledger.RoleArbitration}}},
			Deadline: uint64(attested.Height) + 100_000, Reason: "董事会决议 2026-12 号"}})
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancelPropose := context.WithTimeout(ctx, 30*time.Second)
	defer cancelPropose()
	proposed, err := ncl.Submit(pctx, prop, true)
	if err != nil {
		t.Fatal(err)
	}
	c.waitAll(proposed.Height)
	idp := strconv.FormatUint(proposed.Index, 10)
	text = b.open("/explorer/governance", "governance", "governance")
	mustContain(t, "governance", text, "进行中的提案", "变更角色", "court", "notary", "董事会决议 2026-12 号", "第 0 版", "创世名册")
	if n := eval[int](b, `document.querySelectorAll("#gov-open tbody tr").length`); n != 1 {
		t.Errorf("%d open proposals shown, want 1:\n%s", n, text)
	}
	text = b.open("/explorer/proposals/"+idp, "proposal", "proposal")
	mustContain(t, "proposal", text, "进行中", "变更角色", "notary", "赞成 0 · 反对 0 · 总投票权 40", "尚无投票")
	text = b.open("/explorer/rosters/0", "roster", "roster")
	mustContain(t, "roster", text, "现行", "bank", "notary", "court", "arbitration")

	// The custody log of step 1: the grant and the court's retrieval.
	text = b.open("/explorer/evidence/"+id1+"/custody", "custody", "custody")
	mustContain(t, "custody", text, "court", "(2026) case 0001")

	// Search: a tx id, an evidence chain, a commitment, a number that is
	// both a height and an entry index, and nothing.
	search := func(q, kind, name string) string {
		t.Helper()
		b.do("search "+q, chromedp.Navigate(b.base+"/explorer/"))
		b.waitFor("the home page", `document.readyState === "complete" && document.body.dataset.page === "home"`)
		b.do("type "+q, chromedp.SetValue(chromedp.CSS(`#search input[name=q]`), q), chromedp.Submit(chromedp.CSS(`#search input[name=q]`)))
		return b.landed(kind, "search-"+name)
	}
	mustContain(t, "tx search", search(step2.TxID.String(), "tx", "txid"), chain)
	mustContain(t, "chain search", search(chain, "chain", "chain"), chain)
	mustContain(t, "commitment search", search(sidecar.Commitment, "evidence", "commitment"), sidecar.Commitment)
	search("2", "search", "number")
	if n := eval[int](b, `document.querySelectorAll('main a[href="/explorer/blocks/2"], main a[href="/explorer/entries/2"]').length`); n < 2 {
		t.Errorf("searching 2 (a height and an entry index) links %d of block 2 and entry 2:\n%s", n, b.text())
	}
	search("NO-SUCH-THING-0000", "search", "nothing")

	// The verify page: the good file passes every step, the tampered one
	// fails the file step; both computed in the browser.
	verify := func(file, want string) {
		t.Helper()
		b.do("open the verify page", chromedp.Navigate(b.base+"/explorer/verify"))
		b.waitFor("the verifier loaded", `document.body.dataset.page === "verify" && !document.getElementById("verify-run").disabled`)
		b.do("choose files",
			chromedp.SetUploadFiles(chromedp.CSS("#verify-receipt"), []string{receiptFile}),
			chromedp.SetUploadFiles(chromedp.CSS("#verify-file"), []string{file}),
			chromedp.Click(chromedp.CSS("#verify-run")))
		b.waitFor("the verification "+want, fmt.Sprintf(`document.getElementById("verify-form").dataset.state === %q`, want))
		b.screenshot("verify-" + want)
	}
	verify(contract, "ok")
	if n := eval[int](b, `document.querySelectorAll("#verify-steps li[data-state=pass]").length`); n != 7 {
		t.Errorf("%d of 7 steps passed on the good file:\n%s", n, b.text())
	}
	if s := eval[string](b, `document.querySelector("#verify-steps li[data-step=time] p").innerText`); !strings.Contains(s, "时间戳服务机构 dev-tsa") || !strings.Contains(s, "已存在") {
		t.Errorf("the time step says %q, want Chinese naming TSA dev-tsa and the time", s)
	}
	// Each step is said in Chinese, with the verifier's facts filled in.
	if s := eval[string](b, `document.querySelector("#verify-steps li[data-step=file] p").innerText`); !strings.Contains(s, "与记录中的承诺值一致") || !strings.Contains(s, sidecar.Commitment) {
		t.Errorf("the file step on the good file says %q, want Chinese naming the commitment %s", s, sidecar.Commitment)
	}
	verify(tampered, "failed")
	if s := eval[string](b, `document.querySelector("#verify-steps li[data-step=file]").dataset.state`); s != "fail" {
		t.Errorf("the file step on the tampered file is %q, want fail:\n%s", s, b.text())
	}
	if s := eval[string](b, `document.querySelector("#verify-steps li[data-step=file] p").innerText`); !strings.Contains(s, "不是记录中的承诺值") {
		t.Errorf("the failed file step says %q, want the Chinese reason", s)
	}
	if s := eval[string](b, `document.querySelector("#verify-steps li[data-step=record] p").innerText`); !strings.Contains(s, "未执行") {
		t.Errorf("the record step after the failure says %q, want 未执行 (not run)", s)
	}
	// Dropping the receipt and the file on the drop zone works as choosing them.
	receiptJSON, err := os.ReadFile(receiptFile)
	if err != nil {
		t.Fatal(err)
	}
	contractBytes, err := os.ReadFile(contract)
	if err != nil {
		t.Fatal(err)
	}
	b.do("open the verify page", chromedp.Navigate(b.base+"/explorer/verify"))
	b.waitFor("the verifier loaded", `document.body.dataset.page === "verify" && !document.getElementById("verify-run").disabled`)
	js, _ := json.Marshal(map[string]string{"receipt": string(receiptJSON), "original": string(contractBytes)})
	b.do("drop the receipt and the original", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const f = %s, dt = new DataTransfer();
		dt.items.add(new File([f.receipt], "contract.receipt.json", {type: "application/json"}));
		dt.items.add(new File([f.original], "contract.pdf"));
		document.getElementById("verify-drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
	})()`, js)))
	b.waitFor("both dropped files recognised", `(document.getElementById("verify-drop").dataset.files || "").split("\n").length === 2`)
	b.do("verify the dropped files", chromedp.Click(chromedp.CSS("#verify-run")))
	b.waitFor("the verification of dropped files", `document.getElementById("verify-form").dataset.state === "ok"`)
	b.screenshot("verify-dropped")

	// English, switched by the link, kept across pages; then back.
	b.do("open home", chromedp.Navigate(b.base+"/explorer/"))
	b.waitFor("the home page", `document.readyState === "complete" && document.body.dataset.page === "home"`)
	b.do("switch to English", chromedp.Click(chromedp.CSS(`a.lang-switch[hreflang=en]`)))
	b.waitFor("the page in English", `document.documentElement.lang === "en"`)
	en := b.landed("home", "home-en")
	mustContain(t, "English home", en, "Latest blocks", "Latest trusted checkpoints")
	text = b.open("/explorer/chains/"+chain, "chain", "chain-en")
	if lang := eval[string](b, `document.documentElement.lang`); lang != "en" {
		t.Errorf("after switching, the next page is in %q, want en", lang)
	}
	mustContain(t, "English chain", text, chain)
	b.do("switch back to Chinese", chromedp.Click(chromedp.CSS(`a.lang-switch[hreflang=zh]`)))
	b.waitFor("the page in Chinese", `document.documentElement.lang.startsWith("zh")`)

	// A phone: every page kind fits 390 px without sideways scrolling (wide
	// tables scroll inside their own box).
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	for _, p := range []struct{ path, kind, name string }{
		{"/explorer/", "home", "phone-home"},
		{fmt.Sprintf("/explorer/blocks/%d", step2.Height), "block", "phone-block"},
		{"/explorer/txs/" + step2.TxID.String(), "tx", "phone-tx"},
		{"/explorer/evidence/" + id2, "evidence", "phone-evidence"},
		{"/explorer/chains/" + chain, "chain", "phone-chain"},
		{"/explorer/members/notary", "member", "phone-member"},
		{"/explorer/alliance", "alliance", "phone-alliance"},
		{"/explorer/governance", "governance", "phone-governance"},
		{"/explorer/proposals/" + idp, "proposal", "phone-proposal"},
		{"/explorer/rosters/0", "roster", "phone-roster"},
		{"/explorer/evidence/" + id1 + "/custody", "custody", "phone-custody"},
		{"/explorer/search?q=2", "search", "phone-search"},
		{"/explorer/verify", "verify", "phone-verify"},
	} {
		b.open(p.path, p.kind, p.name)
		if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("%s is %d px wide on a 390 px phone: it scrolls sideways", p.path, w)
		}
	}
	t.Logf("%d screenshots in %s", b.shot, out)
}
