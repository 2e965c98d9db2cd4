package worker

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/leadops/repost/queue"
)

// DefaultPausePoll is how often a replica reads the operators' pauses.
const DefaultPausePoll = 2 * time.Second

// pauses are the operators' holds (repostctl subscription pause), read from
// REPOST_EVENTS every poll by every replica, so that they hold the whole
// fleet and survive a Redis loss. A subscription in force is gated like a
// halt: nothing is fetched, a partial batch is deferred, calls already
// admitted finish. An expired --until lifts it without a write. When the
// bucket cannot be read, the last pauses read stay in force.
type pauses struct {
	mu     sync.Mutex
	byID   map[string]queue.Pause
	paused *prometheus.GaugeVec
	until  *prometheus.GaugeVec
}

func newPauses(reg prometheus.Registerer, subs map[string]*subRunner) *pauses {
	p := &pauses{byID: map[string]queue.Pause{},
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_subscription_paused", Help: "1 while an operator's pause holds a subscription (repostctl subscription pause).",
		}, []string{"subscription"}),
		until: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "repost_subscription_pause_until_seconds", Help: "Unix time a pause ends by itself; 0 when it holds until resumed.",
		}, []string{"subscription"}),
	}
	reg.MustRegister(p.paused, p.until)
	for id := range subs {
		p.paused.WithLabelValues(id).Set(0)
		p.until.WithLabelValues(id).Set(0)
	}
	return p
}

// heldBy returns the pause in force on sub at now.
func (w *Worker) heldBy(sub string) (queue.Pause, bool) {
	w.pauses.mu.Lock()
	p, ok := w.pauses.byID[sub]
	w.pauses.mu.Unlock()
	if !ok || !p.InForce(w.cfg.Now()) {
		return queue.Pause{}, false
	}
	return p, true
}

// pausedNow lists the pauses in force, for /readyz.
func (w *Worker) pausedNow() map[string]queue.Pause {
	out := map[string]queue.Pause{}
	for id := range w.subs {
		if p, ok := w.heldBy(id); ok {
			out[id] = p
		}
	}
	return out
}

// readPauses reads every subscription's pause once.
func (w *Worker) readPauses(ctx context.Context) {
	for id := range w.subs {
		p, ok, err := w.q.GetPause(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("cannot read pauses; the last ones read stay in force", zap.Error(err))
			}
			return
		}
		w.pauses.mu.Lock()
		old, had := w.pauses.byID[id]
		if ok {
			w.pauses.byID[id] = p
		} else {
			delete(w.pauses.byID, id)
		}
		w.pauses.mu.Unlock()
		if ok != had || old != p {
			w.logPause(id, p, ok)
		}
		w.setPauseGauges(id)
	}
}

func (w *Worker) logPause(id string, p queue.Pause, ok bool) {
	if ok && p.InForce(w.cfg.Now()) {
		w.log.Info("subscription paused by an operator", zap.String("subscription", id),
			zap.String("actor", p.Actor), zap.String("reason", p.Reason), zap.Time("until", p.Until))
		return
	}
	w.log.Info("subscription not paused", zap.String("subscription", id))
}

func (w *Worker) setPauseGauges(id string) {
	p, ok := w.heldBy(id)
	if !ok {
		w.pauses.paused.WithLabelValues(id).Set(0)
		w.pauses.until.WithLabelValues(id).Set(0)
		return
	}
	w.pauses.paused.WithLabelValues(id).Set(1)
	if !p.Until.IsZero() {
		w.pauses.until.WithLabelValues(id).Set(float64(p.Until.Unix()))
	}
}

// runPauses reads the pauses every poll until ctx ends.
func (w *Worker) runPauses(ctx context.Context) {
	every := w.cfg.PausePoll
	if every <= 0 {
		every = DefaultPausePoll
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.readPauses(ctx)
		}
	}
}

// pauseDetail writes the pauses in force for /readyz; nil when none.
func pauseDetail(ps map[string]queue.Pause) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	out := map[string]string{}
	for id, p := range ps {
		d := p.Reason + " (by " + p.Actor
		if !p.Until.IsZero() {
			d += ", until " + p.Until.UTC().Format(time.RFC3339)
		}
		out[id] = d + ")"
	}
	return out
}

// unlessPaused hands back what a fetch returned after a pause was read
// while the fetch waited: a paused subscription starts no new work.
func (s *subRunner) unlessPaused(msgs []jetstream.Msg) []jetstream.Msg {
	if len(msgs) == 0 {
		return msgs
	}
	if _, paused := s.w.heldBy(s.sub.ID); !paused {
		return msgs
	}
	for _, m := range msgs {
		_ = m.Nak()
	}
	s.done(msgs...)
	return nil
}
