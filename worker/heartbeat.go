package worker

import (
	"context"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/leadops/repost/queue"
)

// DefaultHeartbeat is how often a replica announces itself in REPOST_EVENTS.
const DefaultHeartbeat = 5 * time.Second

// recentSpan is the span of the outcome and call counts a heartbeat carries.
const recentSpan = 5 * time.Minute

// heartbeat announces the replica every interval, with the events it holds
// and what it finished over the last five minutes (read from its own
// counters, so the hot path pays nothing). Readers drop a heartbeat older
// than queue.StaleAfter intervals; a clean shutdown withdraws it.
type heartbeat struct {
	w       *Worker
	every   time.Duration
	host    string
	started time.Time
	samples []sample // cumulative counts, oldest first, over recentSpan
}

type sample struct {
	at     time.Time
	counts map[string]queue.RecentCounts
}

// newHeartbeat is the heartbeat component: it announces at once, then
// every interval until stopped, and its stop withdraws the heartbeat. Run
// stops it last, after the drain.
func (w *Worker) newHeartbeat() *component {
	host, _ := os.Hostname()
	every := w.cfg.Heartbeat
	if every <= 0 {
		every = DefaultHeartbeat
	}
	h := &heartbeat{w: w, every: every, host: host, started: w.cfg.Now()}
	c := newComponent("heartbeat", h.run)
	c.after = func() {
		wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer wcancel()
		if err := w.q.Withdraw(wctx, w.cfg.Owner); err != nil {
			w.log.Warn("heartbeat: withdraw failed; readers drop it once stale", zap.Error(err))
		}
	}
	return c
}

func (h *heartbeat) run(ctx context.Context) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		h.announce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (h *heartbeat) announce(ctx context.Context) {
	w, now := h.w, h.w.cfg.Now()
	counts := h.w.m.recentCounts()
	h.samples = append(h.samples, sample{at: now, counts: counts})
	// Keep the newest sample at or before now-recentSpan as the base.
	for len(h.samples) > 1 && !h.samples[1].at.After(now.Add(-recentSpan)) {
		h.samples = h.samples[1:]
	}
	base := h.samples[0]
	hb := queue.Heartbeat{ID: w.cfg.Owner, Host: h.host, Version: w.cfg.Version, StartedAt: h.started,
		SeenAt: now, Every: h.every, InFlight: map[string]int{}, Recent: map[string]queue.RecentCounts{},
		Span: now.Sub(base.at)}
	for id := range w.subs {
		hb.Subscriptions = append(hb.Subscriptions, id)
		hb.InFlight[id] = int(gaugeValue(w.m.inflight.WithLabelValues(id)))
		c, b := counts[id], base.counts[id]
		hb.Recent[id] = queue.RecentCounts{Reposted: c.Reposted - b.Reposted, Parked: c.Parked - b.Parked,
			Skipped: c.Skipped - b.Skipped, Rejected: c.Rejected - b.Rejected, Calls: c.Calls - b.Calls}
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := w.q.Announce(actx, hb); err != nil && ctx.Err() == nil {
		w.log.Warn("heartbeat failed", zap.Error(err))
	}
}

// recentCounts reads the cumulative outcome and call counters by subscription.
func (m *metrics) recentCounts() map[string]queue.RecentCounts {
	out := map[string]queue.RecentCounts{}
	collect(m.events, func(labels map[string]string, v float64) {
		c := out[labels["subscription"]]
		switch labels["outcome"] {
		case "reposted":
			c.Reposted += int(v)
		case "parked":
			c.Parked += int(v)
		case "skipped":
			c.Skipped += int(v)
		case "rejected":
			c.Rejected += int(v)
		}
		out[labels["subscription"]] = c
	})
	collect(m.calls, func(labels map[string]string, v float64) {
		c := out[labels["subscription"]]
		c.Calls += int(v)
		out[labels["subscription"]] = c
	})
	return out
}

func collect(c prometheus.Collector, fn func(map[string]string, float64)) {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || d.Counter == nil {
			continue
		}
		labels := map[string]string{}
		for _, l := range d.Label {
			labels[l.GetName()] = l.GetValue()
		}
		fn(labels, d.Counter.GetValue())
	}
}

func gaugeValue(g prometheus.Gauge) float64 {
	var d dto.Metric
	if g.Write(&d) != nil || d.Gauge == nil {
		return 0
	}
	return d.Gauge.GetValue()
}
