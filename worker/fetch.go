package worker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// fetchLoop keeps the pool stocked, up to MaxPooled records: enough that a
// granted call can be filled, bounded so that memory is, and fetches
// nothing while the events held reach MaxHeldBytes (byteRoom). A closed
// gate (a long block, a halt, a pause) defers what the pool holds.
func (s *subRunner) fetchLoop(ctx, work context.Context) {
	shut := false // the gate was closed when last read: said once, when it closes and opens
	for ctx.Err() == nil {
		if wait := s.gateWait(); wait > 0 {
			if !shut {
				// From here no fetch of this replica waits at the server:
				// nothing more is delivered until the gate opens.
				shut = true
				s.w.log.Info("fetching stopped while the subscription is held", zap.String("subscription", s.sub.ID))
			}
			if items := s.pool.takeAll(); len(items) > 0 {
				s.deferItems(work, items)
			}
			s.maybeProbe(work)
			sleepCtx(ctx, min(wait, time.Second))
			continue
		}
		if shut {
			shut = false
			s.w.log.Info("fetching again", zap.String("subscription", s.sub.ID))
		}
		if wait := s.tailHeld(ctx); wait > 0 { // the remainder went to the tail's collector
			sleepCtx(ctx, min(wait, 500*time.Millisecond))
			continue
		}
		room, bytes := s.w.cfg.MaxPooled-s.pool.size(), s.byteRoom()
		if room <= 0 || bytes <= 0 {
			s.pool.setIncoming(false)       // nothing more comes until calls take or finish some
			t := time.NewTimer(time.Second) // the gate is read again at least each second
			select {
			case <-ctx.Done():
			case <-s.pool.taken:
			case <-s.held.freed:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		s.fetch(ctx, work, min(room, s.w.cfg.FetchSize), bytes)
	}
}

// fetch pulls up to n events of at most maxBytes (as the server counts
// them: data, headers, subject and ack reply) and puts them in the pool as
// they arrive, not when the fetch ends: a lone event's linger starts when
// it is delivered. While a backlog is being delivered, the pool is told so
// (incoming).
func (s *subRunner) fetch(ctx, work context.Context, n, maxBytes int) {
	// A fetch waits at most a linger (a second at most): between fetches the
	// gate and pauses are read.
	mb, err := s.cons.Fetch(n, jetstream.FetchMaxWait(min(s.w.cfg.Linger, time.Second)), jetstream.FetchMaxBytes(maxBytes))
	if err != nil {
		if ctx.Err() == nil {
			s.w.log.Warn("fetch failed", zap.String("subscription", s.sub.ID), zap.Error(err))
			sleepCtx(ctx, time.Second)
		}
		return
	}
	got, more := 0, false
	defer func() {
		known := true // the last message's metadata, or the consumer's answer, says what is left
		if got == 0 { // none came: none left, or other replicas hold the stream's ack slots
			more, known = s.undelivered(ctx)
			s.pool.setIncoming(more)
		}
		if !more && known && ctx.Err() == nil {
			s.atTail(ctx)
		}
	}()
	// Events behind the one just delivered come with this fetch: a backlog
	// is taken whole (and prepared in parallel), a lone event at once.
	var chunk []jetstream.Msg
	flush := func() {
		got += len(chunk)
		s.hold(chunk)
		s.pool.setIncoming(more && s.pool.size() < s.w.cfg.MaxPooled && s.byteRoom() > 0)
		s.accept(work, chunk)
		chunk = nil
	}
	for m := range mb.Messages() {
		chunk = append(chunk, m)
		if more = s.morePending(m); !more || got+len(chunk) >= n {
			flush()
		}
	}
	if len(chunk) > 0 { // the fetch ended short: the consumer's ack slots are taken
		flush()
	}
	if err := mb.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		s.w.log.Debug("fetch ended", zap.String("subscription", s.sub.ID), zap.Error(err))
	}
}

// consumerPending reports whether the consumer has events not delivered yet.
func (s *subRunner) consumerPending(ctx context.Context) bool {
	pending, _ := s.undelivered(ctx)
	return pending
}

// undelivered reports whether the consumer has events not delivered yet,
// and whether that is known: false when the consumer did not answer (a
// leader change, a NATS restart), so that nothing is decided on a guess.
func (s *subRunner) undelivered(ctx context.Context) (pending, known bool) {
	info, err := s.cons.Info(ctx)
	if err != nil {
		return false, false
	}
	return info.NumPending > 0, true
}

// morePending reports whether events wait in the stream behind m.
func (s *subRunner) morePending(m jetstream.Msg) bool {
	md, err := m.Metadata()
	return err == nil && md.NumPending > 0
}

// accept finishes held events that need no call and pools the rest.
func (s *subRunner) accept(work context.Context, msgs []jetstream.Msg) {
	if msgs = s.unlessPaused(msgs); len(msgs) == 0 {
		return
	}
	s.pool.add(s.prepare(work, msgs), time.Now())
}
