package node

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/ledger"
)

// Webhook delivery headers. The signature is "sm3=" and the hex HMAC-SM3,
// under the subscription's secret, of the timestamp, a ".", and the body.
const (
	HeaderEvent     = "X-Evidenced-Event"
	HeaderDelivery  = "X-Evidenced-Delivery" // the entry index: deliveries are at least once, deduplicate by it
	HeaderTimestamp = "X-Evidenced-Timestamp"
	HeaderSignature = "X-Evidenced-Signature"
)

// WebhookDir holds each subscription's delivery cursor under HOME.
const WebhookDir = "data/webhooks"

// startWebhooks starts one delivery loop per configured subscription.
func (n *Node) startWebhooks() error {
	for _, w := range n.cfg.Webhooks {
		secret, err := keyfile.ReadPassphrase(config.Path(n.home, w.SecretFile))
		if err != nil {
			return fmt.Errorf("webhook %s: secret: %w", w.Name, err)
		}
		if len(secret) < 16 {
			return fmt.Errorf("webhook %s: the secret in %s is shorter than 16 bytes; use a long random one", w.Name, w.SecretFile)
		}
		n.bg.Add(1)
		go n.deliverLoop(w, secret)
	}
	return nil
}

// deliverLoop POSTs the subscription's entries in commit order, each until
// the receiver answers 2xx, with backoff, keeping its cursor (the next
// entry to consider) on disk after every delivery: a crash or restart
// resends at most the delivery in flight.
func (n *Node) deliverLoop(w config.Webhook, secret []byte) {
	defer n.bg.Done()
	log := n.log.With("webhook", w.Name)
	path := filepath.Join(n.home, WebhookDir, w.Name+".cursor")
	next, err := readCursor(path)
	if err != nil {
		if next, err = n.logSize(); err != nil {
			log.Error("webhook not started", "err", err)
			return
		}
		if err := writeCursor(path, next); err != nil {
			log.Error("webhook not started", "err", err)
			return
		}
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	for {
		changed := n.changed.wait()
		size, err := n.logSize()
		if err != nil {
			return
		}
		advanced := false
		for ; next < size; next++ {
			e, err := n.entryJSON(next)
			if err != nil {
				log.Error("webhook cannot read entry", "index", next, "err", err)
				return
			}
			n.metrics.webhookBacklog.WithLabelValues(w.Name).Set(float64(size - next))
			if !matchesWebhook(e, w) {
				advanced = true
				continue
			}
			if !n.deliver(hc, w, secret, e) {
				return // stopping
			}
			if err := writeCursor(path, next+1); err != nil {
				log.Error("webhook cursor not saved: this delivery may be repeated after a restart", "err", err)
			}
			advanced = false
		}
		if advanced {
			if err := writeCursor(path, next); err != nil {
				log.Error("webhook cursor not saved", "err", err)
			}
		}
		n.metrics.webhookBacklog.WithLabelValues(w.Name).Set(0)
		select {
		case <-n.stopping:
			return
		case <-changed:
		}
	}
}

// deliver POSTs one entry until the receiver takes it; false when the node
// stops first.
func (n *Node) deliver(hc *http.Client, w config.Webhook, secret []byte, e *client.Entry) bool {
	body, err := json.Marshal(e)
	if err != nil {
		n.log.Error("webhook body", "err", err)
		return true
	}
	wait := time.Second
	for attempt := 1; ; attempt++ {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := crypto.MAC(secret, []byte(ts), []byte("."), body)
		ctx, cancel := n.untilStop()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			cancel()
			n.log.Error("webhook request", "webhook", w.Name, "err", err)
			return true
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderEvent, e.Type)
		req.Header.Set(HeaderDelivery, strconv.FormatUint(e.Index, 10))
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, "sm3="+hex.EncodeToString(mac[:]))
		resp, err := hc.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				n.metrics.webhookDelivered.WithLabelValues(w.Name).Inc()
				return true
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		n.metrics.webhookFailed.WithLabelValues(w.Name).Inc()
		n.log.Warn("webhook delivery failed; retrying", "webhook", w.Name, "entry", e.Index, "attempt", attempt, "retry_in", wait, "err", err)
		select {
		case <-n.stopping:
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// matchesWebhook applies a subscription's filters.
func matchesWebhook(e *client.Entry, w config.Webhook) bool {
	if len(w.Types) > 0 && !slices.Contains(w.Types, e.Type) {
		return false
	}
	if w.Chain == "" {
		return true
	}
	for _, r := range e.Records {
		if r.Chain == w.Chain {
			return true
		}
	}
	return e.Custody != nil && e.Custody.Chain == w.Chain
}

func (n *Node) logSize() (uint64, error) {
	db := n.db
	if db == nil {
		return 0, fmt.Errorf("the node is stopping")
	}
	snap := db.Snapshot()
	defer snap.Close()
	h, err := ledger.NewView(snap).Head()
	return h.Size, err
}

func (n *Node) entryJSON(index uint64) (*client.Entry, error) {
	db := n.db
	if db == nil {
		return nil, fmt.Errorf("the node is stopping")
	}
	snap := db.Snapshot()
	defer snap.Close()
	return api.EntryJSON(ledger.NewView(snap), index)
}

func readCursor(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

func writeCursor(path string, next uint64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, []byte(strconv.FormatUint(next, 10)+"\n"), 0o600)
}
