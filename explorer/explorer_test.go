package explorer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/receipt"
)

// response is what get returns.
type response struct {
	status int
	header http.Header
	body   string
}

// get asks h for path (with cookies), following no redirect.
func get(t testing.TB, h http.Handler, path string, cookies ...*http.Cookie) response {
	t.Helper()
	return do(t, h, http.MethodGet, path, cookies...)
}

func do(t testing.TB, h http.Handler, method, path string, cookies ...*http.Cookie) response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: rec.Code, header: rec.Result().Header, body: string(b)}
}

// text is the body with HTML entities decoded, for matching values.
func (r response) text() string { return html.UnescapeString(r.body) }

// dataPage returns the data-page attribute of the body element.
func (r response) dataPage() string {
	m := regexp.MustCompile(`<body data-page="([a-z-]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// wantInOrder checks that body holds every string of want, in that order.
func wantInOrder(t *testing.T, body string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(body[at:], w)
		if i < 0 {
			if strings.Contains(body, w) {
				t.Errorf("page has %q, but not after %q", w, body[max(0, at-40):at])
			} else {
				t.Errorf("page lacks %q", w)
			}
			continue
		}
		at += i + len(w)
	}
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{Now: func() time.Time { return time.Unix(0, f.n.next()) }})
	entry6 := f.txID[6].String()
	bankAKey := f.n.a.Key("bank-a").Public()
	roster, err := f.n.view().Roster()
	if err != nil {
		t.Fatal(err)
	}
	digest, err := roster.Digest()
	if err != nil {
		t.Fatal(err)
	}
	head, err := f.n.view().Head()
	if err != nil {
		t.Fatal(err)
	}
	bankA, err := f.n.view().Member("bank-a")
	if err != nil {
		t.Fatal(err)
	}
	reg := fmt.Sprintf(`href="/explorer/entries/%d">%d</a>`, bankA.Entry, bankA.Entry)
	tests := []struct {
		path   string
		status int
		page   string
		want   []string // in this order, in the text with entities decoded
		not    []string
	}{
		{"/explorer/", 200, "home", []string{
			`<html lang="zh-CN">`, "<h1>概览</h1>",
			`<code>evidenced-test</code>`, `href="/explorer/members/bank-a">bank-a</a>`,
			`id="sum-height">11<`, `id="sum-size">16<`, `id="sum-records">7<`, head.Root.String(),
			`id="sum-checkpoint"`, `href="/explorer/blocks/7">7</a>`,
			`<table id="latest-evidence"`,
			`href="/explorer/chains/LOAN-5">LOAN-5</a></td><td>第 1 步</td><td><span class="kind-name">借款合同</span> <code>loan-contract</code></td><td><a href="/explorer/members/bank-b">bank-b</a></td><td><time datetime="2026-11-01T00:00:11Z">`, `href="/explorer/evidence/15">15</a>`,
			`href="/explorer/chains/LOAN-1">LOAN-1</a></td><td>第 3 步</td><td><span class="kind-name">还款记录</span> <code>repayment</code>`, `href="/explorer/evidence/11">11</a>`,
			`href="/explorer/evidence/8.1">8.1</a>`, `href="/explorer/evidence/8">8</a>`, `href="/explorer/evidence/6">6</a>`,
			`<table id="latest-blocks" data-empty-format="%d 个空区块">`, `href="/explorer/blocks/11">11</a>`, `href="/explorer/blocks/10">10</a>`,
			`<tr class="empty-run" data-from="8" data-to="9"><td><a href="/explorer/blocks/9">9</a>–<a href="/explorer/blocks/8">8</a></td>`, "2 个空区块",
			`href="/explorer/blocks/7">7</a>`, `href="/explorer/blocks/0">0</a>`,
			`<table id="latest-checkpoints">`, `href="/explorer/blocks/7">7</a></td><td class="num">14</td>`, `>notary</a></td><td class="num">50/50</td>`,
			`<script src="/explorer/assets/live.js"></script>`,
		}, nil},
		{"/explorer/blocks/3", 200, "block", []string{
			"<h1>区块 3</h1>", `rel="prev" href="/explorer/blocks/2"`, `rel="next" href="/explorer/blocks/4"`,
			"2026-11-01 00:00:03 UTC", `<span class="bjt">2026-11-01 08:00:03 北京时间</span>`, "第 8 至 8 条（共 1 条）",
			`<table id="block-entries">`, `href="/explorer/entries/8">8</a>`, "批量存证", `href="/explorer/chains/LOAN-2">LOAN-2</a>`, `href="/explorer/evidence/8">第 1 步</a>`,
			`href="/explorer/chains/LOAN-3">LOAN-3</a>`, `href="/explorer/evidence/8.1">`, `href="/explorer/members/bank-b">bank-b</a>`,
			`href="/explorer/txs/` + f.txID[8].String() + `"`,
			"本高度没有可信检查点",
		}, nil},
		{"/explorer/blocks/7", 200, "block", []string{
			`id="block-checkpoint"`, `href="/explorer/blocks/9">9</a>`, "50/50",
			`<pre class="checkpoint">evidenced/evidenced-test` + "\n14\n", "height 7\ntime 2026-11-01T00:00:07Z\n</pre>",
			`href="/explorer/members/arbitration">arbitration</a>`, `href="/explorer/members/notary">notary</a>`,
		}, nil},
		{"/explorer/blocks/9", 200, "block", []string{"本区块没有追加条目", `href="/explorer/blocks/7">高度 7 的可信检查点</a>`}, nil},
		{"/explorer/blocks/0", 200, "block", []string{"第 0 至 5 条（共 6 条）", "成员注册", "注册 arbitration（仲裁机构）"}, []string{`rel="prev"`}},
		{"/explorer/txs/" + entry6, 200, "tx", []string{
			"<h1>条目 6</h1>", `id="tx-type">存证`, `id="tx-block"><a href="/explorer/blocks/1">1</a>`, entry6,
			`id="tx-signer"><a href="/explorer/members/bank-a">bank-a</a>`, bankAKey.ID().String(),
			`<table id="tx-records">`, `href="/explorer/evidence/6">6</a>`, "credit-authorisation", `href="/explorer/chains/LOAN-1">LOAN-1</a>`,
			ledgertest.Commitment("loan1-step1").String(), "由联盟保管", "<code>channel=app</code>, <code>product=" + labelValue + "</code>",
		}, nil},
		{"/explorer/entries/9", 200, "tx", []string{"见证声明",
			`id="tx-attestation-receipt">该见证声明可凭回执离线验证： <a href="/v1/evidence/9/receipt" download="receipt-attestation-9.json"`,
			`href="/explorer/verify?id=9">在浏览器中验证</a>`, `id="tx-attestation"`, "<code>notarised</code>",
			`href="/explorer/evidence/6">6</a>`, `href="/explorer/evidence/8.1">8.1</a>`}, nil},
		{"/explorer/entries/12", 200, "tx", []string{`id="tx-custody"`, `href="/explorer/members/court">court</a>`, "case-2026-001",
			`href="/explorer/evidence/6">6</a>`, `href="/explorer/entries/14">已由条目 14 撤销</a>`}, nil},
		{"/explorer/entries/13", 200, "tx", []string{"调取原件", `id="tx-custody"`, "授权条目", `href="/explorer/entries/12">条目 12</a>`}, nil},
		{"/explorer/entries/14", 200, "tx", []string{"撤销授权", `href="/explorer/entries/12">条目 12</a>`}, nil},
		{fmt.Sprintf("/explorer/entries/%d", bankA.Entry), 200, "tx", []string{`id="tx-member"`, "银行", "<td><code class=\"full\">" + bankAKey.ID().String()}, nil},
		{"/explorer/evidence/6", 200, "evidence", []string{
			"<h1>存证记录 6</h1>", `id="ev-kind"><span class="kind-name">征信授权</span> <code>credit-authorisation</code>`, `href="/explorer/chains/LOAN-1">LOAN-1</a> · 第 1 步`,
			`id="ev-prev">无（第一步）`, `id="ev-next"><a href="/explorer/evidence/7">7</a>`,
			ledgertest.Commitment("loan1-step1").String(), "100 字节", "密文 4096 字节", `id="ev-submitter"><a href="/explorer/members/bank-a">`,
			`<time datetime="2026-11-01T00:00:01Z">2026-11-01 00:00:01 UTC</time> · <span class="bjt">2026-11-01 08:00:01 北京时间</span>`,
			`data-status="covered"`, `href="/explorer/blocks/7">高度 7 的检查点</a>`,
			`href="/v1/evidence/6/receipt" download="receipt-6.json"`,
			`<a id="ev-certificate-link" href="/v1/evidence/6/certificate?lang=zh" download="certificate-6.pdf" type="application/pdf">出具存证证书（PDF）</a>`,
			`href="/explorer/verify?id=6"`, `href="/explorer/evidence/6/custody"`,
			`<table id="ev-attestations">`, `href="/explorer/entries/9">9</a></td><td><a href="/explorer/members/notary">notary</a>`,
		}, nil},
		{"/explorer/evidence/8.1", 200, "evidence", []string{"<h1>存证记录 8.1</h1>", "LOAN-3", `href="/explorer/members/bank-b">bank-b</a>`,
			`data-status="covered"`, `href="/explorer/members/notary">notary</a>`}, nil},
		{"/explorer/evidence/11", 200, "evidence", []string{`id="ev-prev"><a href="/explorer/evidence/7">7</a>`, "联盟未保管原件"}, []string{`id="ev-next"`}},
		{"/explorer/evidence/15", 200, "evidence", []string{`data-status="pending"`, "待定"}, []string{"/v1/evidence/15/receipt", "/v1/evidence/15/certificate"}},
		{"/explorer/evidence/6/custody", 200, "custody", []string{
			"<h1>记录 6 的保管记录</h1>", `href="/explorer/members/bank-a">bank-a</a>`, `<table id="custody-events">`,
			`<tr data-type="grant">`, `href="/explorer/entries/12">12</a>`, `href="/explorer/members/court">court</a>`, "case-2026-001", "撤销前一直有效", `href="/explorer/entries/14">已由条目 14 撤销</a>`,
			`<tr data-type="access">`, `href="/explorer/entries/13">13</a>`, `href="/explorer/entries/12">条目 12 的授权</a>`,
		}, nil},
		{"/explorer/evidence/7/custody", 200, "custody", []string{"尚无授权或调取"}, nil},
		{"/explorer/chains/LOAN-1", 200, "chain", []string{
			"<h1>证据链 LOAN-1</h1>", `id="chain-owner"><a href="/explorer/members/bank-a">bank-a</a>`, `id="chain-steps">3<`,
			`<ol class="timeline" id="timeline">`,
			`<li data-step="1">`, `href="/explorer/evidence/6">第 1 步</a> · <span class="kind-name">征信授权</span> <code>credit-authorisation</code>`, "2026-11-01 00:00:01 UTC",
			`<li data-step="2">`, `href="/explorer/evidence/7">第 2 步</a> · <span class="kind-name">借款合同</span> <code>loan-contract</code>`, "2026-11-01 00:00:02 UTC",
			`<li data-step="3">`, `href="/explorer/evidence/11">第 3 步</a> · <span class="kind-name">还款记录</span> <code>repayment</code>`, "2026-11-01 00:00:05 UTC",
		}, nil},
		{"/explorer/members/bank-a", 200, "member", []string{
			"<h1>成员 bank-a</h1>", `id="member-role">银行`, `id="member-power">10（总投票权 50）`, "无（不保管原件）",
			bankAKey.ID().String(), fmt.Sprintf("%x", bankAKey.Bytes()),
			`<table id="member-entries">`, `href="/explorer/entries/14">14</a>`, `href="/explorer/entries/12">12</a>`,
			`href="/explorer/entries/11">11</a>`, `href="/explorer/entries/10">10</a>`, `href="/explorer/entries/7">7</a>`,
			`href="/explorer/entries/6">6</a>`, reg,
		}, []string{`href="/explorer/entries/8">`}},
		{"/explorer/members/regulator", 200, "member", []string{"监管机构", "0（非验证者）"}, nil},
		{"/explorer/alliance", 200, "alliance", []string{
			"<code>evidenced-test</code>", digest.String(), "在最新可信检查点之前 10 个高度内",
			`<tr data-member="arbitration" data-status="online">`, `href="/explorer/blocks/7">7</a></td>`,
			`<tr data-member="bank-a" data-status="online">`, `<tr data-member="court" data-status="online">`,
			`<tr data-member="regulator" data-status="none">`, "非验证者",
		}, []string{`data-status="lagging"`}},
		{"/explorer/verify?id=8.1", 200, "verify", []string{
			`<p id="verify-receipt-link">`, `href="/v1/evidence/8.1/receipt"`,
			`<form id="verify-form">`, `<div id="verify-drop">`, "旁注文件（原件名.evidence.json，内含盐值）",
			`id="verify-receipt" class="visually-hidden" accept=".json,application/json"><span class="pick-button" aria-hidden="true">选择文件</span>`,
			`<span class="pick-name" id="verify-receipt-name" data-empty="未选择文件">未选择文件</span>`,
			`id="verify-file" class="visually-hidden">`, `id="verify-file-name"`, `id="verify-salt" autocomplete="off" spellcheck="false"`,
			`id="verify-roster" class="visually-hidden" accept=".json,application/json">`, `id="verify-roster-name"`,
			`<button id="verify-run" type="submit">验证</button></form>`,
			`<div id="verify-status" role="status" aria-live="polite"></div>`, `<ol id="verify-steps"></ol>`,
			`<script type="application/json" id="verify-i18n">`,
			`<script src="/explorer/assets/wasm_exec.js"></script><script src="/explorer/assets/verify.js"></script>`,
		}, nil},
		{"/explorer/verify", 200, "verify", []string{"不会上传"}, []string{"verify-receipt-link"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := get(t, h, tt.path)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body:\n%s", r.status, tt.status, r.body)
			}
			if p := r.dataPage(); p != tt.page {
				t.Errorf("data-page %q, want %q", p, tt.page)
			}
			if n := strings.Count(r.body, "<h1>"); n != 1 {
				t.Errorf("%d h1 elements, want 1", n)
			}
			if i := strings.Index(r.body, "⟦"); i >= 0 {
				t.Errorf("page uses a key missing from the catalog: %.40s", r.body[i:])
			}
			body := r.text()
			wantInOrder(t, body, tt.want...)
			for _, n := range tt.not {
				if strings.Contains(body, n) {
					t.Errorf("page has %q", n)
				}
			}
			if t.Failed() {
				t.Logf("body:\n%s", r.body)
			}
		})
	}
}

// TestNoPersonalData renders every page in both languages and looks for
// the wrapped keys of the fixture.
func TestNoPersonalData(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{})
	var paths []string
	for h := 0; h <= 11; h++ {
		paths = append(paths, fmt.Sprintf("/explorer/blocks/%d", h))
	}
	for i := 0; i <= 15; i++ {
		paths = append(paths, fmt.Sprintf("/explorer/entries/%d", i))
	}
	paths = append(paths, "/explorer/", "/explorer/alliance", "/explorer/evidence/6", "/explorer/evidence/6/custody",
		"/explorer/chains/LOAN-1", "/explorer/members/bank-a", "/explorer/members/court", "/explorer/txs/"+f.txID[6].String(),
		"/explorer/search?q="+ledgertest.Commitment("shared").String(), "/explorer/verify?id=6")
	// Label values are public chain metadata (docs/ARCHITECTURE.md): the
	// pages show them, as the API and receipts do; see TestPages.
	secrets := f.secrets
	for _, lang := range []string{"zh", "en"} {
		for _, p := range paths {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			path := p + sep + "lang=" + lang
			r := get(t, h, path)
			if r.status != 200 {
				t.Errorf("%s: status %d", path, r.status)
			}
			for _, s := range secrets {
				if strings.Contains(r.body, s) || strings.Contains(r.text(), s) {
					t.Errorf("%s shows a secret %.20q…", path, s)
				}
			}
		}
	}
}

func TestLanguage(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{})

	zh := get(t, h, "/explorer/alliance")
	wantInOrder(t, zh.body, `<html lang="zh-CN">`, `<a class="lang-switch" hreflang="en" href="?lang=en">English</a>`, "<h1>联盟成员</h1>")
	if zh.header.Get("Content-Language") != "zh-CN" || zh.header.Get("Set-Cookie") != "" {
		t.Errorf("default page: Content-Language %q, Set-Cookie %q", zh.header.Get("Content-Language"), zh.header.Get("Set-Cookie"))
	}

	en := get(t, h, "/explorer/alliance?lang=en")
	wantInOrder(t, en.body, `<html lang="en">`, `<a class="lang-switch" hreflang="zh" href="?lang=zh">中文</a>`, "<h1>Alliance</h1>", "online")
	// The certificate button asks for a certificate in the page's language.
	// English pages show the raw kind alone; Chinese ones its name beside it.
	wantInOrder(t, get(t, h, "/explorer/evidence/6?lang=en").body, `id="ev-kind"><code>credit-authorisation</code>`,
		`<a id="ev-certificate-link" href="/v1/evidence/6/certificate?lang=en" download="certificate-6.pdf" type="application/pdf">Issue the evidence certificate (PDF)</a>`)
	cookies := en.header.Values("Set-Cookie")
	if len(cookies) != 1 {
		t.Fatalf("?lang=en set cookies %q, want one", cookies)
	}
	for _, part := range []string{"lang=en", "Path=/explorer/", "Max-Age=31536000", "SameSite=Lax"} {
		if !strings.Contains(cookies[0], part) {
			t.Errorf("cookie %q lacks %s", cookies[0], part)
		}
	}
	c, err := http.ParseSetCookie(cookies[0])
	if err != nil {
		t.Fatal(err)
	}

	// The cookie keeps English; the switch link keeps the other parameters.
	r := get(t, h, "/explorer/search?q=nothing-here", c)
	wantInOrder(t, r.text(), `<html lang="en">`, `hreflang="zh" href="?lang=zh&q=nothing-here">中文</a>`, "<h1>Search</h1>", "Nothing found for “nothing-here”.")
	// ?lang=zh wins over the cookie, and sets it back.
	r = get(t, h, "/explorer/blocks/1?lang=zh", c)
	wantInOrder(t, r.body, `<html lang="zh-CN">`, "<h1>区块 1</h1>")
	if !strings.Contains(r.header.Get("Set-Cookie"), "lang=zh") {
		t.Errorf("?lang=zh set cookie %q", r.header.Get("Set-Cookie"))
	}
	// An unknown language is ignored.
	r = get(t, h, "/explorer/blocks/1?lang=fr")
	wantInOrder(t, r.body, `<html lang="zh-CN">`, "<h1>区块 1</h1>")
	// Error pages speak the language too.
	r = get(t, h, "/explorer/blocks/99", c)
	wantInOrder(t, r.text(), `<html lang="en">`, "<h1>Not found</h1>", "There is no block at height 99 (the chain is at height 11).")
	// English pages of each kind use no missing key.
	for _, p := range []string{"/explorer/", "/explorer/blocks/7", "/explorer/entries/6", "/explorer/entries/9", "/explorer/entries/12",
		"/explorer/entries/13", "/explorer/evidence/6", "/explorer/evidence/6/custody", "/explorer/chains/LOAN-1",
		"/explorer/members/bank-a", "/explorer/verify?id=6", "/explorer/search?q=3", "/explorer/nope"} {
		r := get(t, h, p, c)
		if strings.Contains(r.body, "⟦") || !strings.Contains(r.body, `<html lang="en">`) {
			t.Errorf("%s in English: missing key or wrong language:\n%s", p, r.body)
		}
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{})
	tests := []struct {
		method, path string
		status       int
		want         []string
	}{
		{"GET", "/explorer/blocks/abc", 400, []string{"<h1>请求有误</h1>", "“abc”不是区块高度"}},
		{"GET", "/explorer/blocks/-1", 400, []string{"“-1”不是区块高度"}},
		{"GET", "/explorer/blocks/99", 404, []string{"<h1>未找到</h1>", "没有高度为 99 的区块（当前高度为 11）", "搜索框"}},
		{"GET", "/explorer/blocks/3?from=99", 400, []string{"from=99 不是本区块的条目", "[8, 9)"}},
		{"GET", "/explorer/entries/99", 404, []string{"日志中没有条目 99。"}},
		{"GET", "/explorer/entries/x", 400, []string{"“x”不是条目号"}},
		{"GET", "/explorer/txs/zz", 400, []string{"“zz”不是交易哈希"}},
		{"GET", "/explorer/txs/" + strings.Repeat("0", 64), 404, []string{"没有已上链的交易 " + strings.Repeat("0", 64)}},
		{"GET", "/explorer/evidence/9", 404, []string{"条目 9 在位置 0 没有存证记录。", `href="/explorer/entries/9">查看该条目</a>`}},
		{"GET", "/explorer/evidence/8.2", 404, []string{"条目 8 在位置 2 没有存证记录。"}},
		{"GET", "/explorer/evidence/99", 404, []string{"日志中没有条目 99。"}},
		{"GET", "/explorer/evidence/6.x", 400, []string{"“6.x”不是记录号"}},
		{"GET", "/explorer/evidence/9/custody", 404, []string{"条目 9 在位置 0 没有存证记录。"}},
		{"GET", "/explorer/chains/NOPE-1", 404, []string{"没有证据链 NOPE-1。"}},
		{"GET", "/explorer/chains/-x", 400, []string{"“-x”不是保全号"}},
		{"GET", "/explorer/chains/" + strings.Repeat("A", 65), 400, []string{"不是保全号"}},
		{"GET", "/explorer/chains/LOAN-1?from=0", 400, []string{"“0”不是步骤号"}},
		{"GET", "/explorer/members/nobody", 404, []string{"联盟中没有成员 nobody。"}},
		{"GET", "/explorer/members/Bank", 400, []string{"“Bank”不是成员名称"}},
		{"GET", "/explorer/members/bank-a?from=x", 400, []string{"“x”不是条目号"}},
		{"GET", "/explorer/verify?id=x", 400, []string{"“x”不是记录号"}},
		{"GET", "/explorer/nope", 404, []string{"没有页面 /explorer/nope。", "搜索框"}},
		{"GET", "/explorer/assets/nope.js", 404, []string{"没有文件 nope.js。"}},
		{"GET", "/explorer//alliance", 404, []string{"没有页面 /explorer//alliance。"}},
		{"GET", "/explorer/blocks/../alliance", 404, []string{"没有页面 /explorer/blocks/../alliance。"}},
		{"GET", "/explorer/./alliance", 404, []string{"没有页面 /explorer/./alliance。"}},
		{"POST", "/explorer//", 404, []string{"没有页面 /explorer//。"}},
		{"GET", "/explorer/live?after=x", 400, []string{"“x”不是区块高度"}},
		{"POST", "/explorer/", 405, []string{"不支持 POST 请求"}},
		{"DELETE", "/explorer/blocks/1", 405, []string{"不支持 DELETE 请求"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := do(t, h, tt.method, tt.path)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d:\n%s", r.status, tt.status, r.body)
			}
			if r.dataPage() != "error" || !strings.Contains(r.body, fmt.Sprintf(`data-status="%d"`, tt.status)) {
				t.Errorf("not an error page with data-status %d", tt.status)
			}
			wantInOrder(t, r.text(), tt.want...)
			if tt.status == 405 && r.header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", r.header.Get("Allow"))
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
		})
	}
}

// failing is a Source whose Snapshot fails.
type failing struct {
	*node
	err error
}

func (f failing) Snapshot() (*ledger.View, int64, func(), error) { return nil, 0, nil, f.err }

func TestUnavailable(t *testing.T) {
	n := newNode(t)
	tests := []struct {
		err    error
		status int
		want   string
	}{
		{api.ErrOverloaded, 503, "节点尚未就绪或负载过高"},
		{fmt.Errorf("open: %w", ledger.ErrNotInitialized), 503, "节点尚未就绪或负载过高"},
		{errors.New("disk on fire"), 500, "原因已记入节点日志"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			var logs strings.Builder
			h := explorer.New(failing{n, tt.err}, explorer.Options{Logger: newLogger(&logs)})
			for _, p := range []string{"/explorer/", "/explorer/blocks/1", "/explorer/search?q=1", "/explorer/live"} {
				r := get(t, h, p)
				if r.status != tt.status || !strings.Contains(r.body, tt.want) || strings.Contains(r.body, "disk on fire") {
					t.Errorf("%s: status %d, want %d with %q:\n%s", p, r.status, tt.status, tt.want, r.body)
				}
				if tt.status == 503 && r.header.Get("Retry-After") != "1" {
					t.Errorf("%s: Retry-After %q", p, r.header.Get("Retry-After"))
				}
			}
			if tt.status == 500 && !strings.Contains(logs.String(), "disk on fire") {
				t.Errorf("the 500's cause is not logged: %q", logs.String())
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{})
	const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
	for _, tt := range []struct{ method, path string }{
		{"GET", "/explorer/"}, {"GET", "/explorer/blocks/1"}, {"GET", "/explorer/nope"}, {"GET", "/explorer/assets/style.css"},
		{"GET", "/explorer/search?q=LOAN-1"}, {"POST", "/explorer/"}, {"HEAD", "/explorer/alliance"}, {"GET", "/explorer/verify"},
		{"GET", "/explorer/evidence/6"}, {"GET", "/explorer/chains/LOAN-1"}, {"GET", "/explorer/evidence/6/custody"},
	} {
		r := do(t, h, tt.method, tt.path)
		if got := r.header.Get("Content-Security-Policy"); got != csp {
			t.Errorf("%s %s: CSP %q", tt.method, tt.path, got)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s: headers %v", tt.method, tt.path, r.header)
		}
		// The CSP allows no inline script or style: none is written.
		for _, bad := range []string{"style=", "<style", " onclick=", " onload=", "javascript:"} {
			if strings.Contains(r.body, bad) {
				t.Errorf("%s %s has %q", tt.method, tt.path, bad)
			}
		}
		for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(r.body, -1) {
			if !strings.Contains(m, ` src="/explorer/assets/`) && !strings.Contains(m, `type="application/json"`) {
				t.Errorf("%s %s: inline script %s", tt.method, tt.path, m)
			}
		}
	}
}

