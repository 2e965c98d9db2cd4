package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// mixedResult is the drain of a mixed backlog under a binding window.
type mixedResult struct {
	Events, Calls, Records int
	Needed                 int // calls needed: each group's records over 300, rounded up
	LeadsPerCall           float64
	Seconds, Minimum       float64 // the drain, and the calls needed over the calls allowed a second
	Caused606, Caused615   int
}

// idleResult is the latency, idle, from publishing to the call reaching
// the simulator, of a lone event and of a burst of 10.
type idleResult struct {
	Linger      time.Duration
	Lone, Burst time.Duration
}

// ratio is the drain over its physical minimum.
func (m mixedResult) ratio() float64 { return m.Seconds / max(m.Minimum, 1e-9) }

// mixedRounds lists every round: leads per call and ratio, in order.
func mixedRounds(ms []mixedResult) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%.1f/%.2fx", m.LeadsPerCall, m.ratio()))
	}
	return strings.Join(parts, ", ")
}

// medianMixed is the round of median leads per call.
func medianMixed(ms []mixedResult) mixedResult {
	s := slices.Clone(ms)
	sort.Slice(s, func(i, j int) bool { return s[i].LeadsPerCall < s[j].LeadsPerCall })
	return s[len(s)/2]
}

// mixedEvents is a backlog of Sync Leads and Push Lead events, 70/30.
func mixedEvents(n int) ([]fixture.Event, int) {
	at := time.Now()
	evs := make([]fixture.Event, n)
	push := 0
	for i := range evs {
		kind := fixture.KindOK
		if i%10 >= 7 {
			kind, push = "push", push+1
		}
		evs[i] = fixture.Build(i, kind, at, fixture.Sub)
	}
	return evs, int(math.Ceil(float64(n-push)/300) + math.Ceil(float64(push)/300))
}

// measureMixed drains n mixed events with three replicas sharing one
// in-process limiter while the simulator allows 3 calls per 2 s and
// answers 5% of calls 604.
func measureMixed(ctx context.Context, n int, rep *report) error {
	m, err := drainMixed(ctx, n)
	if err != nil {
		return err
	}
	rep.MixedRounds = append(rep.MixedRounds, m)
	rep.Mixed = medianMixed(rep.MixedRounds)
	return nil
}

// drainMixed is one round of measureMixed.
func drainMixed(ctx context.Context, n int) (mixedResult, error) {
	e, q, cleanup, err := fresh(ctx)
	if err != nil {
		return mixedResult{}, err
	}
	defer cleanup()
	events, needed := mixedEvents(n)
	if err := publish(ctx, q, events); err != nil {
		return mixedResult{}, err
	}
	const window, limit = 2 * time.Second, 3
	sim := marketotest.NewServer(marketotest.Options{
		Limits:  marketotest.Limits{CallsPerWindow: limit, Window: window, MaxConcurrency: 10, DailyQuota: 1 << 20},
		Latency: 30 * time.Millisecond, Faults: marketotest.Faults{Seed: 13, Rate604: 0.05},
	})
	defer sim.Close()
	limits := quota.Limits{DailyQuota: 1 << 20, CallsPerWindow: limit, Window: window, MaxConcurrency: 10, LeaseTTL: time.Minute}
	store := quota.NewMemory(quota.MemoryOptions{ConcurrencyPoll: 20 * time.Millisecond})
	tokens := marketo.NewMemoryTokenStore()
	start := time.Now()
	var reps []*replica
	for range 3 {
		r, err := startReplica(e.URL, store, tokens, sim, limits, 0)
		if err != nil {
			return mixedResult{}, err
		}
		reps = append(reps, r)
	}
	err = waitOutcomes(ctx, q, n, 30*time.Minute)
	secs := time.Since(start).Seconds()
	for _, r := range reps {
		_ = r.stop()
	}
	if err != nil {
		return mixedResult{}, err
	}
	m := mixedResult{Events: n, Needed: needed, Seconds: secs, Minimum: float64(needed) / (float64(limit) / window.Seconds())}
	for _, c := range sim.CallLog() {
		if c.Records > 0 {
			m.Calls++
			m.Records += c.Records
		}
	}
	if m.Calls > 0 {
		m.LeadsPerCall = float64(m.Records) / float64(m.Calls)
	}
	st := sim.Stats()
	m.Caused606, m.Caused615 = st.Violations[606], st.Violations[615]
	return m, nil
}

// measureIdle publishes a lone event, then a burst of 10, to an idle
// replica with free budget and the default linger, and times each from its
// publishing to the last of its records reaching the simulator (median of
// rounds).
func measureIdle(ctx context.Context, rounds int, rep *report) error {
	e, q, cleanup, err := fresh(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	defer sim.Close()
	limits := quota.Limits{DailyQuota: 1 << 20, CallsPerWindow: 1000, Window: 20 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	r, err := startReplica(e.URL, quota.NewMemory(quota.MemoryOptions{}), marketo.NewMemoryTokenStore(), sim, limits, 0)
	if err != nil {
		return err
	}
	defer func() { _ = r.stop() }()
	next, done := 0, 0
	send := func(k int) (time.Duration, error) {
		evs := make([]fixture.Event, k)
		for i := range evs {
			evs[i] = fixture.Build(next, fixture.KindOK, time.Now(), fixture.Sub)
			next++
		}
		before := sim.Stats().Records
		t0 := time.Now()
		if err := publish(ctx, q, evs); err != nil {
			return 0, err
		}
		for sim.Stats().Records < before+k {
			if time.Since(t0) > time.Minute {
				return 0, fmt.Errorf("%d events not sent after a minute", k)
			}
			time.Sleep(time.Millisecond)
		}
		arrived := t0
		for _, c := range sim.CallLog() {
			arrived = maxTime(arrived, c.At)
		}
		done += k
		if err := waitOutcomes(ctx, q, done, time.Minute); err != nil {
			return 0, err
		}
		return arrived.Sub(t0), nil
	}
	var lone, burst []time.Duration
	for range max(1, rounds) {
		d, err := send(1)
		if err != nil {
			return err
		}
		lone = append(lone, d)
		if d, err = send(10); err != nil {
			return err
		}
		burst = append(burst, d)
	}
	rep.Idle = idleResult{Linger: 200 * time.Millisecond, Lone: medianDur(lone), Burst: medianDur(burst)}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func medianDur(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
