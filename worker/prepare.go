package worker

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

// prepare decodes fetched events, finishes those that need no call
// (invalid, superseded, parked or skipped on their original code), and
// returns the rest ready for batching, in fetch order. A large fetch is
// prepared in parallel: decoding is the worker's main CPU cost.
func (s *subRunner) prepare(ctx context.Context, msgs []jetstream.Msg) []*item {
	parts := min(runtime.GOMAXPROCS(0), len(msgs)/64)
	if parts < 2 {
		return s.prepareChunk(ctx, msgs)
	}
	out := make([][]*item, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(msgs)/parts, (p+1)*len(msgs)/parts
		wg.Add(1)
		go func() { defer wg.Done(); out[p] = s.prepareChunk(ctx, msgs[lo:hi]) }()
	}
	wg.Wait()
	var items []*item
	for _, part := range out {
		items = append(items, part...)
	}
	return items
}

func (s *subRunner) prepareChunk(ctx context.Context, msgs []jetstream.Msg) []*item {
	f := s.w.newFinisher()
	var items []*item
	var finished []jetstream.Msg
	var pend []*pending
	for _, m := range msgs {
		if p := s.decodeOne(ctx, m, f); p != nil {
			pend = append(pend, p)
		} else {
			finished = append(finished, m)
		}
	}
	last, ok := s.lastSuccesses(ctx, pend)
	for i, p := range pend {
		if !ok {
			_ = p.msg.NakWithDelay(2 * time.Second) // the marks cannot be read: try again soon
			finished = append(finished, p.msg)
			continue
		}
		it := s.readyOne(p, last[i], f)
		if it != nil {
			items = append(items, it)
		} else {
			finished = append(finished, p.msg)
		}
	}
	_ = f.flush(ctx) // on failure the events were handed back
	s.done(finished...)
	return items
}

// pending is a decoded event whose superseding is not checked yet.
type pending struct {
	msg      jetstream.Msg
	raw      []byte
	ev       *repost.Event
	st       queue.EventState
	at       time.Time // when DAP attempted it (else when the original was published: dataTimeOf)
	hadState bool
}

// decodeOne decodes an event and reads its state; it returns nil when the
// event was finished (through f) or handed back.
func (s *subRunner) decodeOne(ctx context.Context, m jetstream.Msg, f *finisher) *pending {
	w, now := s.w, s.w.cfg.Now()
	raw := m.Data()
	ev, err := repost.DecodeEvent(raw, s.sub.ID)
	if err != nil {
		f.park(m, raw, nil, s.sub.ID, repost.ParkInfo{Code: policy.CodeInvalid, Reason: err.Error(), ParkedAt: now}, repost.KindRejected, false)
		return nil
	}
	md, err := m.Metadata()
	if err != nil {
		_ = m.NakWithDelay(time.Second)
		return nil
	}
	p := &pending{msg: m, raw: raw, ev: ev, at: ev.AttemptedAt}
	if md.NumDelivered > 1 || m.Headers().Get(queue.HeaderDeferred) != "" {
		if p.st, err = w.q.LoadState(ctx, ev.EventID); err != nil {
			w.log.Warn("cannot read event state; retrying later", zap.String("eventId", ev.EventID), zap.Error(err))
			_ = m.NakWithDelay(2 * time.Second)
			return nil
		}
	}
	p.hadState = p.st.Kept()
	if p.at.IsZero() {
		p.at = dataTimeOf(m)
	}
	return p
}

// dataTimeOf is when the data of an event without attemptedAt dates from:
// the original's time, which a copy (deferred, requeued) carries in a
// header, else when the message was published.
func dataTimeOf(m jetstream.Msg) time.Time {
	if at, ok := queue.DataTime(m.Headers()); ok {
		return at
	}
	if md, err := m.Metadata(); err == nil {
		return md.Timestamp
	}
	return time.Time{}
}

