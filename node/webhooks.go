package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/ledger"
)

// Webhook delivery headers. The signature is "sm3=" and the hex HMAC-SM3,
// under the subscription's secret, of the timestamp, a ".", and the body.
const (
	HeaderEvent     = "X-Evidenced-Event"
	HeaderDelivery  = "X-Evidenced-Delivery" // the event id (entry index or checkpoint-HEIGHT): deliveries are at least once, deduplicate by it
	HeaderTimestamp = "X-Evidenced-Timestamp"
	HeaderSignature = "X-Evidenced-Signature"
)

// WebhookDir holds each subscription's delivery cursor under HOME.
const WebhookDir = "data/webhooks"

// startWebhooks starts one delivery loop per configured subscription
// (their secrets read by LoadHome) and per subscription made through the
// API.
func (n *Node) startWebhooks() error {
	for _, w := range n.home.Config.Webhooks {
		n.hooks.start(n, w, n.home.WebhookSecrets[w.Name], "config", api.OwnerAdmin)
	}
	subs, err := n.loadSubscriptions()
	if err != nil {
		return err
	}
	for _, s := range subs {
		if n.hooks.has(s.Name) {
			return fmt.Errorf("webhook %s is both in evidenced.toml and subscribed through the API: remove one", s.Name)
		}
		n.hooks.start(n, s.webhook(), []byte(s.Secret), "api", s.Owner)
	}
	return nil
}

