package api

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pace"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// metrics is the server's private Prometheus registry.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	stage     *prometheus.HistogramVec
	stageTip  *prometheus.GaugeVec
	tipHeight atomic.Int64
	tipTime   atomic.Int64 // unix seconds of the tip block's header
	// The live path (run.go): the follower's lag and availability, the
	// alerts the alert stage stored and the webhook deliveries attempted.
	followLag  atomic.Int64 // blocks behind the node; -1 before the first round
	nodeDown   prometheus.Counter
	alerts     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
}

func newMetrics(pl *pipeline.Pipeline, p *pace.Pacer) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.tipHeight.Store(-1)
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sleuth_http_requests_total", Help: "HTTP requests by route pattern and status code.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sleuth_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	m.stage = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sleuth_stage_duration_seconds", Help: "Duration of each pipeline stage's update.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"stage"})
	m.stageTip = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sleuth_stage_height", Help: "Height of the store when each stage last finished.",
	}, []string{"stage"})
	tip := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sleuth_tip_height", Help: "Height of the index's best chain (-1: empty).",
	}, func() float64 { return float64(m.tipHeight.Load()) })
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sleuth_block_lag_seconds", Help: "Seconds since the tip block's header time (0 before the first block).",
	}, func() float64 {
		t := m.tipTime.Load()
		if t == 0 {
			return 0
		}
		return time.Since(time.Unix(t, 0)).Seconds()
	})
	m.followLag.Store(-1)
	followLag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sleuth_follow_lag_blocks", Help: "Blocks the node (or blocks directory) is ahead of the index after the follower's last round (-1: not following or no round yet).",
	}, func() float64 { return float64(m.followLag.Load()) })
	m.nodeDown = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sleuth_follow_unavailable_total", Help: "Follower rounds that failed because the node was unreachable, restarting or warming up.",
	})
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sleuth_alerts_total", Help: "Alert changes the alert stage stored, by event (created, invalidated, revalidated).",
	}, []string{"event"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sleuth_webhook_attempts_total", Help: "Webhook delivery attempts, by the delivery's state after it (delivered, pending: will retry, failed, disabled).",
	}, []string{"state"})
	m.reg.MustRegister(m.requests, m.latency, m.stage, m.stageTip, tip, lag, followLag, m.nodeDown, m.alerts, m.deliveries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if p != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sleuth_ingest_rested_seconds_total", Help: "Seconds the follower's ingest and the store's compactions rested for requests in flight (RunOptions.IngestShare).",
		}, func() float64 { return p.Stats().Rested.Seconds() }))
	}
	_ = pl.Read(func(db *index.DB) error {
		t := db.Tip()
		m.tipHeight.Store(t.Height)
		if b, err := db.ChainBlock(btc.Height(max(t.Height, 0))); err == nil && t.Height >= 0 {
			m.tipTime.Store(int64(b.Time))
		}
		return nil
	})
	pl.Subscribe(m.event)
	return m
}

// event records a pipeline event (called under the writer's guard).
func (m *metrics) event(e pipeline.Event) {
	switch e.Kind {
	case pipeline.BlockConnected:
		m.tipHeight.Store(e.Height)
		m.tipTime.Store(int64(e.Time))
	case pipeline.BlockDisconnected:
		m.tipHeight.Store(e.Height - 1)
	case pipeline.StageDone:
		m.stage.WithLabelValues(e.Stage).Observe(e.Duration.Seconds())
		m.stageTip.WithLabelValues(e.Stage).Set(float64(e.Height))
	case pipeline.AlertsStored:
		m.alerts.WithLabelValues("created").Add(float64(e.Alerts.Created))
		m.alerts.WithLabelValues("invalidated").Add(float64(e.Alerts.Invalidated))
		m.alerts.WithLabelValues("revalidated").Add(float64(e.Alerts.Revalidated))
	}
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
