package worker_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// Redis losing its state (FLUSHALL: a restart without persistence) in the
// middle of a rate-bound drain: the replica finds the loss, logs and counts
// it, holds admissions one window plus the guard (without the hold the
// simulator's window would see the calls of both sides of the loss: 606),
// reads Marketo's usage once and resumes from it, so that its count of the
// day equals the simulator's at the end; every event is reposted once.
func TestStateLossHoldsAndRestoresTheDaysCount(t *testing.T) {
	rd := testenv.StartRedis(t)
	store := quota.NewRedis(rd.Client(t), quota.RedisOptions{})
	r := newRig(t)
	limits := quota.Limits{DailyQuota: 50000, CallsPerWindow: 20, Window: time.Second, MaxConcurrency: 5, LeaseTTL: time.Minute}
	simLimits := marketotest.DefaultLimits()
	simLimits.CallsPerWindow, simLimits.Window, simLimits.MaxConcurrency = limits.CallsPerWindow, limits.Window, limits.MaxConcurrency
	sim := marketotest.NewServer(marketotest.Options{Limits: simLimits})
	t.Cleanup(sim.Close)
	events := make([]fixture.Event, 600)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	core, logs := observer.New(zap.InfoLevel)
	reg := prometheus.NewRegistry()
	rep := r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: limits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.BatchSize = 10; c.Logger = zap.New(core); c.Registerer = reg }})
	srv := httptest.NewServer(rep.w.Handler(reg))
	t.Cleanup(srv.Close)

	testenv.CheckFor(t, 30*time.Second, func() error {
		if c := sim.Stats().Calls; c < 25 {
			return fmt.Errorf("%d calls so far", c)
		}
		return nil
	})
	if err := rd.Client(t).FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	r.waitOutcomes(len(events), 60*time.Second)

	for id, outs := range r.outcomes() {
		if len(outs) != 1 || outs[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want one reposted outcome", id, outs)
		}
	}
	if v := sim.Stats().Violations; len(v) != 0 {
		t.Errorf("limit violations %v across the loss, want none", v)
	}
	if n := logs.FilterMessageSnippet("limits state lost").Len(); n != 1 {
		t.Errorf("%d 'limits state lost' lines, want 1", n)
	}
	restored := logs.FilterMessageSnippet("day's count restored").All()
	if len(restored) != 1 || !strings.Contains(restored[0].ContextMap()["source"].(string), "marketo usage") {
		t.Fatalf("restore lines %+v, want one from Marketo's usage", restored)
	}
	if m := get(t, srv.URL+"/metrics"); !strings.Contains(m, `repost_limits_state_lost_total{subscription="`+fixture.Sub+`"} 1`) {
		t.Errorf("repost_limits_state_lost_total is not 1")
	}
	snap, err := store.Snapshot(context.Background(), fixture.Sub, limits)
	if err != nil {
		t.Fatal(err)
	}
	if snap.QuotaUsed != sim.QuotaUsed() || !strings.HasPrefix(snap.RestoredFrom, "marketo usage") || snap.RestoredCount < 25 {
		t.Errorf("after the drain: quota used %d (restored to %d from %q), simulator %d; want equal counts",
			snap.QuotaUsed, snap.RestoredCount, snap.RestoredFrom, sim.QuotaUsed())
	}
}
