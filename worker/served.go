package worker

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

// A subscription missing from this replica's config may be served by
// another (a rolling deploy, configs that differ): its events are parked as
// unknown-subscription only when no replica serves it. A replica serves it
// when a live heartbeat names it, or when its durable consumer exists and,
// within UnroutedGrace, a heartbeat named it or the consumer was created,
// delivered or acknowledged. The grace covers a replica restarting
// (its heartbeat is withdrawn at shutdown) and one just starting; a
// subscription removed from every config is parked once the grace is over.

// DefaultUnroutedGrace is UnroutedGrace's default.
const DefaultUnroutedGrace = 10 * time.Minute

// servedScan is what one unrouted scan knows of the other replicas.
type servedScan struct {
	now  time.Time
	live map[string]bool // subscriptions named by a live heartbeat
}

// readServed reads the live heartbeats once per scan, and remembers when
// each subscription was last named (only the unrouted loop calls this).
func (w *Worker) readServed(ctx context.Context) (servedScan, error) {
	now := w.cfg.Now()
	hbs, err := w.q.Replicas(ctx, now)
	if err != nil {
		return servedScan{}, err
	}
	sc := servedScan{now: now, live: map[string]bool{}}
	if w.namedAt == nil {
		w.namedAt = map[string]time.Time{}
	}
	for _, h := range hbs {
		for _, sub := range h.Subscriptions {
			sc.live[sub] = true
			w.namedAt[sub] = now
		}
	}
	return sc, nil
}

// servedElsewhere reports whether another replica serves sub, so that its
// events are left to it.
func (w *Worker) servedElsewhere(ctx context.Context, sc servedScan, sub string) (bool, error) {
	if !queue.ValidToken(sub) || sub == repost.UnknownSubscription {
		return false, nil
	}
	if sc.live[sub] { // a replica serves it, or is about to create its consumer
		return true, nil
	}
	last, exists, err := w.q.ConsumerActivity(ctx, sub)
	if err != nil || !exists {
		return false, err
	}
	if named := w.namedAt[sub]; named.After(last) {
		last = named
	}
	if sc.now.Sub(last) < w.cfg.UnroutedGrace {
		w.log.Debug("leaving a subscription to the replica that served it last", zap.String("subscription", sub),
			zap.Time("lastSeen", last))
		return true, nil
	}
	return false, nil
}
