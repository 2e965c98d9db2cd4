package quota

import "time"

// NextReset is the end of the quota day that holds t: the first 00:00
// America/Chicago after t. The day before it lasts 23 hours when daylight
// saving time begins and 25 when it ends; time.Date in Chicago's zone
// accounts for both.
func NextReset(t time.Time) time.Time {
	y, m, d := t.In(chicago).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, chicago)
}

// Budget is what a Pacer is told of one subscription's day.
type Budget struct {
	// Left is what remains of the daily quota, counting the calls of every
	// replica (Snapshot.QuotaLeft).
	Left int
	// ResetAt is when the quota resets (Snapshot.ResetAt, or NextReset),
	// on the clock the Pacer is given.
	ResetAt time.Time
	// Shares is how many replicas pace the subscription at once, each
	// taking its share of the rate; 0 counts as 1.
	Shares int
}

// PaceBurstDivisor sets the bucket's size: Left ÷ PaceBurstDivisor calls
// (at least 1) may leave back to back before the pace holds them, so
// traffic that calls now and then never waits, and a steady trickle
// spends at most 1% of the day unpaced.
const PaceBurstDivisor = 100

// rate is the calls per second that spend Left exactly by the reset.
func (b Budget) rate(now time.Time) float64 {
	left := b.ResetAt.Sub(now).Seconds()
	if b.Left <= 0 || left <= 0 {
		return 0
	}
	return float64(b.Left) / left / float64(max(1, b.Shares))
}

func (b Budget) burst() float64 { return float64(max(1, b.Left/PaceBurstDivisor)) }

// Pacer spreads one subscription's partial calls over what is left of its
// quota day, so that a steady trickle of events never spends the daily
// quota before the 00:00 America/Chicago reset (Marketo would answer 607
// until then, and the DAP pipeline sharing the instance would lose its
// share). It is a token bucket that fills at Budget.Left ÷ (time to the
// reset) per second, holding at most Budget.Left ÷ PaceBurstDivisor
// tokens; each partial call takes one. While calls come less often than
// that rate the bucket stays full and nothing waits: pacing binds only when
// the spending would use up what is left before the reset, and then calls
// leave at that rate, each carrying what accumulated meanwhile.
//
// Full calls are not paced (the caller does not ask): a call of 300 leads
// carries no more for waiting, and whatever it spends lowers Budget.Left,
// which slows the partial calls after it. The shared count makes the pace
// self-correcting: every call of every replica lowers Left, and so the
// rate, so the quota left stays positive until the reset.
//
// A Pacer holds no clock: every method is given the time, so a simulated
// day runs in milliseconds. Not safe for concurrent use.
type Pacer struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date; zero: never (the bucket starts full)
}

func (p *Pacer) refill(now time.Time, b Budget) {
	burst := b.burst()
	switch {
	case p.at.IsZero():
		p.tokens = burst
	case now.After(p.at):
		p.tokens += b.rate(now) * now.Sub(p.at).Seconds()
	default:
		return // a clock that went back adds nothing
	}
	p.tokens = min(p.tokens, burst)
	p.at = now
}

// Wait is how long a partial call must still wait at now (0: it may
// leave), never beyond the reset. With nothing left it is the time to the
// reset (a call now would be refused, 607); once the reset has passed it is
// 0 until the Budget of the new day is known.
func (p *Pacer) Wait(now time.Time, b Budget) time.Duration {
	untilReset := b.ResetAt.Sub(now)
	if untilReset <= 0 {
		return 0
	}
	if b.Left <= 0 {
		return untilReset
	}
	r := b.rate(now)
	p.refill(now, b)
	if p.tokens >= 1 {
		return 0
	}
	wait := time.Duration((1 - p.tokens) / r * float64(time.Second))
	return max(time.Millisecond, min(wait, untilReset))
}

// Spend takes a token for a partial call that left at now.
func (p *Pacer) Spend(now time.Time, b Budget) {
	p.refill(now, b)
	p.tokens = max(0, p.tokens-1)
}
