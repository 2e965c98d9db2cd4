package worker

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/quota"
)

// maxInlineWait is the least of holdLimit.
const maxInlineWait = 5 * time.Second

// holdWindows is how many windows a block (a 606 or 615 penalty) may last
// and still be waited out holding the fetched events.
const holdWindows = 3

// holdLimit is the longest block waited out holding fetched events; a
// longer one (and the daily quota, and a halt) hands them back, deferred,
// and closes the fetch gate. Waits for the window or for a concurrency slot
// are always held: they end within a window, and deferring would republish
// every held event for nothing.
func (s *subRunner) holdLimit() time.Duration {
	return max(maxInlineWait, holdWindows*s.sub.Limits.Window)
}

// readyClient is a Marketo client that can have its access token in hand
// before a call is admitted and then send at once (*marketo.Client).
type readyClient interface {
	Ready(ctx context.Context) error
	PostNow(ctx context.Context, req marketo.LeadsRequest) (*marketo.Response, error)
}

var _ readyClient = (*marketo.Client)(nil)

// maxSendTries bounds the admissions one call may take for its token: a
// token rejected by Marketo, or gone before the call could leave, costs one
// more.
const maxSendTries = 3

// maxLateTries bounds the admissions one call may take for being late: an
// admission older than the guard band is never used (Marketo could count
// the call in a window the limiter has already let fill), and a call late
// this many times in a row is handed back rather than sent late.
const maxLateTries = 5

// post has the call admitted and sends it at once. The access token is in
// hand before admission is asked, so no wait comes between the admission
// and the request leaving: Marketo counts the call when the limiter did.
// Should more than the window's guard band pass anyway (counted from before
// the limiter was asked, checked just before the request leaves), the call
// is admitted again; it is never sent on a late admission. A token Marketo
// rejects (601/602) is refreshed, and the resend admitted again. ok is
// false when the batch was handed back or deferred instead (admit).
func (s *subRunner) post(ctx context.Context, b *batch, req marketo.LeadsRequest, g *granted) (*marketo.Response, error, bool) {
	rc, now := s.sub.Client.(readyClient)
	items := func() []*item { return b.items }
	tries, late := 0, 0
	for {
		if g != nil && g.err != nil {
			return nil, g.err, true // no token: the call fails as a whole (policy decides)
		}
		if s.stopping() {
			if g != nil {
				s.release(ctx, g.lease)
			}
			s.handBack(b.items, 0) // SIGTERM: no new call starts; another replica sends them
			return nil, nil, false
		}
		var cur granted
		if g != nil { // the first try uses the admission the batch was filled for
			cur, g = *g, nil
		} else {
			var prep func() error
			if now {
				prep = func() error { return rc.Ready(ctx) }
			}
			a, ok := s.admit(ctx, items, prep)
			if !ok {
				return nil, nil, false
			}
			if a.err != nil {
				return nil, a.err, true
			}
			cur = a
		}
		if s.stopping() {
			s.release(ctx, cur.lease)
			s.handBack(b.items, 0)
			return nil, nil, false
		}
		if !now {
			stop := s.renew(ctx, cur.lease)
			resp, err := s.sub.Client.Post(ctx, req)
			stop()
			s.releaseAfter(ctx, cur.lease, err)
			return resp, err, true
		}
		stop := s.renew(ctx, cur.lease)
		if d := time.Since(cur.at); d > s.guard {
			stop()
			s.release(ctx, cur.lease)
			if late++; late >= maxLateTries {
				s.w.log.Warn("admitted too long before sending, again and again; handing the batch back",
					zap.String("subscription", s.sub.ID), zap.Duration("late", d))
				s.handBack(b.items, time.Second)
				return nil, nil, false
			}
			s.w.log.Warn("admitted too long before sending; admitting again", zap.String("subscription", s.sub.ID), zap.Duration("late", d))
			continue
		}
		tries++
		resp, err := rc.PostNow(ctx, req)
		stop()
		s.releaseAfter(ctx, cur.lease, err)
		if tries < maxSendTries && (errors.Is(err, marketo.ErrNoToken) ||
			errors.Is(err, marketo.ErrAccessTokenInvalid) || errors.Is(err, marketo.ErrAccessTokenExpired)) {
			s.w.log.Info("access token gone or rejected; refreshing it and admitting the call again",
				zap.String("subscription", s.sub.ID), zap.Error(err))
			continue
		}
		return resp, err, true
	}
}

