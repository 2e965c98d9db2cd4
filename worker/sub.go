package worker

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// subRunner is the pipeline of one subscription.
type subRunner struct {
	w    *Worker
	sub  Subscription
	cons jetstream.Consumer
	// guard is the window's guard band (guardBand): a call admitted
	// longer ago than this is admitted again before it leaves.
	guard time.Duration
	stop  context.Context // ends at SIGTERM (run's ctx): no call starts after it

	mu         sync.Mutex
	gateUntil  time.Time // fetch nothing before this
	gateReason string
	halted     bool
	lastProbe  time.Time
	held       *heldSet // fetched, not finished: kept alive with InProgress, bounded by MaxHeldBytes
	pool       *pool    // fetched events waiting for a call
	tail       tailState
}

// run fetches events into the pool and, beside it, sends calls from the
// pool as the limiter grants them, until ctx ends; calls use work, which
// outlives ctx by the shutdown deadline.
func (s *subRunner) run(ctx, work context.Context) {
	s.stop = ctx
	s.pool = newPool(s.w.cfg.BatchSize, s.w.cfg.MaxBodyBytes, s.w.cfg.Linger, max(time.Second, s.sub.Limits.Window))
	s.pool.pace = s.startPacing(ctx)
	s.pool.binding = s.binding
	stopKeep := s.keepAlive(work)
	defer stopKeep()
	var calls sync.WaitGroup
	defer calls.Wait()
	sent := make(chan struct{})
	go func() { defer close(sent); s.sendLoop(ctx, work, &calls) }()
	s.fetchLoop(ctx, work)
	<-sent
	s.handBack(s.pool.takeAll(), 0) // SIGTERM: what waits for a call goes back at once
	s.dropTail(work)
}

// hold counts fetched events as held until done.
func (s *subRunner) hold(msgs []jetstream.Msg) {
	n, bytes := s.held.add(msgs)
	s.w.m.inflight.WithLabelValues(s.sub.ID).Add(float64(n))
	s.w.m.inflightBytes.WithLabelValues(s.sub.ID).Add(float64(bytes))
}

// done forgets a message that was acked or handed back.
func (s *subRunner) done(msgs ...jetstream.Msg) {
	n, bytes := s.held.remove(msgs)
	s.w.m.inflight.WithLabelValues(s.sub.ID).Sub(float64(n))
	s.w.m.inflightBytes.WithLabelValues(s.sub.ID).Sub(float64(bytes))
}

// keepAlive tells JetStream, three times per ack wait, that held events are being worked
// on, so a long admission wait or call never lets them be redelivered to a
// second replica while this one still has them.
func (s *subRunner) keepAlive(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(max(s.w.q.AckWait()/3, time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, m := range s.held.list() {
					_ = m.InProgress()
				}
			}
		}
	}()
	return cancel
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