func TestVerifyI18N(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{})
	for _, lang := range []string{"zh", "en"} {
		r := get(t, h, "/explorer/verify?lang="+lang)
		m := regexp.MustCompile(`(?s)<script type="application/json" id="verify-i18n">(.*?)</script>`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("%s: no verify-i18n:\n%s", lang, r.body)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
			t.Fatalf("%s: verify-i18n is not JSON: %v\n%s", lang, err, m[1])
		}
		cat := explorer.Catalog()[lang]
		for _, k := range explorer.VerifyKeys() {
			if got[k] == "" || got[k] != cat["verify."+k] {
				t.Errorf("%s: verify-i18n %s = %q, want %q", lang, k, got[k], cat["verify."+k])
			}
		}
		if len(got) != len(explorer.VerifyKeys()) {
			t.Errorf("%s: verify-i18n has %d keys, want %d", lang, len(got), len(explorer.VerifyKeys()))
		}
	}
	want := []string{"step_roster", "step_roster_path", "step_file", "step_record", "step_attestation", "step_checkpoint", "step_inclusion", "step_signatures", "step_time",
		"ok_file_document", "pass", "fail", "skipped", "verdict_ok", "verdict_fail", "loading", "need_receipt", "roster_node", "roster_file",
		"bad_receipt", "error", "local_only", "as_receipt", "as_file", "as_roster", "as_sidecar"}
	for _, s := range receipt.AllSteps() {
		want = append(want, "ok_"+s)
	}
	for _, r := range receipt.Reasons() {
		want = append(want, "why_"+r)
	}
	if fmt.Sprint(explorer.VerifyKeys()) != fmt.Sprint(want) {
		t.Errorf("verify keys %v, want %v", explorer.VerifyKeys(), want)
	}
}

