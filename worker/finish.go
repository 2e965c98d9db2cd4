package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

// finisher gathers the terminal results of a group of events, publishes
// their parked entries and outcomes together, and acks each original once
// JetStream has acknowledged its own publications: one event whose
// publication fails never holds back the others.
type finisher struct {
	w      *Worker
	b      *queue.Batch
	events []finishing
	marks  []successMark
}

// finishing is one event's terminal result and its publications' indexes in
// the batch (parked is -1 when it has no parked entry).
type finishing struct {
	src         source
	o           *repost.Outcome
	parked, out int
	hadState    bool
	mark        *successMark
}

type successMark struct {
	sub, leadID string
	at          time.Time
}

func (w *Worker) newFinisher() *finisher { return &finisher{w: w, b: w.q.NewBatch()} }

// outcomeOf builds the outcome of ev in sub, the one place an outcome's
// identity (eventId, lead, the parked lead it requeues) is taken from its
// event. ev is nil for a body that could not be decoded: the caller sets
// EventID from what could be read of it.
func outcomeOf(ev *repost.Event, sub string, kind repost.Kind, code policy.Code, reason string, attempts int, at time.Time) *repost.Outcome {
	o := &repost.Outcome{Subscription: sub, Kind: kind, Code: code, Reason: reason, Attempts: attempts, At: at}
	if ev != nil {
		o.EventID, o.LeadID, o.RequeueOf = ev.EventID, ev.LeadID, ev.RequeueOf
	}
	return o
}

// outcome records a terminal outcome (and a parked entry when parked is not
// nil) for the event of msg.
func (f *finisher) outcome(msg jetstream.Msg, o *repost.Outcome, parked []byte, hadState bool) {
	f.outcomeAt(msg, o, parked, hadState, o.At)
}

// outcomeAt is outcome for a reposted event whose data dates from dataAt:
// the lead's success mark carries that time, not the repost's, so that an
// older event of the lead processed later is superseded and a newer one is not.
func (f *finisher) outcomeAt(msg jetstream.Msg, o *repost.Outcome, parked []byte, hadState bool, dataAt time.Time) {
	f.add(delivered(msg), o, parked, hadState, dataAt)
}

func (f *finisher) add(src source, o *repost.Outcome, parked []byte, hadState bool, dataAt time.Time) {
	e := finishing{src: src, o: o, parked: -1, hadState: hadState}
	if parked != nil {
		e.parked = f.b.ParkedDated(o.Subscription, o.EventID, parked, src.dataTime()) // a requeue keeps the data time
	}
	if o.Kind == repost.KindReposted {
		e.out = f.b.OutcomeMarked(o, dataAt) // the mark, kept in NATS too
		e.mark = &successMark{o.Subscription, o.LeadID, dataAt}
	} else {
		e.out = f.b.Outcome(o)
	}
	f.events = append(f.events, e)
	f.w.countOutcome(o)
}

// flush publishes, retrying what JetStream did not take for up to
// Config.PublishRetry, then settles each event on its own publications:
//   - all acknowledged: the original is acked;
//   - the parked entry refused for good (too large, not permitted) but the
//     outcome stored: acked too, the event has its terminal outcome, and
//     the loss is logged;
//   - the outcome refused for good: the original is terminated, so that it
//     is not redelivered and its Marketo call repeated forever;
//   - anything else still failing: the original is handed back for a later
//     delivery (and the error returned). Nothing is acked that has no outcome.
func (f *finisher) flush(ctx context.Context) error {
	if len(f.events) == 0 {
		return nil
	}
	errs := f.b.Results(ctx, f.w.cfg.PublishRetry)
	var handedBack []error
	for _, e := range f.events {
		var perr error
		if e.parked >= 0 {
			perr = errs[e.parked]
		}
		oerr := errs[e.out]
		switch {
		case oerr == nil && (perr == nil || queue.IsPermanent(perr)):
			if perr != nil {
				f.w.log.Error("parked entry refused by NATS; the event keeps its outcome", zap.String("eventId", e.o.EventID),
					zap.String("subscription", e.o.Subscription), zap.Error(perr))
			}
			f.ack(ctx, e)
		case queue.IsPermanent(oerr) && (perr == nil || queue.IsPermanent(perr)):
			f.w.log.Error("outcome refused by NATS; the event is terminated without one", zap.String("eventId", e.o.EventID),
				zap.String("subscription", e.o.Subscription), zap.String("outcome", string(e.o.Kind)), zap.Error(oerr), zap.NamedError("parked", perr))
			e.src.term("outcome refused: " + oerr.Error())
		default:
			handedBack = append(handedBack, errors.Join(oerr, perr))
			e.src.nakWithDelay(2 * time.Second)
		}
	}
	f.markAll(ctx)
	f.reset()
	if len(handedBack) > 0 {
		err := fmt.Errorf("worker: %d events handed back: %w", len(handedBack), errors.Join(handedBack...))
		f.w.log.Error("publishing outcomes failed; handing the events back", zap.Error(err), zap.Int("events", len(handedBack)))
		return err
	}
	return nil
}

