package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// originals whose publications JetStream acknowledged (Results).
type Batch struct {
	q    *Queue
	pubs []publication
}

// publication is one message of a batch and what became of it so far.
type publication struct {
	msg *nats.Msg
	f   jetstream.PubAckFuture // nil once settled or when it could not be sent
	at  time.Time              // when it was last sent
	err error                  // the last failure; nil when acknowledged
	ack *jetstream.PubAck      // JetStream's acknowledgement, once received
}

// publishTimeout is how long a publication waits for its ack.
const publishTimeout = 20 * time.Second

// NewBatch starts an empty batch.
func (q *Queue) NewBatch() *Batch { return &Batch{q: q} }

// Outcome adds an outcome on the outcome subject of its subscription, its
// reason cut if needed to fit the server's limit. It returns the
// publication's index in Results.
func (b *Batch) Outcome(o *repost.Outcome) int {
	data, err := o.AppendJSONWithin(make([]byte, 0, 256), b.q.DataLimit())
	if err != nil {
		return b.failed(b.q.Subjects.Outcome(subjectToken(o.Subscription)), fmt.Errorf("%w: outcome %s: %w", ErrUnsendable, o.EventID, err))
	}
	return b.add(b.q.Subjects.Outcome(subjectToken(o.Subscription)), OutcomeMsgID(o), data)
}

// OutcomeMarked is Outcome for a reposted event whose data dates from
// dataAt: the outcome also carries the lead and that time in headers
// (HeaderLead, HeaderDataTime), so that the lead's success mark can be read
// back from the stream (ScanMarks) when Redis lost it. A lead too long for
// a header carries none.
func (b *Batch) OutcomeMarked(o *repost.Outcome, dataAt time.Time) int {
	if dataAt.IsZero() || len(o.LeadID) > maxLeadHeader || strings.ContainsAny(o.LeadID, "\r\n") {
		return b.Outcome(o)
	}
	data, err := o.AppendJSONWithin(make([]byte, 0, 256), b.q.DataLimit())
	if err != nil {
		return b.failed(b.q.Subjects.Outcome(subjectToken(o.Subscription)), fmt.Errorf("%w: outcome %s: %w", ErrUnsendable, o.EventID, err))
	}
	return b.add(b.q.Subjects.Outcome(subjectToken(o.Subscription)), OutcomeMsgID(o), data,
		append([]string{HeaderLead, o.LeadID}, dataTimeHeader(dataAt)...)...)
}

// HeaderLead names, on a reposted outcome, the lead whose success mark the
// outcome's HeaderDataTime dates.
const HeaderLead = "Repost-Lead"

// maxLeadHeader bounds a lead id carried in HeaderLead, well within
// HeaderRoom.
const maxLeadHeader = 512

// Parked adds a parked entry under its subscription, de-duplicated by
// eventId, and returns its index in Results.
func (b *Batch) Parked(sub, eventID string, data []byte) int {
	return b.add(b.q.Subjects.Parked(subjectToken(sub)), eventID, data)
}

// ParkedDated is Parked for an event whose data dates from dataAt (see
// HeaderDataTime), so that a requeue of the entry keeps that time. It
// returns the publication's index in Results.
func (b *Batch) ParkedDated(sub, eventID string, data []byte, dataAt time.Time) int {
	return b.add(b.q.Subjects.Parked(subjectToken(sub)), eventID, data, dataTimeHeader(dataAt)...)
}

// Failed adds a failed event (repostctl's requeue and import).
func (b *Batch) Failed(sub, eventID string, data []byte) int {
	return b.add(b.q.Subjects.Failed(sub), eventID, data)
}