func TestHead(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{})
	for _, p := range []string{"/explorer/evidence/6", "/explorer/live"} {
		r := do(t, h, http.MethodHead, p)
		if r.status != 200 || r.header.Get("Content-Type") == "" {
			t.Errorf("HEAD %s: %d %v %q", p, r.status, r.header, r.body)
		}
	}
}

// TestMemberPaging checks the newest-first pages of a member's entries
// against a plain scan, for every end and page size.
func TestMemberPaging(t *testing.T) {
	f := newFixture(t)
	v := f.n.view()
	for _, name := range []string{"bank-a", "bank-b", "court", "regulator"} {
		all, err := v.MemberEntries(name, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for before := uint64(0); before <= 17; before++ {
			for n := 1; n <= 9; n++ {
				var want []uint64
				for i := len(all) - 1; i >= 0; i-- {
					if all[i] < before {
						want = append(want, all[i])
					}
				}
				older := len(want) > n
				if older {
					want = want[:n]
				}
				got, gotOlder, err := explorer.NewestEntries(v, name, before, n)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) || gotOlder != older {
					t.Errorf("%s before %d n %d: %v %v, want %v %v", name, before, n, got, gotOlder, want, older)
				}
			}
		}
	}
}

// TestKeyIDs checks the key id a member page shows is SM3 of the key.
func TestKeyIDs(t *testing.T) {
	f := newFixture(t)
	h := explorer.New(f.n, explorer.Options{})
	k := f.n.a.Key("court").Public()
	r := get(t, h, "/explorer/members/court")
	if id := crypto.SM3(k.Bytes()); !strings.Contains(r.body, id.String()) {
		t.Errorf("court's page lacks key id %s", id)
	}
}

