package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The tail of a drain under a binding limit: once a subscription's stream
// has nothing left to deliver, every replica still holds a remainder of
// each group, and each remainder would leave as a partial call of its own
// (three replicas, two groups: six calls where two would do, each one a
// call the window lacks). One replica, the tail's collector, gathers them
// instead.
//
// The collector is the replica that first takes the tail claim (tailKey)
// once a fetch finds nothing left to deliver while the limit binds (an
// admission was refused for the window or concurrency within a window); it
// keeps the claim by claiming it again at each such fetch, and loses it
// tailWindows after the last. Every other replica that gets there, finding
// the claim taken:
//   - hands back what it holds of groups too small to fill a call (a Nak,
//     redelivered at once; no copy is made), and later any partial batch
//     that waits for admission with nothing more of its group in the pool;
//   - fetches nothing for tailWindows, or until events come to deliver
//     again, so that the collector, fetching, takes the remainders and
//     fills its calls with them.
//
// Full calls leave from wherever they are. A collector that dies leaves
// the claim to expire, and the replicas holding back fetch again after
// tailWindows at most. Without a binding limit none of this happens: a
// partial call then costs nothing, and a lone event leaves after a linger.

// tailKey is the claim of the tail's collector: lookup keys always hold
// '=', so it never clashes with one.
const tailKey = "tail"

// tailWindows, in guarded windows, is how long the tail claim lasts and
// how long a replica that handed its remainder over fetches nothing.
const tailWindows = 2

// errTailHandOver ends a wait for admission: the batch was handed to the
// tail's collector.
var errTailHandOver = errors.New("handed to the tail's collector")

// tailState is one subscription's part in the tail: until when this
// replica fetches nothing (another collects the tail), and when an
// admission was last refused for the window or concurrency (the limit is
// binding: only then is a partial call worth saving).
type tailState struct {
	mu        sync.Mutex
	until     time.Time
	refusedAt time.Time
}

func (s *subRunner) tailSpan() time.Duration {
	return tailWindows * s.sub.Limits.Window // guarded already
}

func (s *subRunner) tailOwner() string { return s.w.cfg.Owner + "/tail" }

// refused records a refusal for the window or concurrency.
func (s *subRunner) refused() {
	s.tail.mu.Lock()
	s.tail.refusedAt = time.Now()
	s.tail.mu.Unlock()
}

// binding reports whether an admission was refused for the window or
// concurrency within the last guarded window.
func (s *subRunner) binding() bool {
	s.tail.mu.Lock()
	defer s.tail.mu.Unlock()
	return !s.tail.refusedAt.IsZero() && time.Since(s.tail.refusedAt) < s.sub.Limits.Window
}

// collector reports whether this replica collects the tail: it holds the
// tail claim, or took it now. Otherwise (another replica holds it) this
// replica fetches nothing for tailSpan, unless events come to deliver.
// An unanswered limiter counts as collecting: nothing is held back on a
// guess.
func (s *subRunner) collector(ctx context.Context) bool {
	got, err := s.w.lim.Claim(ctx, s.sub.ID, s.tailOwner(), []string{tailKey}, s.tailSpan())
	if err != nil || len(got) != 1 || got[0] {
		return true
	}
	s.tail.mu.Lock()
	s.tail.until = time.Now().Add(s.tailSpan())
	s.tail.mu.Unlock()
	// What this replica holds of groups too small to fill a call goes to
	// the collector now, not after this replica's full calls have left:
	// by then the collector has sent its own partial calls.
	if items := s.pool.takePartial(); len(items) > 0 {
		s.w.m.tailHandOvers.WithLabelValues(s.sub.ID).Inc()
		s.handBack(items, 0)
	}
	return false
}

// atTail is told by a fetch that found nothing left to deliver: under a
// binding limit, the replica that first gets here collects the tail, and
// the others stop fetching (collector).
func (s *subRunner) atTail(ctx context.Context) {
	if s.binding() {
		s.collector(ctx)
	}
}

// handOverTail reports whether the batch c waits for, partial, while the
// limit binds (form asks before each admission attempt after a refusal,
// and before the first when this replica was refused lately), is to go to
// the tail's collector: nothing of its group is
// left in the pool, nothing more is being delivered (here, or to the
// stream's consumer at all), and another replica holds the tail claim.
// When this replica holds the claim, or can take it, it is the collector
// and keeps the batch.
func (s *subRunner) handOverTail(ctx context.Context, c *call) bool {
	b := c.b
	if b == nil || len(b.items) == 0 || b.records >= s.w.cfg.BatchSize {
		return false
	}
	if s.pool.groupLen(b.items[0].group) > 0 || s.pool.isIncoming() {
		return false
	}
	if pending, known := s.undelivered(ctx); pending || !known || s.collector(ctx) {
		return false
	}
	s.w.m.tailHandOvers.WithLabelValues(s.sub.ID).Inc()
	s.w.log.Debug("tail: partial batch handed to the collector", zap.String("subscription", s.sub.ID), zap.Int("leads", b.records))
	return true
}

// tailHeld reports how long the fetch loop is to wait, another replica
// collecting the tail (0: fetch). Events to deliver end the wait at once:
// they are the stream's, not the tail's.
func (s *subRunner) tailHeld(ctx context.Context) time.Duration {
	s.tail.mu.Lock()
	left := time.Until(s.tail.until)
	s.tail.mu.Unlock()
	if left <= 0 {
		return 0
	}
	if pending, known := s.undelivered(ctx); pending || !known { // unknown: fetch, rather than hold on a guess
		s.tail.mu.Lock()
		s.tail.until = time.Time{}
		s.tail.mu.Unlock()
		return 0
	}
	return left
}

// dropTail gives the tail claim up (SIGTERM): another replica collects.
func (s *subRunner) dropTail(ctx context.Context) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = s.w.lim.Unclaim(uctx, s.sub.ID, s.tailOwner(), []string{tailKey})
}
