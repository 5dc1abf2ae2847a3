package ledger_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// kept returns a record whose original the alliance keeps, with its data key
// wrapped to owner.
func kept(t *testing.T, owner *crypto.PrivateKey, chain string, step uint32, prev crypto.Hash, what string) (ledger.Record, crypto.DataKey) {
	t.Helper()
	dk, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w, err := owner.Public().WrapKey(rand.Reader, dk)
	if err != nil {
		t.Fatal(err)
	}
	r := rec(chain, step, prev, what)
	addr := crypto.SM3([]byte("ciphertext of " + what))
	r.Cipher, r.CipherSize, r.OwnerKey = &addr, 4096, w
	return r, dk
}

func wrapTo(t *testing.T, k *crypto.PrivateKey, dk crypto.DataKey) []byte {
	t.Helper()
	w, err := k.Public().WrapKey(rand.Reader, dk)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestGrantAccessRevoke(t *testing.T) {
	f := newFixture(t)
	bank, court, notary := f.a.Key("bank-a"), f.a.Key("court"), f.a.Key("notary")
	r1, dk1 := kept(t, bank, "LOAN-G", 1, crypto.Hash{}, "contract")
	res := f.one(f.a.Evidence(bank, f.now, r1))
	wantCode(t, res, ledger.CodeOK)
	ref := ledger.RecordRef{Index: res.Index}
	plain := f.one(f.a.Evidence(bank, f.now, rec("LOAN-P", 1, crypto.Hash{}, "no original")))
	wantCode(t, plain, ledger.CodeOK)

	// The kept original is found by its cipher address.
	if refs, err := f.view().ByCipher(*r1.Cipher, 10); err != nil || len(refs) != 1 || refs[0] != ref {
		t.Fatalf("ByCipher = %v, %v; want [%v]", refs, err, ref)
	}
	// The kept original round-trips through the encoding, and its owner can unwrap the key.
	got, _, _, err := f.view().Record(ref)
	if err != nil || got.Cipher == nil || got.CipherSize != 4096 {
		t.Fatalf("record %+v, %v", got, err)
	}
	if k, err := bank.UnwrapKey(got.OwnerKey); err != nil || k != dk1 {
		t.Fatalf("owner cannot unwrap the data key: %v", err)
	}

	grant := func(signer *crypto.PrivateKey, g ledger.Grant) []byte {
		return f.a.Sign(signer, &ledger.Body{ChainID: chainID, Time: f.now, Payload: &g})
	}
	access := func(signer *crypto.PrivateKey, a ledger.Access) []byte {
		return f.a.Sign(signer, &ledger.Body{ChainID: chainID, Time: f.now, Payload: &a})
	}
	key1 := []ledger.GrantKey{{Ref: ref, Wrapped: wrapTo(t, court, dk1)}}

	// Before any grant: the court may not have it; the owner may.
	if _, _, err := f.view().Authorize("court", ref, f.now); !errors.Is(err, ledger.ErrNotGranted) {
		t.Fatalf("Authorize(court) before a grant = %v", err)
	}
	if _, via, err := f.view().Authorize("bank-a", ref, f.now); err != nil || via {
		t.Fatalf("Authorize(owner) = %v, %v", via, err)
	}
	wantCode(t, f.one(access(court, ledger.Access{Ref: ref, ViaGrant: true, Grant: 3})), ledger.CodeNoGrant)
	wantCode(t, f.one(access(court, ledger.Access{Ref: ref})), ledger.CodeNoGrant)

	// Grants: only the owner, only to another member, only of originals.
	wantCode(t, f.one(grant(f.a.Key("bank-b"), ledger.Grant{Grantee: "court", Purpose: "case 2026-1", Keys: key1})), ledger.CodeChainOwner)
	wantCode(t, f.one(grant(notary, ledger.Grant{Grantee: "court", Purpose: "case 2026-1", Keys: key1})), ledger.CodeRoleNotAllowed)
	wantCode(t, f.one(grant(bank, ledger.Grant{Grantee: "nobody", Purpose: "case 2026-1", Keys: key1})), ledger.CodeUnknownMember)
	wantCode(t, f.one(grant(bank, ledger.Grant{Grantee: "bank-a", Purpose: "case 2026-1", Keys: key1})), ledger.CodeUnknownMember)
	wantCode(t, f.one(grant(bank, ledger.Grant{Grantee: "court", Purpose: "case 2026-1",
		Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: plain.Index}, Wrapped: []byte{1}}}})), ledger.CodeNoOriginal)
	wantCode(t, f.one(grant(bank, ledger.Grant{Grantee: "court", Purpose: "case 2026-1", Expiry: f.now, Keys: key1})), ledger.CodeTimeWindow)

	g := f.one(grant(bank, ledger.Grant{Grantee: "court", Purpose: "case 2026-1", Expiry: f.now + int64(time.Hour), Keys: key1}))
	wantCode(t, g, ledger.CodeOK)
	info, err := f.view().Grant(g.Index)
	if err != nil || info.Owner != "bank-a" || info.Grantee != "court" || info.Purpose != "case 2026-1" || !info.Live(f.now) || info.Live(f.now+int64(time.Hour)) {
		t.Fatalf("grant info %+v, %v", info, err)
	}
	if k, err := court.UnwrapKey(info.Keys[0].Wrapped); err != nil || k != dk1 {
		t.Fatalf("grantee cannot unwrap the granted key: %v", err)
	}
	if gi, via, err := f.view().Authorize("court", ref, f.now); err != nil || !via || gi != g.Index {
		t.Fatalf("Authorize(court) after the grant = %d %v %v", gi, via, err)
	}
	if _, _, err := f.view().Authorize("arbitration", ref, f.now); !errors.Is(err, ledger.ErrNotGranted) {
		t.Fatalf("Authorize(arbitration) = %v", err)
	}

	// Access through the grant is logged; another member cannot use it.
	acc := f.one(access(court, ledger.Access{Ref: ref, ViaGrant: true, Grant: g.Index}))
	wantCode(t, acc, ledger.CodeOK)
	wantCode(t, f.one(access(f.a.Key("arbitration"), ledger.Access{Ref: ref, ViaGrant: true, Grant: g.Index})), ledger.CodeNoGrant)
	own := f.one(access(bank, ledger.Access{Ref: ref}))
	wantCode(t, own, ledger.CodeOK)
	cust, err := f.view().Custody(ref, 100)
	if err != nil || len(cust) != 3 || cust[0] != g.Index || cust[1] != acc.Index || cust[2] != own.Index {
		t.Fatalf("custody %v, %v; want grant %d, access %d, access %d", cust, err, g.Index, acc.Index, own.Index)
	}

	// Revoke: only the maker, once; afterwards access is refused.
	revoke := func(signer *crypto.PrivateKey, idx uint64) []byte {
		return f.a.Sign(signer, &ledger.Body{ChainID: chainID, Time: f.now, Payload: &ledger.Revoke{Grant: idx}})
	}
	wantCode(t, f.one(revoke(f.a.Key("bank-b"), g.Index)), ledger.CodeChainOwner)
	wantCode(t, f.one(revoke(bank, acc.Index)), ledger.CodeNoGrant)
	rv := f.one(revoke(bank, g.Index))
	wantCode(t, rv, ledger.CodeOK)
	wantCode(t, f.one(revoke(bank, g.Index)), ledger.CodeNoGrant)
	wantCode(t, f.one(access(court, ledger.Access{Ref: ref, ViaGrant: true, Grant: g.Index})), ledger.CodeNoGrant)
	if _, _, err := f.view().Authorize("court", ref, f.now); !errors.Is(err, ledger.ErrNotGranted) {
		t.Fatalf("Authorize(court) after revoke = %v", err)
	}
	if info, err := f.view().Grant(g.Index); err != nil || !info.Revoked || info.RevokedAt != rv.Index {
		t.Fatalf("revoked grant info %+v, %v", info, err)
	}
}