// TestAllianceLagging has arbitration miss the later checkpoints.
func TestAllianceLagging(t *testing.T) {
	n := newNode(t)
	a := n.a
	commit := func(chain string) {
		n.block(t, a.Evidence(a.Key("bank-a"), n.next(), ledger.Record{Kind: "loan-contract", Chain: chain, Step: 1, Size: 1,
			Commitment: ledgertest.Commitment(chain)}))
	}
	commit("LOAN-A")
	first := n.trust(t) // height 1, in block 3
	commit("LOAN-B")
	n.trustBy(t, "bank-a", "bank-b", "court", "notary") // height 4, in block 6
	commit("LOAN-C")
	latest := n.trustBy(t, "bank-a", "bank-b", "court", "notary") // height 7, in block 9
	if first != 1 || latest != 7 {
		t.Fatalf("checkpoints of heights %d and %d", first, latest)
	}
	soon := time.Unix(0, n.next()) // the clock just after the last block
	for _, tt := range []struct {
		window int64
		want   []string
	}{
		{0, []string{`<tr data-member="arbitration" data-status="online">`, `href="/explorer/blocks/1">1</a></td>`, `<td class="num">6</td>`,
			`<tr data-member="bank-a" data-status="online">`, `href="/explorer/blocks/7">7</a></td>`, `<td class="num">0</td>`}},
		{6, []string{`<tr data-member="arbitration" data-status="lagging">`, "落后", `href="/explorer/blocks/1">1</a></td>`, `<td class="num">6</td>`,
			`<tr data-member="bank-a" data-status="online">`}},
	} {
		r := get(t, explorer.New(n, explorer.Options{OnlineWindow: tt.window, Now: func() time.Time { return soon }}), "/explorer/alliance")
		wantInOrder(t, r.body, tt.want...)
		if strings.Contains(r.body, "alliance-stale") {
			t.Errorf("a fresh checkpoint is called stale")
		}
	}
	// No new block for an hour: nobody can be called online.
	r := get(t, explorer.New(n, explorer.Options{Now: func() time.Time { return soon.Add(time.Hour) }}), "/explorer/alliance")
	wantInOrder(t, r.body, `id="alliance-height"`, `href="/explorer/blocks/9">9</a>`, `id="alliance-stale"`, "已有 60 分钟没有新区块",
		`<tr data-member="arbitration" data-status="stale">`, "无法确认", `<tr data-member="bank-a" data-status="stale">`)
	// Blocks go on without records for three minutes: the checkpoint is
	// old but the alliance is idle, not halted, and statuses stand.
	for range 180 {
		n.block(t)
	}
	idle := time.Unix(0, n.next())
	r = get(t, explorer.New(n, explorer.Options{OnlineWindow: 6, Now: func() time.Time { return idle }}), "/explorer/alliance")
	wantInOrder(t, r.body, `href="/explorer/blocks/189">189</a>`, `id="alliance-idle"`, "联盟空闲", "已有 3 分钟没有新记录",
		`<tr data-member="arbitration" data-status="lagging">`, `<tr data-member="bank-a" data-status="online">`, `<tr data-member="bank-b" data-status="online">`)
	if strings.Contains(r.body, "alliance-stale") || strings.Contains(r.body, "无法确认") {
		t.Errorf("an idle alliance is called halted")
	}
	// The home page lists the three, newest first; the 180 empty blocks are
	// one row (blocks that carry a
	// checkpoint append no entry), and the records are still listed.
	r = get(t, explorer.New(n, explorer.Options{}), "/explorer/")
	wantInOrder(t, r.body, `<table id="latest-evidence"`, `href="/explorer/chains/LOAN-C">LOAN-C</a>`, `href="/explorer/chains/LOAN-B">LOAN-B</a>`, `href="/explorer/chains/LOAN-A">LOAN-A</a>`,
		`<table id="latest-blocks"`, `<tr class="empty-run" data-from="8" data-to="189"><td><a href="/explorer/blocks/189">189</a>–<a href="/explorer/blocks/8">8</a>`, "182 个空区块",
		`href="/explorer/blocks/7">7</a></td>`, `<tr class="empty-run" data-from="5" data-to="6">`, `href="/explorer/blocks/4">4</a></td>`,
		`<table id="latest-checkpoints">`, `href="/explorer/blocks/7">7</a></td><td class="num">9</td>`, "40/50",
		`href="/explorer/blocks/4">4</a></td><td class="num">8</td>`, `href="/explorer/blocks/1">1</a></td><td class="num">7</td>`, "50/50")
}

