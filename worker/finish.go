package worker

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

// finisher gathers the terminal results of a group of events, publishes
// their parked entries and outcomes together, and acks the originals only
// once JetStream has acknowledged those publications.
type finisher struct {
	w      *Worker
	b      *queue.Batch
	acks   []jetstream.Msg
	forget []string
	marks  []successMark
}

type successMark struct {
	sub, leadID string
	at          time.Time
}

func (w *Worker) newFinisher() *finisher { return &finisher{w: w, b: w.q.NewBatch()} }

// outcome records a terminal outcome (and a parked entry when parked is not
// nil) for the event of msg.
func (f *finisher) outcome(msg jetstream.Msg, o *repost.Outcome, parked []byte, hadState bool) {
	f.outcomeAt(msg, o, parked, hadState, o.At)
}

// outcomeAt is outcome for a reposted event whose data dates from dataAt:
// the lead's success mark carries that time, not the repost's, so that an
// older event of the lead processed later is superseded and a newer one is not.
func (f *finisher) outcomeAt(msg jetstream.Msg, o *repost.Outcome, parked []byte, hadState bool, dataAt time.Time) {
	if parked != nil {
		f.b.ParkedDated(o.Subscription, o.EventID, parked, dataTimeOf(msg)) // a requeue keeps the data time
	}
	f.b.Outcome(o)
	f.acks = append(f.acks, msg)
	if hadState {
		f.forget = append(f.forget, o.EventID)
	}
	if o.Kind == repost.KindReposted {
		f.marks = append(f.marks, successMark{o.Subscription, o.LeadID, dataAt})
	}
	f.w.countOutcome(o)
}

// flush publishes, waits for the acks, then acks the originals. When
// publishing fails, the originals are handed back for a later delivery
// (and the error returned): nothing is acked that has no outcome.
func (f *finisher) flush(ctx context.Context) error {
	if len(f.acks) == 0 {
		return nil
	}
	if err := f.b.Wait(ctx); err != nil {
		f.w.log.Error("publishing outcomes failed; handing the events back", zap.Error(err), zap.Int("events", len(f.acks)))
		for _, m := range f.acks {
			_ = m.NakWithDelay(2 * time.Second)
		}
		f.reset()
		return err
	}
	for _, m := range f.acks {
		if err := m.Ack(); err != nil {
			// The outcome is published (de-duplicated by eventId): a
			// redelivery will publish it again harmlessly.
			f.w.log.Warn("ack failed after outcome was published", zap.Error(err))
		}
	}
	for _, id := range f.forget {
		if err := f.w.q.ForgetState(ctx, id); err != nil {
			f.w.log.Debug("forget state", zap.Error(err))
		}
	}
	f.markAll(ctx)
	f.reset()
	return nil
}

// markAll records the success marks, one round trip per subscription.
func (f *finisher) markAll(ctx context.Context) {
	bySub := map[string][]successMark{}
	for _, mk := range f.marks {
		bySub[mk.sub] = append(bySub[mk.sub], mk)
	}
	for sub, marks := range bySub {
		leads, at := make([]string, len(marks)), make([]time.Time, len(marks))
		for i, mk := range marks {
			leads[i], at[i] = mk.leadID, mk.at
		}
		if err := f.w.lim.MarkSuccesses(ctx, sub, leads, at); err != nil {
			f.w.log.Warn("marking successes failed", zap.String("subscription", sub), zap.Error(err))
		}
	}
}

func (f *finisher) reset() {
	f.b = f.w.q.NewBatch()
	f.acks, f.forget, f.marks = f.acks[:0], f.forget[:0], f.marks[:0]
}

func (w *Worker) countOutcome(o *repost.Outcome) {
	code := o.Code.String()
	if code == "" {
		code = "0"
	}
	w.m.events.WithLabelValues(o.Subscription, string(o.Kind), code).Inc()
	if o.Kind == repost.KindParked || o.Kind == repost.KindRejected {
		w.m.parked.WithLabelValues(o.Subscription, code).Inc()
		if o.Code == policy.CodeRetriesExhausted {
			w.m.exhausted.WithLabelValues(o.Subscription).Inc()
		}
	}
}

// park builds the parked entry and outcome of an event.
func (f *finisher) park(msg jetstream.Msg, raw []byte, ev *repost.Event, sub string, info repost.ParkInfo, kind repost.Kind, hadState bool) {
	eventID := ""
	if ev != nil {
		eventID = ev.EventID
	} else {
		eventID = eventIDOf(msg, raw)
	}
	entry, err := repost.NewParkedLeadOn(raw, eventID, sub, info)
	if err != nil {
		f.w.log.Error("cannot build parked entry; handing back", zap.Error(err))
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	o := &repost.Outcome{
		Subscription: sub, Kind: kind, Code: info.Code, Reason: info.Reason,
		Attempts: info.Attempts, At: info.ParkedAt,
	}
	o.EventID = eventID
	if ev != nil {
		o.LeadID, o.RequeueOf = ev.LeadID, requeueOf(ev)
	}
	f.outcome(msg, o, entry, hadState)
	f.w.log.Info("decision",
		zap.String("subscription", sub), zap.String("eventId", o.EventID), zap.String("leadId", o.LeadID),
		zap.String("outcome", string(kind)), zap.String("code", info.Code.String()),
		zap.String("field", info.Field), zap.String("reason", info.Reason), zap.Int("attempts", info.Attempts))
}

// eventIDOf is the eventId of a body that could not be decoded: the body's
// own when it can be read, else the message's Nats-Msg-Id (the contract).
func eventIDOf(msg jetstream.Msg, raw []byte) string {
	if id := repost.PeekEventID(raw); id != "" {
		return id
	}
	if h := msg.Headers(); h != nil {
		if id := h.Get(jetstream.MsgIDHeader); id != "" {
			return id
		}
	}
	if md, err := msg.Metadata(); err == nil {
		return "seq-" + itoa(md.Sequence.Stream)
	}
	return "unknown"
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
