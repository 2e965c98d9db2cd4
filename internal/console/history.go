package console

import (
	"context"
	"sync"
	"time"

	"github.com/leadops/repost/quota"
)

// Limiter is the part of quota.Store the chart's sampler reads.
type Limiter interface {
	// Snapshot reads one subscription's limits without changing them;
	// errors are the store's (quota.ErrUnavailable when Redis is down).
	Snapshot(ctx context.Context, sub string, lim quota.Limits) (quota.Snapshot, error)
}

var _ Limiter = quota.Store(nil)

// Sub is one configured subscription: its ID and limits.
type Sub struct {
	ID     string
	Limits quota.Limits
}

// Sample is the calls in a subscription's window at one time.
type Sample struct {
	At    time.Time
	Calls int
	Limit int
	OK    bool // false: the store did not answer (a gap in the chart)
}

// history samples every subscription's calls in window at a fixed period,
// keeping the last span of samples, whether or not anyone looks.
type history struct {
	lim   Limiter
	subs  []Sub
	every time.Duration
	span  time.Duration
	now   func() time.Time

	mu      sync.Mutex
	samples map[string][]Sample // oldest first
}

func newHistory(lim Limiter, subs []Sub, every, span time.Duration, now func() time.Time) *history {
	return &history{lim: lim, subs: subs, every: every, span: span, now: now, samples: map[string][]Sample{}}
}

// run samples until ctx ends: one Snapshot per subscription per period.
func (h *history) run(ctx context.Context) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		h.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (h *history) sample(ctx context.Context) {
	for _, s := range h.subs {
		sctx, cancel := context.WithTimeout(ctx, h.every)
		snap, err := h.lim.Snapshot(sctx, s.ID, s.Limits)
		cancel()
		smp := Sample{At: h.now(), OK: err == nil}
		if err == nil {
			smp.Calls, smp.Limit = snap.CallsInWindow, snap.WindowLimit
		}
		h.add(s.ID, smp)
	}
}

func (h *history) add(sub string, s Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := append(h.samples[sub], s)
	cut := 0
	for cut < len(list) && s.At.Sub(list[cut].At) > h.span {
		cut++
	}
	h.samples[sub] = append(list[:0:0], list[cut:]...)
}

// of returns a copy of a subscription's samples, oldest first.
func (h *history) of(sub string) []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Sample(nil), h.samples[sub]...)
}
