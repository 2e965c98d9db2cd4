package worker

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
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
}

// run fetches events into the pool and, beside it, sends calls from the
// pool as the limiter grants them, until ctx ends; calls use work, which
// outlives ctx by the shutdown deadline.
func (s *subRunner) run(ctx, work context.Context) {
	s.stop = ctx
	s.pool = newPool(s.w.cfg.BatchSize, s.w.cfg.MaxBodyBytes, s.w.cfg.Linger, max(time.Second, s.sub.Limits.Window))
	s.pool.pace = s.startPacing(ctx)
	stopKeep := s.keepAlive(work)
	defer stopKeep()
	var calls sync.WaitGroup
	defer calls.Wait()
	sent := make(chan struct{})
	go func() { defer close(sent); s.sendLoop(ctx, work, &calls) }()
	s.fetchLoop(ctx, work)
	<-sent
	s.handBack(s.pool.takeAll(), 0) // SIGTERM: what waits for a call goes back at once
}

// fetchLoop keeps the pool stocked, up to MaxPooled records: enough that a
// granted call can be filled, bounded so that memory is, and fetches
// nothing while the events held reach MaxHeldBytes (byteRoom). A closed
// gate (a long block, a halt, a pause) defers what the pool holds.
func (s *subRunner) fetchLoop(ctx, work context.Context) {
	for ctx.Err() == nil {
		if wait := s.gateWait(); wait > 0 {
			if items := s.pool.takeAll(); len(items) > 0 {
				s.deferItems(work, items)
			}
			s.maybeProbe(work)
			sleepCtx(ctx, min(wait, time.Second))
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
	got := 0
	defer func() {
		if got == 0 { // none came: none left, or other replicas hold the stream's ack slots
			s.pool.setIncoming(s.consumerPending(ctx))
		}
	}()
	// Events behind the one just delivered come with this fetch: a backlog
	// is taken whole (and prepared in parallel), a lone event at once.
	var chunk []jetstream.Msg
	more := false
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
	info, err := s.cons.Info(ctx)
	return err == nil && info.NumPending > 0
}

// morePending reports whether events wait in the stream behind m.
func (s *subRunner) morePending(m jetstream.Msg) bool {
	md, err := m.Metadata()
	return err == nil && md.NumPending > 0
}

// hold counts fetched events as held until done.
func (s *subRunner) hold(msgs []jetstream.Msg) {
	n, bytes := s.held.add(msgs)
	s.w.m.inflight.WithLabelValues(s.sub.ID).Add(float64(n))
	s.w.m.inflightBytes.WithLabelValues(s.sub.ID).Add(float64(bytes))
}

// accept finishes held events that need no call and pools the rest.
func (s *subRunner) accept(work context.Context, msgs []jetstream.Msg) {
	if msgs = s.unlessPaused(msgs); len(msgs) == 0 {
		return
	}
	s.pool.add(s.prepare(work, msgs), time.Now())
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

// reasonOf prefers Marketo's own words; the policy's line explains the rest.
func reasonOf(marketoMsg string, d policy.Decision) string {
	if marketoMsg != "" && d.ParkCode != policy.CodeRetriesExhausted {
		return marketoMsg
	}
	return d.Reason
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
