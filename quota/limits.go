package quota

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // America/Chicago without the host's zoneinfo (scratch images)
)

// chicago is where Marketo's day ends.
var chicago = mustLocation("America/Chicago")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("quota: time zone %s: %v", name, err))
	}
	return loc
}

// normalize fills the zero fields with the defaults and rejects the negative ones.
func (l Limits) normalize() (Limits, error) {
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"DailyQuota", &l.DailyQuota, DefaultDailyQuota},
		{"CallsPerWindow", &l.CallsPerWindow, DefaultCallsPerWindow},
		{"MaxConcurrency", &l.MaxConcurrency, DefaultMaxConcurrency},
	}
	for _, f := range ints {
		if *f.v < 0 {
			return l, &LimitsError{Field: f.name, Reason: fmt.Sprintf("is negative (%d)", *f.v)}
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Window", &l.Window, DefaultWindow},
		{"LeaseTTL", &l.LeaseTTL, DefaultLeaseTTL},
	}
	for _, f := range durs {
		if *f.v < 0 {
			return l, &LimitsError{Field: f.name, Reason: fmt.Sprintf("is negative (%s)", *f.v)}
		}
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < time.Millisecond {
			return l, &LimitsError{Field: f.name, Reason: fmt.Sprintf("is under 1ms (%s)", *f.v)}
		}
	}
	return l, nil
}

func checkSub(sub string) error {
	if sub == "" || strings.ContainsAny(sub, "{}") {
		return fmt.Errorf("%w: %q", ErrInvalidSubscription, sub)
	}
	return nil
}

// days are the starts of four consecutive Chicago days around t: yesterday,
// today, tomorrow and the day after. The Redis script picks the day that
// holds its own clock's time, so a pod clock a few seconds off around
// midnight does not count a call on the wrong day.
type days [4]time.Time

func chicagoDays(t time.Time) days {
	y, m, d := t.In(chicago).Date()
	var ds days
	for i := range ds {
		ds[i] = time.Date(y, m, d+i-1, 0, 0, 0, 0, chicago)
	}
	return ds
}

// pick returns the index i (0..2) with ds[i] <= t < ds[i+1].
func (ds days) pick(t time.Time) (int, bool) {
	for i := 0; i < 3; i++ {
		if !t.Before(ds[i]) && t.Before(ds[i+1]) {
			return i, true
		}
	}
	return 0, false
}

// micro truncates to the stores' resolution.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func fromMicros(us int64) time.Time { return time.UnixMicro(us) }

// penalty is what a Marketo code imposes.
type penalty struct {
	reason  string
	toReset bool          // block until the quota reset and mark the quota used (607)
	block   time.Duration // else block this long (606: the window)
	halve   bool          // halve the effective concurrency (615)
}

func penaltyFor(code int, lim Limits, short time.Duration) (penalty, error) {
	switch code {
	case 606:
		return penalty{reason: "606: rate limit exceeded (Marketo)", block: lim.Window}, nil
	case 607:
		return penalty{reason: "607: daily quota reached (Marketo)", toReset: true}, nil
	case 615:
		return penalty{reason: "615: concurrent access limit reached (Marketo)", block: short, halve: true}, nil
	}
	return penalty{}, fmt.Errorf("%w: %d", ErrUnknownPenalty, code)
}

// DefaultPenaltyBlock615 is how long a 615 blocks a subscription.
const DefaultPenaltyBlock615 = 2 * time.Second

// DefaultConcurrencyPoll caps the RetryAfter of a concurrency refusal: a
// lease is usually released long before it expires.
const DefaultConcurrencyPoll = 100 * time.Millisecond

// DefaultHaltPoll is the RetryAfter of a halted subscription.
const DefaultHaltPoll = 30 * time.Second

// refusal builds the Reason of a refused admission.
func refusal(limit Limit, detail string, lim Limits, retry time.Duration) string {
	switch limit {
	case LimitHalted:
		return "halted: " + detail
	case LimitBlocked:
		return "blocked: " + detail
	case LimitQuota:
		return fmt.Sprintf("daily quota %d used; resets in %s", lim.DailyQuota, retry)
	case LimitWindow:
		return fmt.Sprintf("%d calls in the last %s", lim.CallsPerWindow, lim.Window)
	case LimitConcurrency:
		return fmt.Sprintf("%s leases in use", detail)
	case LimitLost, LimitRestore:
		return detail
	}
	return string(limit)
}

// ClaimRenewEvery is how often a holder renews claims of ttl: three times
// per TTL, and at least every 2 s, so that after a loss of the state its
// claims are back within claimLossGrace.
func ClaimRenewEvery(ttl time.Duration) time.Duration { return min(ttl/3, 2*time.Second) }

// claimLossGrace is how long after a loss of the state a free value is
// kept for a renewal (RenewClaims) and refused to a new claim: two renewal
// intervals, so that a holder whose first renewal met Redis still
// restarting has had another.
func claimLossGrace(ttl time.Duration) time.Duration { return 2 * ClaimRenewEvery(ttl) }

func checkClaim(owner string, ttl time.Duration) error {
	if owner == "" {
		return &LimitsError{Field: "owner", Reason: "is empty"}
	}
	if ttl < time.Millisecond {
		return &LimitsError{Field: "ttl", Reason: fmt.Sprintf("is under 1ms (%s)", ttl)}
	}
	return nil
}
