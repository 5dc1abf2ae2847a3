package node

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cometbft/cometbft/blocksync"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/consensus"
	"github.com/cometbft/cometbft/mempool"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/proxy"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/statesync"

	"github.com/evidenced/evidenced/abci"
	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/internal/httplimit"
	"github.com/evidenced/evidenced/ledger"
)

// metrics are the node's own Prometheus metrics, served with CometBFT's at
// GET /metrics on the API server.
type metrics struct {
	reg       *prometheus.Registry
	records   prometheus.Counter
	entries   prometheus.Counter
	height    prometheus.Gauge
	verify    prometheus.Histogram
	rejected  *prometheus.CounterVec
	committed prometheus.Histogram

	// Webhook totals over every subscription: GET /metrics needs no token,
	// so it names no subscription; GET /v1/webhooks (with a token) gives
	// each one's deliveries, failures and outbox.
	webhookDelivered prometheus.Counter
	webhookFailed    prometheus.Counter

	refused *prometheus.CounterVec // HTTP clients refused for a bound, by reason

	timestamp *timestampMetrics // the stamper's (timestamp.go)
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.records = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "evidenced", Name: "records_committed_total",
		Help: "Evidence records committed by this node since it started (each record of a batch counts)."})
	m.entries = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "evidenced", Name: "entries_committed_total",
		Help: "Log entries (accepted transactions) committed by this node since it started."})
	m.height = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "evidenced", Name: "height",
		Help: "The last committed block height."})
	m.verify = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "evidenced", Name: "signature_verify_seconds",
		Help:    "Time of each SM2 signature verification that missed the verify cache.",
		Buckets: prometheus.ExponentialBuckets(20e-6, 2, 12)})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "evidenced", Name: "txs_rejected_total",
		Help: "Transactions rejected in committed blocks, by result code."}, []string{"code"})
	m.committed = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "evidenced", Name: "block_commit_seconds",
		Help: "Time from a block's time to its commit on this node.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 10)})
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "evidenced", Name: "checkpoint_lag_blocks",
		Help: "Committed height minus the height of the last checkpoint co-signed by more than 2/3 of the voting power."},
		func() float64 { return float64(n.checkpointLag()) })
	blobs := &blobUsage{n: n,
		bytes: prometheus.NewDesc("evidenced_blob_store_bytes", "Bytes of encrypted originals this node keeps.", nil, nil),
		count: prometheus.NewDesc("evidenced_blob_store_originals", "Encrypted originals this node keeps.", nil, nil)}
	webhookOutbox := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "evidenced", Name: "webhook_outbox_entries",
		Help: "Log entries the webhook subscriptions have yet to consider (their outbox depths, summed; per subscription in GET /v1/webhooks)."},
		func() float64 { return float64(n.hooks.outbox()) })
	m.webhookDelivered = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "evidenced", Name: "webhook_deliveries_total",
		Help: "Webhook deliveries the receivers took, over every subscription (per subscription in GET /v1/webhooks)."})
	m.webhookFailed = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "evidenced", Name: "webhook_failures_total",
		Help: "Webhook delivery attempts that failed (retried), over every subscription (per subscription in GET /v1/webhooks)."})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "evidenced", Name: "http_refused_total",
		Help: "HTTP clients refused for a bound: a connection over the node's cap (connections) or its address's (client_connections), " +
			"an event stream over the cap on streams (event_streams) or on anonymous ones (anonymous_event_streams), a request body cut for its pace (slow_body)."},
		[]string{"reason"})
	// Every reason shows, at 0 until it happens: the bounds of the HTTP
	// server (docs/ARCHITECTURE.md, "Load limits").
	for _, r := range []string{httplimit.RefusedConnections, httplimit.RefusedClientConnections, httplimit.RefusedSlowBody,
		api.RefusedStreams, api.RefusedAnonymousStreams} {
		m.refused.WithLabelValues(r)
	}
	conns := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "evidenced", Name: "http_connections",
		Help: "Open connections to the HTTP server (API, explorer, metrics)."},
		func() float64 {
			if l := n.conns.Load(); l != nil {
				return float64(l.Open())
			}
			return 0
		})
	streams := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "evidenced", Name: "event_streams",
		Help: "Server-Sent Events streams served now (GET /v1/events and /explorer/live)."},
		func() float64 { all, _ := n.streams.Open(); return float64(all) })
	anonymous := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "evidenced", Name: "anonymous_event_streams",
		Help: "Server-Sent Events streams served now to requests without a valid bearer token."},
		func() float64 { _, anon := n.streams.Open(); return float64(anon) })
	m.timestamp = &timestampMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "evidenced", Name: "timestamp_requests_total",
			Help: "Requests of this node's stamper to the TSAs of [[timestamp.tsa]], by TSA name and result: ok (a token verified and committed), " +
				"unreachable, timeout, bad_reply, wrong_imprint, untrusted, expired, rejected, submit_failed."},
			[]string{"tsa", "result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "evidenced", Name: "timestamp_lag_seconds",
			Help:    "Time from the commit of the oldest trusted checkpoint with records no earlier token covered to the commit of the token that covers them (on a stamper node).",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 12)}),
	}
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "evidenced", Name: "timestamp_pending_seconds",
		Help: "Age of the oldest trusted checkpoint with records no token covers yet, 0 when none (on a stamper node)."},
		func() float64 {
			if n.stamper == nil {
				return 0
			}
			return n.stamper.Pending().Seconds()
		})
	// Go and process metrics come with Prometheus's default registry.
	m.reg.MustRegister(m.records, m.entries, m.height, m.verify, m.rejected, m.committed, lag, blobs,
		webhookOutbox, m.webhookDelivered, m.webhookFailed, m.refused, conns, streams, anonymous,
		m.timestamp.requests, m.timestamp.lag, pending)
	return m
}