// claim reserves the lookup values of the batch across replicas; events
// whose values another call holds wait a second and come back.
func (s *subRunner) claim(ctx context.Context, b *batch, owner string) (*batch, []string) {
	keys := b.allKeys()
	if len(keys) == 0 {
		return b, nil
	}
	got, err := s.w.lim.Claim(ctx, s.sub.ID, owner, keys, s.w.cfg.ClaimTTL)
	if err != nil {
		s.w.log.Warn("claim failed; handing the batch back", zap.String("subscription", s.sub.ID), zap.Error(err))
		s.handBack(b.items, 2*time.Second)
		return nil, nil
	}
	busy := map[string]bool{}
	var claimed []string
	for i, k := range keys {
		if i < len(got) && got[i] {
			claimed = append(claimed, k)
		} else {
			busy[k] = true
		}
	}
	if len(busy) == 0 {
		return b, claimed
	}
	kept := &batch{endpoint: b.endpoint, params: b.params, keys: map[string]bool{}}
	var later []*item
	for _, it := range b.items {
		free := true
		for _, k := range it.keys {
			if busy[k] {
				free = false
			}
		}
		if free {
			kept.add(it)
		} else {
			later = append(later, it)
		}
	}
	s.handBack(later, time.Second)
	if len(kept.items) == 0 {
		return nil, claimed
	}
	return kept, claimed
}

// admit waits for the shared limits to let one call through. A short wait
// is spent here, holding the events; a long one (daily quota, a block, a
// halt) defers the events give returns and closes the fetch gate, so the
// subscription holds nothing while it waits. When the limiter cannot be
// reached, nothing is admitted. prep (when set) runs before each attempt,
// so that nothing but the limiter's answer comes between the admission and
// the call leaving: it fills the batch and puts the token in hand; its
// error ends the wait unadmitted (ok, with that error).
func (s *subRunner) admit(ctx context.Context, give func() []*item, prep func() error) (granted, bool) {
	start := time.Now()
	unreachable := limiterBackoff()
	afterLoss := false
	for {
		if prep != nil {
			if err := prep(); errors.Is(err, errTailHandOver) {
				s.handBack(give(), 0)
				return granted{}, false
			} else if err != nil {
				return granted{err: err}, true
			}
		}
		// The admission dates from before it was asked: the limiter counts
		// it at its own time, somewhere between here and its answer, and a
		// slow answer must not hide how long the call has been admitted.
		asked := time.Now()
		adm, err := s.w.lim.Admit(ctx, s.sub.ID, s.sub.Limits)
		if err != nil {
			s.w.m.denied.WithLabelValues(s.sub.ID, "unavailable").Inc()
			wait := unreachable.NextBackOff()
			if ctx.Err() != nil || wait == backoff.Stop {
				s.w.log.Warn("limiter unreachable; handing the batch back", zap.String("subscription", s.sub.ID), zap.Error(err))
				s.handBack(give(), 2*time.Second)
				s.closeGate(2*time.Second, "limiter unreachable", false)
				return granted{}, false
			}
			sleepCtx(ctx, wait)
			continue
		}
		if s.stopping() {
			if adm.Allowed {
				s.release(ctx, adm.Lease)
			}
			s.handBack(give(), 0)
			return granted{}, false
		}
		if adm.StateLost {
			s.stateLost(adm)
		}
		if adm.Allowed {
			s.w.m.admissionWait.WithLabelValues(s.sub.ID).Observe(time.Since(start).Seconds())
			return granted{lease: adm.Lease, at: asked, afterLoss: afterLoss || adm.StateLost}, true
		}
		afterLoss = afterLoss || adm.StateLost || adm.Limit == quota.LimitLost || adm.Limit == quota.LimitRestore
		s.w.m.denied.WithLabelValues(s.sub.ID, string(adm.Limit)).Inc()
		if adm.Limit == quota.LimitWindow || adm.Limit == quota.LimitConcurrency {
			s.refused()
		}
		if adm.Limit == quota.LimitRestore {
			if wait := s.restoreCount(ctx); wait > 0 {
				sleepCtx(s.stopCtx(ctx), wait)
			}
			continue
		}
		short := adm.Limit == quota.LimitWindow || adm.Limit == quota.LimitConcurrency || adm.Limit == quota.LimitLost
		long := adm.Limit == quota.LimitQuota || adm.Limit == quota.LimitHalted ||
			(!short && adm.RetryAfter > s.holdLimit())
		if long || ctx.Err() != nil {
			wait := adm.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			s.closeGate(wait, adm.Reason, adm.Limit == quota.LimitHalted)
			if ctx.Err() != nil {
				s.handBack(give(), 0)
			} else {
				s.deferItems(ctx, give())
			}
			return granted{}, false
		}
		sleepCtx(s.stopCtx(ctx), adm.RetryAfter)
	}
}

