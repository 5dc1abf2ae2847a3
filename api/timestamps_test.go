package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/tsa"
)

// TestTimestampEndpoints: GET /v1/checkpoints/{height}/timestamp and its
// /token, before and after the checkpoint is stamped, over real HTTP.
func TestTimestampEndpoints(t *testing.T) {
	f := newFixture(t)
	h := f.trust(t)
	srv := httptest.NewServer(f.evidenceHandler(api.Options{}, false))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Not stamped yet: 404 not_found, on both.
	var ce *client.Error
	if _, err := c.Timestamp(ctx, h); !errors.As(err, &ce) || ce.Status != http.StatusNotFound || ce.Code != client.CodeNotFound {
		t.Fatalf("timestamp before the token: %v", err)
	}
	resp, err := http.Get(fmt.Sprintf("%s/v1/checkpoints/%d/timestamp/token", srv.URL, h))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("token before the token: status %d", resp.StatusCode)
	}

	tok := f.stamp(t, h)
	cp, err := ledger.NewView(f.node.st).SignedCheckpoint(uint64(h))
	if err != nil {
		t.Fatal(err)
	}
	head, err := ledger.NewView(f.node.st).Head()
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.Timestamp(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := tsa.ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := cp.Checkpoint.Time.Add(time.Second).Truncate(time.Second)
	if ts.Height != h || ts.Accepted <= h || head.Size == 0 || ts.TSA != "tsa-dev" || !ts.GenTime.Equal(want) ||
		ts.Hash != "sha256" || ts.Serial != ledger.FormatSerial(parsed.Serial().Bytes()) || !bytes.Equal(ts.Token, tok) {
		t.Fatalf("timestamp %+v; want height %d, tsa-dev, gen_time %s", ts, h, want)
	}
	// The token verifies against the roster's anchor, over the checkpoint text.
	if _, err := parsed.Verify([]tsa.Anchor{f.node.tsa.Anchor()}, cp.Text); err != nil {
		t.Fatalf("served token does not verify: %v", err)
	}

	resp, err = http.Get(fmt.Sprintf("%s/v1/checkpoints/%d/timestamp/token", srv.URL, h))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(der, tok) ||
		resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("token: status %d, type %q, cache %q, %d bytes (want %d)", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), len(der), len(tok))
	}
	for _, bad := range []string{"x", "-1"} {
		resp, err := http.Get(srv.URL + "/v1/checkpoints/" + bad + "/timestamp")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("height %q: status %d, want 400", bad, resp.StatusCode)
		}
	}
}
