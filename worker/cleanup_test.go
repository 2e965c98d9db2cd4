package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// clock is a settable time shared by the simulator, the limiter and the
// worker of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// eventStates counts the event states kept in REPOST_EVENTS (progress
// records of unrouted subjects are not event states).
func (r *rig) eventStates() int {
	r.t.Helper()
	kv, err := r.pub.JS.KeyValue(context.Background(), queue.BucketEvents)
	if err != nil {
		r.t.Fatal(err)
	}
	keys, err := kv.ListKeys(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	n := 0
	for k := range keys.Keys() {
		if strings.HasPrefix(k, "e.") {
			n++
		}
	}
	return n
}

// allReposted checks that every event has one reposted outcome.
func (r *rig) allReposted(events []fixture.Event) {
	r.t.Helper()
	outs := r.outcomes()
	for _, e := range events {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			r.t.Errorf("%s: %+v, want one reposted outcome", e.ID, got)
		}
	}
}

// Events deferred by a halt or a used-up daily quota (state saved with no
// attempt spent) leave no state behind once they reach their outcome.
func TestTerminalOutcomeRemovesEventState(t *testing.T) {
	t.Run("halt", func(t *testing.T) {
		r := newRig(t)
		sim := marketotest.NewServer(marketotest.Options{})
		t.Cleanup(sim.Close)
		sim.SetAccessDenied("Access denied")
		events := make([]fixture.Event, 40)
		for i := range events {
			events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
		}
		r.publish(events)
		r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
			[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
			replicaOptions{mod: func(c *worker.Config) { c.ProbeInterval = 200 * time.Millisecond }})
		testenv.CheckFor(t, 20*time.Second, func() error {
			if n := r.eventStates(); n == 0 {
				return fmt.Errorf("no event state saved by the halt yet")
			}
			return nil
		})
		sim.SetAccessDenied("")
		r.waitOutcomes(len(events), 30*time.Second)
		r.allReposted(events)
		testenv.CheckFor(t, 10*time.Second, func() error {
			if n := r.eventStates(); n != 0 {
				return fmt.Errorf("%d event states left after every event was reposted", n)
			}
			return nil
		})
	})
	t.Run("607", func(t *testing.T) {
		r := newRig(t)
		clk := &clock{now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
		lim := quota.Limits{DailyQuota: 1, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 2, LeaseTTL: time.Minute}
		// Marketo's own quota is used up by another integration: the
		// limiter admits the call, Marketo answers 607.
		sim := marketotest.NewServer(marketotest.Options{Now: clk.Now, Limits: marketotest.Limits{DailyQuota: 1}})
		t.Cleanup(sim.Close)
		events := make([]fixture.Event, 40)
		for i := range events {
			events[i] = fixture.Build(i, fixture.KindOK, clk.Now(), fixture.Sub)
		}
		r.publish(events)
		lim.DailyQuota = 1000
		r.startReplica(quota.NewMemory(quota.MemoryOptions{Now: clk.Now}),
			[]sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}},
			replicaOptions{mod: func(c *worker.Config) { c.Now = clk.Now; c.BatchSize = 10 }})
		testenv.CheckFor(t, 20*time.Second, func() error {
			if n := sim.Stats().ByCode["607"]; n == 0 {
				return fmt.Errorf("no 607 yet")
			}
			if n := r.eventStates(); n == 0 {
				return fmt.Errorf("no event state saved by the 607 yet")
			}
			return nil
		})
		// Marketo answers one call a day: each day past the reset at
		// midnight in Chicago sends one more batch.
		testenv.CheckFor(t, time.Minute, func() error {
			if got := r.outcomeCount(); got < len(events) {
				clk.Add(25 * time.Hour)
				return fmt.Errorf("%d of %d outcomes", got, len(events))
			}
			return nil
		})
		r.allReposted(events)
		testenv.CheckFor(t, 10*time.Second, func() error {
			if n := r.eventStates(); n != 0 {
				return fmt.Errorf("%d event states left after every event was reposted", n)
			}
			return nil
		})
	})
}
