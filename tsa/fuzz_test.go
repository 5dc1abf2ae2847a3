package tsa

import (
	"bytes"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fuzzFixture is an authority of each kind and a token from each, made once.
var fuzzFixture = sync.OnceValue(func() (f struct {
	anchors []Anchor
	tokens  [][]byte
	resps   [][]byte
	auth    *Authority
}) {
	for _, kind := range []KeyKind{SM2, ECDSAP256} {
		a, err := NewAuthority(kind, "fuzz "+string(kind), t0, 24*time.Hour)
		if err != nil {
			panic(err)
		}
		f.anchors = append(f.anchors, a.Anchor())
		for _, certReq := range []bool{true, false} {
			resp, err := a.Sign(makeRequest(&testing.T{}, SM3, []byte("msg"), big.NewInt(1), certReq), t0.Add(time.Hour))
			if err != nil {
				panic(err)
			}
			tok, err := ParseResponse(resp)
			if err != nil {
				panic(err)
			}
			f.resps = append(f.resps, resp)
			f.tokens = append(f.tokens, tok.Raw())
		}
		f.auth = a
	}
	f.resps = append(f.resps, rejection(failBadRequest, "no"))
	return f
})

func FuzzParseToken(f *testing.F) {
	fx := fuzzFixture()
	for _, tok := range fx.tokens {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseToken(b)
		if err != nil {
			if tok != nil {
				t.Fatal("token with error")
			}
			return
		}
		if !bytes.Equal(tok.Raw(), b) {
			t.Fatal("Raw differs from the input")
		}
		st, err := tok.Verify(fx.anchors, []byte("msg"))
		if err == nil {
			// Only a token we made verifies: the signature covers the TSTInfo, and
			// no other byte may vary (see TestFlippedBytes).
			known := false
			for _, k := range fx.tokens {
				known = known || bytes.Equal(k, b)
			}
			if !known {
				t.Fatalf("an unknown token verified: %+v", st)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, r := range fuzzFixture().resps {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseResponse(b)
		if err == nil && len(tok.Raw()) > MaxTokenBytes {
			t.Fatal("token larger than MaxTokenBytes")
		}
	})
}

func FuzzHandler(f *testing.F) {
	a := fuzzFixture().auth
	a.SetClock(func() time.Time { return t0.Add(time.Hour) })
	h := a.Handler()
	f.Add(makeRequest(&testing.T{}, SM3, []byte("m"), big.NewInt(3), true))
	f.Add(makeRequest(&testing.T{}, SHA256, []byte("m"), nil, false))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", QueryType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", w.Code)
		}
		if w.Code == http.StatusOK {
			if w.Body.Len() > maxResponseBytes {
				t.Fatalf("reply of %d bytes", w.Body.Len())
			}
			// Every 200 reply is a TimeStampResp: granted (a token) or rejected.
			if _, err := ParseResponse(w.Body.Bytes()); err != nil && !errorsIsRejected(err) {
				t.Fatalf("reply does not parse: %v", err)
			}
		}
	})
}