func TestChainGrantMustCoverEveryOriginal(t *testing.T) {
	f := newFixture(t)
	bank, court := f.a.Key("bank-a"), f.a.Key("court")
	r1, dk1 := kept(t, bank, "LOAN-C", 1, crypto.Hash{}, "s1")
	s1 := f.one(f.a.Evidence(bank, f.now, r1))
	wantCode(t, s1, ledger.CodeOK)
	r2, dk2 := kept(t, bank, "LOAN-C", 2, f.leafOf(s1.Index), "s2")
	s2 := f.one(f.a.Evidence(bank, f.now, r2))
	wantCode(t, s2, ledger.CodeOK)
	k1 := ledger.GrantKey{Ref: ledger.RecordRef{Index: s1.Index}, Wrapped: wrapTo(t, court, dk1)}
	k2 := ledger.GrantKey{Ref: ledger.RecordRef{Index: s2.Index}, Wrapped: wrapTo(t, court, dk2)}
	g := func(keys ...ledger.GrantKey) []byte {
		return f.a.Sign(bank, &ledger.Body{ChainID: chainID, Time: f.now,
			Payload: &ledger.Grant{Grantee: "court", Purpose: "arbitration 7", Chain: "LOAN-C", Keys: keys}})
	}
	wantCode(t, f.one(g(k1)), ledger.CodeGrantScope)
	res := f.one(g(k1, k2))
	wantCode(t, res, ledger.CodeOK)
	for _, ref := range []ledger.RecordRef{k1.Ref, k2.Ref} {
		if gi, via, err := f.view().Authorize("court", ref, f.now); err != nil || !via || gi != res.Index {
			t.Fatalf("Authorize(court, %v) = %d %v %v", ref, gi, via, err)
		}
	}
}