// TestVerifySentencesUseFacts: every {fact} in the sentences of passed
// steps, and of a failed file step, is a fact the verifier gives, in both
// languages, on the receipt package's example (good and tampered file).
func TestVerifySentencesUseFacts(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "receipt", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	r, err := receipt.Parse(read("example-receipt.json"))
	if err != nil {
		t.Fatal(err)
	}
	roster, err := receipt.ParseRoster(read("example-roster.json"))
	if err != nil {
		t.Fatal(err)
	}
	good := receipt.Verify(r, roster, receipt.VerifyOptions{File: bytes.NewReader(read("example-original.txt"))})
	bad := receipt.Verify(r, roster, receipt.VerifyOptions{File: strings.NewReader("tampered")})
	if !good.OK || bad.FailedStep != receipt.StepFile {
		t.Fatalf("the example does not verify as expected: %+v / %+v", good, bad)
	}
	placeholder := regexp.MustCompile(`\{([a-z_]+)\}`)
	check := func(key string, facts map[string]string) {
		for lang, cat := range explorer.Catalog() {
			text := cat["verify."+key]
			for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
				if _, ok := facts[m[1]]; !ok {
					t.Errorf("%s verify.%s names {%s}, which the verifier does not give (facts %v)", lang, key, m[1], facts)
				}
			}
		}
	}
	// A receipt after a roster change, verified with the genesis roster,
	// and with a co-signature of its path altered.
	pr, err := receipt.Parse(read("example-path-receipt.json"))
	if err != nil {
		t.Fatal(err)
	}
	withPath := receipt.Verify(pr, roster, receipt.VerifyOptions{})
	pr.RosterPath.Steps[0].Signatures[0].Signature[8] ^= 1
	badPath := receipt.Verify(pr, roster, receipt.VerifyOptions{})
	if !withPath.OK || badPath.FailedStep != receipt.StepRosterPath {
		t.Fatalf("the path example does not verify as expected: %+v / %+v", withPath, badPath)
	}
	for _, rep := range []*receipt.Report{good, bad, withPath, badPath} {
		for _, st := range rep.Steps {
			if st.OK {
				check("ok_"+st.Name, st.Facts)
			}
			if st.Reason != "" {
				check("why_"+st.Reason, st.Facts)
			}
		}
	}
	if withPath.Steps[1].Name != receipt.StepRosterPath || !withPath.Steps[1].OK || good.Steps[1].Reason != receipt.ReasonNoPath {
		t.Errorf("roster_path steps: %+v / %+v", withPath.Steps[1], good.Steps[1])
	}
}