// ack acks an event whose outcome is stored and forgets its state.
func (f *finisher) ack(ctx context.Context, e finishing) {
	if err := e.src.ack(); err != nil {
		// The outcome is published (de-duplicated by eventId): a
		// redelivery will publish it again harmlessly.
		f.w.log.Warn("ack failed after outcome was published", zap.Error(err))
	}
	if e.hadState {
		if err := f.w.q.ForgetState(ctx, e.o.EventID); err != nil {
			f.w.log.Debug("forget state", zap.Error(err))
		}
	}
	if e.mark != nil {
		f.marks = append(f.marks, *e.mark)
	}
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
	f.events, f.marks = f.events[:0], f.marks[:0]
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

// park builds the parked entry and outcome of a delivered event.
func (f *finisher) park(msg jetstream.Msg, raw []byte, ev *repost.Event, sub string, info repost.ParkInfo, kind repost.Kind, hadState bool) {
	f.parkFrom(delivered(msg), raw, ev, sub, info, kind, hadState)
}

// parkStored parks an event read from the failed stream by sequence.
func (f *finisher) parkStored(m *jetstream.RawStreamMsg, ev *repost.Event, sub string, info repost.ParkInfo, kind repost.Kind) {
	f.parkFrom(source{stored: m}, m.Data, ev, sub, info, kind, false)
}

func (f *finisher) parkFrom(src source, raw []byte, ev *repost.Event, sub string, info repost.ParkInfo, kind repost.Kind, hadState bool) {
	eventID := ""
	if ev != nil {
		eventID = ev.EventID
	} else {
		eventID = src.eventID(raw)
	}
	var entry []byte
	var err error
	if ev != nil { // decoded from raw: its reading is kept, raw is not read again
		entry, err = repost.NewParkedEventWithin(ev, sub, info, f.w.q.DataLimit())
	} else {
		entry, err = repost.NewParkedLeadWithin(raw, eventID, sub, info, f.w.q.DataLimit())
	}
	if errors.Is(err, repost.ErrEntryTooLarge) {
		if entry, err = f.parkBody(raw, eventID, sub, info); err != nil {
			// Handing it back would repeat its Marketo call, maybe forever:
			// the event gets its outcome, and stays in POSTOUT_FAILED.
			f.w.log.Error("cannot store the body of an event too large for its parked entry; it gets its outcome without one",
				zap.String("subscription", sub), zap.String("eventId", eventID), zap.Int("bytes", len(raw)), zap.Error(err))
			entry, err = nil, nil
		}
	}
	if err != nil {
		f.w.log.Error("cannot build parked entry; handing back", zap.Error(err))
		src.nakWithDelay(5 * time.Second)
		return
	}
	o := outcomeOf(ev, sub, kind, info.Code, info.Reason, info.Attempts, info.ParkedAt)
	o.EventID = eventID // ev's own, or the undecoded body's
	f.add(src, o, entry, hadState, o.At)
	f.w.log.Info("decision",
		zap.String("subscription", sub), zap.String("eventId", o.EventID), zap.String("leadId", o.LeadID),
		zap.String("outcome", string(kind)), zap.String("code", info.Code.String()),
		zap.String("field", info.Field), zap.String("reason", info.Reason), zap.Int("attempts", info.Attempts))
}

// parkBody stores the body of an event too large for its parked entry in
// REPOST_BODIES, trying for up to Config.PublishRetry, and returns the entry
// that refers to it.
func (f *finisher) parkBody(raw []byte, eventID, sub string, info repost.ParkInfo) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), f.w.cfg.PublishRetry)
	defer cancel()
	if !queue.ValidToken(sub) {
		sub = repost.UnknownSubscription
	}
	name := queue.BodyName(sub, eventID)
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := f.w.q.PutBody(ctx, name, raw)
		if err == nil {
			break
		}
		if sleepCtx(ctx, wait); ctx.Err() != nil {
			return nil, err
		}
	}
	f.w.log.Info("event body stored apart from its parked entry", zap.String("subscription", sub),
		zap.String("eventId", eventID), zap.String("bodyRef", name), zap.Int("bytes", len(raw)))
	return repost.NewParkedRef(raw, eventID, sub, name, info, f.w.q.DataLimit())
}

// source is the message a finished event came in. A delivery (msg) is
// settled once its publications are answered: acked, handed back or
// terminated. An event read from the stream by sequence (stored: the
// unrouted ones, parkStored) has no delivery to settle; its progress is
// recorded instead (drainUnrouted).
type source struct {
	msg    jetstream.Msg
	stored *jetstream.RawStreamMsg
}

func delivered(m jetstream.Msg) source { return source{msg: m} }

// dataTime is when the event's data dates from (dataTimeOf).
func (s source) dataTime() time.Time {
	if s.msg != nil {
		return dataTimeOf(s.msg)
	}
	if at, ok := queue.DataTime(s.stored.Header); ok {
		return at
	}
	return s.stored.Time
}

// eventID is the eventId of a body that could not be decoded: the body's
// own when it can be read, else the message's Nats-Msg-Id (the contract),
// else its stream sequence.
func (s source) eventID(raw []byte) string {
	if id := repost.PeekEventID(raw); id != "" {
		return id
	}
	h := s.header()
	if id := h.Get(jetstream.MsgIDHeader); id != "" {
		return id
	}
	if s.stored != nil {
		return "seq-" + itoa(s.stored.Sequence)
	}
	if md, err := s.msg.Metadata(); err == nil {
		return "seq-" + itoa(md.Sequence.Stream)
	}
	return "unknown"
}

func (s source) header() nats.Header {
	if s.msg != nil {
		return s.msg.Headers()
	}
	return s.stored.Header
}

func (s source) ack() error {
	if s.msg == nil {
		return nil
	}
	return s.msg.Ack()
}

func (s source) nakWithDelay(d time.Duration) {
	if s.msg != nil {
		_ = s.msg.NakWithDelay(d)
	}
}

func (s source) term(reason string) {
	if s.msg != nil {
		_ = s.msg.TermWithReason(reason)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
