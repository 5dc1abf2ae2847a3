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
	"net/url"
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
	"github.com/evidenced/evidenced/internal/egress"
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

// webhookTimeout bounds one delivery attempt.
const webhookTimeout = 30 * time.Second

// resolveTimeout bounds the resolution of a new subscription's host.
const resolveTimeout = 10 * time.Second

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
		// Saved before names and URLs were checked, or before the policy
		// changed.
		if _, err := n.hooks.check(s.webhook()); err != nil {
			return fmt.Errorf("%s: webhook %q: %w: remove it from the file, or delete the file and subscribe again", subscriptionsPath(n.home.Dir), s.Name, err)
		}
		n.hooks.start(n, s.webhook(), []byte(s.Secret), "api", s.Owner)
	}
	return nil
}

// deliverLoop POSTs the subscription's events (api.ReadEvents) in commit
// order, each until the receiver answers 2xx, with backoff, keeping its
// cursor on disk after every delivery: a crash or restart resends at most
// the delivery in flight.
func (n *Node) deliverLoop(ctx context.Context, h *hook, secret []byte) {
	defer n.bg.Done()
	w := h.w
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
				h.setOutbox(size - e.Entry.Index)
			}
			if !n.deliver(ctx, h, secret, &e) {
				return // stopping, unsubscribed, or the delivery cannot be made
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
		h.setOutbox(0)
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

// deliver POSTs one event until the receiver takes it. It returns true once
// the receiver answered 2xx, and false when ctx ends first (the node stops,
// or the subscription is removed) or when the delivery cannot even be
// attempted (then the loop stops, logging why, and the event stays
// undelivered). Every other failure, a redirect (never followed) or a
// destination the policy refuses included, is retried with backoff.
func (n *Node) deliver(ctx context.Context, h *hook, secret []byte, e *api.Event) bool {
	w := h.w
	body, err := json.Marshal(e.Data())
	if err != nil {
		h.failed(fmt.Errorf("stopped: event %s does not encode: %w", e.ID, err))
		n.log.Error("webhook stopped: an event does not encode", "webhook", w.Name, "event", e.ID, "err", err)
		return false
	}
	wait := time.Second
	for attempt := 1; ; attempt++ {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := crypto.MAC(secret, []byte(ts), []byte("."), body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			h.failed(fmt.Errorf("stopped: %w", err))
			n.log.Error("webhook stopped: no request can be made to its url; fix it and restart the node", "webhook", w.Name, "event", e.ID, "err", err)
			return false
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderEvent, e.Type)
		req.Header.Set(HeaderDelivery, e.ID)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, "sm3="+hex.EncodeToString(mac[:]))
		resp, err := n.hooks.client.Do(req)
		var location string
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				h.delivered()
				n.metrics.webhookDelivered.Inc()
				return true
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
			if location = resp.Header.Get("Location"); resp.StatusCode/100 == 3 {
				err = fmt.Errorf("HTTP %d redirecting to %q: webhooks follow no redirect; subscribe the final URL", resp.StatusCode, location)
			}
		}
		err = config.RefusedWebhook(err)
		h.failed(err)
		n.metrics.webhookFailed.Inc()
		log := n.log.With("webhook", w.Name, "event", e.ID, "attempt", attempt, "retry_in", wait)
		if location != "" {
			log = log.With("location", location)
		}
		log.Warn("webhook delivery failed; retrying", "err", err)
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
	policy   *egress.Policy // where deliveries may go (webhook_policy)
	client   *http.Client   // delivers through policy; follows no redirect
	changeMu sync.Mutex     // serialises subscription changes
	mu       sync.Mutex     // guards subs
	subs     map[string]*hook
}

// setPolicy sets the destination policy and the client deliveries go
// through.
func (h *hooks) setPolicy(p config.WebhookPolicy) error {
	policy, err := p.Policy()
	if err != nil {
		return err
	}
	h.policy, h.client = policy, policy.Client(webhookTimeout)
	return nil
}

// check checks a subscription before it runs: its name, its URL (the form,
// and an IP host against the policy: names are checked when resolved) and
// its filter. It returns the parsed URL, or an *api.InputError naming the
// field.
func (h *hooks) check(w config.Webhook) (*url.URL, error) {
	if err := config.CheckWebhookName(w.Name); err != nil {
		return nil, &api.InputError{Field: "name", Err: err}
	}
	u, err := config.CheckWebhookURL(h.policy, w.URL)
	if err != nil {
		return nil, &api.InputError{Field: "url", Err: err}
	}
	if _, err := api.NewEventFilter(w.Types, w.Chain, w.Kind); err != nil {
		return nil, &api.InputError{Field: "types", Err: err}
	}
	return u, nil
}

// outbox is the sum of the subscriptions' outbox depths.
func (h *hooks) outbox() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var sum uint64
	for _, hk := range h.subs {
		hk.mu.Lock()
		sum += hk.status.Outbox
		hk.mu.Unlock()
	}
	return sum
}

// hook is one running subscription and its deliveries since the node
// started, which GET /v1/webhooks shows (GET /metrics shows only totals).
type hook struct {
	w      config.Webhook
	source string // "config" or "api"
	owner  string // the subscribing token's id, or api.OwnerAdmin
	cancel context.CancelFunc
	mu     sync.Mutex
	status client.Webhook // the delivery fields only, guarded by mu
}

func (h *hook) delivered() {
	now := time.Now().UTC()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status.Delivered++
	h.status.LastDelivery = &now
}

func (h *hook) failed(err error) {
	now := time.Now().UTC()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status.Failed++
	h.status.LastFailure = &now
	h.status.LastError = err.Error()
}

func (h *hook) setOutbox(entries uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status.Outbox = entries
}

// describe is the subscription as GET /v1/webhooks lists it, without its
// cursor.
func (h *hook) describe() client.Webhook {
	h.mu.Lock()
	defer h.mu.Unlock()
	wh := h.status
	wh.Name, wh.URL, wh.Types, wh.Chain, wh.Kind, wh.Source, wh.Owner = h.w.Name, h.w.URL, h.w.Types, h.w.Chain, h.w.Kind, h.source, h.owner
	return wh
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
	hk := &hook{w: w, source: source, owner: owner, cancel: cancel}
	h.subs[w.Name] = hk
	h.mu.Unlock()
	n.bg.Add(1)
	go n.deliverLoop(ctx, hk, secret)
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

// Subscribe implements api.Subscriber: the subscription is checked (its
// host resolved and every address checked against the policy: they are
// checked again at each connection), saved, then its loop starts at the
// next entry to commit.
func (b *backend) Subscribe(ctx context.Context, r api.WebhookRequest) error {
	n := b.n
	w := config.Webhook{Name: r.Name, URL: r.URL, Types: r.Types, Chain: r.Chain, Kind: r.Kind}
	u, err := n.hooks.check(w)
	if err != nil {
		return err
	}
	if len(r.Secret) < 16 {
		return &api.InputError{Field: "secret", Err: errors.New("the secret is shorter than 16 bytes: use a long random one")}
	}
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	if err := n.hooks.policy.CheckHost(rctx, u.Hostname()); err != nil {
		return &api.InputError{Field: "url", Err: config.RefusedWebhook(err)}
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
		wh := h.describe()
		if b, err := os.ReadFile(cursorPath(n.home.Dir, h.w.Name)); err == nil {
			wh.Cursor = strings.TrimSpace(string(b))
		}
		out = append(out, wh)
	}
	slices.SortFunc(out, func(a, b client.Webhook) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
