package worker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/policy"
)

// verdict is what one call said about one event.
type verdict struct {
	code     policy.Code // CodeOK when every record was accepted
	message  string
	marketo  int64
	status   string
	results  []marketo.Result
	response json.RawMessage // what goes in the parked entry
}

// settle maps the answer of a call back to each event of the batch.
func (s *subRunner) settle(ctx context.Context, b *batch, req marketo.LeadsRequest, owners []int, resp *marketo.Response, err error) {
	if err != nil {
		s.settleError(ctx, b, err, resp)
		return
	}
	perItem := make([][]marketo.Result, len(b.items))
	for i, r := range resp.Results {
		if i < len(owners) {
			perItem[owners[i]] = append(perItem[owners[i]], r)
		}
	}
	verdicts := make([]verdict, len(b.items))
	for i := range b.items {
		verdicts[i] = recordVerdict(perItem[i], resp.RequestID)
	}
	s.w.m.calls.WithLabelValues(s.sub.ID, b.endpoint, marketo.CallOK).Inc()
	s.apply(ctx, b, verdicts)
}

// recordVerdict reduces an event's record results: accepted only when every
// record was created or updated, else the first skipped record's reason.
func recordVerdict(results []marketo.Result, requestID string) verdict {
	v := verdict{code: policy.CodeOK, results: results}
	if len(results) == 0 {
		v.code, v.message = policy.CodeNetwork, "no result for this record in Marketo's answer"
	}
	for _, r := range results {
		if r.Status == marketo.StatusCreated || r.Status == marketo.StatusUpdated {
			if v.marketo == 0 {
				v.marketo, v.status = r.ID, r.Status
			}
			continue
		}
		if len(r.Reasons) > 0 {
			v.code, v.message = policy.CodeOf(r.Reasons[0].Code), r.Reasons[0].Message
		} else {
			v.code, v.message = policy.CodeNetwork, "record "+r.Status+" without a reason"
		}
		break
	}
	if v.code != policy.CodeOK { // what a parked entry shows; an accepted event needs none
		v.response, _ = json.Marshal(map[string]any{"requestId": requestID, "result": results})
	}
	return v
}

// settleError handles a call that failed as a whole.
func (s *subRunner) settleError(ctx context.Context, b *batch, err error, resp *marketo.Response) {
	code, msg := classify(err)
	endpoint := b.endpoint
	s.w.m.calls.WithLabelValues(s.sub.ID, endpoint, code.String()).Inc()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		s.handBack(b.items, 0) // shutdown: someone else sends them
		return
	}
	var body json.RawMessage
	if resp != nil && json.Valid(resp.Call.ResponseBody) {
		body = resp.Call.ResponseBody
	} else {
		body, _ = json.Marshal(map[string]any{"error": msg, "code": code})
	}
	if s.maybeSplit(ctx, b, code, err) {
		return
	}
	verdicts := make([]verdict, len(b.items))
	for i := range verdicts {
		verdicts[i] = verdict{code: code, message: msg, response: body}
	}
	s.apply(ctx, b, verdicts)
}

// classify names the code of a failed call.
func classify(err error) (policy.Code, string) {
	var (
		ae *marketo.APIError
		he *marketo.HTTPError
		se *marketo.SizeError
		be *marketo.BadResponseError
	)
	switch {
	case errors.As(err, &ae):
		return policy.CodeOf(ae.Code), ae.Message
	case errors.As(err, &he):
		return policy.CodeOf(he.Status), err.Error()
	case errors.As(err, &se):
		return policy.CodeOf(413), err.Error()
	case errors.As(err, &be):
		if be.Status >= 500 {
			return policy.CodeOf(be.Status), err.Error()
		}
		return policy.CodeNetwork, err.Error()
	case marketo.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return policy.CodeTimeout, err.Error()
	}
	return policy.CodeNetwork, err.Error()
}

// maybeSplit halves a batch Marketo found too large (413, a size refusal) or
// holding one key twice (1036) and sends both halves; a single event that is
// too large alone is parked by the policy instead. Whether to split is asked
// of the call, not of its events: the rule of the call's code, before any
// event's attempts count (Decider.Action, what Decide answers for a first
// failure), so that events near their last attempt are split too. Only an
// answer that is not split gets decisions, one per event, in apply.
func (s *subRunner) maybeSplit(ctx context.Context, b *batch, code policy.Code, err error) bool {
	if len(b.items) < 2 || s.w.pol.Action(code) != policy.ActionSplit {
		return false
	}
	l, r := b.split()
	s.w.log.Info("splitting call", zap.String("subscription", s.sub.ID), zap.String("code", code.String()),
		zap.Int("events", len(b.items)), zap.NamedError("cause", err))
	s.sendChild(ctx, l)
	s.sendChild(ctx, r)
	return true
}