// FailedDated adds a copy of a failed event (repostctl's requeue) whose data
// dates from dataAt; a zero dataAt sets no date.
func (b *Batch) FailedDated(sub, eventID string, data []byte, dataAt time.Time) int {
	return b.add(b.q.Subjects.Failed(sub), eventID, data, dataTimeHeader(dataAt)...)
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
func (b *Batch) Deferred(sub, msgID string, data []byte, dataAt time.Time) int {
	return b.add(b.q.Subjects.Failed(sub), msgID, data, append([]string{HeaderDeferred, "1"}, dataTimeHeader(dataAt)...)...)
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

func (b *Batch) add(subject, msgID string, data []byte, headers ...string) int {
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	for i := 0; i+1 < len(headers); i += 2 {
		msg.Header.Set(headers[i], headers[i+1])
	}
	b.pubs = append(b.pubs, publication{msg: msg})
	b.send(&b.pubs[len(b.pubs)-1])
	return len(b.pubs) - 1
}

func (b *Batch) failed(subject string, err error) int {
	b.pubs = append(b.pubs, publication{msg: nats.NewMsg(subject), err: err})
	return len(b.pubs) - 1
}

func (b *Batch) send(p *publication) {
	p.at = time.Now()
	f, err := b.q.JS.PublishMsgAsync(p.msg)
	if err != nil {
		p.f, p.err = nil, fmt.Errorf("queue: publish %s: %w", p.msg.Subject, err)
		return
	}
	p.f, p.err = f, nil
}

// Ack returns JetStream's acknowledgement of publication i once Results
// has it (nil otherwise): Duplicate says the stream already held the id.
func (b *Batch) Ack(i int) *jetstream.PubAck { return b.pubs[i].ack }

// Len is the number of publications in the batch.
func (b *Batch) Len() int { return len(b.pubs) }

// Wait returns nil once JetStream has acknowledged every publication, and the
// failures otherwise (then none of the originals may be acked).
func (b *Batch) Wait(ctx context.Context) error {
	var errs []error
	for _, err := range b.Results(ctx, 0) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	b.pubs = b.pubs[:0]
	if len(errs) > 0 {
		return fmt.Errorf("queue: %d publications failed: %w", len(errs), errors.Join(errs...))
	}
	return nil
}

// Results waits for every publication and returns, by index, nil for each
// that JetStream acknowledged and the failure of each that it did not. A
// publication that failed for a passing reason is sent again (under the same
// Nats-Msg-Id, so never stored twice) until retryFor has passed; one that
// failed for good (IsPermanent) is not. Results may be called again after
// adding more publications.
func (b *Batch) Results(ctx context.Context, retryFor time.Duration) []error {
	deadline := time.Now().Add(retryFor)
	backoff := 100 * time.Millisecond
	for {
		retry := b.settle(ctx)
		if len(retry) == 0 || ctx.Err() != nil || !time.Now().Add(backoff).Before(deadline) {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		backoff = min(2*backoff, 5*time.Second)
		for _, i := range retry {
			b.send(&b.pubs[i])
		}
	}
	errs := make([]error, len(b.pubs))
	for i, p := range b.pubs {
		errs[i] = p.err
	}
	return errs
}

// settle waits for every publication in flight and returns the indexes of
// those that failed for a reason that may pass.
func (b *Batch) settle(ctx context.Context) []int {
	var tick *time.Ticker
	var retry []int
	for i := range b.pubs {
		p := &b.pubs[i]
		for p.f != nil {
			if tick == nil {
				tick = time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
			}
			select {
			case ack := <-p.f.Ok():
				p.f, p.err, p.ack = nil, nil, ack
			case err := <-p.f.Err():
				p.f, p.err = nil, fmt.Errorf("queue: publish %s: %w", p.msg.Subject, err)
			case <-tick.C:
				if b.q.denied.since(p.msg.Subject, p.at) {
					p.f, p.err = nil, fmt.Errorf("%w: %s", ErrPublishDenied, p.msg.Subject)
				}
			case <-ctx.Done():
				p.f, p.err = nil, fmt.Errorf("queue: waiting for publish acks: %w", ctx.Err())
			}
		}
		if p.err != nil && !IsPermanent(p.err) && p.msg.Data != nil {
			retry = append(retry, i)
		}
	}
	return retry
}

// subjectToken keeps an unreadable subscription from breaking the subject.
func subjectToken(sub string) string {
	if !ValidToken(sub) {
		return repost.UnknownSubscription
	}
	return sub
}