// lastSuccesses reads the success marks of the pending events' leads in one
// round trip; ok is false when the limiter cannot be reached.
func (s *subRunner) lastSuccesses(ctx context.Context, pend []*pending) ([]time.Time, bool) {
	if len(pend) == 0 {
		return nil, true
	}
	leads := make([]string, len(pend))
	for i, p := range pend {
		leads[i] = p.ev.LeadID
	}
	last, err := s.w.lim.LastSuccesses(ctx, s.sub.ID, leads)
	if err != nil || len(last) != len(leads) {
		s.w.log.Warn("cannot read success marks; retrying later", zap.String("subscription", s.sub.ID), zap.Error(err))
		return nil, false
	}
	return last, true
}

// readyOne finishes an event that needs no call (superseded, or parked or
// skipped on its original code) and returns nil; else the item to send.
func (s *subRunner) readyOne(p *pending, last time.Time, f *finisher) *item {
	now, m, ev, raw := s.w.cfg.Now(), p.msg, p.ev, p.raw
	if !last.IsZero() && last.After(p.at) {
		f.outcome(m, outcomeOf(ev, s.sub.ID, repost.KindSkipped, policy.CodeSuperseded,
			"a later post-out of this lead succeeded at "+last.UTC().Format(time.RFC3339), p.st.Attempts, now), nil, p.hadState)
		return nil
	}
	// A requeued event's original code was already acted on: it is sent
	// whatever that code says.
	if !p.hadState && !ev.IsRequeue() {
		if fin := s.decideOriginal(m, raw, ev, f, now); fin {
			return nil
		}
	}
	params, input, err := splitRequest(ev)
	if err != nil {
		f.park(m, raw, ev, s.sub.ID, repost.ParkInfo{Code: policy.CodeInvalid, Reason: err.Error(), ParkedAt: now}, repost.KindRejected, p.hadState)
		return nil
	}
	it := &item{msg: m, ev: ev, raw: raw, st: p.st, params: params, input: input, at: p.at}
	it.keys = lookupKeys(ev, len(input))
	for _, r := range input {
		it.size += len(r) + 1
	}
	it.group = groupKey(ev.Endpoint, params)
	if it.size+paramsSize(params) > s.w.cfg.MaxBodyBytes {
		f.park(m, raw, ev, s.sub.ID, repost.ParkInfo{Code: policy.CodeTooLarge, ParkedAt: now,
			Reason: "the lead's records alone exceed Marketo's 1 MB body limit"}, repost.KindParked, p.hadState)
		return nil
	}
	return it
}

// decideOriginal applies the policy to the code DAP's post-out failed
// with: mapping and data defects are parked and "already done" codes skipped
// without spending a call; everything else is reposted.
func (s *subRunner) decideOriginal(m jetstream.Msg, raw []byte, ev *repost.Event, f *finisher, now time.Time) bool {
	fl := ev.Failure()
	if fl.Code == "" || fl.Code == policy.CodeOK || fl.Code == "200" {
		f.outcome(m, outcomeOf(ev, s.sub.ID, repost.KindSkipped, policy.CodeOK, "the original post-out did not fail", 0, now), nil, false)
		return true
	}
	if a := s.w.pol.Action(fl.Code); a != policy.ActionPark && a != policy.ActionSkip {
		return false // reposted: the decision and its reason come with the call's answer
	}
	d := s.w.pol.Decide(policy.Input{Code: fl.Code, Message: fl.Message, Now: now, Window: s.sub.Limits.Window})
	switch d.Action {
	case policy.ActionPark:
		f.park(m, raw, ev, s.sub.ID, repost.ParkInfo{Code: d.ParkCode, Reason: reasonOf(fl.Message, d), Field: fieldOf(d, fl.Message, ev),
			ParkedAt: now, LastResponse: ev.Response}, repost.KindParked, false)
		return true
	case policy.ActionSkip:
		f.outcome(m, outcomeOf(ev, s.sub.ID, repost.KindSkipped, d.Code, reasonOf(fl.Message, d), 0, now), nil, false)
		return true
	}
	return false
}
