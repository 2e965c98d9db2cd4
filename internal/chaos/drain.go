package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/leadops/repost/queue"
)

// outcomeCount is the number of messages in the outcome stream; -1 while
// NATS does not answer.
func (r *runner) outcomeCount(ctx context.Context) int {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	s, err := r.q.JS.Stream(cctx, queue.StreamOutcomes)
	if err != nil {
		return -1
	}
	info, err := s.Info(cctx)
	if err != nil {
		return -1
	}
	return int(info.State.Msgs)
}

// progress notes when the outcome stream first holds one outcome per event
// and prints a line every 5 s.
func (r *runner) progress(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := r.outcomeCount(ctx)
		r.mu.Lock()
		if n >= r.total && r.drainedAt.IsZero() {
			r.drainedAt = time.Now()
		}
		done := !r.drainedAt.IsZero()
		r.mu.Unlock()
		if time.Since(last) >= 5*time.Second && r.o.Progress != nil {
			last = time.Now()
			fmt.Fprintf(r.o.Progress, "%s  %d of %d outcomes\n", last.Format("15:04:05.000"), n, r.total)
		}
		if done {
			return
		}
	}
}

// waitDrain waits until every published event has a terminal outcome in the
// stream (the count first, then a scan to be sure), restarting replicas
// that die meanwhile. ctx carries the run's bound.
func (r *runner) waitDrain(ctx context.Context) error {
	lastScan := time.Time{}
	for {
		if err := r.revive(); err != nil {
			return err
		}
		if n := r.outcomeCount(ctx); n >= r.total && time.Since(lastScan) > 5*time.Second {
			lastScan = time.Now()
			if r.decided(ctx) {
				r.moment("every event has an outcome")
				return nil
			}
		}
		select {
		case <-ctx.Done():
			r.moment("bound reached before the drain ended")
			return nil // the accounting reports what is missing
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// decided reports whether every published event has a terminal outcome.
func (r *runner) decided(ctx context.Context) bool {
	outs, err := readOutcomes(ctx, r.q)
	if err != nil {
		return false
	}
	seen := map[string]bool{}
	for _, o := range outs {
		if _, ok := r.meta[o.EventID]; ok && o.Kind.Terminal() {
			seen[o.EventID] = true
		}
	}
	return len(seen) == len(r.meta)
}
