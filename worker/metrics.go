package worker

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's Prometheus series; their names are part of the
// deployment contract (alerts and dashboard, docs/DESIGN.md).
type metrics struct {
	events        *prometheus.CounterVec
	calls         *prometheus.CounterVec
	callDuration  *prometheus.HistogramVec
	leadsPerCall  *prometheus.HistogramVec
	admissionWait *prometheus.HistogramVec
	denied        *prometheus.CounterVec
	parked        *prometheus.CounterVec
	exhausted     *prometheus.CounterVec
	quotaUsed     *prometheus.GaugeVec
	quotaLimit    *prometheus.GaugeVec
	inflight      *prometheus.GaugeVec
	inflightBytes *prometheus.GaugeVec
	halted        *prometheus.GaugeVec
	effectiveConc *prometheus.GaugeVec
	backlog       *prometheus.GaugeVec
	buildInfo     *prometheus.GaugeVec
	stateLost     *prometheus.CounterVec
	marksRestored *prometheus.CounterVec
	tailHandOvers *prometheus.CounterVec
	storeUp       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	sub := []string{"subscription"}
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "repost_events_total", Help: "Failed post-out events by terminal outcome and code.",
		}, []string{"subscription", "outcome", "code"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "repost_marketo_calls_total", Help: "Marketo calls by endpoint and answer code (ok on success).",
		}, []string{"subscription", "endpoint", "code"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "repost_marketo_call_duration_seconds", Help: "Duration of Marketo lead calls.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, sub),
		leadsPerCall: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "repost_leads_per_call", Help: "Leads sent per Marketo call.",
			Buckets: []float64{1, 10, 50, 100, 200, 250, 300},
		}, sub),
		admissionWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "repost_admission_wait_seconds", Help: "Time a ready call waited for admission by the shared limits.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, sub),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "repost_admission_denied_total", Help: "Admission refusals by the limit that refused.",
		}, []string{"subscription", "limit"}),
		parked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "repost_parked_total", Help: "Leads parked for a human, by code.",
		}, []string{"subscription", "code"}),
		exhausted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "repost_retries_exhausted_total", Help: "Leads parked because their retries ran out.",
		}, sub),
		quotaUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_quota_used", Help: "Daily quota used by repost today (America/Chicago day).",
		}, sub),
		quotaLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_quota_limit", Help: "Daily quota configured for repost.",
		}, sub),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_inflight_events", Help: "Events fetched and not yet finished.",
		}, sub),
		inflightBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_inflight_bytes", Help: "Data bytes of the events fetched and not yet finished (bounded by MaxHeldBytes and one message).",
		}, sub),
		halted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_subscription_halted", Help: "1 while a subscription is halted (603, identity 401).",
		}, sub),
		effectiveConc: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_effective_concurrency", Help: "Concurrency currently allowed after 615 penalties.",
		}, sub),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_backlog_events", Help: "Events of the subscription's consumer not yet acked: pending plus ack-pending, as last read.",
		}, sub),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_build_info", Help: "Build information.",
		}, []string{"version"}),
		stateLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "repost_limits_state_lost_total", Help: "Losses of a subscription's limits state in Redis (its epoch key gone), as found by this replica.",
		}, sub),
		marksRestored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "repost_success_marks_restored_total", Help: "Success marks read back from NATS into Redis after a loss of the limits state, by this replica.",
		}, sub),
		tailHandOvers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "repost_tail_handovers_total", Help: "Partial batches handed back to the tail's collector under a binding limit, by this replica.",
		}, sub),
	}
	reg.MustRegister(m.events, m.calls, m.callDuration, m.leadsPerCall, m.admissionWait,
		m.denied, m.parked, m.exhausted, m.quotaUsed, m.quotaLimit, m.inflight,
		m.inflightBytes, m.halted, m.effectiveConc, m.backlog, m.buildInfo, m.stateLost, m.marksRestored,
		m.tailHandOvers)
	return m
}

// initSeries creates a subscription's series at zero, so that dashboards
// and alerts see 0 rather than nothing before the first event.
func (m *metrics) initSeries(sub string) {
	m.exhausted.WithLabelValues(sub)
	m.quotaUsed.WithLabelValues(sub)
	m.inflight.WithLabelValues(sub)
	m.inflightBytes.WithLabelValues(sub)
	m.callDuration.WithLabelValues(sub)
	m.leadsPerCall.WithLabelValues(sub)
	m.admissionWait.WithLabelValues(sub)
	m.stateLost.WithLabelValues(sub)
	m.marksRestored.WithLabelValues(sub)
	m.tailHandOvers.WithLabelValues(sub)
	for _, l := range []string{"quota", "window", "concurrency", "blocked", "halted", "unavailable", "lost", "restore"} {
		m.denied.WithLabelValues(sub, l)
	}
}

// setBacklog records a consumer's backlog: what KEDA's nats-jetstream
// scaler reads as its lag, so the dashboard shows what the autoscaler sees.
// Left at the last value read when the consumer info cannot be read.
func (m *metrics) setBacklog(sub string, info *jetstream.ConsumerInfo) {
	m.backlog.WithLabelValues(sub).Set(float64(info.NumPending) + float64(info.NumAckPending))
}

// watchLimitsStore registers repost_limits_store_up: 1 while the store of
// the shared limits answers. Only Redis can be unreachable (then the
// replica admits no call); in-process limits are always up.
func (m *metrics) watchLimitsStore(reg prometheus.Registerer, lim Limiter) {
	m.storeUp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "repost_limits_store_up", Help: "1 while the shared limits' store (Redis) answers a ping, every gauge interval; always 1 with in-process limits.",
	})
	reg.MustRegister(m.storeUp)
	if _, ok := lim.(pinger); !ok {
		m.storeUp.Set(1)
	}
}

// pingLimitsStore sets repost_limits_store_up from one ping of Redis.
func (w *Worker) pingLimitsStore(ctx context.Context) {
	p, ok := w.lim.(pinger)
	if !ok {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	err := p.Ping(pctx)
	cancel()
	switch {
	case err == nil:
		w.m.storeUp.Set(1)
	case ctx.Err() == nil: // not a ping cut short by shutdown
		w.m.storeUp.Set(0)
	}
}
