package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// WebhookRequest subscribes a business system to the node's entries.
type WebhookRequest struct {
	Name   string
	URL    string
	Secret string // the HMAC-SM3 key deliveries are signed with
	Types  []string
	Chain  string
	Kind   string
	Owner  string // the id (Token.ID) of the token that subscribes
}

// OwnerAdmin is the owner of the webhook subscriptions that only a token
// with the admin scope lists and deletes: those configured in
// evidenced.toml, and those subscribed through the API before owners were
// recorded.
const OwnerAdmin = "admin"

// Subscriber is implemented by a Backend whose node delivers webhooks.
type Subscriber interface {
	// Subscribe saves and starts a subscription, owned by r.Owner;
	// ErrExists if the name is taken.
	Subscribe(ctx context.Context, r WebhookRequest) error
	// Unsubscribe stops and removes an API subscription; an error wrapping
	// ledger.ErrNotFound when there is none of that name. When owner is
	// not empty, it removes only a subscription of that owner, and fails
	// with an error wrapping ErrNotOwner on any other (configured ones
	// included); an empty owner (an admin token) removes any.
	Unsubscribe(ctx context.Context, name, owner string) error
	// Subscriptions lists every subscription, configured or subscribed,
	// with its owner (OwnerAdmin for configured ones).
	Subscriptions(ctx context.Context) ([]client.Webhook, error)
}

// ErrExists is returned by a Backend when the thing to create exists (409).
var ErrExists = errors.New("it already exists")

// ErrNotOwner is returned by Subscriber.Unsubscribe when the subscription
// belongs to another token (403).
var ErrNotOwner = errors.New("it belongs to another API token, or to admin")

// InputError is a Backend's refusal of a request field (400).
type InputError struct {
	Field string
	Err   error
}

func (e *InputError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func (s *server) subscriber() (Subscriber, error) {
	sb, ok := s.b.(Subscriber)
	if !ok {
		return nil, newError(http.StatusNotImplemented, "not_implemented", "", "this node delivers no webhooks")
	}
	return sb, nil
}

// subscriberError maps a Subscriber's errors.
func subscriberError(err error) error {
	var ie *InputError
	switch {
	case errors.As(err, &ie):
		return badRequest(ie.Field, "%v", ie.Err)
	case errors.Is(err, ErrExists):
		return newError(http.StatusConflict, "exists", "name", "%v: unsubscribe it first, or choose another name", err)
	case errors.Is(err, ErrNotOwner):
		e := newError(http.StatusForbidden, client.CodeForbidden, "name", "%v: only its owner, or a token with the admin scope, may delete it", err)
		e.body.Hint = "delete it with the token that subscribed it, or ask the node's operator"
		return e
	case errors.Is(err, ledger.ErrNotFound):
		return notFound("name", "%v", err)
	}
	return backendError(err, [32]byte{})
}

// webhookBody is the JSON body of POST /v1/webhooks.
type webhookBody struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Types  []string `json:"types,omitempty"`
	Chain  string   `json:"chain,omitempty"`
	Kind   string   `json:"kind,omitempty"`
	Owner  string   `json:"-"` // the caller's token, never from the body
}

// readJSON reads a request body of at most Options.MaxBodyBytes and decodes
// it strictly (no unknown fields) into v; what names the expected shape for
// the 400.
func (s *server) readJSON(w http.ResponseWriter, r *http.Request, v any, what string) error {
	raw, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body", "the body is not %s: %v", what, err)
	}
	return nil
}

// subscribe is POST /v1/webhooks: the subscription belongs to the
// caller's token.
func (s *server) subscribe(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.subscriber()
	if err != nil {
		return err
	}
	var b webhookBody
	if err := s.readJSON(w, r, &b, `a subscription: send {"name", "url", "secret", optional "types", "chain" and "kind"}`); err != nil {
		return err
	}
	b.Owner = callerToken(r).ID()
	if err := sb.Subscribe(r.Context(), WebhookRequest(b)); err != nil {
		return subscriberError(err)
	}
	list, err := sb.Subscriptions(r.Context())
	if err != nil {
		return subscriberError(err)
	}
	for _, wh := range list {
		if wh.Name == b.Name {
			s.writeJSON(w, http.StatusCreated, cacheNone, wh)
			return nil
		}
	}
	return internal(errors.New("the new subscription is not listed"))
}

// unsubscribe is DELETE /v1/webhooks/{name}: a subscription of the
// caller's token, or any with the admin scope.
func (s *server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.subscriber()
	if err != nil {
		return err
	}
	tok := callerToken(r)
	owner := tok.ID()
	if tok.Scopes&ScopeAdmin != 0 {
		owner = "" // any
	}
	if err := sb.Unsubscribe(r.Context(), r.PathValue("name"), owner); err != nil {
		return subscriberError(err)
	}
	s.writeJSON(w, http.StatusOK, cacheNone, map[string]string{"removed": r.PathValue("name")})
	return nil
}

// webhooks is GET /v1/webhooks: the caller's token's subscriptions, or
// every one with the admin scope.
func (s *server) webhooks(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.subscriber()
	if err != nil {
		return err
	}
	list, err := sb.Subscriptions(r.Context())
	if err != nil {
		return subscriberError(err)
	}
	if tok := callerToken(r); tok.Scopes&ScopeAdmin == 0 {
		list = slices.DeleteFunc(list, func(wh client.Webhook) bool { return wh.Owner != tok.ID() })
	}
	s.writeJSON(w, http.StatusOK, cacheNone, map[string]any{"webhooks": list})
	return nil
}
