package worker

import (
	"context"
	"time"
)

// runGauges refreshes, every interval, the gauges read from the shared
// limiter (quota used and effective concurrency per subscription, whether
// Redis answers) and each subscription's backlog, read from its consumer.
func (w *Worker) runGauges(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		w.pingLimitsStore(ctx)
		for _, s := range w.subs {
			if info, err := s.cons.Info(ctx); err == nil {
				w.m.setBacklog(s.sub.ID, info)
			}
			snap, err := w.lim.Snapshot(ctx, s.sub.ID, s.sub.Limits)
			if err != nil {
				continue
			}
			w.m.quotaUsed.WithLabelValues(s.sub.ID).Set(float64(snap.QuotaUsed))
			w.m.effectiveConc.WithLabelValues(s.sub.ID).Set(float64(snap.EffectiveConcurrency))
			if snap.Halted {
				w.setHalt(s.sub.ID, snap.HaltReason)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
