package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

// 3,000 events behind a full window (5 calls per 8 s: the later calls wait
// most of a window for admission) are held while they wait, never deferred:
// the failed stream ends with exactly the 3,000 events published, no copy.
func TestWindowWaitsHoldAndNeverDefer(t *testing.T) {
	r := newRig(t)
	limits := marketotest.Limits{CallsPerWindow: 5, Window: 8 * time.Second, MaxConcurrency: 10}
	sim := marketotest.NewServer(marketotest.Options{Limits: limits})
	t.Cleanup(sim.Close)
	const n = 3000
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	lim := quota.Limits{DailyQuota: 50000, CallsPerWindow: 5, Window: 8 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	r.waitOutcomes(n, 90*time.Second)

	outs := r.outcomes()
	for _, e := range events {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want one reposted outcome", e.ID, got)
		}
	}
	s, err := r.pub.JS.Stream(context.Background(), queue.StreamFailed)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if copies := int(info.State.Msgs) - n; copies != 0 {
		t.Errorf("%d deferred copies republished for window waits, want 0", copies)
	}
	if st := sim.Stats(); st.Violations[606] != 0 {
		t.Errorf("caused %d 606s", st.Violations[606])
	}
}
