package testnet_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
)

// receiver is a business system's webhook endpoint: it checks every
// delivery's signature and keeps them in arrival order; while down it
// answers 503.
type receiver struct {
	mu       sync.Mutex
	secret   []byte
	down     bool
	attempts int
	got      []delivery
	bad      []string
}

type delivery struct {
	index uint64
	typ   string
	entry client.Entry
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if rc.down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	sig, ok := strings.CutPrefix(r.Header.Get(node.HeaderSignature), "sm3=")
	mac, err := hex.DecodeString(sig)
	if !ok || err != nil || !crypto.MACEqual(mac, rc.secret, []byte(r.Header.Get(node.HeaderTimestamp)), []byte("."), body) {
		rc.bad = append(rc.bad, "bad signature on delivery "+r.Header.Get(node.HeaderDelivery))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var d delivery
	d.index, _ = strconv.ParseUint(r.Header.Get(node.HeaderDelivery), 10, 64)
	d.typ = r.Header.Get(node.HeaderEvent)
	if err := json.Unmarshal(body, &d.entry); err != nil || d.entry.Index != d.index {
		rc.bad = append(rc.bad, fmt.Sprintf("delivery %d body: %v", d.index, err))
	}
	rc.got = append(rc.got, d)
	w.WriteHeader(http.StatusNoContent)
}

// TestWebhooksSurviveKill: deliveries pending while the receiver is down
// survive a SIGKILL of the node; after its restart every event arrives, in
// commit order, signed.
func TestWebhooksSurviveKill(t *testing.T) {
	raw := make([]byte, 32)
	rand.Read(raw)
	rc := &receiver{secret: []byte(hex.EncodeToString(raw)), down: true} // the key is the secret file's line
	srv := httptest.NewServer(rc)
	defer srv.Close()
	c := startCluster(t, "evidenced-webhooks-e2e", func(a *testnet.Alliance) {
		bank := a.Members[0].Home
		secret := filepath.Join(bank, "config", "hook-secret")
		if err := os.WriteFile(secret, append(append([]byte{}, rc.secret...), '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(bank)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Webhooks = []config.Webhook{{Name: "core-banking", URL: srv.URL, SecretFile: "config/hook-secret", Types: []string{"evidence"}}}
		cfg.WebhookPolicy.Allow = []string{"127.0.0.1"} // the receiver is on this machine
		if err := cfg.Save(bank); err != nil {
			t.Fatal(err)
		}
	})
	var want []string // tx ids, in commit order
	for i := range 3 {
		file := filepath.Join(c.dir, fmt.Sprintf("doc-%d.txt", i))
		os.WriteFile(file, []byte(fmt.Sprintf("document %d", i)), 0o600)
		out, err := c.run("submit", "--node", c.nodes[0].m.API, "--key", c.a.ClientKey, "--chain", fmt.Sprintf("LOAN-W-%d", i),
			"--step", "1", "--kind", "loan-contract", "-o", "json", file)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Submissions []struct {
				Result client.SubmitResult `json:"result"`
			} `json:"submissions"`
		}
		if err := json.Unmarshal(out, &r); err != nil || len(r.Submissions) != 1 {
			t.Fatalf("submit output %s: %v", out, err)
		}
		want = append(want, r.Submissions[0].Result.TxID.String())
	}
	c.eventually("the bank's node tried to deliver while the receiver was down", 30*time.Second, func() error {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.attempts == 0 {
			return errors.New("no attempt yet")
		}
		return nil
	})
	c.kill(0, syscall.SIGKILL)
	rc.mu.Lock()
	rc.down = false
	rc.mu.Unlock()
	c.start(0)
	c.eventually("every event delivered after the restart", 60*time.Second, func() error {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.got) < len(want) {
			return fmt.Errorf("%d of %d delivered", len(rc.got), len(want))
		}
		return nil
	})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("bad deliveries: %v", rc.bad)
	}
	// At least once: deduplicate by delivery id, keeping arrival order.
	var ids []string
	seen := map[uint64]bool{}
	last := uint64(0)
	for _, d := range rc.got {
		if seen[d.index] {
			continue
		}
		seen[d.index] = true
		if d.index < last || d.typ != "evidence" {
			t.Fatalf("delivery %d (%s) after %d: not in commit order or not evidence", d.index, d.typ, last)
		}
		last = d.index
		ids = append(ids, d.entry.TxID.String())
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("delivered tx ids %v, want %v", ids, want)
	}
}
