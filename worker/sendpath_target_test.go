package worker_test

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// Under a binding window (3 calls per 2 s) calls are filled when the
// limiter grants them, so they leave full: two subscriptions, each a mix of
// Sync Leads and Push Lead (70/30), three replicas, 5% transient faults.
// Counted at the simulators: mean leads per call, and the drain against
// its physical minimum (the calls needed over the calls allowed a second).
func TestBindingWindowCallsLeaveFull(t *testing.T) {
	// Issue 13 point 2's target, met since calls are counted in the window
	// from their answer and the tail gathers on one replica (2026-12-03,
	// idle machine: 294.3-298.6 leads per call, 1.01-1.05x; before, 288.1
	// and 1.15x): 40,000 events, about 60 s under -race. The ratio is a
	// timing, so it is out of `make test` (run `make send-targets`, which
	// also runs TestTailGathersOnOneReplica).
	if os.Getenv("REPOST_SENDPATH_TARGETS") != "1" {
		t.Skip("set REPOST_SENDPATH_TARGETS=1 (make send-targets)")
	}
	r := newRig(t)
	const perSub = 20000
	subs := []string{fixture.Sub, "987-XYZ-654"}
	simLimits := marketotest.Limits{CallsPerWindow: 3, Window: 2 * time.Second, MaxConcurrency: 10, DailyQuota: 50000}
	lim := quota.Limits{DailyQuota: 50000, CallsPerWindow: 3, Window: 2 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	sims := map[string]*marketotest.Server{}
	var all []fixture.Event
	needed := 0
	for si, id := range subs {
		sim := marketotest.NewServer(marketotest.Options{Limits: simLimits,
			Faults: marketotest.Faults{Seed: uint64(si + 1), Rate604: 0.05}})
		t.Cleanup(sim.Close)
		sims[id] = sim
		push := 0
		for i := range perSub {
			n := si*perSub + i
			kind := fixture.KindOK
			if i%10 >= 7 {
				kind, push = "push", push+1
			}
			all = append(all, fixture.Build(n, kind, time.Now(), id))
		}
		needed += int(math.Ceil(float64(perSub-push)/300)) + int(math.Ceil(float64(push)/300))
	}
	r.publish(all)
	store := quota.NewMemory(quota.MemoryOptions{ConcurrencyPoll: 20 * time.Millisecond})
	tokens := map[string]marketo.TokenStore{subs[0]: marketo.NewMemoryTokenStore(), subs[1]: marketo.NewMemoryTokenStore()}
	start := time.Now()
	for range 3 {
		var ss []sub
		for _, id := range subs {
			ss = append(ss, sub{id: id, sim: sims[id], limits: lim, tokens: tokens[id]})
		}
		r.startReplica(store, ss, replicaOptions{})
	}
	r.waitOutcomes(len(all), 10*time.Minute)
	elapsed := time.Since(start)

	for id, outs := range r.outcomes() {
		if len(outs) != 1 || outs[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want one reposted outcome", id, outs)
		}
	}
	calls, records := 0, 0
	for id, sim := range sims {
		st := sim.Stats()
		if st.Violations[606] != 0 || st.Violations[615] != 0 {
			t.Errorf("%s: caused 606 %d times and 615 %d times, want 0", id, st.Violations[606], st.Violations[615])
		}
		logCallMix(t, id, sim.CallLog(), simLimits.Window)
		for _, c := range sim.CallLog() {
			if c.Records > 0 {
				calls++
				records += c.Records
			}
		}
	}
	mean := float64(records) / float64(calls)
	// Both subscriptions drain side by side, each at 3 calls per 2 s.
	minimum := time.Duration(float64(needed) / float64(len(subs)) / (3.0 / 2.0) * float64(time.Second))
	t.Logf("drained %d events in %s: %d calls (%d needed), %.1f leads per call, %.2f x the physical minimum %s",
		len(all), elapsed.Round(time.Millisecond), calls, needed, mean, float64(elapsed)/float64(minimum), minimum.Round(time.Millisecond))
	if mean < 290 {
		t.Errorf("mean leads per call %.1f, want >= 290", mean)
	}
	if ratio := float64(elapsed) / float64(minimum); ratio > 1.15 {
		t.Errorf("the drain took %.2f x its physical minimum, want <= 1.15", ratio)
	}
}

// logCallMix logs where a simulator's short calls came from: calls by
// size, and each call under 300 leads (or not answered ok) with when it
// arrived in the drain, its endpoint and answer; for a 606, the arrivals
// in the window before it.
func logCallMix(t *testing.T, id string, log []marketotest.Call, window time.Duration) {
	t.Helper()
	var start time.Time
	sizes := map[string]int{}
	for i, c := range log {
		if c.Records == 0 && c.Code != "606" && c.Code != "615" {
			continue
		}
		if start.IsZero() {
			start = c.At
		}
		switch {
		case c.Records == 300:
			sizes["300"]++
		case c.Records >= 250:
			sizes["250-299"]++
		case c.Records >= 100:
			sizes["100-249"]++
		default:
			sizes["1-99"]++
		}
		if c.Records < 300 || c.Code != "ok" {
			t.Logf("%s: call %d at %s (%s): %s %d leads, %s", id, i, c.At.Sub(start).Round(time.Millisecond), c.At.Format("15:04:05.000000"), c.Path, c.Records, c.Code)
		}
		if c.Code == "606" {
			for _, p := range log[:i] {
				if d := c.At.Sub(p.At); d <= window {
					t.Logf("%s:   606 call %d: %s before it (%s), %s %d leads %s", id, i, d.Round(time.Millisecond), p.At.Format("15:04:05.000000"), p.Path, p.Records, p.Code)
				}
			}
		}
	}
	t.Logf("%s: calls by size %v", id, sizes)
}
