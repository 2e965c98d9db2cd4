package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// After SIGTERM no new Marketo call starts: the calls in flight finish, and
// every batch still waiting for admission (two slots of four are another
// replica's) is handed back at once, not sent when a slot frees.
func TestShutdownStartsNoNewCall(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	const n = 3000
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	lim := quota.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 4, LeaseTTL: time.Minute}
	sim.Pause()
	r.publish(events)
	store := quota.NewMemory(quota.MemoryOptions{ConcurrencyPoll: 20 * time.Millisecond})
	var others []quota.Lease
	for range 2 {
		adm, err := store.Admit(context.Background(), fixture.Sub, lim)
		if err != nil || !adm.Allowed {
			t.Fatalf("other replica's admission: %+v %v", adm, err)
		}
		others = append(others, adm.Lease)
	}
	reg := prometheus.NewRegistry()
	rep := r.startReplica(store,
		[]sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.Registerer = reg }})
	held := func() int {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "repost_inflight_events" {
				for _, m := range mf.GetMetric() {
					return int(m.GetGauge().GetValue())
				}
			}
		}
		return -1
	}
	testenv.CheckFor(t, 20*time.Second, func() error {
		if st := sim.Stats(); st.InFlight != 2 {
			return fmt.Errorf("%d calls in flight, want 2", st.InFlight)
		}
		if h := held(); h < 1200 {
			return fmt.Errorf("%d events held, want the 600 in calls and at least 600 waiting for a slot", h)
		}
		return nil
	})
	rep.cancel() // SIGTERM
	// What is not in a call goes back at once, while the calls still run.
	testenv.CheckFor(t, 3*time.Second, func() error {
		if h := held(); h != 600 {
			return fmt.Errorf("%d events still held, want only the two calls' 600", h)
		}
		return nil
	})
	for _, l := range others { // slots free up: nothing may take them now
		if err := store.Release(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // ten polls of a waiting admission
	sim.Resume()
	select {
	case <-rep.done:
		rep.done <- nil
	case <-time.After(20 * time.Second):
		t.Fatal("worker did not stop")
	}
	if st := sim.Stats(); st.Calls != 2 {
		t.Errorf("%d Marketo calls, want only the 2 in flight at SIGTERM", st.Calls)
	}
	if got := r.outcomeCount(); got != 600 {
		t.Errorf("%d outcomes, want the 600 events of the two calls", got)
	}
}
