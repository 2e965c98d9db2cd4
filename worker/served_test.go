package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// During a rolling deploy, replica A serves sub1 and sub2 while replica B
// (an older config) serves only sub1: B never parks sub2's events as
// unknown-subscription, not even while A holds them back through a halt;
// A reposts them all once the halt lifts. Once no replica serves sub2 any
// more, B parks its later events.
func TestReplicaWithoutASubscriptionLeavesItToAnother(t *testing.T) {
	r := newRigWith(t, exposeRepeats)
	const sub2 = "222-TWO-222"
	sim1 := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim1.Close)
	sim2 := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim2.Close)
	sim2.SetAccessDenied("Access denied") // A halts sub2 and defers its events
	var evs1, evs2 []fixture.Event
	at := time.Now().Add(-time.Minute)
	for i := range 20 {
		evs1 = append(evs1, fixture.Build(i, fixture.KindOK, at, fixture.Sub))
		evs2 = append(evs2, fixture.Build(100+i, fixture.KindOK, at, sub2))
	}
	r.publish(append(evs1, evs2...))
	store := quota.NewMemory(quota.MemoryOptions{})
	s1 := sub{id: fixture.Sub, sim: sim1, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}
	s2 := sub{id: sub2, sim: sim2, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}
	a := r.startReplica(store, []sub{s1, s2}, replicaOptions{mod: func(c *worker.Config) {
		fastScan(c)
		c.ProbeInterval = 200 * time.Millisecond
	}})
	testenv.CheckFor(t, 20*time.Second, func() error { // A was there first
		_, err := r.pub.ConsumerInfo(context.Background(), sub2)
		return err
	})
	r.startReplica(store, []sub{s1}, replicaOptions{mod: fastScan})

	r.waitOutcomes(len(evs1), time.Minute)
	testenv.CheckFor(t, 20*time.Second, func() error {
		n := 0
		for _, m := range r.failedMsgs() {
			if m.Header.Get("Repost-Deferred") != "" {
				n++
			}
		}
		if n < len(evs2) {
			return fmt.Errorf("%d of %d events of %s deferred by the halt", n, len(evs2), sub2)
		}
		return nil
	})
	r.steadyOutcomes(len(evs1)) // ten scans of B while sub2's events wait

	sim2.SetAccessDenied("")
	r.waitOutcomes(len(evs1)+len(evs2), time.Minute)
	r.steadyOutcomes(len(evs1) + len(evs2))
	outs := r.outcomes()
	for _, e := range append(evs1, evs2...) {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Errorf("%s: %v, want one reposted outcome", e.ID, got)
		}
	}
	if p := r.parked(); len(p) != 0 {
		t.Errorf("%d parked entries, want none", len(p))
	}

	// sub2 leaves the fleet: only B is left, and it parks what comes next.
	a.stop(t)
	var later []fixture.Event
	for i := range 5 {
		later = append(later, fixture.Build(200+i, fixture.KindOK, at, sub2))
	}
	r.publish(later)
	r.waitOutcomes(len(evs1)+len(evs2)+len(later), time.Minute)
	outs = r.outcomes()
	for _, e := range later {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindParked || got[0].Code != policy.CodeUnknownSubscription {
			t.Errorf("%s: %v, want one parked unknown-subscription outcome", e.ID, got)
		}
	}
}
