package node

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/config"
)

// TestDeliverUnattemptable (F4): a delivery that cannot even be attempted
// (no request can be made to the URL; Subscribe and config validation keep
// such URLs out) stops the loop at once with the event undelivered: it is
// never counted, or its cursor moved, as delivered.
func TestDeliverUnattemptable(t *testing.T) {
	n := &Node{log: slog.New(slog.DiscardHandler)}
	if err := n.hooks.setPolicy(config.WebhookPolicy{}); err != nil {
		t.Fatal(err)
	}
	n.metrics = newMetrics(n)
	h := &hook{w: config.Webhook{Name: "bad", URL: "http://a b/"}}
	e := &api.Event{ID: "7", Type: "evidence", Entry: &client.Entry{Index: 7}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n.deliver(ctx, h, []byte("0123456789abcdef"), e) {
		t.Fatal("an event that could not be sent was reported delivered")
	}
	if ctx.Err() != nil {
		t.Fatal("deliver retried an attempt that can never be made instead of stopping")
	}
	st := h.describe()
	if st.Delivered != 0 || st.LastDelivery != nil || st.Failed != 1 || !strings.HasPrefix(st.LastError, "stopped: ") {
		t.Fatalf("status %+v, want one failure saying it stopped and no delivery", st)
	}
}
