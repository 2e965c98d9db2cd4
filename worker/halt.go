package worker

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// maybeProbe checks, at most once per probe interval, whether a halted
// subscription works again, and lifts the halt for every replica when it does.
func (s *subRunner) maybeProbe(ctx context.Context) {
	s.mu.Lock()
	due := s.halted && s.w.cfg.Now().Sub(s.lastProbe) >= s.w.cfg.ProbeInterval
	if due {
		s.lastProbe = s.w.cfg.Now()
	}
	s.mu.Unlock()
	if !due {
		return
	}
	// Another replica may have lifted it already.
	snap, err := s.w.lim.Snapshot(ctx, s.sub.ID, s.sub.Limits)
	if err == nil && !snap.Halted {
		s.resume()
		return
	}
	if s.sub.Probe == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.sub.Probe(pctx); err != nil {
		s.w.log.Warn("subscription still halted", zap.String("subscription", s.sub.ID), zap.Error(err))
		return
	}
	if err := s.w.lim.Resume(ctx, s.sub.ID); err != nil && !errors.Is(err, context.Canceled) {
		s.w.log.Warn("resume failed", zap.Error(err))
		return
	}
	s.resume()
}

func (s *subRunner) resume() {
	s.mu.Lock()
	s.halted = false
	s.gateUntil = time.Time{}
	s.mu.Unlock()
	s.w.setHalt(s.sub.ID, "")
	s.w.log.Info("subscription resumed", zap.String("subscription", s.sub.ID))
}

// setHalt records a halt (reason) or its end ("") for /readyz and metrics.
func (w *Worker) setHalt(sub, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if reason == "" {
		delete(w.halts, sub)
		w.m.halted.WithLabelValues(sub).Set(0)
		return
	}
	w.halts[sub] = reason
	w.m.halted.WithLabelValues(sub).Set(1)
}

// gateWait is how long this subscription must not fetch. A halted one
// stays closed until a probe (maybeProbe) lifts the halt.
func (s *subRunner) gateWait() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halted {
		return s.w.cfg.ProbeInterval
	}
	if _, paused := s.w.heldBy(s.sub.ID); paused {
		return time.Second // read again each second: a resume or an expired --until lifts it
	}
	return s.gateUntil.Sub(s.w.cfg.Now())
}

func (s *subRunner) closeGate(d time.Duration, reason string, halted bool) {
	s.mu.Lock()
	until := s.w.cfg.Now().Add(d)
	if until.After(s.gateUntil) {
		s.gateUntil, s.gateReason = until, reason
	}
	if halted {
		s.halted = true
	}
	s.mu.Unlock()
	if halted {
		s.w.setHalt(s.sub.ID, reason)
	}
}
