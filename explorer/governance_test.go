package explorer_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/ledger"
)

// govFixture is a node whose alliance changed its roster:
//
//	p1  notary proposes adding bank-c (power 10); bank-a, bank-b, notary
//	    and court approve (40 of 50): roster version 1, put in force by
//	    the checkpoint of height att1, so From = from1
//	p2  bank-a proposes removing the regulator; bank-b and court reject
//	    (20 of 60): rejected; the checkpoint of height att2 is co-signed
//	    by version 1
//	p3  bank-b proposes bank-a's power 20; the five validators approve
//	    (50 of 60): roster version 2, pending (no checkpoint covers it)
//	p5  court proposes removing bank-b with a deadline one block ahead,
//	    and nobody votes: expired
//	p4  court proposes the regulator's role court; arbitration approves,
//	    bank-a rejects (10 and 10 of 60): open
type govFixture struct {
	n                  *node
	p1, p2, p3, p4, p5 uint64
	v1Entry, v2Entry   uint64
	p1Decided          uint64
	att1, from1, att2  int64
	p4Deadline         uint64
	p5Deadline         uint64
	bankC              ledger.Seat
	v1, v2             *ledger.RosterVersionInfo
}

// newSeat makes a seat for a new member with fresh keys.
func newSeat(t testing.TB, name string, role ledger.Role, power uint64) ledger.Seat {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := ledger.Seat{Member: ledger.Member{Name: name, Role: role, Power: power, Keys: []*crypto.PublicKey{k.Public()}}}
	nid := crypto.SM3([]byte("node of "+name), k.Public().Bytes())
	copy(st.Node[:], nid[:])
	if power > 0 {
		v := crypto.SM3([]byte("validator of "+name), k.Public().Bytes())
		st.Validator = v[:]
	}
	return st
}

func newGovFixture(t testing.TB) *govFixture {
	t.Helper()
	n := newNode(t)
	f := &govFixture{n: n}
	propose := func(by string, c ledger.RosterChange, deadline uint64, reason string) uint64 {
		t.Helper()
		tx := n.a.Sign(n.a.Key(by), &ledger.Body{ChainID: testChain, Time: n.next(),
			Payload: &ledger.Proposal{Change: c, Deadline: deadline, Reason: reason}})
		return n.block(t, tx)[0]
	}
	vote := func(p uint64, d ledger.Decision, by ...string) []uint64 {
		t.Helper()
		var txs [][]byte
		for _, m := range by {
			txs = append(txs, n.a.Sign(n.a.Key(m), &ledger.Body{ChainID: testChain, Time: n.next(),
				Payload: &ledger.Vote{Proposal: p, Decision: d}}))
		}
		return n.block(t, txs...)
	}

	f.bankC = newSeat(t, "bank-c", ledger.RoleBank, 10)
	f.p1 = propose("notary", ledger.RosterChange{Kind: ledger.ChangeAdd, Seat: f.bankC}, 50, "董事会决议 2026-12 号")
	vote(f.p1, ledger.Approve, "bank-a")
	vote(f.p1, ledger.Approve, "bank-b")
	vote(f.p1, ledger.Approve, "notary")
	f.p1Decided = vote(f.p1, ledger.Approve, "court")[0]
	f.v1Entry = f.p1Decided + 1
	f.att1 = n.trust(t)
	f.from1 = n.height + 2

	f.p2 = propose("bank-a", ledger.RosterChange{Kind: ledger.ChangeRemove, Seat: ledger.Seat{Member: ledger.Member{Name: "regulator"}}},
		uint64(n.height+100), "")
	vote(f.p2, ledger.Reject, "bank-b")
	vote(f.p2, ledger.Reject, "court")
	f.att2 = n.trust(t) // co-signed by version 1

	f.p3 = propose("bank-b", ledger.RosterChange{Kind: ledger.ChangeSetPower, Seat: ledger.Seat{Member: ledger.Member{Name: "bank-a", Power: 20}}},
		uint64(n.height+100), "增资")
	idx := vote(f.p3, ledger.Approve, "arbitration", "bank-a", "bank-b", "court", "notary")
	f.v2Entry = idx[len(idx)-1] + 1

	f.p5Deadline = uint64(n.height + 2)
	f.p5 = propose("court", ledger.RosterChange{Kind: ledger.ChangeRemove, Seat: ledger.Seat{Member: ledger.Member{Name: "bank-b"}}},
		f.p5Deadline, "")
	f.p4Deadline = uint64(n.height + 200)
	f.p4 = propose("court", ledger.RosterChange{Kind: ledger.ChangeSetRole, Seat: ledger.Seat{Member: ledger.Member{Name: "regulator", Role: ledger.RoleCourt}}},
		f.p4Deadline, "监管机构改由法院代表")
	vote(f.p4, ledger.Approve, "arbitration")
	vote(f.p4, ledger.Reject, "bank-a")

	var err error
	if f.v1, err = n.view().RosterVersion(1); err != nil || f.v1.From != f.from1 || f.v1.Attested != uint64(f.att1) || f.v1.Entry != f.v1Entry {
		t.Fatalf("roster version 1: %+v, %v", f.v1, err)
	}
	if f.v2, err = n.view().RosterVersion(2); err != nil || !f.v2.Pending() || f.v2.Entry != f.v2Entry {
		t.Fatalf("roster version 2: %+v, %v", f.v2, err)
	}
	return f
}