// deliverLoop POSTs the subscription's events (api.ReadEvents) in commit
// order, each until the receiver answers 2xx, with backoff, keeping its
// cursor on disk after every delivery: a crash or restart resends at most
// the delivery in flight.
func (n *Node) deliverLoop(ctx context.Context, w config.Webhook, secret []byte) {
	defer n.bg.Done()
	log := n.log.With("webhook", w.Name)
	filter, err := api.NewEventFilter(w.Types, w.Chain, w.Kind)
	if err != nil {
		log.Error("webhook not started", "err", err) // Validate and Subscribe refuse it first
		return
	}
	path := cursorPath(n.home.Dir, w.Name)
	cur, err := n.loadCursor(path)
	if err != nil {
		log.Error("webhook not started", "err", err)
		return
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	for {
		changed := n.changed.wait()
		var evs []api.Event
		var size uint64
		var next api.Cursor
		var more bool
		if err := n.withView(func(v *ledger.View, _ int64) error {
			h, err := v.Head()
			if err != nil {
				return err
			}
			size = h.Size
			evs, next, more, err = api.ReadEvents(v, cur, filter, 64)
			return err
		}); err != nil {
			log.Error("webhook cannot read the event log", "cursor", cur.String(), "err", err)
			return
		}
		for _, e := range evs {
			if e.Entry != nil {
				n.metrics.webhookBacklog.WithLabelValues(w.Name).Set(float64(size - e.Entry.Index))
			}
			if !n.deliver(ctx, hc, w, secret, &e) {
				return // stopping or unsubscribed
			}
			cur = e.After
			if err := writeCursor(path, cur); err != nil {
				log.Error("webhook cursor not saved: this delivery may be repeated after a restart", "err", err)
			}
		}
		if next != cur {
			cur = next // past events the filter skipped
			if err := writeCursor(path, cur); err != nil {
				log.Error("webhook cursor not saved", "err", err)
			}
		}
		if more {
			continue
		}
		n.metrics.webhookBacklog.WithLabelValues(w.Name).Set(0)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// loadCursor reads a subscription's cursor, or starts a new one at the
// next block to commit.
func (n *Node) loadCursor(path string) (cur api.Cursor, err error) {
	b, rerr := os.ReadFile(path)
	err = n.withView(func(v *ledger.View, height int64) error {
		var err error
		if rerr == nil {
			cur, err = api.ParseCursor(v, height, string(b))
			if err != nil {
				return fmt.Errorf("%s: %w: delete the file to deliver from the next block on", path, err)
			}
			return nil
		}
		if !errors.Is(rerr, fs.ErrNotExist) {
			return rerr
		}
		if cur, err = api.CursorHead(v, height); err != nil {
			return err
		}
		return writeCursor(path, cur)
	})
	return cur, err
}

// deliver POSTs one event until the receiver takes it; false when ctx ends
// first (the node stops, or the subscription is removed).
func (n *Node) deliver(ctx context.Context, hc *http.Client, w config.Webhook, secret []byte, e *api.Event) bool {
	body, err := json.Marshal(e.Data())
	if err != nil {
		n.log.Error("webhook body", "err", err)
		return true
	}
	wait := time.Second
	for attempt := 1; ; attempt++ {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := crypto.MAC(secret, []byte(ts), []byte("."), body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			n.log.Error("webhook request", "webhook", w.Name, "err", err)
			return true
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderEvent, e.Type)
		req.Header.Set(HeaderDelivery, e.ID)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, "sm3="+hex.EncodeToString(mac[:]))
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				n.metrics.webhookDelivered.WithLabelValues(w.Name).Inc()
				return true
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		n.metrics.webhookFailed.WithLabelValues(w.Name).Inc()
		n.log.Warn("webhook delivery failed; retrying", "webhook", w.Name, "event", e.ID, "attempt", attempt, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

func cursorPath(home, name string) string { return filepath.Join(home, WebhookDir, name+".cursor") }

func writeCursor(path string, c api.Cursor) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, []byte(c.String()+"\n"), 0o600)
}

// hooks are the running webhook loops, by name.
type hooks struct {
	changeMu sync.Mutex // serialises subscription changes
	mu       sync.Mutex // guards subs
	subs     map[string]*hook
}

type hook struct {
	w      config.Webhook
	source string // "config" or "api"
	owner  string // the subscribing token's id, or api.OwnerAdmin
	cancel context.CancelFunc
}

func (h *hooks) has(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.subs[name]
	return ok
}

// start runs a delivery loop for w until the node stops or it is removed.
func (h *hooks) start(n *Node, w config.Webhook, secret []byte, source, owner string) {
	ctx, cancel := n.untilStop()
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]*hook{}
	}
	h.subs[w.Name] = &hook{w: w, source: source, owner: owner, cancel: cancel}
	h.mu.Unlock()
	n.bg.Add(1)
	go n.deliverLoop(ctx, w, secret)
}

// subscription is a webhook subscribed through the API. Subscriptions are
// kept in HOME/data/webhooks/subscriptions.json (0600), each secret
// encrypted to the member key (SM2 public-key encryption), so the file
// holds no secret in the clear: only the member key, itself encrypted when
// a passphrase is configured, opens them. Owner is the id of the API token
// that subscribed it (api.Token.ID), or api.OwnerAdmin.
type subscription struct {
	Name   string
	URL    string
	Secret string
	Types  []string
	Chain  string
	Kind   string
	Owner  string
}

// storedSubscription is a subscription as saved. Secret is read only from
// files written before secrets were sealed; they are sealed at the next
// start. Owner is empty only in files written before owners were
// recorded; those subscriptions become api.OwnerAdmin's at the next start.
type storedSubscription struct {
	Name         string   `json:"name"`
	URL          string   `json:"url"`
	SealedSecret []byte   `json:"sealed_secret,omitempty"` // SM2 ciphertext of the secret, to the member key
	Secret       string   `json:"secret,omitempty"`
	Types        []string `json:"types,omitempty"`
	Chain        string   `json:"chain,omitempty"`
	Kind         string   `json:"kind,omitempty"`
	Owner        string   `json:"owner,omitempty"`
}

func (s subscription) webhook() config.Webhook {
	return config.Webhook{Name: s.Name, URL: s.URL, Types: s.Types, Chain: s.Chain, Kind: s.Kind}
}

func subscriptionsPath(home string) string {
	return filepath.Join(home, WebhookDir, "subscriptions.json")
}

// loadSubscriptions reads the API subscriptions and opens their secrets
// with the member key. Secrets found in the clear (an older file) are
// sealed in place, and subscriptions without an owner (an older file)
// become api.OwnerAdmin's.
func (n *Node) loadSubscriptions() ([]subscription, error) {
	path := subscriptionsPath(n.home.Dir)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook subscriptions: %w", err)
	}
	var stored []storedSubscription
	if err := json.Unmarshal(b, &stored); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	subs := make([]subscription, 0, len(stored))
	inClear := 0
	var unowned []string
	for _, st := range stored {
		secret := st.Secret
		switch {
		case len(st.SealedSecret) > 0:
			plain, err := n.home.MemberKey.Decrypt(st.SealedSecret)
			if err != nil {
				return nil, fmt.Errorf("%s: the secret of webhook %s does not open with this node's member key (%w): the file is of another member, or damaged; delete it and subscribe again", path, st.Name, err)
			}
			secret = string(plain)
		case secret != "":
			inClear++
		default:
			return nil, fmt.Errorf("%s: webhook %s has no secret: delete the file and subscribe again", path, st.Name)
		}
		if st.Owner == "" {
			st.Owner = api.OwnerAdmin
			unowned = append(unowned, st.Name)
		}
		subs = append(subs, subscription{Name: st.Name, URL: st.URL, Secret: secret, Types: st.Types, Chain: st.Chain, Kind: st.Kind, Owner: st.Owner})
	}
	if inClear > 0 || len(unowned) > 0 {
		if err := n.saveSubscriptions(subs); err != nil {
			return nil, fmt.Errorf("migrate the webhook subscriptions in %s: %w", path, err)
		}
	}
	if inClear > 0 {
		n.log.Warn("webhook secrets that were kept in the clear are now encrypted to the member key", "file", path, "subscriptions", inClear)
	}
	if len(unowned) > 0 {
		n.log.Warn("webhook subscriptions made before their owners were recorded now belong to admin: only an API token with the admin scope lists or deletes them",
			"file", path, "webhooks", strings.Join(unowned, ","))
	}
	return subs, nil
}

