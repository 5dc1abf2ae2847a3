package tsa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
)

// Request asks the TSA at url for a token over msg with hash algorithm h: an
// HTTP POST of a TimeStampReq (application/timestamp-query) with a random
// 64-bit nonce and certReq set. It checks the reply's status, that the token
// parses and carries the nonce and the imprint asked for, and returns it; the
// caller verifies it against its anchors. The body read is bounded
// (MaxTokenBytes*4); timeouts come from ctx and hc.
func Request(ctx context.Context, hc *http.Client, url string, h HashAlg, msg []byte) (*Token, error) {
	if h.size() == 0 {
		return nil, fmt.Errorf("%w: %q", ErrHashAlg, h)
	}
	imprint := h.Sum(msg)
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, err
	}
	nonce := new(big.Int).SetBytes(nb[:])
	q, err := asn1.Marshal(timeStampReq{
		Version: 1,
		MessageImprint: messageImprint{
			HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: h.oid(), Parameters: asn1.NullRawValue},
			HashedMessage: imprint,
		},
		Nonce: nonce, CertReq: true,
	})
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(q))
	if err != nil {
		return nil, fmt.Errorf("time-stamp request to %s: %w", url, err)
	}
	hr.Header.Set("Content-Type", QueryType)
	hr.Header.Set("Accept", ReplyType)
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("time-stamp request to %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("time-stamp reply from %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		snippet := body
		if len(snippet) > 200 {
			snippet = snippet[:200]
		}
		return nil, fmt.Errorf("time-stamp reply from %s: HTTP %s: %q", url, resp.Status, snippet)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != ReplyType {
		return nil, fmt.Errorf("%w: reply from %s has Content-Type %q, not %s", ErrMalformed, url, resp.Header.Get("Content-Type"), ReplyType)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("%w: reply from %s is larger than %d bytes", ErrMalformed, url, maxResponseBytes)
	}
	tok, err := ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("time-stamp reply from %s: %w", url, err)
	}
	if tok.info.Nonce == nil || tok.info.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("%w: token from %s does not carry the request's nonce", ErrMalformed, url)
	}
	if th, ti := tok.Imprint(); th != h || !bytes.Equal(ti, imprint) {
		return nil, fmt.Errorf("%w: token from %s is over another imprint (%s %x)", ErrImprint, url, th, ti)
	}
	return tok, nil
}