// stopping reports whether the worker was told to stop (SIGTERM): from
// then on no Marketo call starts.
func (s *subRunner) stopping() bool { return s.stop != nil && s.stop.Err() != nil }

// stopCtx is ctx, ended early by SIGTERM: waits for admission end at once.
func (s *subRunner) stopCtx(ctx context.Context) context.Context {
	if s.stop == nil {
		return ctx
	}
	return s.stop
}

// renewClaims keeps the batch's lookup-value claims alive, three times per
// TTL and at least every 2 s (quota.ClaimRenewEvery: after a loss of the
// limits state the renewal puts them back), while it waits for admission and while its call runs (split halves
// included), like a lease: a call longer than the TTL must never let
// another call, here or on another replica, send the same value at once.
func (s *subRunner) renewClaims(ctx context.Context, owner string, keys []string) (stop func()) {
	ttl := s.w.cfg.ClaimTTL
	if len(keys) == 0 || ttl <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(quota.ClaimRenewEvery(ttl))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := s.w.lim.RenewClaims(ctx, s.sub.ID, owner, keys, ttl); err != nil && ctx.Err() == nil {
					s.w.log.Warn("renewing claims failed", zap.String("subscription", s.sub.ID), zap.Error(err))
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// renew keeps the lease of a long call alive.
func (s *subRunner) renew(ctx context.Context, l quota.Lease) (stop func()) {
	ttl := s.sub.Limits.LeaseTTL
	if ttl <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if nl, err := s.w.lim.Renew(ctx, l, ttl); err == nil {
					l = nl
				}
			}
		}
	}()
	return cancel
}

func (s *subRunner) release(ctx context.Context, l quota.Lease) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.w.lim.Release(rctx, l); err != nil {
		s.w.log.Warn("release failed; the lease expires by its TTL", zap.String("subscription", s.sub.ID), zap.Error(err))
	}
}

// logCall is the post-out log: one line per Marketo lead call with the
// codes it brought back (call level, then record level), never lead data.
func (s *subRunner) logCall(b *batch, leads int, took time.Duration, resp *marketo.Response, err error) {
	codes := map[string]int{}
	requestID := ""
	if err != nil {
		code, _ := classify(err)
		codes[code.String()] = leads
	} else {
		for _, r := range resp.Results {
			if len(r.Reasons) > 0 {
				codes[itoa(uint64(r.Reasons[0].Code))]++
			} else {
				codes[r.Status]++
			}
		}
	}
	if resp != nil {
		requestID = resp.RequestID
		if requestID == "" {
			requestID = resp.Call.RequestID
		}
	}
	fields := []zap.Field{
		zap.String("subscription", s.sub.ID), zap.String("endpoint", b.endpoint), zap.Int("leads", leads),
		zap.Int("events", len(b.items)), zap.Any("codes", codes), zap.Duration("duration", took),
		zap.String("requestId", requestID),
	}
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	s.w.log.Info("marketo call", fields...)
}

// limiterBackoff paces admission retries while the limiter (Redis) cannot
// be reached: nothing is admitted meanwhile (fail closed), and after 10 s
// the batch is handed back rather than held.
func limiterBackoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 100*time.Millisecond, 2*time.Second, 10*time.Second
	b.Reset()
	return b
}
