package ledger_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// TestCustodyViews: the View queries over originals and their custody
// (Grant, Authorize, Custody, ByCipher) after grants, accesses and a
// revoke.
func TestCustodyViews(t *testing.T) {
	f := newFixture(t)
	bankA, bankB, court, notary := f.a.Key("bank-a"), f.a.Key("bank-b"), f.a.Key("court"), f.a.Key("notary")

	kept6, dk6 := kept(t, bankA, "CUS-1", 1, crypto.Hash{}, "kept by bank-a")
	e6 := f.one(f.a.Evidence(bankA, f.now, kept6))
	cipherOnly := rec("CUS-2", 1, crypto.Hash{}, "cipher only")
	addrY := crypto.SM3([]byte("a ciphertext the alliance does not keep"))
	cipherOnly.Cipher = &addrY
	e7 := f.one(f.a.Evidence(bankA, f.now, cipherOnly))
	kept8, _ := kept(t, bankB, "CUS-3", 1, crypto.Hash{}, "kept by bank-b")
	kept8.Cipher = kept6.Cipher // the same ciphertext address as entry 6
	e8 := f.one(f.a.Evidence(bankB, f.now, kept8))
	for _, r := range []ledger.TxResult{e6, e7, e8} {
		wantCode(t, r, ledger.CodeOK)
	}
	ref6, ref7, ref8 := ledger.RecordRef{Index: e6.Index}, ledger.RecordRef{Index: e7.Index}, ledger.RecordRef{Index: e8.Index}

	expiry := f.now + int64(time.Hour)
	courtKeys := []ledger.GrantKey{{Ref: ref6, Wrapped: wrapTo(t, court, dk6)}}
	g9 := f.one(buildTx(t, chainID, bankA, f.now, &ledger.Grant{Grantee: "court", Purpose: "case 2026-9", Expiry: expiry, Keys: courtKeys}))
	g10 := f.one(buildTx(t, chainID, bankA, f.now, &ledger.Grant{Grantee: "court", Purpose: "case 2026-10", Keys: courtKeys}))
	g11 := f.one(buildTx(t, chainID, bankA, f.now, &ledger.Grant{Grantee: "notary", Purpose: "notarisation", Chain: "CUS-1",
		Keys: []ledger.GrantKey{{Ref: ref6, Wrapped: wrapTo(t, notary, dk6)}}}))
	a12 := f.one(buildTx(t, chainID, court, f.now, &ledger.Access{Ref: ref6, ViaGrant: true, Grant: g10.Index}))
	for _, r := range []ledger.TxResult{g9, g10, g11, a12} {
		wantCode(t, r, ledger.CodeOK)
	}
	v := f.view()

	// ByCipher lists kept originals only, oldest first.
	for _, tc := range []struct {
		addr  crypto.Hash
		limit int
		want  []ledger.RecordRef
	}{
		{*kept6.Cipher, 10, []ledger.RecordRef{ref6, ref8}},
		{*kept6.Cipher, 1, []ledger.RecordRef{ref6}},
		{addrY, 10, nil},
		{crypto.SM3([]byte("nothing")), 10, nil},
	} {
		got, err := v.ByCipher(tc.addr, tc.limit)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ByCipher(%.16s…, %d) = %v, %v; want %v", tc.addr, tc.limit, got, err, tc.want)
		}
	}

	// Grant returns each grant as made.
	g, err := v.Grant(g9.Index)
	if err != nil {
		t.Fatal(err)
	}
	if g.Entry != g9.Index || g.Owner != "bank-a" || g.Grantee != "court" || g.Purpose != "case 2026-9" || g.Chain != "" ||
		g.Expiry != expiry || g.Revoked || len(g.Keys) != 1 || g.Keys[0].Ref != ref6 || !bytes.Equal(g.Keys[0].Wrapped, courtKeys[0].Wrapped) {
		t.Fatalf("Grant(%d) = %+v", g9.Index, *g)
	}
	if !g.Live(expiry-1) || g.Live(expiry) {
		t.Fatalf("a grant expiring at %d is live at %v and at %v", expiry, g.Live(expiry-1), g.Live(expiry))
	}
	if g, err := v.Grant(g11.Index); err != nil || g.Chain != "CUS-1" || g.Grantee != "notary" || g.Expiry != 0 || !g.Live(1<<62) {
		t.Fatalf("Grant(%d) = %+v, %v; want notary's grant of chain CUS-1 without expiry", g11.Index, g, err)
	}
	for _, idx := range []uint64{0, e6.Index, a12.Index, 1 << 40} {
		if g, err := v.Grant(idx); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Grant(%d) = %+v, %v; want ErrNotFound", idx, g, err)
		}
	}

	// Authorize: the owner, or the newest live grant to the member.
	type auth struct {
		grant uint64
		via   bool
		err   error
	}
	authorize := func(member string, ref ledger.RecordRef, at int64) auth {
		g, via, err := v.Authorize(member, ref, at)
		if err != nil {
			switch {
			case errors.Is(err, ledger.ErrNotGranted):
				err = ledger.ErrNotGranted
			case errors.Is(err, ledger.ErrNotFound):
				err = ledger.ErrNotFound
			}
		}
		return auth{g, via, err}
	}
	type authCase struct {
		member string
		ref    ledger.RecordRef
		at     int64
		want   auth
	}
	check := func(when string, tests []authCase) {
		t.Helper()
		for _, tc := range tests {
			if got := authorize(tc.member, tc.ref, tc.at); got != tc.want {
				t.Errorf("%s: Authorize(%s, %v, %d) = %+v, want %+v", when, tc.member, tc.ref, tc.at, got, tc.want)
			}
		}
	}
	now := f.now
	check("before the revoke", []authCase{
		{"bank-a", ref6, now, auth{}},
		{"bank-b", ref8, now, auth{}},
		{"court", ref6, now, auth{g10.Index, true, nil}},
		{"notary", ref6, now, auth{g11.Index, true, nil}},
		{"arbitration", ref6, now, auth{err: ledger.ErrNotGranted}},
		{"bank-b", ref6, now, auth{err: ledger.ErrNotGranted}},
		{"bank-a", ref8, now, auth{err: ledger.ErrNotGranted}},
		{"court", ref8, now, auth{err: ledger.ErrNotGranted}},
		{"bank-a", ref7, now, auth{err: ledger.ErrNotFound}},                              // a cipher address, but no kept original
		{"bank-a", ledger.RecordRef{Index: 0}, now, auth{err: ledger.ErrNotFound}},        // a registration
		{"bank-a", ledger.RecordRef{Index: g9.Index}, now, auth{err: ledger.ErrNotFound}}, // a grant
		{"bank-a", ledger.RecordRef{Index: e6.Index, Pos: 1}, now, auth{err: ledger.ErrNotFound}},
		{"bank-a", ledger.RecordRef{Index: 1 << 40}, now, auth{err: ledger.ErrNotFound}},
	})

	rv := f.one(buildTx(t, chainID, bankA, f.now, &ledger.Revoke{Grant: g10.Index}))
	wantCode(t, rv, ledger.CodeOK)
	v = f.view()
	if g, err := v.Grant(g10.Index); err != nil || !g.Revoked || g.RevokedAt != rv.Index || g.Live(now) {
		t.Fatalf("Grant(%d) after its revoke = %+v, %v; want revoked at entry %d", g10.Index, g, err, rv.Index)
	}
	check("after revoking the newest grant", []authCase{
		{"court", ref6, now, auth{g9.Index, true, nil}},
		{"court", ref6, expiry - 1, auth{g9.Index, true, nil}},
		{"court", ref6, expiry, auth{err: ledger.ErrNotGranted}},
		{"notary", ref6, expiry, auth{g11.Index, true, nil}},
		{"bank-a", ref6, expiry, auth{}},
	})

	// Custody: the grants covering a record and the accesses to it, in
	// log order; a revoke is not custody of the record.
	for _, tc := range []struct {
		ref   ledger.RecordRef
		limit int
		want  []uint64
	}{
		{ref6, 10, []uint64{g9.Index, g10.Index, g11.Index, a12.Index}},
		{ref6, 2, []uint64{g9.Index, g10.Index}},
		{ref8, 10, []uint64{}},
		{ref7, 10, []uint64{}},
	} {
		got, err := v.Custody(tc.ref, tc.limit)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Custody(%v, %d) = %v, %v; want %v", tc.ref, tc.limit, got, err, tc.want)
		}
	}
}
