package worker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
)

// POSTOUT_FAILED drops events older than its max age (14 days), outcome or
// not. An event still waiting that long (its subscription halted, paused or
// blocked for days; a copy deferred by a halt restarts the clock, but sits
// unfetched while the halt lasts) would vanish without a terminal outcome.
// The expiry loop gives it one first: every ExpireScan it looks at the
// oldest event each subscription's consumer has not acknowledged, and when
// that one is within ExpireMargin of the max age it takes the consumer's
// oldest events and parks those past the line as expired, with the
// subscription's state as the reason; `repostctl parked requeue --code
// expired` replays them. The same look sets repost_oldest_event_age_seconds.

// Defaults of the expiry loop.
const (
	DefaultExpireMargin = 24 * time.Hour
	DefaultExpireScan   = time.Minute
)

// expiry holds the loop's gauge.
type expiry struct {
	oldest *prometheus.GaugeVec
}

func newExpiry(reg prometheus.Registerer, subs map[string]*subRunner) *expiry {
	e := &expiry{oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "repost_oldest_event_age_seconds",
		Help: "Age of the oldest failed event of a subscription not yet acknowledged (0: none); events are parked as expired once it nears POSTOUT_FAILED's max age.",
	}, []string{"subscription"})}
	reg.MustRegister(e.oldest)
	for id := range subs {
		e.oldest.WithLabelValues(id).Set(0)
	}
	return e
}

// checkExpiry refuses a margin that would expire every event at once.
func (w *Worker) checkExpiry(maxAge time.Duration) error {
	if maxAge > 0 && w.cfg.ExpireMargin >= maxAge {
		return errors.New("worker: the expiry margin (worker.expireMargin " + w.cfg.ExpireMargin.String() +
			") must be below POSTOUT_FAILED's max age " + maxAge.String())
	}
	return nil
}

// runExpiry looks at every subscription each ExpireScan until ctx ends.
func (w *Worker) runExpiry(ctx context.Context, maxAge time.Duration) {
	for ctx.Err() == nil {
		for _, s := range w.subs {
			if err := s.expireOld(ctx, maxAge); err != nil && ctx.Err() == nil {
				w.log.Warn("expiry check failed; trying again", zap.String("subscription", s.sub.ID), zap.Error(err))
			}
		}
		sleepCtx(ctx, w.cfg.ExpireScan)
	}
}

// expireOld sets the oldest event's age and parks the events past the line.
func (s *subRunner) expireOld(ctx context.Context, maxAge time.Duration) error {
	info, err := s.cons.Info(ctx)
	if err != nil {
		return err
	}
	oldest, ok, err := s.w.q.OldestFailed(ctx, s.sub.ID, info.AckFloor.Stream+1)
	if err != nil {
		return err
	}
	now := s.w.cfg.Now()
	age := time.Duration(0)
	if ok {
		age = max(now.Sub(oldest), 0)
	}
	s.w.expiry.oldest.WithLabelValues(s.sub.ID).Set(age.Seconds())
	if maxAge <= 0 || !ok || age < maxAge-s.w.cfg.ExpireMargin {
		return nil
	}
	line := now.Add(-(maxAge - s.w.cfg.ExpireMargin))
	for ctx.Err() == nil {
		n, err := s.expireBatch(ctx, line, maxAge)
		if err != nil || n == 0 {
			return err
		}
	}
	return nil
}

// expireBatch takes up to a batch of the consumer's events (oldest first),
// parks those published before line and hands the others back at once. It
// returns how many it parked. A replica serving the subscription meanwhile
// loses nothing: what it holds is not delivered here.
func (s *subRunner) expireBatch(ctx context.Context, line time.Time, maxAge time.Duration) (int, error) {
	mb, err := s.cons.Fetch(100, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		return 0, err
	}
	var old []jetstream.Msg
	for m := range mb.Messages() {
		md, err := m.Metadata()
		if err != nil || !md.Timestamp.Before(line) {
			_ = m.Nak()
			continue
		}
		old = append(old, m)
	}
	if len(old) == 0 {
		return 0, nil
	}
	f, now, why := s.w.newFinisher(), s.w.cfg.Now(), s.waitingBecause()
	for _, m := range old {
		p := s.decodeOne(ctx, m, f) // an invalid event is parked as such
		if p == nil {
			continue
		}
		md, _ := m.Metadata()
		f.park(m, p.raw, p.ev, s.sub.ID, repost.ParkInfo{Code: policy.CodeExpired, Attempts: p.st.Attempts, ParkedAt: now,
			Reason: "about to age out of POSTOUT_FAILED (max age " + maxAge.String() + ", waiting since " +
				md.Timestamp.UTC().Format(time.RFC3339) + ") while the subscription " + why},
			repost.KindParked, p.hadState)
	}
	if err := f.flush(ctx); err != nil {
		return 0, err
	}
	s.w.log.Warn("parked events about to age out of POSTOUT_FAILED as expired",
		zap.String("subscription", s.sub.ID), zap.Int("events", len(old)), zap.String("state", why))
	return len(old), nil
}

// waitingBecause says why the subscription's events waited, for the reason
// of an expired event.
func (s *subRunner) waitingBecause() string {
	if p, ok := s.w.heldBy(s.sub.ID); ok {
		return "was paused by " + p.Actor + ": " + p.Reason
	}
	s.w.mu.Lock()
	halt, halted := s.w.halts[s.sub.ID]
	s.w.mu.Unlock()
	if halted {
		return "was halted: " + halt
	}
	s.mu.Lock()
	until, reason := s.gateUntil, s.gateReason
	s.mu.Unlock()
	if until.After(s.w.cfg.Now()) {
		return "was blocked until " + until.UTC().Format(time.RFC3339) + ": " + reason
	}
	return "had a backlog that long"
}