// refuse counts a client refused for a bound of the HTTP server.
func (m *metrics) refuse(reason string) { m.refused.WithLabelValues(reason).Inc() }

// blobUsage reports the originals store's size and count from one walk of
// the store per scrape.
type blobUsage struct {
	n            *Node
	bytes, count *prometheus.Desc
}

func (b *blobUsage) Describe(ch chan<- *prometheus.Desc) { ch <- b.bytes; ch <- b.count }

func (b *blobUsage) Collect(ch chan<- prometheus.Metric) {
	count, bytes, err := b.n.home.Blobs.Usage()
	if err != nil {
		count, bytes = -1, -1
	}
	ch <- prometheus.MustNewConstMetric(b.bytes, prometheus.GaugeValue, float64(bytes))
	ch <- prometheus.MustNewConstMetric(b.count, prometheus.GaugeValue, float64(count))
}

// observe records a committed block. It runs on the consensus goroutine.
func (m *metrics) observe(b abci.CommittedBlock) {
	m.height.Set(float64(b.Height))
	if !b.Time.IsZero() {
		m.committed.Observe(time.Since(b.Time).Seconds())
	}
	ledger.EachTx(b.Txs, func(r *ledger.TxResult) {
		if r.Code != ledger.CodeOK {
			m.rejected.WithLabelValues(r.Code.String()).Inc()
			return
		}
		if r.Type == ledger.TxCheckpoint {
			return
		}
		m.entries.Inc()
		if r.Type == ledger.TxEvidence || r.Type == ledger.TxBatch {
			m.records.Add(float64(len(r.Chains)))
		}
	})
}

// checkpointLag is the committed height minus the last trusted
// checkpoint's height (-1 when it cannot be read).
func (n *Node) checkpointLag() int64 {
	lag := int64(-1)
	_ = n.withView(func(v *ledger.View, height int64) error {
		cp, err := v.LatestCheckpoint()
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			lag = height
		case err == nil:
			lag = height - cp.Checkpoint.Height
		}
		return nil
	})
	return lag
}

// handler serves GET /metrics: CometBFT's metrics (Prometheus's default
// registry) and the node's own.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{prometheus.DefaultGatherer, m.reg}, promhttp.HandlerOpts{})
}

// cometMetrics is CometBFT's metrics provider with a fallback: CometBFT
// registers its metrics on Prometheus's default registry, which accepts
// them once per process, so a second node in the same process (tests) gets
// no-op metrics instead of a panic.
func cometMetrics(inst *cmtcfg.InstrumentationConfig, log *slog.Logger) cmtnode.MetricsProvider {
	def := cmtnode.DefaultMetricsProvider(inst)
	return func(chainID string) (cs *consensus.Metrics, pm *p2p.Metrics, mm *mempool.Metrics, st *sm.Metrics, px *proxy.Metrics, bs *blocksync.Metrics, ss *statesync.Metrics) {
		defer func() {
			if r := recover(); r != nil {
				log.Warn("CometBFT's metrics are registered by another node in this process; this node exports only its own", "cause", r)
				cs, pm, mm, st, px, bs, ss = consensus.NopMetrics(), p2p.NopMetrics(), mempool.NopMetrics(), sm.NopMetrics(), proxy.NopMetrics(), blocksync.NopMetrics(), statesync.NopMetrics()
			}
		}()
		return def(chainID)
	}
}
