package worker

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/quota"
)

// Quota pacing (issue 13 point 8). A steady trickle of events, each call
// leaving after one linger with a few leads, would spend the daily quota
// hours before the 00:00 America/Chicago reset: every event after it then
// waits for the reset (607), and the DAP pipeline sharing the instance
// finds its share gone. The pool therefore holds a partial batch until the
// subscription's pacer allows the next partial call: no more calls than
// the quota left ÷ the time to the reset, so batches wait longer and carry
// more. The pace binds only when the spending would use the quota up before
// the reset (quota.Pacer's bucket); a quiet subscription and a drain never
// wait for it. Full batches (300 leads, or unable to take their next event)
// are not paced: waiting adds no lead to them, and what they spend lowers
// the quota left, so the partial calls after them slow down.
//
// What is left comes from the shared limiter (every replica's calls),
// read every GaugeInterval and lowered locally by each call this replica
// takes meanwhile; the rate is shared by the replicas announcing the
// subscription in their heartbeats. A partial batch is never held by the
// pace longer than maxPaceHold (at most half the expiry margin), so pacing
// never lets an event age out of POSTOUT_FAILED unparked.

// pacer holds partial batches back for the quota's pace; the pool asks it
// under its lock, so its methods do no I/O.
type pacer interface {
	// wait is how long a partial batch whose oldest event entered the pool
	// at first must still wait at now (0: it may leave).
	wait(now, first time.Time) time.Duration
	// took records a call taken from the pool at now; partial: it was
	// neither full nor unable to fill.
	took(now time.Time, partial bool)
}

var _ pacer = (*pacing)(nil)

// maxPaceHold bounds the pace's hold of one batch.
const maxPaceHold = time.Hour

// sharesEvery is how many budget refreshes pass between readings of the
// replicas serving the subscription.
const sharesEvery = 6

// pacing is one subscription's pacer, on the budget the limiter last gave.
type pacing struct {
	maxHold time.Duration

	mu     sync.Mutex
	p      quota.Pacer
	budget quota.Budget // ResetAt on this process's clock
	known  bool         // a budget was read: until then nothing is paced
}

func newPacing(maxHold time.Duration) *pacing { return &pacing{maxHold: maxHold} }

// observe takes the limiter's view of the day, read at local time at. The
// reset is moved to this process's clock by the store's offset from it.
func (pc *pacing) observe(snap quota.Snapshot, at time.Time, shares int) {
	reset := snap.ResetAt
	if !snap.Now.IsZero() {
		reset = reset.Add(at.Sub(snap.Now))
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.budget = quota.Budget{Left: snap.QuotaLeft(), ResetAt: reset, Shares: shares}
	pc.known = true
}

func (pc *pacing) wait(now, first time.Time) time.Duration {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if !pc.known {
		return 0
	}
	held := now.Sub(first)
	if held >= pc.maxHold {
		return 0
	}
	return min(pc.p.Wait(now, pc.budget), pc.maxHold-held)
}

func (pc *pacing) took(now time.Time, partial bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if !pc.known {
		return
	}
	if partial {
		pc.p.Spend(now, pc.budget)
	}
	pc.budget.Left = max(0, pc.budget.Left-1)
}

// state is the budget pacing works on, and whether one was read yet.
func (pc *pacing) state() (quota.Budget, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.budget, pc.known
}

// binding reports whether a partial call would wait for the pace at now,
// and the pace: one partial call per interval.
func (pc *pacing) binding(now time.Time) (bool, time.Duration) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	b := pc.budget
	if !pc.known || b.Left <= 0 || !b.ResetAt.After(now) {
		return false, 0
	}
	return pc.p.Wait(now, b) > 0, b.ResetAt.Sub(now) * time.Duration(max(1, b.Shares)) / time.Duration(b.Left)
}

// startPacing reads the day's budget once (so that the first batches are
// paced) and then every GaugeInterval until ctx ends.
func (s *subRunner) startPacing(ctx context.Context) *pacing {
	pc := newPacing(min(maxPaceHold, s.w.cfg.ExpireMargin/2))
	shares, paced := 1, false
	refresh := func(n int) {
		if n%sharesEvery == 0 {
			shares = s.replicaShares(ctx, shares)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		snap, err := s.w.lim.Snapshot(rctx, s.sub.ID, s.sub.Limits)
		if err != nil {
			return // the last budget stands; admission fails closed anyway
		}
		now := time.Now()
		pc.observe(snap, now, shares)
		if on, every := pc.binding(now); on != paced {
			paced = on
			s.logPace(on, every, snap, shares)
		}
	}
	refresh(0)
	go func() {
		t := time.NewTicker(s.w.cfg.GaugeInterval)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				refresh(n)
			}
		}
	}()
	return pc
}

// replicaShares is how many live replicas serve the subscription (this
// one at least), by their heartbeats; last when they cannot be read.
func (s *subRunner) replicaShares(ctx context.Context, last int) int {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	hs, err := s.w.q.Replicas(rctx, s.w.cfg.Now())
	if err != nil {
		s.w.log.Debug("replicas unreadable; pacing keeps its share", zap.String("subscription", s.sub.ID), zap.Error(err))
		return last
	}
	n := 0
	for _, h := range hs {
		if h.ID != s.w.cfg.Owner && slices.Contains(h.Subscriptions, s.sub.ID) {
			n++
		}
	}
	return n + 1
}

// logPace logs the pace starting or ceasing to hold partial calls.
func (s *subRunner) logPace(on bool, every time.Duration, snap quota.Snapshot, shares int) {
	if !on {
		s.w.log.Info("quota pacing no longer holds partial calls", zap.String("subscription", s.sub.ID))
		return
	}
	s.w.log.Info("quota pacing: partial calls wait and carry more, to last the day's quota until the reset",
		zap.String("subscription", s.sub.ID), zap.Int("quotaLeft", snap.QuotaLeft()),
		zap.Time("resetAt", snap.ResetAt), zap.Int("replicas", shares), zap.Duration("onePartialCallPer", every))
}
