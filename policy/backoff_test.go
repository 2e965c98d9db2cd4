package policy_test

import (
	"math"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/leadops/repost/policy"
)

func mustPolicy(tb testing.TB, cfg policy.Config) *policy.Engine {
	tb.Helper()
	e, err := policy.New(cfg)
	if err != nil {
		tb.Fatalf("policy.New: %v", err)
	}
	return e
}

func constRand(v float64) func() float64 { return func() float64 { return v } }

// cenkaltiIntervals returns the first n un-randomized intervals of a
// cenkalti ExponentialBackOff shaped like b.
func cenkaltiIntervals(b policy.Backoff, n int) []time.Duration {
	eb := &backoff.ExponentialBackOff{
		InitialInterval: b.Initial, RandomizationFactor: 0, Multiplier: b.Multiplier,
		MaxInterval: b.Max, MaxElapsedTime: 0, Stop: backoff.Stop, Clock: backoff.SystemClock,
	}
	eb.Reset()
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = eb.NextBackOff()
	}
	return out
}

// TestBackoffMatchesCenkalti checks, attempt by attempt, that our delay for
// the lowest and the highest Rand value sits on the edges of cenkalti's
// randomized interval [i*(1-J), i*(1+J)] (its +1 included), for our
// defaults and for cenkalti's own.
func TestBackoffMatchesCenkalti(t *testing.T) {
	const attempts = 30
	cenkaltiDefaults := policy.Backoff{Initial: backoff.DefaultInitialInterval, Max: backoff.DefaultMaxInterval,
		Multiplier: backoff.DefaultMultiplier, Jitter: backoff.DefaultRandomizationFactor}
	tests := []struct {
		name string
		b    policy.Backoff
	}{
		{"our defaults", policy.DefaultBackoff()},
		{"cenkalti defaults", cenkaltiDefaults},
		{"no jitter", policy.Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			intervals := cenkaltiIntervals(tt.b, attempts)
			low := mustPolicy(t, policy.Config{MaxAttempts: attempts + 1, Backoff: tt.b, Rand: constRand(0)})
			high := mustPolicy(t, policy.Config{MaxAttempts: attempts + 1, Backoff: tt.b, Rand: constRand(math.Nextafter(1, 0))})
			for n := 1; n <= attempts; n++ {
				iv := float64(intervals[n-1])
				// cenkalti truncates the interval to whole nanoseconds at
				// every step; we compute it in one go: allow n ns.
				tol := float64(n) + 1
				lo, hi := iv*(1-tt.b.Jitter), iv*(1+tt.b.Jitter)
				if tt.b.Jitter > 0 {
					hi++ // cenkalti's +1
				}
				in := policy.Input{Code: "604", Attempts: n, Now: time.Unix(0, 0)}
				dl, dh := low.Decide(in), high.Decide(in)
				if dl.Action != policy.ActionRetry || dh.Action != policy.ActionRetry {
					t.Fatalf("attempt %d: actions %s/%s", n, dl.Action, dh.Action)
				}
				if math.Abs(float64(dl.Delay)-lo) > tol || math.Abs(float64(dh.Delay)-hi) > tol*(1+tt.b.Jitter) {
					t.Errorf("attempt %d: delays [%v, %v], cenkalti [%v, %v]", n, dl.Delay,
						dh.Delay, time.Duration(lo), time.Duration(hi))
				}
			}
		})
	}
}

// TestBackoffJitterSpread: delays drawn by cenkalti itself for attempt 4
// and ours for random Rand values share the same bounds.
func TestBackoffJitterSpread(t *testing.T) {
	b := policy.DefaultBackoff()
	eb := backoff.NewExponentialBackOff(backoff.WithInitialInterval(b.Initial),
		backoff.WithMaxInterval(b.Max), backoff.WithMultiplier(b.Multiplier),
		backoff.WithRandomizationFactor(b.Jitter), backoff.WithMaxElapsedTime(0))
	e := mustPolicy(t, policy.Config{Backoff: b}) // default Rand
	lo, hi := 2*time.Second, 6*time.Second+1      // 4 s ± 50 %
	for i := 0; i < 200; i++ {
		eb.Reset()
		var c time.Duration
		for n := 0; n < 4; n++ {
			c = eb.NextBackOff()
		}
		d := e.Decide(policy.Input{Code: "502", Attempts: 4}).Delay
		for _, v := range []time.Duration{c, d} {
			if v < lo || v > hi {
				t.Fatalf("delay %v outside [%v, %v]", v, lo, hi)
			}
		}
	}
}

func TestBackoffCapsAtMax(t *testing.T) {
	e := mustPolicy(t, policy.Config{MaxAttempts: 1000, Rand: constRand(0.5)})
	// 500ms * 2^9 = 4m16s at attempt 10; attempt 11 would be 8m32s.
	if d := e.Decide(policy.Input{Code: "502", Attempts: 10}); d.Delay != 256*time.Second {
		t.Errorf("attempt 10: delay %v, want 4m16s", d.Delay)
	}
	for _, n := range []int{11, 12, 100, 999} {
		d := e.Decide(policy.Input{Code: "502", Attempts: n})
		if d.Delay != 5*time.Minute {
			t.Errorf("attempt %d: delay %v, want the 5m cap", n, d.Delay)
		}
	}
}

// TestBackoffRandClamped: a Rand outside [0,1) cannot push a delay past
// the jitter bounds.
func TestBackoffRandClamped(t *testing.T) {
	for _, r := range []float64{-1, 7, math.NaN(), math.Inf(1)} {
		e := mustPolicy(t, policy.Config{Rand: constRand(r)})
		d := e.Decide(policy.Input{Code: "502", Attempts: 1}).Delay
		if d < 250*time.Millisecond || d > 750*time.Millisecond+1 {
			t.Errorf("Rand %v: delay %v outside [250ms, 750ms]", r, d)
		}
	}
}
