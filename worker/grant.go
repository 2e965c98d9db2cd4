package worker

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/internal/randid"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/quota"
)

// sendLoop sends calls from the pool. Once a batch is ready (full, unable to
// fill, or a linger old) it takes a concurrency slot of this replica, takes
// the batch from the pool, claims its lookup values and checks superseding
// again, then waits for admission. Before each admission attempt the batch
// is topped up with what arrived meanwhile (claimed and checked the same
// way) and the token is put in hand: a call admitted under a binding limit
// leaves full, and at once, with nothing between its admission and its
// request but the limiter's answer.
func (s *subRunner) sendLoop(ctx, work context.Context, calls *sync.WaitGroup) {
	sem := make(chan struct{}, max(1, s.sub.Limits.MaxConcurrency))
	for s.awaitReady(ctx) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c := s.form(work)
		if c == nil {
			<-sem
			continue
		}
		calls.Add(1)
		go func() {
			defer calls.Done()
			defer func() { <-sem }()
			defer s.endCall(work, c)
			s.send(work, c)
		}()
	}
}

// awaitReady waits until the pool has a batch to send; false at SIGTERM.
func (s *subRunner) awaitReady(ctx context.Context) bool {
	for ctx.Err() == nil {
		ok, wait := s.pool.ready(time.Now())
		if ok {
			return true
		}
		var timeout <-chan time.Time
		var t *time.Timer
		if wait > 0 {
			t = time.NewTimer(wait)
			timeout = t.C
		}
		select {
		case <-ctx.Done():
		case <-s.pool.added:
		case <-timeout:
		}
		if t != nil {
			t.Stop()
		}
	}
	return false
}

// call is a batch on its way: taken from the pool, its lookup values
// claimed, admitted (or failed for want of a token).
type call struct {
	b         *batch
	owner     string
	claimed   []string // claimed in the limiter: unclaimed at the end
	taken     []string // marked in flight in the pool: freed at the end
	stopRenew func()
	g         *granted
}

// granted is the admission a call was filled for: at is the local time
// just before the limiter was asked (the admission is at least that old);
// err is a token that could not be had (the call then fails as a whole,
// unadmitted).
//
// afterLoss: the wait saw the limits state lost, so the success marks the
// batch was checked against may have been lost too (they are restored
// before any admission resumes).
type granted struct {
	lease     quota.Lease
	at        time.Time
	err       error
	afterLoss bool
}

// form takes a batch from the pool and has it admitted, topping it up
// before each attempt; nil when nothing is to be sent (a closed gate
// deferred the pool, the batch was handed back or deferred, or every event
// of it turned out claimed elsewhere or superseded).
func (s *subRunner) form(ctx context.Context) *call {
	if s.gateWait() > 0 { // a pause read meanwhile
		s.deferItems(ctx, s.pool.takeAll())
		return nil
	}
	b := s.pool.take(time.Now())
	if b == nil {
		return nil
	}
	c := &call{owner: s.w.cfg.Owner + "/" + randid.Hex(6), taken: b.allKeys(), stopRenew: func() {}}
	if c.b = s.secure(ctx, c, b); c.b == nil {
		s.endCall(ctx, c)
		return nil
	}
	rc, hasReady := s.sub.Client.(readyClient)
	attempts := 0
	prep := func() error {
		s.topUp(ctx, c)
		if attempts++; (attempts > 1 || s.binding()) && s.handOverTail(ctx, c) {
			return errTailHandOver
		}
		if hasReady {
			return rc.Ready(ctx)
		}
		return nil
	}
	g, ok := s.admit(ctx, func() []*item { return c.b.items }, prep)
	if !ok {
		s.endCall(ctx, c)
		return nil
	}
	if g.afterLoss && g.err == nil {
		// The batch was checked against marks the loss may have taken:
		// check again against the ones restored before this admission.
		if c.b = s.recheck(ctx, c.b); c.b == nil {
			s.release(ctx, g.lease)
			s.endCall(ctx, c)
			return nil
		}
	}
	c.g = &g
	return c
}

// secure claims a batch's lookup values and checks superseding again under
// the claim; it returns what may be sent (nil: none), having handed back
// or finished the rest.
func (s *subRunner) secure(ctx context.Context, c *call, b *batch) *batch {
	kept, claimed := s.claim(ctx, b, c.owner)
	if len(claimed) > 0 {
		c.claimed = append(c.claimed, claimed...)
		c.stopRenew()
		c.stopRenew = s.renewClaims(ctx, c.owner, c.claimed)
	}
	if kept == nil {
		return nil
	}
	return s.recheck(ctx, kept)
}

// topUp adds to the call what its group gained in the pool meanwhile.
func (s *subRunner) topUp(ctx context.Context, c *call) {
	add := s.pool.topUp(c.b)
	if add == nil {
		return
	}
	c.taken = append(c.taken, add.allKeys()...)
	if kept := s.secure(ctx, c, add); kept != nil {
		for _, it := range kept.items {
			c.b.add(it)
		}
	}
}

// endCall releases what a call held: its claims and its place in the pool.
func (s *subRunner) endCall(ctx context.Context, c *call) {
	c.stopRenew()
	if len(c.claimed) > 0 {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.w.lim.Unclaim(uctx, s.sub.ID, c.owner, c.claimed); err != nil {
			s.w.log.Warn("unclaim failed; claims expire by their TTL", zap.Error(err))
		}
	}
	s.pool.done(c.taken)
}

// send calls Marketo with the admission the call was filled for and
// settles every event.
func (s *subRunner) send(ctx context.Context, c *call) {
	b := c.b
	recs, owners := b.input()
	req := marketo.LeadsRequest{Endpoint: b.endpoint, Params: b.params, Input: recs}
	start := time.Now()
	resp, err, ok := s.post(ctx, b, req, c.g)
	if !ok {
		return
	}
	elapsed := time.Since(start)
	s.w.m.callDuration.WithLabelValues(s.sub.ID).Observe(elapsed.Seconds())
	s.w.m.leadsPerCall.WithLabelValues(s.sub.ID).Observe(float64(len(recs)))
	s.logCall(b, len(recs), elapsed, resp, err)
	s.settle(ctx, b, req, owners, resp, err)
}
