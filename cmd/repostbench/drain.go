package main

import (
	"context"
	"os"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

type point struct {
	T     float64 // seconds since the first call
	Calls int     // calls in the window ending at T
}

type drainResult struct {
	Events, Calls, Records int
	LeadsPerCall           float64
	Seconds                float64
	Window                 time.Duration
	Limit                  int
	MaxInWindow            int
	WindowUse              float64 // mean calls in the trailing window / limit, while the backlog lasted
	Caused606, Caused615   int
	Series                 []point
}

// measureDrain drains a deep backlog with three replicas sharing Redis
// while the simulator enforces Marketo's limits scaled to a 2 s window.
func measureDrain(ctx context.Context, n int, rep *report) error {
	e, q, cleanup, err := fresh(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	dir, err := os.MkdirTemp("", "repostbench-redis-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rds, err := startRedis(dir)
	if err != nil {
		return err
	}
	defer rds.stop()
	if err := publish(ctx, q, okEvents(n)); err != nil {
		return err
	}
	const window, limit = 2 * time.Second, 100
	sim := marketotest.NewServer(marketotest.Options{
		Limits:  marketotest.Limits{CallsPerWindow: limit, Window: window, MaxConcurrency: 10},
		Latency: 30 * time.Millisecond,
	})
	defer sim.Close()
	limits := quota.Limits{DailyQuota: 1 << 20, CallsPerWindow: limit, Window: window, MaxConcurrency: 10, LeaseTTL: time.Minute}
	start := time.Now()
	var reps []*replica
	for range 3 {
		c := redis.NewClient(&redis.Options{Addr: rds.addr})
		defer c.Close()
		r, err := startReplica(e.URL, quota.NewRedis(c, quota.RedisOptions{}), quota.NewRedisTokenStore(c, quota.TokenStoreOptions{Secrets: map[string]string{fixture.Sub: marketotest.DefaultClientSecret}}), sim, limits, 0)
		if err != nil {
			return err
		}
		reps = append(reps, r)
	}
	err = waitOutcomes(ctx, q, n, 10*time.Minute)
	secs := time.Since(start).Seconds()
	for _, r := range reps {
		_ = r.stop()
	}
	if err != nil {
		return err
	}
	st := sim.Stats()
	d := drainResult{Events: n, Calls: st.Calls, Records: st.Records, Seconds: secs, Window: window, Limit: limit,
		Caused606: st.Violations[606], Caused615: st.Violations[615]}
	if st.Calls > 0 {
		d.LeadsPerCall = float64(st.Records) / float64(st.Calls)
	}
	d.Series, d.MaxInWindow, d.WindowUse = windowSeries(sim.CallLog(), window, limit)
	rep.Drain = d
	return nil
}

// windowSeries samples, every 100 ms, the calls in the trailing window, and
// returns the series, its maximum, and its mean over the time a backlog
// existed (from one window after the first call to the last call) as a
// fraction of the limit.
func windowSeries(log []marketotest.Call, window time.Duration, limit int) ([]point, int, float64) {
	if len(log) == 0 {
		return nil, 0, 0
	}
	at := make([]time.Time, len(log))
	for i, c := range log {
		at[i] = c.At
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	first, last := at[0], at[len(at)-1]
	var series []point
	maxN, sum, samples := 0, 0.0, 0
	for t := first; !t.After(last.Add(window)); t = t.Add(100 * time.Millisecond) {
		lo := sort.Search(len(at), func(i int) bool { return at[i].After(t.Add(-window)) })
		hi := sort.Search(len(at), func(i int) bool { return at[i].After(t) })
		n := hi - lo
		series = append(series, point{T: t.Sub(first).Seconds(), Calls: n})
		maxN = max(maxN, n)
		if !t.Before(first.Add(window)) && !t.After(last) {
			sum += float64(n) / float64(limit)
			samples++
		}
	}
	// Exact maximum over every call's own trailing window.
	for i := range at {
		lo := sort.Search(len(at), func(j int) bool { return at[j].After(at[i].Add(-window)) })
		maxN = max(maxN, i-lo+1)
	}
	use := 0.0
	if samples > 0 {
		use = sum / float64(samples)
	}
	return series, maxN, use
}