// saveSubscriptions writes the API subscriptions, each secret encrypted to
// the member key.
func (n *Node) saveSubscriptions(subs []subscription) error {
	stored := make([]storedSubscription, 0, len(subs))
	for _, s := range subs {
		sealed, err := n.home.MemberKey.Public().Encrypt(rand.Reader, []byte(s.Secret))
		if err != nil {
			return fmt.Errorf("seal the secret of webhook %s: %w", s.Name, err)
		}
		stored = append(stored, storedSubscription{Name: s.Name, URL: s.URL, SealedSecret: sealed, Types: s.Types, Chain: s.Chain, Kind: s.Kind, Owner: s.Owner})
	}
	b, err := json.MarshalIndent(stored, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(subscriptionsPath(n.home.Dir)), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(subscriptionsPath(n.home.Dir), append(b, '\n'), 0o600)
}

// Subscribe implements api.Subscriber: the subscription is saved, then
// its loop starts at the next entry to commit.
func (b *backend) Subscribe(_ context.Context, r api.WebhookRequest) error {
	n := b.n
	w := config.Webhook{Name: r.Name, URL: r.URL, SecretFile: "(api)", Types: r.Types, Chain: r.Chain, Kind: r.Kind}
	if _, err := api.NewEventFilter(r.Types, r.Chain, r.Kind); err != nil {
		return &api.InputError{Field: "types", Err: err}
	}
	c := config.Config{Moniker: "x", Member: "x", Role: "bank", API: config.Default().API, Keys: config.Default().Keys,
		Log: config.Default().Log, Originals: config.Default().Originals, Webhooks: []config.Webhook{w}}
	if err := c.Validate(); err != nil {
		return &api.InputError{Field: "body", Err: err}
	}
	if len(r.Secret) < 16 {
		return &api.InputError{Field: "secret", Err: errors.New("the secret is shorter than 16 bytes: use a long random one")}
	}
	n.hooks.changeMu.Lock()
	defer n.hooks.changeMu.Unlock()
	if n.hooks.has(r.Name) {
		return fmt.Errorf("webhook %s: %w", r.Name, api.ErrExists)
	}
	subs, err := n.loadSubscriptions()
	if err != nil {
		return err
	}
	s := subscription{Name: r.Name, URL: r.URL, Secret: r.Secret, Types: r.Types, Chain: r.Chain, Kind: r.Kind, Owner: r.Owner}
	if err := n.saveSubscriptions(append(subs, s)); err != nil {
		return err
	}
	n.hooks.start(n, s.webhook(), []byte(s.Secret), "api", s.Owner)
	return nil
}

// Unsubscribe implements api.Subscriber: only API subscriptions can be
// removed this way (configured ones are in evidenced.toml), and, when
// owner is not empty, only those of that owner.
func (b *backend) Unsubscribe(_ context.Context, name, owner string) error {
	n := b.n
	n.hooks.changeMu.Lock()
	defer n.hooks.changeMu.Unlock()
	n.hooks.mu.Lock()
	h, ok := n.hooks.subs[name]
	n.hooks.mu.Unlock()
	if !ok {
		return fmt.Errorf("webhook %s: %w", name, ledger.ErrNotFound)
	}
	if owner != "" && h.owner != owner {
		return fmt.Errorf("webhook %s: %w", name, api.ErrNotOwner)
	}
	if h.source != "api" {
		return &api.InputError{Field: "name", Err: fmt.Errorf("webhook %s is configured in evidenced.toml: remove it there", name)}
	}
	subs, err := n.loadSubscriptions()
	if err != nil {
		return err
	}
	subs = slices.DeleteFunc(subs, func(s subscription) bool { return s.Name == name })
	if err := n.saveSubscriptions(subs); err != nil {
		return err
	}
	h.cancel()
	n.hooks.mu.Lock()
	delete(n.hooks.subs, name)
	n.hooks.mu.Unlock()
	os.Remove(cursorPath(n.home.Dir, name))
	return nil
}

// Subscriptions implements api.Subscriber.
func (b *backend) Subscriptions(context.Context) ([]client.Webhook, error) {
	n := b.n
	n.hooks.mu.Lock()
	defer n.hooks.mu.Unlock()
	out := make([]client.Webhook, 0, len(n.hooks.subs))
	for _, h := range n.hooks.subs {
		wh := client.Webhook{Name: h.w.Name, URL: h.w.URL, Types: h.w.Types, Chain: h.w.Chain, Kind: h.w.Kind, Source: h.source, Owner: h.owner}
		if b, err := os.ReadFile(cursorPath(n.home.Dir, h.w.Name)); err == nil {
			wh.Cursor = strings.TrimSpace(string(b))
		}
		out = append(out, wh)
	}
	slices.SortFunc(out, func(a, b client.Webhook) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
