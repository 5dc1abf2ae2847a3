package originals_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/originals"
)

// TestAutoGrant: bank-a's node grants the court's retrieval requests for
// its records by itself (originals.auto_grant_roles = ["court"]), with the
// configured expiry, and the court fetches the original through the
// grant; an arbitration centre's request, and a request for bank-b's
// records, wait for a person; a request committed while bank-a's node is
// down is granted when it starts again.
func TestAutoGrant(t *testing.T) {
	c := newCluster(t)
	c.configure = func(name string, conf *originals.Config) {
		if name == "bank-a" {
			conf.AutoGrantRoles, conf.AutoGrantExpiry = []ledger.Role{ledger.RoleCourt}, 720*time.Hour
		}
	}
	c.start("arbitration", "bank-a", "bank-b", "court")
	ctx := context.Background()
	data := content("ag1", 50<<10)
	ref, _ := c.upload("bank-a", "LOAN-AG1", data)
	refB, _ := c.upload("bank-b", "LOAN-AG2", content("ag2", 10<<10))

	file := func(who string, p *ledger.Request) uint64 {
		t.Helper()
		res, err := c.chain.Submit(ctx, c.a.Sign(c.a.Key(who), &ledger.Body{ChainID: testChain, Time: c.chain.Now().UnixNano(), Payload: p}))
		if err != nil {
			t.Fatalf("%s's request: %v", who, err)
		}
		return res.Result.Index
	}
	request := func(idx uint64) *ledger.RequestInfo {
		t.Helper()
		v, _, release, err := c.chain.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		ri, err := v.Request(idx)
		if err != nil {
			t.Fatal(err)
		}
		return ri
	}
	granted := func(idx uint64) *ledger.GrantInfo {
		t.Helper()
		eventually(t, "the automatic grant of request "+u64s(idx), func() bool { return request(idx).Status == ledger.RequestGranted })
		v, _, release, err := c.chain.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		g, err := v.Grant(request(idx).Answer)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}

	r1 := file("court", &ledger.Request{Record: &ref, Purpose: "(2026)沪0115民初1234号"})
	g := granted(r1)
	if want := c.chain.Now().Add(720 * time.Hour).UnixNano(); g.Owner != "bank-a" || g.Grantee != "court" || g.Purpose != "(2026)沪0115民初1234号" ||
		len(g.Keys) != 1 || g.Keys[0].Ref != ref || g.Expiry < want-int64(time.Minute) || g.Expiry > want+int64(time.Minute) {
		t.Fatalf("automatic grant %+v (want expiry about %d)", g, want)
	}
	if !c.logged.has("granted a retrieval request automatically") {
		t.Error("the automatic grant was not logged")
	}
	var out bytes.Buffer
	if f, err := c.nodes["court"].svc.FetchOriginal(ctx, ref, &out); err != nil || !f.Via || f.Grant != g.Entry || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("the court's fetch through the automatic grant: %+v, %v", f, err)
	}

	// Not a role bank-a grants automatically; not bank-a's records.
	r2 := file("arbitration", &ledger.Request{Chain: "LOAN-AG1", Purpose: "仲裁 17"})
	eventually(t, "the arbitration request noted", func() bool {
		return c.logged.has("retrieval request waits for a grant or refusal: its requester's role is not granted automatically")
	})
	r3 := file("court", &ledger.Request{Record: &refB, Purpose: "(2026)沪0115民初99号"})
	// A later court request is granted, so the two before it were seen.
	r4 := file("court", &ledger.Request{Chain: "LOAN-AG1", Purpose: "(2026)沪0115民初1235号"})
	if g := granted(r4); g.Chain != "LOAN-AG1" || g.Grantee != "court" {
		t.Fatalf("automatic chain grant %+v", g)
	}
	for _, idx := range []uint64{r2, r3} {
		if ri := request(idx); ri.Status != ledger.RequestOpen {
			t.Errorf("request %d by %s to %s is %s, want open", idx, ri.Requester, ri.Owner, ri.Status)
		}
	}

	// Catch-up: a request committed while bank-a's node is down.
	c.nodes["bank-a"].stop()
	r5 := file("court", &ledger.Request{Record: &ref, Purpose: "(2026)沪0115民初1236号"})
	c.nodes["bank-a"] = c.startOne("bank-a")
	if g := granted(r5); g.Grantee != "court" {
		t.Fatalf("catch-up grant %+v", g)
	}
}

func u64s(n uint64) string { return ledger.RecordRef{Index: n}.String() }
