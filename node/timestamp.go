package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/stamper"
	"github.com/evidenced/evidenced/tsa"
)

// Trusted time (issue 15): a node with [timestamp] stamp = true runs a
// stamper (package stamper), woken by the commits, that asks the TSAs of
// [[timestamp.tsa]] for RFC 3161 tokens over the latest trusted checkpoint
// and submits them. A node with timestamp.dev_tsa_dir also serves that
// development TSA on timestamp.dev_tsa_listen (evidenced testnet and make
// run configure the first member so).

// wireStamper builds the stamper when this node is a stamper.
func (n *Node) wireStamper() {
	t := n.home.Config.Timestamp
	if !t.Stamp {
		return
	}
	cfg := stamper.Config{Interval: time.Duration(t.Interval), Timeout: time.Duration(t.Timeout)}
	for _, a := range t.TSAs {
		cfg.TSAs = append(cfg.TSAs, stamper.TSA{Name: a.Name, URL: a.URL, Hash: tsa.HashAlg(a.Hash)})
		// Every result of every TSA shows, at 0 until it happens.
		for _, r := range stamper.Results() {
			n.metrics.timestamp.requests.WithLabelValues(a.Name, string(r))
		}
	}
	n.stamper = stamper.New(cfg, n.log, stampSource{n}, n.submitTimestamp, n.metrics.timestamp)
}

// stampSource is the stamper's view of committed state.
type stampSource struct{ n *Node }

// stampBehind is how far behind the wall clock the last block's time may
// be for this node to stamp: beyond it the node is catching up.
const stampBehind = 30 * time.Second

// Latest implements stamper.Source. A node that is catching up has no
// latest checkpoint to stamp yet: it waits for the next commit.
func (s stampSource) Latest(ctx context.Context) (height int64, text string, err error) {
	if s.n.rpc == nil {
		return 0, "", fmt.Errorf("%w: CometBFT is not running", stamper.ErrNoCheckpoint)
	}
	if cs, err := s.n.rpc.Status(ctx); err != nil {
		return 0, "", fmt.Errorf("CometBFT status: %w", err)
	} else if cs.SyncInfo.CatchingUp || time.Since(cs.SyncInfo.LatestBlockTime) > stampBehind {
		// Blocksync, or consensus replaying the blocks a restarted node
		// missed: its "latest" checkpoint is an old one, which the
		// stampers of the nodes that are up have stamped.
		return 0, "", fmt.Errorf("%w: this node is catching up", stamper.ErrNoCheckpoint)
	}
	err = s.n.withView(func(v *ledger.View, _ int64) error {
		cp, err := v.LatestCheckpoint()
		if err != nil {
			return err
		}
		height, text = cp.Checkpoint.Height, string(cp.Text)
		return nil
	})
	if errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrNotInitialized) {
		return 0, "", fmt.Errorf("%w: %w", stamper.ErrNoCheckpoint, err)
	}
	return height, text, err
}

// Stamped implements stamper.Source: whether a committed token stamps the
// checkpoint of height. (Timestamps are state, not log entries, so a
// token never grows the log into a checkpoint that wants a token.)
func (s stampSource) Stamped(height int64) (stamped bool, err error) {
	err = s.n.withView(func(v *ledger.View, _ int64) error {
		switch _, err := v.Timestamp(height); {
		case err == nil:
			stamped = true
		case !errors.Is(err, ledger.ErrNotFound):
			return err
		}
		return nil
	})
	return stamped, err
}

// Anchors implements stamper.Source: the TSAs of the roster in force, as
// the ledger verifies tokens against them.
func (s stampSource) Anchors() (out []tsa.Anchor, err error) {
	err = s.n.withView(func(v *ledger.View, _ int64) error {
		ts, err := v.TSAs()
		for i := range ts {
			out = append(out, ts[i].Anchor())
		}
		return err
	})
	return out, err
}

// submitTimestamp puts a stamp on chain, in a timestamp transaction signed
// with the member key, and returns once a token stamps the checkpoint.
// That may be another stamper's: two stampers ask for the same checkpoint,
// the first token committed is kept, and the other transaction is refused
// (already_stamped) in CheckTx, or dropped from the mempool when it is
// rechecked after the block, with no commit to wait for. Either way the
// checkpoint is stamped, which is what was wanted: that is no failure.
func (n *Node) submitTimestamp(ctx context.Context, st stamper.Stamp) error {
	body := &ledger.Body{ChainID: n.home.Genesis.ChainID, Time: time.Now().UnixNano(),
		Payload: &ledger.Timestamp{Height: st.Height, TSA: st.TSA, Token: st.Token}}
	tx, err := ledger.SignTx(n.home.MemberKey, rand.Reader, body)
	if err != nil {
		return fmt.Errorf("sign the timestamp with the member key: %w", err)
	}
	b := &backend{n: n}
	_, err = b.Submit(ctx, tx, false)
	var re *ledger.RejectError
	if err != nil && !(errors.As(err, &re) && re.Code == ledger.CodeAlreadyStamped) {
		return err
	}
	for {
		changed := n.changed.wait()
		var ti *ledger.TimestampInfo
		err := n.withView(func(v *ledger.View, _ int64) (err error) {
			ti, err = v.Timestamp(st.Height)
			return err
		})
		switch {
		case err == nil && bytes.Equal(ti.Token, st.Token):
			return nil
		case err == nil:
			n.log.Info("another stamper's token for the checkpoint was committed first", "height", st.Height, "tsa", ti.TSA, "accepted", ti.Accepted)
			return nil
		case !errors.Is(err, ledger.ErrNotFound):
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("the timestamp transaction for the checkpoint of height %d was accepted into the mempool but not committed: %w", st.Height, ctx.Err())
		}
	}
}

// wireDevTSA builds the server of the development TSA, when configured.
func (n *Node) wireDevTSA() {
	a := n.home.DevTSA
	if a == nil {
		return
	}
	n.devTSA = a.Server(n.log.With("component", "dev-tsa"))
}

// startDevTSA serves the development TSA on timestamp.dev_tsa_listen.
func (n *Node) startDevTSA() (net.Listener, error) {
	if n.devTSA == nil {
		return nil, nil
	}
	t, a := n.home.Config.Timestamp, n.home.DevTSA
	ln, err := tsa.Listen(t.DevTSAListen)
	if err != nil {
		return nil, fmt.Errorf("listen for the development TSA on %s (timestamp.dev_tsa_listen): %w (is another node using the port?)", t.DevTSAListen, err)
	}
	if err := a.ValidAt(time.Now()); err != nil {
		n.log.Warn("the development TSA's tokens will not verify", "dir", config.Path(n.home.Dir, t.DevTSADir), "err", err)
	}
	go func() {
		if err := n.devTSA.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Warn("the development TSA stopped serving", "err", err)
		}
	}()
	n.log.Info("development TSA serving RFC 3161 on http://"+ln.Addr().String()+"/; a production alliance points at its real TSAs",
		"tsa", a.Name(), "kind", string(a.Kind()), "dir", config.Path(n.home.Dir, t.DevTSADir))
	return ln, nil
}

// timestampMetrics are the stamper's metrics (stamper.Metrics).
type timestampMetrics struct {
	requests *prometheus.CounterVec
	lag      prometheus.Histogram
}

// Requested implements stamper.Metrics.
func (m *timestampMetrics) Requested(name string, r stamper.Result) {
	m.requests.WithLabelValues(name, string(r)).Inc()
}

// Stamped implements stamper.Metrics.
func (m *timestampMetrics) Stamped(lag time.Duration) { m.lag.Observe(lag.Seconds()) }
