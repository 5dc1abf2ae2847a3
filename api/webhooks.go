package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

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
}

// Subscriber is implemented by a Backend whose node delivers webhooks.
type Subscriber interface {
	// Subscribe saves and starts a subscription; ErrExists if the name is taken.
	Subscribe(ctx context.Context, r WebhookRequest) error
	// Unsubscribe stops and removes an API subscription; an error wrapping
	// ledger.ErrNotFound when there is none of that name.
	Unsubscribe(ctx context.Context, name string) error
	// Subscriptions lists every subscription, configured or subscribed.
	Subscriptions(ctx context.Context) ([]client.Webhook, error)
}

// ErrExists is returned by a Backend when the thing to create exists (409).
var ErrExists = errors.New("it already exists")

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

// subscribe is POST /v1/webhooks.
func (s *server) subscribe(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.subscriber()
	if err != nil {
		return err
	}
	var b webhookBody
	if err := s.readJSON(w, r, &b, `a subscription: send {"name", "url", "secret", optional "types", "chain" and "kind"}`); err != nil {
		return err
	}
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

// unsubscribe is DELETE /v1/webhooks/{name}.
func (s *server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.subscriber()
	if err != nil {
		return err
	}
	if err := sb.Unsubscribe(r.Context(), r.PathValue("name")); err != nil {
		return subscriberError(err)
	}
	s.writeJSON(w, http.StatusOK, cacheNone, map[string]string{"removed": r.PathValue("name")})
	return nil
}

// webhooks is GET /v1/webhooks.
func (s *server) webhooks(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.subscriber()
	if err != nil {
		return err
	}
	list, err := sb.Subscriptions(r.Context())
	if err != nil {
		return subscriberError(err)
	}
	s.writeJSON(w, http.StatusOK, cacheNone, map[string]any{"webhooks": list})
	return nil
}