func FuzzDecodeCustody(f *testing.F) {
	a := ledger.Grant{Grantee: "court", Purpose: "case 1", Keys: []ledger.GrantKey{{Ref: ledger.RecordRef{Index: 7}, Wrapped: []byte{1, 2, 3}}}}
	for _, b := range []*ledger.Body{
		{ChainID: chainID, Payload: &a},
		{ChainID: chainID, Payload: &ledger.Revoke{Grant: 9}},
		{ChainID: chainID, Payload: &ledger.Access{Ref: ledger.RecordRef{Index: 7, Pos: 1}, ViaGrant: true, Grant: 9}},
	} {
		enc, err := ledger.EncodeBody(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := ledger.DecodeBody(b)
		if err != nil {
			return
		}
		again, err := ledger.EncodeBody(body)
		if err != nil {
			t.Fatalf("decoded body does not re-encode: %v", err)
		}
		if string(again) != string(b) {
			t.Fatalf("round trip differs")
		}
	})
}

func TestRosterPeers(t *testing.T) {
	f := newFixture(t)
	gs := f.a.Genesis.State
	gs.Members[0].Peer, gs.Members[0].Addrs = "12D3KooWExamplePeerA", []string{"/ip4/127.0.0.1/tcp/26660"}
	gs.Members[1].Peer = "12D3KooWExamplePeerB"
	l := ledger.New(ledger.Options{})
	st := ledgertest.NewMemStore()
	out, err := l.InitChain(st, &ledger.Genesis{ChainID: chainID, Time: f.now, State: gs})
	if err != nil {
		t.Fatal(err)
	}
	st.Commit(out.Changes)
	m, err := ledger.NewView(st).Member(gs.Members[0].Name)
	if err != nil || m.Peer != "12D3KooWExamplePeerA" || len(m.Addrs) != 1 || m.Addrs[0] != "/ip4/127.0.0.1/tcp/26660" {
		t.Fatalf("member %+v, %v", m, err)
	}
	for _, tt := range []struct {
		name  string
		peer  string
		addrs []string
	}{
		{"address without a peer", "", []string{"/ip4/127.0.0.1/tcp/1"}},
		{"not a multiaddr", "12D3KooWx", []string{"127.0.0.1:1"}},
		{"space in address", "12D3KooWx", []string{"/ip4/127.0.0.1/tcp/1 "}},
		{"duplicate peer", "12D3KooWExamplePeerB", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := gs
			bad.Members = append([]ledger.GenesisMember(nil), gs.Members...)
			bad.Members[0].Peer, bad.Members[0].Addrs = tt.peer, tt.addrs
			raw, _ := json.Marshal(bad)
			if _, err := ledger.ParseGenesisState(raw); err == nil {
				t.Fatal("ParseGenesisState accepted it")
			}
		})
	}
}

// TestGrantPurposeText: a grant's purpose is text (CheckText): a Chinese
// case number is accepted as given; invalid UTF-8, control characters and
// text not in NFC are refused, each with its code.
func TestGrantPurposeText(t *testing.T) {
	f := newFixture(t)
	bank, court := f.a.Key("bank-a"), f.a.Key("court")
	r, dk := kept(t, bank, "LOAN-U", 1, crypto.Hash{}, "contract")
	res := f.one(f.a.Evidence(bank, f.now, r))
	wantCode(t, res, ledger.CodeOK)
	keys := []ledger.GrantKey{{Ref: ledger.RecordRef{Index: res.Index}, Wrapped: wrapTo(t, court, dk)}}
	for _, tc := range []struct {
		purpose string
		want    ledger.Code
	}{
		{"case 2026-1\x00", ledger.CodeControlChar},
		{"(2026)沪0115民初1234号\n", ledger.CodeControlChar},
		{"\u202e1234号", ledger.CodeControlChar},
		{"(2026)\xe6\xb2", ledger.CodeBadUTF8},
		{"cafe\u0301", ledger.CodeTextNotNFC},
		{"(2026)沪0115民初1234号", ledger.CodeOK},
	} {
		b := &ledger.Body{ChainID: chainID, Time: f.now, Payload: &ledger.Grant{Grantee: "court", Purpose: tc.purpose, Keys: keys}}
		var tx []byte
		if tc.want == ledger.CodeOK || tc.purpose == "" {
			tx = f.a.SignWithText(bank, b, "court", "court") // (valid: the encoder would refuse an empty purpose)
		} else {
			b.Payload.(*ledger.Grant).Purpose = strings.Repeat("P", len(tc.purpose))
			tx = f.a.SignWithText(bank, b, strings.Repeat("P", len(tc.purpose)), tc.purpose)
		}
		got := f.one(tx)
		wantCode(t, got, tc.want)
		if tc.want == ledger.CodeOK {
			if gi, err := f.view().Grant(got.Index); err != nil || gi.Purpose != tc.purpose {
				t.Fatalf("grant %+v, %v: purpose not kept as given", gi, err)
			}
		}
	}
}
