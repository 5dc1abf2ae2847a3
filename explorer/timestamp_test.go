package explorer_test

import (
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/evidenced/evidenced/explorer"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/tsa"
)

// TestCheckpointTrustedTime: a stamped checkpoint shows its trusted time
// (the token's genTime and the TSA) on the home page and its block page,
// in both languages; one not stamped says so.
func TestCheckpointTrustedTime(t *testing.T) {
	auth, err := tsa.NewAuthority(tsa.SM2, "tsa-ntsc", time.Unix(0, ledgertest.GenesisTime).Add(-time.Hour), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	n := newNodeWith(t, func(g *ledger.Genesis) {
		g.State.TSAs = []ledger.GenesisTSA{ledger.NewGenesisTSA(ledger.TSA{Name: "tsa-ntsc", Cert: auth.Certificate(), Hashes: []string{ledger.HashSM3}})}
	})
	a := n.a
	n.block(t, a.Evidence(a.Key("bank-a"), n.next(), ledger.Record{Kind: "loan-contract", Chain: "LOAN-1", Step: 1, Size: 1, Commitment: ledgertest.Commitment("1")}))
	h1 := n.trust(t)
	n.block(t, a.Evidence(a.Key("bank-a"), n.next(), ledger.Record{Kind: "loan-contract", Chain: "LOAN-2", Step: 1, Size: 1, Commitment: ledgertest.Commitment("2")}))
	h2 := n.trust(t)
	cp, err := n.view().SignedCheckpoint(uint64(h1))
	if err != nil {
		t.Fatal(err)
	}
	gen := time.Date(2026, 11, 1, 0, 0, 5, 0, time.UTC) // the block time of h1 is 00:00:01
	tok, err := ledgertest.Stamp(auth, tsa.SM3, cp.Text, big.NewInt(7), gen)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := n.view().Head()
	n.block(t, a.Sign(a.Key("court"), &ledger.Body{ChainID: a.ChainID, Time: n.next(), Payload: &ledger.Timestamp{Height: h1, TSA: "tsa-ntsc", Token: tok}}))
	ti, err := n.view().Timestamp(h1)
	if err != nil {
		t.Fatal(err)
	}

	h := explorer.New(n, explorer.Options{Now: func() time.Time { return time.Unix(0, n.next()) }})
	home := get(t, h, "/explorer/")
	wantInOrder(t, home.text(), `<table id="latest-checkpoints">`, "<th scope=\"col\">可信时间</th>",
		fmt.Sprintf(`href="/explorer/blocks/%d">%d</a>`, h2, h2), `<td class="stamp"></td>`,
		fmt.Sprintf(`href="/explorer/blocks/%d">%d</a>`, h1, h1), `<td class="stamp"><time datetime="2026-11-01T00:00:05Z">2026-11-01 00:00:05 UTC</time> <span class="muted">(tsa-ntsc)</span></td>`)

	block := get(t, h, fmt.Sprintf("/explorer/blocks/%d", h1))
	wantInOrder(t, block.text(), `id="block-checkpoint"`, "<dt>可信时间</dt>", `<dd id="checkpoint-stamp"><time datetime="2026-11-01T00:00:05Z">2026-11-01 00:00:05 UTC</time> · <span class="bjt">2026-11-01 08:00:05 北京时间</span> (tsa-ntsc)`,
		fmt.Sprintf(`href="/explorer/blocks/%d">于区块 %d 上链</a>`, ti.Accepted, ti.Accepted), "序列号 "+ti.Serial+"，sm3")
	en := get(t, h, fmt.Sprintf("/explorer/blocks/%d?lang=en", h1))
	wantInOrder(t, en.text(), "<dt>Trusted time</dt>", "2026-11-01 00:00:05 UTC</time> · <span class=\"bjt\">2026-11-01 08:00:05 Beijing time</span> (tsa-ntsc)", fmt.Sprintf("accepted in block %d", ti.Accepted), "serial "+ti.Serial+", sm3")
	other := get(t, h, fmt.Sprintf("/explorer/blocks/%d", h2))
	wantInOrder(t, other.text(), "<dt>可信时间</dt>", `<dd id="checkpoint-stamp"><span class="muted">尚无时间戳`)

	// A timestamp is state beside its checkpoint, not a log entry.
	if after, _ := n.view().Head(); after.Size != before.Size {
		t.Fatalf("the timestamp made log entries: size %d, then %d", before.Size, after.Size)
	}
}
