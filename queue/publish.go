package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost"
)

// PublishFailed publishes a failed post-out with Nats-Msg-Id set to its
// eventId, as the contract asks of every publisher, and waits for the ack.
func (q *Queue) PublishFailed(ctx context.Context, sub, eventID string, data []byte) (*jetstream.PubAck, error) {
	msg := nats.NewMsg(q.Subjects.Failed(sub))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, eventID)
	ack, err := q.JS.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("queue: publish failed event %s: %w", eventID, err)
	}
	return ack, nil
}

// OutcomeMsgID is the de-duplication ID of an outcome: the eventId for the
// worker's one terminal outcome, suffixed for repostctl's later ones.
func OutcomeMsgID(o *repost.Outcome) string {
	switch o.Kind {
	case repost.KindRequeued, repost.KindDiscarded, repost.KindPaused, repost.KindResumed:
		return o.EventID + "~" + string(o.Kind)
	}
	return o.EventID
}

// Batch publishes asynchronously and waits for every ack at once: the worker
// publishes a fetch's outcomes and parked entries together, then acks the
// originals only after Wait returns nil.
type Batch struct {
	q       *Queue
	futures []jetstream.PubAckFuture
	err     error
}

// NewBatch starts an empty batch.
func (q *Queue) NewBatch() *Batch { return &Batch{q: q} }

// Outcome adds an outcome on the outcome subject of its subscription.
func (b *Batch) Outcome(o *repost.Outcome) {
	data, err := o.AppendJSON(make([]byte, 0, 256))
	if err != nil {
		b.fail(fmt.Errorf("queue: encode outcome %s: %w", o.EventID, err))
		return
	}
	b.add(b.q.Subjects.Outcome(subjectToken(o.Subscription)), OutcomeMsgID(o), data)
}

// Parked adds a parked entry under its subscription, de-duplicated by eventId.
func (b *Batch) Parked(sub, eventID string, data []byte) {
	b.add(b.q.Subjects.Parked(subjectToken(sub)), eventID, data)
}

// ParkedDated is Parked for an event whose data dates from dataAt (see
// HeaderDataTime), so that a requeue of the entry keeps that time.
func (b *Batch) ParkedDated(sub, eventID string, data []byte, dataAt time.Time) {
	b.add(b.q.Subjects.Parked(subjectToken(sub)), eventID, data, dataTimeHeader(dataAt)...)
}

// Failed adds a failed event (repostctl's requeue and import).
func (b *Batch) Failed(sub, eventID string, data []byte) {
	b.add(b.q.Subjects.Failed(sub), eventID, data)
}

// FailedDated adds a copy of a failed event (repostctl's requeue) whose data
// dates from dataAt; a zero dataAt sets no date.
func (b *Batch) FailedDated(sub, eventID string, data []byte, dataAt time.Time) {
	b.add(b.q.Subjects.Failed(sub), eventID, data, dataTimeHeader(dataAt)...)
}

// HeaderDeferred marks a copy of a failed event that the worker put back on
// its subject itself, to wait out a long block without holding an
// acknowledgement slot; its attempts are in the event state.
const HeaderDeferred = "Repost-Deferred"

// HeaderDataTime carries, on a copy of a failed event (deferred by the
// worker, or requeued by repostctl) and on a parked entry, when the data of
// the original dates from: its attemptedAt, else when the original was
// published. A copy's own publication time is later, and would let it win
// against newer data of its lead and date its success mark too late.
const HeaderDataTime = "Repost-Data-Time"

// Deferred adds such a copy, dated dataAt; msgID must differ from the original's.
func (b *Batch) Deferred(sub, msgID string, data []byte, dataAt time.Time) {
	b.add(b.q.Subjects.Failed(sub), msgID, data, append([]string{HeaderDeferred, "1"}, dataTimeHeader(dataAt)...)...)
}

func dataTimeHeader(at time.Time) []string {
	if at.IsZero() {
		return nil
	}
	return []string{HeaderDataTime, at.UTC().Format(time.RFC3339Nano)}
}

// DataTime returns the data time a message carries in HeaderDataTime, and
// false when it carries none (or an unreadable one).
func DataTime(h nats.Header) (time.Time, bool) {
	v := h.Get(HeaderDataTime)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

func (b *Batch) add(subject, msgID string, data []byte, headers ...string) {
	if b.err != nil {
		return
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	for i := 0; i+1 < len(headers); i += 2 {
		msg.Header.Set(headers[i], headers[i+1])
	}
	f, err := b.q.JS.PublishMsgAsync(msg)
	if err != nil {
		b.fail(fmt.Errorf("queue: publish %s: %w", subject, err))
		return
	}
	b.futures = append(b.futures, f)
}

func (b *Batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Len is the number of publications in the batch.
func (b *Batch) Len() int { return len(b.futures) }

// Wait returns nil once JetStream has acknowledged every publication, and the
// first error otherwise (then none of the originals may be acked).
func (b *Batch) Wait(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	var errs []error
	for _, f := range b.futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, err)
		case <-ctx.Done():
			return fmt.Errorf("queue: waiting for publish acks: %w", ctx.Err())
		}
	}
	b.futures = b.futures[:0]
	if len(errs) > 0 {
		return fmt.Errorf("queue: %d publications failed: %w", len(errs), errors.Join(errs...))
	}
	return nil
}

// subjectToken keeps an unreadable subscription from breaking the subject.
func subjectToken(sub string) string {
	if !ValidToken(sub) {
		return UnknownSubscription
	}
	return sub
}
