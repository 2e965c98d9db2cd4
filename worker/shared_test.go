package worker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// Three workers, each with its own Redis client (three replicas), drain
// 20,000 events of one subscription while the simulator enforces 100 calls
// per 2 s and 10 concurrent: they cause no 606 and no 615, and fill calls.
func TestThreeReplicasShareOneSubscription(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 events: not in -short")
	}
	r := newRig(t)
	rds := testenv.StartRedis(t)
	sim := marketotest.NewServer(marketotest.Options{
		Limits:  marketotest.Limits{CallsPerWindow: 100, Window: 2 * time.Second, MaxConcurrency: 10},
		Latency: 30 * time.Millisecond,
	})
	t.Cleanup(sim.Close)
	const n = 20000
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	lim := quota.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: 2 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	for range 3 {
		c := rds.Client(t)
		r.startReplica(quota.NewRedis(c, quota.RedisOptions{}),
			[]sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: quota.NewRedisTokenStore(c, quota.TokenStoreOptions{Secrets: map[string]string{fixture.Sub: marketotest.DefaultClientSecret}})}},
			replicaOptions{})
	}
	start := time.Now()
	r.waitOutcomes(n, 3*time.Minute)
	elapsed := time.Since(start)

	outs := r.outcomes()
	for _, e := range events {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want one reposted outcome", e.ID, got)
		}
	}
	st := sim.Stats()
	if st.Violations[606] != 0 || st.Violations[615] != 0 {
		t.Errorf("caused 606 %d times and 615 %d times, want 0", st.Violations[606], st.Violations[615])
	}
	mean := float64(st.Records) / float64(st.Calls)
	if mean < 250 {
		t.Errorf("mean leads per call %.1f, want >= 250", mean)
	}
	if got := sim.LeadCount(); got != n {
		t.Errorf("simulator holds %d leads, want %d", got, n)
	}
	if st.IdentityCalls != 1 {
		t.Errorf("identity calls %d, want 1 shared token for three replicas", st.IdentityCalls)
	}
	t.Logf("drained %d events in %s: %d calls, %.1f leads per call, most in flight %d, answers %v",
		n, elapsed.Round(time.Millisecond), st.Calls, mean, st.MaxConcurrent, st.ByCode)
	var sizes []int
	for _, c := range sim.CallLog() {
		sizes = append(sizes, c.Records)
	}
	t.Logf("records per call: %v", sizes)
	_ = fmt.Sprint()
}