func TestGovernancePages(t *testing.T) {
	f := newGovFixture(t)
	h := explorer.New(f.n, explorer.Options{Now: func() time.Time { return time.Unix(0, f.n.next()) }, Logger: newLogger(tWriter{t})})
	v0, err := f.n.view().RosterVersion(0)
	if err != nil {
		t.Fatal(err)
	}
	height := f.n.height
	p := func(i uint64) string { return fmt.Sprintf(`href="/explorer/proposals/%d">`, i) }
	e := func(i uint64) string { return fmt.Sprintf(`href="/explorer/entries/%d">`, i) }
	bankCKey := f.bankC.Keys[0].ID().String()
	tests := []struct {
		path   string
		status int
		page   string
		want   []string
		not    []string
	}{
		{"/explorer/governance", 200, "governance", []string{
			`<a href="/explorer/governance">治理</a>`, "<h1>联盟治理</h1>",
			`id="gov-version"><a href="/explorer/rosters/1">第 1 版</a>`, `id="gov-digest"><code class="full">` + f.v1.Digest.String(),
			fmt.Sprintf(`id="gov-from"><a href="/explorer/blocks/%d">%d</a>`, f.from1, f.from1), "7 名成员，总投票权 60",
			`id="gov-pending">名册第 2 版已通过、待生效`, `href="/explorer/rosters/2">第 2 版</a>`,
			// Open: p4, with its tally against the 2/3 threshold.
			"进行中的提案", `<table id="gov-open">`, fmt.Sprintf(`<tr data-proposal="%d">`, f.p4), p(f.p4), "变更角色",
			`href="/explorer/members/regulator">regulator</a>`, `href="/explorer/members/court">court</a>`,
			fmt.Sprintf("%d<br><span class=\"muted\">还剩 %d 个区块</span>", f.p4Deadline, int64(f.p4Deadline)-height),
			`<meter min="0" max="60" low="41" high="41" optimum="60" value="10"`, "赞成 10 · 反对 10 · 总投票权 60", "通过需赞成 41（超过三分之二）",
			"监管机构改由法院代表",
			// Closed, newest first.
			"已结束的提案（最新在前）", `<table id="gov-closed">`,
			fmt.Sprintf(`<tr data-proposal="%d" data-status="expired">`, f.p5), "移除成员", `<span class="tag warn">过期</span>`,
			fmt.Sprintf("截止高度 %d 已过", f.p5Deadline),
			fmt.Sprintf(`<tr data-proposal="%d" data-status="passed">`, f.p3), "调整投票权", `<span class="tag ok">通过</span>`,
			"赞成 50 · 反对 0 · 总投票权 60", `href="/explorer/rosters/2">第 2 版</a>`,
			fmt.Sprintf(`<tr data-proposal="%d" data-status="rejected">`, f.p2), `<span class="tag warn">否决</span>`, "赞成 0 · 反对 20 · 总投票权 60",
			fmt.Sprintf(`<tr data-proposal="%d" data-status="passed">`, f.p1), "新增成员", `href="/explorer/members/bank-c">bank-c</a>`,
			`href="/explorer/members/notary">notary</a>`, "赞成 40 · 反对 0 · 总投票权 50", e(f.p1Decided), `href="/explorer/rosters/1">第 1 版</a>`,
			// Roster history, newest first.
			"名册版本历史", `<table id="gov-versions">`,
			`<tr data-version="2" data-status="pending">`, f.v2.Digest.String(), `<span class="tag warn">待生效</span>`, p(f.p3), "提案 " + fmt.Sprint(f.p3),
			`<td class="num">7</td>`, `<td class="num">70</td>`,
			`<tr data-version="1" data-status="in-force">`, `<span class="tag ok">现行</span>`, f.v1.Digest.String(),
			fmt.Sprintf(`href="/explorer/blocks/%d">%d</a>`, f.from1, f.from1), fmt.Sprintf(`href="/explorer/blocks/%d">%d</a>`, f.att1, f.att1),
			p(f.p1), `<td class="num">7</td>`, `<td class="num">60</td>`,
			`<tr data-version="0">`, v0.Digest.String(), `href="/explorer/blocks/0">0</a>`, "创世名册", `<td class="num">6</td>`, `<td class="num">50</td>`,
		}, []string{`rel="next"`}},
		{fmt.Sprintf("/explorer/proposals/%d", f.p1), 200, "proposal", []string{
			fmt.Sprintf("<h1>提案 %d</h1>", f.p1), `id="proposal-status"><span class="tag ok">通过</span>`, `id="proposal-change">新增成员 <span class="muted">(add)</span>`,
			`id="proposal-proposer"><a href="/explorer/members/notary">notary</a>`, e(f.p1),
			`id="proposal-deadline">50<`, `id="proposal-reason">董事会决议 2026-12 号<`,
			`id="proposal-tally"><meter min="0" max="50" low="34" high="34" optimum="50" value="40"`, "赞成 40 · 反对 0 · 总投票权 50",
			"通过需赞成票至少 34（超过三分之二）；反对票达到 17（三分之一）即否决。",
			`id="proposal-decided"><a ` + e(f.p1Decided), `id="proposal-version"><a href="/explorer/rosters/1">第 1 版</a>`,
			"计票按作出决定的那一票所在区块的名册版本计算投票权。",
			`<table id="proposal-votes">`,
			`<tr data-member="bank-a" data-decision="approve">`, `<span class="tag ok">赞成</span>`, `<td class="num">10</td>`, e(f.p1 + 1),
			`<tr data-member="bank-b" data-decision="approve">`, e(f.p1 + 2),
			`<tr data-member="notary" data-decision="approve">`, e(f.p1 + 3),
			`<tr data-member="court" data-decision="approve">`, e(f.p1Decided),
			"变更内容", `id="proposal-details"`, `href="/explorer/members/bank-c">bank-c</a>`, "银行", bankCKey,
		}, []string{"还剩"}},
		{fmt.Sprintf("/explorer/proposals/%d", f.p4), 200, "proposal", []string{
			`id="proposal-status"><span class="tag">进行中</span>`, fmt.Sprintf("还剩 %d 个区块", int64(f.p4Deadline)-height),
			"赞成 10 · 反对 10 · 总投票权 60", "通过需赞成票至少 41（超过三分之二）；反对票达到 20（三分之一）即否决。",
			"计票按下一个区块计票时的名册版本计算投票权。",
			`<tr data-member="arbitration" data-decision="approve">`, `<tr data-member="bank-a" data-decision="reject">`, `<span class="tag warn">反对</span>`,
		}, []string{`id="proposal-decided"`, `id="proposal-version"`}},
		{fmt.Sprintf("/explorer/proposals/%d?lang=en", f.p2), 200, "proposal", []string{
			fmt.Sprintf("<h1>Proposal %d</h1>", f.p2), `<span class="tag warn">rejected</span>`, "remove a member", "approve 0 · reject 20 · of 60",
			`<tr data-member="bank-b" data-decision="reject">`, `<tr data-member="court" data-decision="reject">`,
		}, []string{`id="proposal-version"`}},
		{fmt.Sprintf("/explorer/proposals/%d", f.p5), 200, "proposal", []string{`<span class="tag warn">过期</span>`, "尚无投票。"}, nil},
		{"/explorer/rosters/1", 200, "roster", []string{
			"<h1>名册第 1 版</h1>", `id="roster-status"><span class="tag ok">现行</span>`,
			`id="roster-digest"><code class="full copy">` + f.v1.Digest.String() + "</code>",
			fmt.Sprintf(`id="roster-from"><a href="/explorer/blocks/%d">%d</a>`, f.from1, f.from1),
			fmt.Sprintf(`id="roster-attested"><a href="/explorer/blocks/%d">高度 %d 的可信检查点</a>`, f.att1, f.att1),
			`id="roster-proposal"><a ` + p(f.p1), `id="roster-entry"><a ` + e(f.v1Entry), "7 名成员，总投票权 60",
			`rel="prev" href="/explorer/rosters/0"`, `rel="next" href="/explorer/rosters/2"`,
			`<table id="roster-members">`, `<tr data-member="arbitration">`, "仲裁机构",
			`<tr data-member="bank-c">`, `href="/explorer/members/bank-c">bank-c</a>`, "银行", `<td class="num">10</td>`, bankCKey, f.bankC.Node.String(),
			`<tr data-member="regulator">`, "监管机构", `<td class="num">0</td>`,
		}, nil},
		{"/explorer/rosters/2", 200, "roster", []string{
			`id="roster-status"><span class="tag warn">待生效</span>`, f.v2.Digest.String(), `id="roster-from"><span class="tag warn">待生效</span>`,
			`id="roster-attested">—`, "7 名成员，总投票权 70", `<tr data-member="bank-a">`, `<td class="num">20</td>`,
		}, []string{`rel="next"`}},
		{"/explorer/rosters/0?lang=en", 200, "roster", []string{
			"<h1>Roster version 0</h1>", `<span class="tag">superseded</span>`, v0.Digest.String(), `href="/explorer/blocks/0">0</a>`,
			`id="roster-proposal">genesis`, "6 members, total voting power 50",
		}, []string{`rel="prev"`, "bank-c"}},
		{"/explorer/alliance", 200, "alliance", []string{
			`id="alliance-version"><a href="/explorer/rosters/1">第 1 版</a> · <a href="/explorer/governance">名册变更与投票</a>`,
			`id="alliance-digest"><code class="full">` + f.v1.Digest.String(),
			fmt.Sprintf(`id="alliance-from"><a href="/explorer/blocks/%d">%d</a>`, f.from1, f.from1),
			`id="alliance-pending">名册第 2 版已通过、待生效`, `href="/explorer/rosters/2">第 2 版</a>`,
			`<tr data-member="bank-a"`, `<td class="num">10</td>`, `<tr data-member="bank-c"`, `<td class="num">10</td>`,
		}, nil},
		{fmt.Sprintf("/explorer/entries/%d", f.p1), 200, "tx", []string{"成员变更提案", `id="tx-governance"`, p(f.p1) + fmt.Sprintf("查看提案 %d 及其投票", f.p1)}, nil},
		{fmt.Sprintf("/explorer/entries/%d", f.p1Decided), 200, "tx", []string{"提案表决", p(f.p1) + fmt.Sprintf("查看提案 %d 及其投票", f.p1)}, nil},
		{fmt.Sprintf("/explorer/entries/%d", f.v1Entry), 200, "tx", []string{"成员名册版本", f.v1.Digest.String(),
			p(f.p1), `href="/explorer/rosters/1">查看名册第 1 版</a>`}, nil},
		{"/explorer/entries/3", 200, "tx", nil, []string{`id="tx-governance"`}},
		// Entry rows name the change and the decision in the page's language.
		{"/explorer/blocks/1", 200, "block", []string{"提议 新增成员（成员 bank-c），投票截止高度 50"}, nil},
		{"/explorer/blocks/1?lang=en", 200, "block", []string{"proposes: add a member (bank-c), votes until height 50"}, nil},
		{"/explorer/blocks/2?lang=en", 200, "block", []string{fmt.Sprintf("votes approve on the proposal of entry %d", f.p1)}, nil},
		{"/explorer/blocks/2", 200, "block", []string{fmt.Sprintf("表决 赞成，针对条目 %d 的提案", f.p1)}, nil},
		// A checkpoint is weighed by the roster version that co-signed it.
		{fmt.Sprintf("/explorer/blocks/%d", f.att1), 200, "block", []string{`id="block-checkpoint"`, "50/50"}, []string{"/60"}},
		{fmt.Sprintf("/explorer/blocks/%d", f.att2), 200, "block", []string{`id="block-checkpoint"`, "50/60"}, nil},
		{"/explorer/", 200, "home", []string{`<table id="latest-checkpoints">`,
			fmt.Sprintf(`href="/explorer/blocks/%d">%d</a>`, f.att2, f.att2), "50/60", fmt.Sprintf(`href="/explorer/blocks/%d">%d</a>`, f.att1, f.att1), "50/50"}, nil},
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
			if t.Failed() || os.Getenv("DUMP") != "" {
				t.Logf("body:\n%s", r.body)
			}
		})
	}
}

