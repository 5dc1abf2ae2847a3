package tsa

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// newTestAuthority makes an authority valid from t0 for a year.
func newTestAuthority(t testing.TB, kind KeyKind, name string) *Authority {
	t.Helper()
	a, err := NewAuthority(kind, name, t0, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// makeRequest encodes a TimeStampReq over msg.
func makeRequest(t testing.TB, h HashAlg, msg []byte, nonce *big.Int, certReq bool) []byte {
	t.Helper()
	q, err := asn1.Marshal(timeStampReq{
		Version: 1,
		MessageImprint: messageImprint{
			HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: h.oid(), Parameters: asn1.NullRawValue},
			HashedMessage: h.Sum(msg),
		},
		Nonce: nonce, CertReq: certReq,
	})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// stamp makes a token over msg at now.
func stamp(t testing.TB, a *Authority, h HashAlg, msg []byte, now time.Time) *Token {
	t.Helper()
	resp, err := a.Sign(makeRequest(t, h, msg, big.NewInt(42), true), now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoundTrip(t *testing.T) {
	msg := []byte("checkpoint text\n42\n")
	for _, tc := range []struct {
		kind KeyKind
		hash HashAlg
	}{{SM2, SM3}, {SM2, SHA256}, {ECDSAP256, SHA256}, {ECDSAP256, SM3}} {
		t.Run(string(tc.kind)+"/"+string(tc.hash), func(t *testing.T) {
			a := newTestAuthority(t, tc.kind, "Dev TSA "+string(tc.kind))
			now := t0.Add(90*time.Minute + 500*time.Millisecond)
			for i := 1; i <= 2; i++ {
				nonce := big.NewInt(int64(1000 + i))
				resp, err := a.Sign(makeRequest(t, tc.hash, msg, nonce, true), now)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := ParseResponse(resp)
				if err != nil {
					t.Fatal(err)
				}
				again, err := ParseToken(tok.Raw())
				if err != nil {
					t.Fatal(err)
				}
				st, err := again.Verify([]Anchor{a.Anchor()}, msg)
				if err != nil {
					t.Fatal(err)
				}
				wantSerial := new(big.Int).Lsh(new(big.Int).SetUint64(a.prefix), 64)
				wantSerial.Add(wantSerial, big.NewInt(int64(i)))
				if st.TSA != a.Name() || st.Subject != a.Name() || !st.GenTime.Equal(t0.Add(90*time.Minute)) ||
					st.GenTime.Location() != time.UTC || st.Serial.Cmp(wantSerial) != 0 || st.Policy != "1.2.3.4.1" ||
					st.Hash != tc.hash || string(st.Imprint) != string(tc.hash.Sum(msg)) ||
					st.Nonce.Cmp(nonce) != 0 || st.Accuracy != time.Second {
					t.Fatalf("stamp %d = %+v", i, st)
				}
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	msg := []byte("checkpoint A")
	for _, kind := range []KeyKind{SM2, ECDSAP256} {
		t.Run(string(kind), func(t *testing.T) {
			a := newTestAuthority(t, kind, "TSA one")
			other := newTestAuthority(t, kind, "TSA one") // same name, another key
			h := SM3
			if kind == ECDSAP256 {
				h = SHA256
			}
			tok := stamp(t, a, h, msg, t0.Add(time.Hour))
			anchors := []Anchor{a.Anchor()}
			for _, tc := range []struct {
				name    string
				tok     *Token
				anchors []Anchor
				msg     []byte
				want    error
			}{
				{"untrusted", stamp(t, other, h, msg, t0.Add(time.Hour)), anchors, msg, ErrUntrusted},
				{"no anchors", tok, nil, msg, ErrUntrusted},
				{"other message", tok, anchors, []byte("checkpoint B"), ErrImprint},
				{"hash not allowed", tok, []Anchor{{Name: "x", Cert: a.Certificate(), Hashes: []HashAlg{otherHash(h)}}}, msg, ErrHashAlg},
				{"expired at genTime", stamp(t, a, h, msg, t0.Add(366*24*time.Hour)), anchors, msg, ErrExpired},
				{"before notBefore", stamp(t, a, h, msg, t0.Add(-time.Hour)), anchors, msg, ErrExpired},
			} {
				t.Run(tc.name, func(t *testing.T) {
					st, err := tc.tok.Verify(tc.anchors, tc.msg)
					if !errors.Is(err, tc.want) {
						t.Fatalf("Verify = %+v, %v; want %v", st, err, tc.want)
					}
					t.Log(err)
				})
			}
			// The right anchor second in the list still names the stamp.
			st, err := tok.Verify([]Anchor{other.Anchor(), {Name: "mine", Cert: a.Certificate(), Hashes: []HashAlg{h}}}, msg)
			if err != nil || st.TSA != "mine" {
				t.Fatalf("Verify with two anchors = %+v, %v", st, err)
			}
			// Pinning the signing certificate itself works too.
			st, err = tok.Verify([]Anchor{{Name: "leaf", Cert: a.SigningCertificate(), Hashes: []HashAlg{h}}}, msg)
			if err != nil || st.TSA != "leaf" {
				t.Fatalf("Verify against the leaf = %+v, %v", st, err)
			}
		})
	}
}

func otherHash(h HashAlg) HashAlg {
	if h == SM3 {
		return SHA256
	}
	return SM3
}

// TestVerifyNoTimeStampingEKU: a signing certificate without the one critical
// id-kp-timeStamping EKU is refused, even when it is the anchor itself.
func TestVerifyNoTimeStampingEKU(t *testing.T) {
	msg := []byte("m")
	ts, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamp})
	two, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamp, {1, 3, 6, 1, 5, 5, 7, 3, 4}})
	for _, kind := range []KeyKind{SM2, ECDSAP256} {
		for _, tc := range []struct {
			name string
			exts []pkix.Extension
		}{
			{"no EKU", nil},
			{"non-critical", []pkix.Extension{{Id: oidExtKeyUsage, Value: ts}}},
			{"two purposes", []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: two}}},
		} {
			a, err := newAuthorityWithEKU(kind, "eku", t0, time.Hour*24, tc.exts)
			if err != nil {
				t.Fatal(err)
			}
			tok := stamp(t, a, SHA256, msg, t0.Add(time.Hour))
			for _, anchor := range []Anchor{a.Anchor(), {Name: "leaf", Cert: a.SigningCertificate(), Hashes: []HashAlg{SHA256}}} {
				st, err := tok.Verify([]Anchor{anchor}, msg)
				if !errors.Is(err, ErrUntrusted) {
					t.Fatalf("%s %s anchor %s: Verify = %+v, %v; want ErrUntrusted", kind, tc.name, anchor.Name, st, err)
				}
			}
		}
	}
}

func TestFlippedBytes(t *testing.T) {
	msg := []byte("checkpoint text")
	for _, kind := range []KeyKind{SM2, ECDSAP256} {
		a := newTestAuthority(t, kind, "flip")
		tok := stamp(t, a, SM3, msg, t0.Add(time.Hour))
		raw := tok.Raw()
		anchors := []Anchor{a.Anchor()}
		if _, err := tok.Verify(anchors, msg); err != nil {
			t.Fatal(err)
		}
		n := 0
		for pos := range raw {
			for _, mask := range []byte{0x01, 0x80} {
				b := append([]byte(nil), raw...)
				b[pos] ^= mask
				tk, err := ParseToken(b)
				if err != nil {
					if !errors.Is(err, ErrMalformed) {
						t.Fatalf("%s: byte %d: ParseToken error %v does not wrap ErrMalformed", kind, pos, err)
					}
					continue
				}
				if st, err := tk.Verify(anchors, msg); err == nil {
					t.Fatalf("%s: byte %d ^%#x: verified: %+v", kind, pos, mask, st)
				}
				n++
			}
		}
		t.Logf("%s: %d-byte token, %d flips parsed and failed Verify", kind, len(raw), n)
	}
}

func TestHandler(t *testing.T) {
	a := newTestAuthority(t, ECDSAP256, "handler")
	a.SetClock(func() time.Time { return t0.Add(2 * time.Hour) })
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	post := func(method, ctype string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL, bytesReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := readAll(resp)
		return resp, b
	}
	msg := []byte("x")
	good := makeRequest(t, SHA256, msg, big.NewInt(7), true)
	for _, tc := range []struct {
		name, method, ctype string
		body                []byte
		code                int
		reject              bool
	}{
		{"get", http.MethodGet, "", nil, 405, false},
		{"put", http.MethodPut, QueryType, good, 405, false},
		{"wrong type", http.MethodPost, "application/octet-stream", good, 415, false},
		{"no type", http.MethodPost, "", good, 415, false},
		{"oversized", http.MethodPost, QueryType, make([]byte, 64<<10+1), 413, false},
		{"garbage", http.MethodPost, QueryType, []byte("not a request"), 200, true},
		{"empty", http.MethodPost, QueryType, nil, 200, true},
		{"bad alg", http.MethodPost, QueryType, badAlgRequest(t), 200, true},
		{"good", http.MethodPost, QueryType + "; charset=binary", good, 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(tc.method, tc.ctype, tc.body)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if tc.code != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != ReplyType {
				t.Fatalf("Content-Type %q", ct)
			}
			tok, err := ParseResponse(body)
			if tc.reject {
				if !errors.Is(err, ErrRejected) {
					t.Fatalf("ParseResponse = %v, want ErrRejected", err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := tok.Verify([]Anchor{a.Anchor()}, msg)
			if err != nil || !st.GenTime.Equal(t0.Add(2*time.Hour)) || st.Nonce.Int64() != 7 {
				t.Fatalf("Verify = %+v, %v", st, err)
			}
		})
	}
}

func badAlgRequest(t *testing.T) []byte {
	q, err := asn1.Marshal(timeStampReq{
		Version: 1,
		MessageImprint: messageImprint{
			HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}},
			HashedMessage: make([]byte, 20),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestRequest(t *testing.T) {
	msg := []byte("checkpoint")
	for _, kind := range []KeyKind{SM2, ECDSAP256} {
		a := newTestAuthority(t, kind, "client "+string(kind))
		a.SetClock(func() time.Time { return t0.Add(3 * time.Hour) })
		srv := httptest.NewServer(a.Handler())
		for _, h := range []HashAlg{SM3, SHA256} {
			tok, err := Request(context.Background(), srv.Client(), srv.URL, h, msg)
			if err != nil {
				t.Fatal(err)
			}
			st, err := tok.Verify([]Anchor{a.Anchor()}, msg)
			if err != nil || st.Hash != h || st.Nonce == nil || !st.GenTime.Equal(t0.Add(3*time.Hour)) {
				t.Fatalf("%s %s: %+v, %v", kind, h, st, err)
			}
		}
		srv.Close()
	}
}

// TestRequestFailures: HTTP errors, garbage, a rejection, a token for another
// imprint or without the nonce each give a clear error.
func TestRequestFailures(t *testing.T) {
	a := newTestAuthority(t, ECDSAP256, "failures")
	a.SetClock(func() time.Time { return t0.Add(time.Hour) })
	otherTok, err := a.Sign(makeRequest(t, SHA256, []byte("another"), nil, true), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    error
	}{
		{"http 503", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }, nil},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ReplyType)
			w.Write([]byte("<html>oops</html>"))
		}, ErrMalformed},
		{"wrong type", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) }, ErrMalformed},
		{"rejection", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ReplyType)
			w.Write(rejection(failBadRequest, "no"))
		}, ErrRejected},
		{"other imprint", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ReplyType)
			w.Write(otherTok)
		}, ErrMalformed}, // no nonce in it: refused before the imprint
		{"huge", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ReplyType)
			w.Write(make([]byte, maxResponseBytes+10))
		}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := Request(context.Background(), srv.Client(), srv.URL, SHA256, []byte("mine"))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Request = %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	// A token over another imprint that echoes the nonce.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := readAllBody(r)
		var req timeStampReq
		if _, err := asn1.Unmarshal(body, &req); err != nil {
			t.Error(err)
		}
		resp, _ := a.Sign(makeRequest(t, SHA256, []byte("another"), req.Nonce, true), t0.Add(time.Hour))
		w.Header().Set("Content-Type", ReplyType)
		w.Write(resp)
	}))
	defer srv.Close()
	if _, err := Request(context.Background(), srv.Client(), srv.URL, SHA256, []byte("mine")); !errors.Is(err, ErrImprint) {
		t.Fatalf("Request = %v, want ErrImprint", err)
	}
}

func TestAuthoritySaveLoad(t *testing.T) {
	for _, kind := range []KeyKind{SM2, ECDSAP256} {
		dir := t.TempDir()
		a := newTestAuthority(t, kind, "saved "+string(kind))
		if err := a.Save(dir); err != nil {
			t.Fatal(err)
		}
		b, err := LoadAuthority(dir)
		if err != nil {
			t.Fatal(err)
		}
		if b.Kind() != kind || b.Name() != a.Name() || string(b.Certificate()) != string(a.Certificate()) {
			t.Fatalf("loaded %s %q", b.Kind(), b.Name())
		}
		tok := stamp(t, b, SM3, []byte("m"), t0.Add(time.Hour))
		if _, err := tok.Verify([]Anchor{a.Anchor()}, []byte("m")); err != nil {
			t.Fatal(err)
		}
		if err := ParseAnchorCert(b.Certificate()); err != nil {
			t.Fatal(err)
		}
	}
	if err := ParseAnchorCert([]byte("nope")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ParseAnchorCert(garbage) = %v", err)
	}
}
