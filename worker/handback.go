package worker

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/leadops/repost/internal/randid"
)

// handBackAll returns unsent events to JetStream (no delay: the next fetch,
// here or on another replica, takes them).
func (s *subRunner) handBackAll(bs []*batch, delay time.Duration) {
	for _, b := range bs {
		s.handBack(b.items, delay)
	}
}

func (s *subRunner) handBack(items []*item, delay time.Duration) {
	msgs := make([]jetstream.Msg, 0, len(items))
	for _, it := range items {
		if delay > 0 {
			_ = it.msg.NakWithDelay(delay)
		} else {
			_ = it.msg.Nak()
		}
		msgs = append(msgs, it.msg)
	}
	s.done(msgs...)
}

// deferItems puts events back at the end of their subject and acks the
// originals: an event waiting out a long block (a used-up daily quota, a
// halt) then sits in the stream, holding no acknowledgement slot and no
// memory, until the subscription is fetched again. (A Nak would not do: a
// nak'd message stays pending on the consumer until redelivered.) The copy
// carries the eventId, so its outcome and attempts are the original's, and
// the original's data time (queue.HeaderDataTime).
func (s *subRunner) deferItems(ctx context.Context, items []*item) {
	if len(items) == 0 {
		return
	}
	b := s.w.q.NewBatch()
	for _, it := range items {
		md, err := it.msg.Metadata()
		if err != nil {
			b.Deferred(s.sub.ID, it.ev.EventID+"~d"+randid.Hex(6), it.raw, it.at)
			continue
		}
		b.Deferred(s.sub.ID, it.ev.EventID+"~d"+itoa(md.Sequence.Stream), it.raw, it.at)
	}
	if err := b.Wait(ctx); err != nil {
		s.w.log.Warn("defer failed; handing events back instead", zap.String("subscription", s.sub.ID), zap.Error(err))
		s.handBack(items, 5*time.Second)
		return
	}
	msgs := make([]jetstream.Msg, 0, len(items))
	for _, it := range items {
		_ = it.msg.Ack()
		msgs = append(msgs, it.msg)
	}
	s.done(msgs...)
	s.w.log.Info("deferred events until the subscription is fetched again",
		zap.String("subscription", s.sub.ID), zap.Int("events", len(items)))
}
