package worker

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
)

// finishOrRetry carries out one event's decision. It returns true when the
// event is finished here (an outcome is on its way, or it was handed back).
func (s *subRunner) finishOrRetry(ctx context.Context, f *finisher, it *item, v verdict, d policy.Decision, now time.Time) bool {
	hadState := it.st.Kept()
	attempts := it.st.Attempts
	if d.Attempt {
		attempts++
	}
	switch d.Action {
	case policy.ActionSplit:
		// A batch is split before it gets here (maybeSplit): this event
		// alone is too large (413) or repeats a key inside itself (1036).
		f.park(it.msg, it.raw, it.ev, s.sub.ID, repost.ParkInfo{
			Code: d.Code, Reason: "this lead alone cannot be sent: " + reasonOf(v.message, d), Attempts: attempts,
			ParkedAt: now, LastRequest: it.lastRequest(), LastResponse: v.response,
		}, repost.KindParked, hadState)
		return true
	case policy.ActionPark:
		f.park(it.msg, it.raw, it.ev, s.sub.ID, repost.ParkInfo{
			Code: d.ParkCode, Reason: reasonOf(v.message, d), Field: fieldOf(d, v.message, it.ev), Attempts: attempts,
			ParkedAt: now, LastRequest: it.lastRequest(), LastResponse: v.response,
		}, repost.KindParked, hadState)
		return true
	case policy.ActionSkip:
		f.outcome(it.msg, outcomeOf(it.ev, s.sub.ID, repost.KindSkipped, d.Code, reasonOf(v.message, d), attempts, now), nil, hadState)
		return true
	case policy.ActionReauth:
		it.st.Reauths++
		if it.st.Reauths > s.w.cfg.MaxReauths {
			reason := "Marketo refused fresh access tokens " + itoa(uint64(it.st.Reauths)) + " times in a row"
			_ = s.w.lim.Halt(ctx, s.sub.ID, reason)
			s.closeGate(s.w.cfg.ProbeInterval, reason, true)
			it.st.Reauths = 0
		}
		return s.retry(ctx, it, attempts, d.Code, time.Second)
	case policy.ActionHalt:
		return s.later(ctx, it, attempts, d.Code)
	case policy.ActionThrottle:
		if !d.Until.IsZero() && d.Until.Sub(now) > s.holdLimit() {
			return s.later(ctx, it, attempts, d.Code) // the gate is closed until then
		}
		return s.retry(ctx, it, attempts, d.Code, d.Delay)
	default: // retry, resend, split of a single event
		return s.retry(ctx, it, attempts, d.Code, d.Delay)
	}
}

// retry stores the event's attempts and hands it back for a later delivery.
func (s *subRunner) retry(ctx context.Context, it *item, attempts int, code policy.Code, delay time.Duration) bool {
	it.st.Attempts = attempts
	it.st.LastCode = code.String()
	if err := s.w.q.SaveState(ctx, it.ev.EventID, it.st); err != nil {
		// Without its count the event could retry forever: try again soon.
		s.w.log.Warn("cannot save attempts; retrying shortly", zap.String("eventId", it.ev.EventID), zap.Error(err))
		delay = 2 * time.Second
	}
	if delay > 0 {
		_ = it.msg.NakWithDelay(delay)
	} else {
		_ = it.msg.Nak()
	}
	return true
}

// later saves the event's state and defers it: the subscription is
// blocked or halted for longer than is worth holding it.
func (s *subRunner) later(ctx context.Context, it *item, attempts int, code policy.Code) bool {
	it.st.Attempts = attempts
	it.st.LastCode = code.String()
	if err := s.w.q.SaveState(ctx, it.ev.EventID, it.st); err != nil {
		s.w.log.Warn("cannot save event state; retrying shortly", zap.String("eventId", it.ev.EventID), zap.Error(err))
		_ = it.msg.NakWithDelay(2 * time.Second)
		return true
	}
	s.deferItems(ctx, []*item{it})
	return false // deferItems marked it done
}

func (s *subRunner) logDecision(it *item, v verdict, d policy.Decision) {
	s.w.log.Info("decision",
		zap.String("subscription", s.sub.ID), zap.String("eventId", it.ev.EventID), zap.String("leadId", it.ev.LeadID),
		zap.String("code", v.code.String()), zap.String("action", string(d.Action)),
		zap.Bool("attempt", d.Attempt), zap.Int("attempts", it.st.Attempts), zap.Duration("delay", d.Delay),
		zap.String("field", d.Field), zap.String("reason", d.Reason))
}

// lastRequest is the event's own part of the call (not the other leads of
// the batch), for the parked entry.
func (it *item) lastRequest() json.RawMessage {
	req := map[string]any{"endpoint": it.ev.Endpoint}
	for k, v := range it.params {
		req[k] = v
	}
	req["input"] = it.input
	b, _ := json.Marshal(req)
	return b
}
