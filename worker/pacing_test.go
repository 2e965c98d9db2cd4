package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

var chicago = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Issue 13 point 8: a simulated day of 2 events/s with dailyQuota 5,000,
// through the worker's own pool, pacer and limiter on a simulated clock,
// uses at most 5,000 calls and meets no 607, carrying about 35 leads per
// call; without the pacer the same day spends the quota in 42 minutes and
// the rest of the day waits for the reset. Also on the days of 23 and 25
// hours (daylight saving time).
func TestSimulatedDayStaysWithinTheQuota(t *testing.T) {
	for _, start := range []time.Time{
		time.Date(2026, 12, 2, 0, 0, 0, 0, chicago),
		time.Date(2026, 3, 8, 0, 0, 0, 0, chicago),
		time.Date(2026, 11, 1, 0, 0, 0, 0, chicago),
	} {
		t.Run(start.Format(time.DateOnly), func(t *testing.T) {
			length := quota.NextReset(start).Sub(start)
			r := worker.SimulateDay(worker.DayConfig{Start: start, Length: length, DailyQuota: 5000})
			t.Logf("paced: %s", r)
			if want := int(length / (500 * time.Millisecond)); r.Events != want {
				t.Fatalf("%d events, want %d", r.Events, want)
			}
			if r.Calls > 5000 || r.Refused607 != 0 {
				t.Errorf("%d calls, %d refused 607: want at most 5000 and none", r.Calls, r.Refused607)
			}
			if r.Calls < 4900 || r.LeadsPerCall < 33 {
				t.Errorf("%d calls of %.1f leads: the pace leaves the quota unused", r.Calls, r.LeadsPerCall)
			}
			// Calls about every 17 s: an event waits half of that on average,
			// never more than the pace (and no event waits past the day).
			interval := length / 5000
			if r.MedianLatency > interval || r.MaxLatency > 2*interval || r.Unsent > int(interval/(500*time.Millisecond)) {
				t.Errorf("median %s, max %s, %d unsent; want at most %s, %s and one pace's worth",
					r.MedianLatency, r.MaxLatency, r.Unsent, interval, 2*interval)
			}
		})
	}
	t.Run("unpaced", func(t *testing.T) {
		r := worker.SimulateDay(worker.DayConfig{Start: time.Date(2026, 12, 2, 0, 0, 0, 0, chicago), DailyQuota: 5000, Unpaced: true})
		t.Logf("unpaced: %s", r)
		if r.Refused607 == 0 || r.Unsent < 100000 {
			t.Errorf("without pacing: %s; want the quota spent early and most events waiting for the reset", r)
		}
	})
}

// A quiet day (an event a minute) is not paced: each event leaves after
// its linger, whatever the quota.
func TestSimulatedQuietDayIsNotPaced(t *testing.T) {
	r := worker.SimulateDay(worker.DayConfig{Start: time.Date(2026, 12, 2, 0, 0, 0, 0, chicago),
		Every: time.Minute, DailyQuota: 5000, Linger: 200 * time.Millisecond})
	if r.Calls != r.Events || r.MaxLatency != 200*time.Millisecond || r.Refused607 != 0 {
		t.Errorf("%s; want one call per event, each after its linger", r)
	}
}

// The real pipeline, 16 s before the 00:00 Chicago reset, with 4 calls of
// the day's quota left (96 of 100 spent by other replicas, and Marketo's
// instance has 4 left as well): a trickle of 8 events/s for 8 s, which
// unpaced would take one call per event, is held to at most 4 calls before
// the reset, each carrying many events; no call meets 607 or a quota
// refusal, and every event is reposted.
func TestPacingHoldsBackCallsWhenQuotaIsTight(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	setClock := func(at time.Time) { offset.Store(int64(time.Until(at))) }
	reset := quota.NextReset(time.Now())
	setClock(reset.Add(-time.Minute))

	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{Now: clock,
		Limits: marketotest.Limits{DailyQuota: 4, CallsPerWindow: 1000, Window: time.Second, MaxConcurrency: 10}})
	t.Cleanup(sim.Close)
	store := quota.NewMemory(quota.MemoryOptions{Now: clock})
	lim := quota.Limits{DailyQuota: 100, CallsPerWindow: 1000, Window: time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	ctx := context.Background()
	for range 96 { // spent by other replicas
		a, err := store.Admit(ctx, fixture.Sub, lim)
		if err != nil || !a.Allowed {
			t.Fatalf("using up the quota: %+v, %v", a, err)
		}
		_ = store.Release(ctx, a.Lease)
	}
	reg := prometheus.NewRegistry()
	r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.GaugeInterval = 100 * time.Millisecond; c.Registerer = reg }})
	testenv.CheckFor(t, 20*time.Second, func() error {
		_, err := r.pub.JS.Consumer(ctx, queue.StreamSucceeded, queue.ConsumerSucceeded)
		return err
	})

	setClock(reset.Add(-16 * time.Second))
	const events = 64
	tick := time.NewTicker(125 * time.Millisecond)
	for i := range events {
		r.publish([]fixture.Event{fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)})
		<-tick.C
	}
	tick.Stop()
	if now := clock(); !now.Before(reset) {
		t.Fatalf("the trickle ended %s after the reset: too slow a machine for this test", now.Sub(reset))
	}
	r.waitOutcomes(events, 60*time.Second)

	calls, records := 0, 0
	for _, c := range sim.CallLog() {
		if c.Path == "/rest/v1/leads.json" && c.At.Before(reset) {
			calls++
			records += c.Records
		}
	}
	t.Logf("before the reset: %d calls, %d records; sim codes %v", calls, records, sim.Stats().ByCode)
	if calls > 4 || calls == 0 {
		t.Errorf("%d calls before the reset with 4 left, want 1 to 4", calls)
	}
	if records < 3*calls {
		t.Errorf("%d records in %d calls before the reset: the held batches did not carry more", records, calls)
	}
	if n := sim.Stats().ByCode["607"]; n != 0 {
		t.Errorf("%d answers 607", n)
	}
	if n := deniedBy(t, reg, "quota"); n != 0 {
		t.Errorf("%v admissions refused for the daily quota, want none", n)
	}
	for id, outs := range r.outcomes() {
		if len(outs) != 1 || outs[0].Kind != repost.KindReposted {
			t.Errorf("%s: %+v, want reposted once", id, outs)
		}
	}
}

// deniedBy is repost_admission_denied_total for limit.
func deniedBy(t *testing.T, reg *prometheus.Registry, limit string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "repost_admission_denied_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "limit" && l.GetValue() == limit {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
