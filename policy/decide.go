package policy

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Input is one failed post-out as the policy sees it.
type Input struct {
	Code    Code   // why it failed
	Message string // Marketo's message for it, if any
	// Attempts counts the counted attempts so far, including the one that
	// just failed (so it is at least 1 for a failure that counts).
	Attempts int
	// Now is the time of the failure; the engine has no clock of its own.
	Now time.Time
	// Window is the subscription's call window (606); 0 means 20s.
	Window time.Duration
}

// Decision is what to do next, and why.
type Decision struct {
	Code   Code
	Action Action
	// Delay is how long to wait before acting; 0 means at once.
	Delay time.Duration
	// Until is Now+Delay: for 607 the next 00:00 America/Chicago.
	Until time.Time
	// Attempt: the failed call counts toward maxAttempts.
	Attempt bool
	// Field is the Marketo field the message names ("" when none).
	Field string
	// Reason is one human line, e.g. "1006 Field 'role' not found: park
	// for a mapping or data fix (field role)".
	Reason string
	// ParkCode is set when Action is park: Code, or CodeRetriesExhausted
	// when a retry, split or resend ran out of attempts.
	ParkCode Code
	// LowerConcurrency asks the worker to lower the subscription's
	// concurrency (615).
	LowerConcurrency bool
}

// maxMessage bounds the message quoted in a Reason.
const maxMessage = 200

// Decide applies the table to one failure. It is pure: the same Input and
// Rand values give the same Decision.
func (e *Engine) Decide(in Input) Decision {
	r, _, overridden := e.rule(in.Code)
	d := Decision{Code: in.Code, Action: r.action, Attempt: r.attempt,
		Field: FieldFromMessage(in.Code, in.Message)}
	var what string
	switch {
	case r.action.retries() && in.Attempts >= e.maxAttempts:
		d.Action, d.ParkCode = ActionPark, CodeRetriesExhausted
		what = fmt.Sprintf("retries exhausted (%d of %d attempts used): park as %s", in.Attempts, e.maxAttempts, CodeRetriesExhausted)
	case r.action == ActionThrottle:
		what = e.throttle(in, &d)
	case r.action == ActionRetry:
		d.Delay = e.delay(in.Attempts)
		what = fmt.Sprintf("retry in %v (%d of %d attempts used)", d.Delay.Round(time.Millisecond), in.Attempts, e.maxAttempts)
	default:
		what = phrase(r)
		if r.action == ActionPark {
			d.ParkCode = in.Code
		}
	}
	if d.Until.IsZero() {
		d.Until = in.Now.Add(d.Delay)
	}
	d.Reason = reason(in, r, what, d.Field, overridden)
	return d
}

// throttle fills the wait of a throttle row and returns its phrase.
func (e *Engine) throttle(in Input, d *Decision) string {
	switch in.Code {
	case "607":
		d.Until = nextMidnight(in.Now, e.loc)
		d.Delay = d.Until.Sub(in.Now)
		return "wait for the daily quota reset at " + d.Until.Format("2006-01-02 15:04 MST")
	case "615":
		d.Delay, d.LowerConcurrency = e.throttle615, true
		return fmt.Sprintf("wait %v and lower the subscription's concurrency", d.Delay)
	}
	d.Delay = in.Window
	if d.Delay <= 0 {
		d.Delay = DefaultWindow
	}
	return fmt.Sprintf("wait %v for the call window to free", d.Delay)
}

// delay is the randomized backoff before the next attempt once attempts
// have failed, mirroring cenkalti/backoff/v4's ExponentialBackOff: interval
// min(Max, Initial*Multiplier^(attempts-1)), then a value drawn from
// [i-J*i, i+J*i] by i-J*i + r*(2*J*i+1), its formula, +1 included.
func (e *Engine) delay(attempts int) time.Duration {
	b := e.backoff
	if attempts < 1 {
		attempts = 1
	}
	interval := b.Max
	if f := float64(b.Initial) * math.Pow(b.Multiplier, float64(attempts-1)); f < float64(b.Max) {
		interval = time.Duration(f)
	}
	if b.Jitter == 0 {
		return interval
	}
	r := e.rand()
	if !(r >= 0) { // also catches NaN
		r = 0
	}
	if r >= 1 {
		r = math.Nextafter(1, 0)
	}
	delta := b.Jitter * float64(interval)
	lo, hi := float64(interval)-delta, float64(interval)+delta
	return time.Duration(lo + r*(hi-lo+1))
}

// phrase says what the non-waiting actions do.
func phrase(r rule) string {
	switch r.action {
	case ActionReauth:
		return "reauthenticate and repost at once"
	case ActionHalt:
		return "halt the subscription until its credentials or permissions are fixed"
	case ActionSplit:
		return "split the call and retry the parts"
	case ActionResend:
		return "resend as POST with _method=GET"
	case ActionPark:
		if r.why == "" {
			return "park for a human"
		}
		return "park for " + r.why
	case ActionSkip:
		if r.why == "" {
			return "skip"
		}
		return "skip: " + r.why
	}
	return string(r.action)
}

// reason builds the one-line Reason: the code, what Marketo said (or the
// row's title), what the engine does, and the field.
func reason(in Input, r rule, what, field string, overridden bool) string {
	said := oneLine(in.Message)
	if said == "" {
		said = strings.ReplaceAll(r.title, "%s", "…")
	}
	var b strings.Builder
	b.WriteString(string(in.Code))
	if said != "" {
		b.WriteString(" " + said)
	}
	b.WriteString(": " + what)
	if overridden {
		b.WriteString(" (config override)")
	}
	if field != "" {
		b.WriteString(" (field " + field + ")")
	}
	return b.String()
}

// oneLine flattens and bounds a message so a Reason stays one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