// tWriter logs what is written to it.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

func TestGovernancePagesEnglishAndErrors(t *testing.T) {
	f := newGovFixture(t)
	h := explorer.New(f.n, explorer.Options{})
	// Every governance page in English uses no missing key.
	for _, p := range []string{"/explorer/governance", fmt.Sprintf("/explorer/proposals/%d", f.p1), fmt.Sprintf("/explorer/proposals/%d", f.p4),
		fmt.Sprintf("/explorer/proposals/%d", f.p5), "/explorer/rosters/0", "/explorer/rosters/1", "/explorer/rosters/2", "/explorer/alliance",
		fmt.Sprintf("/explorer/entries/%d", f.v2Entry)} {
		r := get(t, h, p+"?lang=en")
		if r.status != 200 || strings.Contains(r.body, "⟦") || !strings.Contains(r.body, `<html lang="en">`) {
			t.Errorf("%s in English: status %d, missing key or wrong language:\n%s", p, r.status, r.body)
		}
	}
	en := get(t, h, "/explorer/governance?lang=en")
	wantInOrder(t, en.text(), `<a href="/explorer/governance">Governance</a>`, "<h1>Governance</h1>", "Roster in force",
		"Roster version 2 has passed and is pending", "Open proposals", "set the role", "approve 10 · reject 10 · of 60", "passes at 41 (more than 2/3)",
		"Closed proposals", "expired", "set the voting power", "passed", "rejected", "add a member", "Roster history", "pending", "in force", "genesis")

	// An older page of proposals: those before p3, newest first, and a
	// link back to the newest.
	r := get(t, h, fmt.Sprintf("/explorer/governance?before=%d", f.p3))
	wantInOrder(t, r.text(), "没有进行中的提案。", fmt.Sprintf(`<tr data-proposal="%d" data-status="rejected">`, f.p2),
		fmt.Sprintf(`<tr data-proposal="%d" data-status="passed">`, f.p1), `<a rel="prev" href="/explorer/governance">`)
	for _, not := range []string{fmt.Sprintf(`data-proposal="%d"`, f.p3), fmt.Sprintf(`data-proposal="%d"`, f.p4), `rel="next"`} {
		if strings.Contains(r.body, not) {
			t.Errorf("governance?before=%d has %s", f.p3, not)
		}
	}

	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/explorer/proposals/3", 404, "条目 3 不是提案。"},
		{"/explorer/proposals/999", 404, "条目 999 不是提案。"},
		{"/explorer/proposals/x", 400, "“x”不是条目号"},
		{"/explorer/proposals/06", 400, "“06”不是条目号"},
		{"/explorer/rosters/3", 404, "没有名册第 3 版（最新为第 2 版）。"},
		{"/explorer/rosters/01", 400, "“01”不是名册版本号"},
		{"/explorer/rosters/4294967296", 400, "“4294967296”不是名册版本号"},
		{"/explorer/rosters/3?lang=en", 404, "There is no roster version 3 (the newest is 2)."},
		{"/explorer/governance?before=x", 400, "“x”不是条目号"},
	}
	for _, tt := range tests {
		r := get(t, h, tt.path)
		if r.status != tt.status || !strings.Contains(r.text(), tt.want) {
			t.Errorf("%s: status %d, want %d with %q:\n%s", tt.path, r.status, tt.status, tt.want, r.body)
		}
	}
}

// A chain whose roster never changed shows version 0, from genesis.
func TestGovernanceGenesisOnly(t *testing.T) {
	n := newNode(t)
	h := explorer.New(n, explorer.Options{})
	v0, err := n.view().RosterVersion(0)
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, h, "/explorer/governance")
	wantInOrder(t, r.text(), `id="gov-version"><a href="/explorer/rosters/0">第 0 版</a>`, v0.Digest.String(),
		`id="gov-from"><a href="/explorer/blocks/0">0</a>`, "6 名成员，总投票权 50", "没有进行中的提案。", "没有已结束的提案。",
		`<tr data-version="0" data-status="in-force">`, "创世名册")
	if strings.Contains(r.body, "gov-pending") {
		t.Error("a pending version on a chain without proposals")
	}
	a := get(t, h, "/explorer/alliance")
	wantInOrder(t, a.text(), `id="alliance-version"><a href="/explorer/rosters/0">第 0 版</a>`, v0.Digest.String())
	if strings.Contains(a.body, "alliance-pending") {
		t.Error("the alliance page notes a pending version on a chain without proposals")
	}
}