// sendChild sends half of a split batch; its lookup values are still
// claimed by the parent, so it skips claiming.
func (s *subRunner) sendChild(ctx context.Context, b *batch) {
	recs, owners := b.input()
	req := marketo.LeadsRequest{Endpoint: b.endpoint, Params: b.params, Input: recs}
	resp, err, ok := s.post(ctx, b, req, nil)
	if !ok {
		return
	}
	s.w.m.leadsPerCall.WithLabelValues(s.sub.ID).Observe(float64(len(recs)))
	s.settle(ctx, b, req, owners, resp, err)
}

// apply turns each event's verdict into its decision, the one time the
// policy is asked about this answer for that event, and passes the decision
// along: to the log, to the shared side effects (penalties, halts, once per
// code per batch) and to finishOrRetry, which carries it out.
func (s *subRunner) apply(ctx context.Context, b *batch, verdicts []verdict) {
	now := s.w.cfg.Now()
	f := s.w.newFinisher()
	penalized := map[policy.Code]bool{}
	var finished []*item
	for i, it := range b.items {
		v := verdicts[i]
		if v.code == policy.CodeOK {
			o := outcomeOf(it.ev, s.sub.ID, repost.KindReposted, policy.CodeOK, "", it.st.Attempts+1, now)
			o.MarketoID, o.Status = v.marketo, v.status
			f.outcomeAt(it.msg, o, nil, it.st.Kept(), it.at)
			finished = append(finished, it)
			continue
		}
		d := s.w.pol.Decide(policy.Input{Code: v.code, Message: v.message, Attempts: it.st.Attempts + 1,
			Now: now, Window: s.sub.Limits.Window})
		s.logDecision(it, v, d)
		if !penalized[v.code] {
			penalized[v.code] = true
			s.sideEffects(ctx, v, d)
		}
		if s.finishOrRetry(ctx, f, it, v, d, now) {
			finished = append(finished, it)
		}
	}
	_ = f.flush(ctx) // on failure the events were handed back
	s.doneItems(finished)
}

func (s *subRunner) doneItems(items []*item) {
	for _, it := range items {
		s.done(it.msg)
	}
}

// sideEffects tells the shared limiter what Marketo said, once per batch.
func (s *subRunner) sideEffects(ctx context.Context, v verdict, d policy.Decision) {
	n, _ := v.code.Number()
	switch d.Action {
	case policy.ActionThrottle:
		if err := s.w.lim.Penalize(ctx, s.sub.ID, n, s.sub.Limits); err != nil {
			s.w.log.Warn("penalize failed", zap.Error(err))
		}
		if !d.Until.IsZero() && d.Until.Sub(s.w.cfg.Now()) > s.holdLimit() {
			s.closeGate(d.Until.Sub(s.w.cfg.Now()), d.Reason, false)
		}
	case policy.ActionHalt:
		if err := s.w.lim.Halt(ctx, s.sub.ID, d.Reason); err != nil {
			s.w.log.Warn("halt failed", zap.Error(err))
		}
		s.closeGate(s.w.cfg.ProbeInterval, d.Reason, true)
		s.w.log.Error("subscription halted", zap.String("subscription", s.sub.ID), zap.String("reason", d.Reason))
	}
}

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

// fieldOf names the Marketo field a decision is about: the one the message
// names, else, for a type mismatch (1001 names the value, not the field),
// the field of the event's records holding the value the message quotes.
func fieldOf(d policy.Decision, msg string, ev *repost.Event) string {
	if d.Field != "" || d.Code != "1001" {
		return d.Field
	}
	val := quoted(msg)
	if val == "" {
		return ""
	}
	for _, rec := range ev.RequestContent.Input {
		for k, v := range rec {
			if s, ok := v.(string); ok && s == val {
				return k
			}
			if n, ok := v.(json.Number); ok && n.String() == val {
				return k
			}
		}
	}
	return ""
}

// quoted returns the first value between quotes in a Marketo message
// ("Invalid value 'fifty'. Required of type 'integer'" → fifty).
func quoted(msg string) string {
	for _, q := range []string{"'", "\u2018", "\""} {
		i := strings.Index(msg, q)
		if i < 0 {
			continue
		}
		rest := msg[i+len(q):]
		end := q
		if q == "\u2018" {
			end = "\u2019"
		}
		if j := strings.Index(rest, end); j >= 0 {
			return rest[:j]
		}
	}
	return ""
}

// reasonOf prefers Marketo's own words; the policy's line explains the rest.
func reasonOf(marketoMsg string, d policy.Decision) string {
	if marketoMsg != "" && d.ParkCode != policy.CodeRetriesExhausted {
		return marketoMsg
	}
	return d.Reason
}
