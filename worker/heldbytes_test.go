package worker_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// bigEvent is event i (a clean repost) padded to about size bytes, in its
// lead's company: one lead alone in its call.
func bigEvent(t *testing.T, i, size int, at time.Time) fixture.Event {
	t.Helper()
	e := fixture.Build(i, fixture.KindOK, at, fixture.Sub)
	var ev map[string]any
	if err := json.Unmarshal(e.Data, &ev); err != nil {
		t.Fatal(err)
	}
	lead := ev["requestContent"].(map[string]any)["input"].([]any)[0].(map[string]any)
	lead["company"] = strings.Repeat("x", size-len(e.Data))
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	e.Data = data
	return e
}

// gaugeOf reads a subscription's gauge from reg; -1 when it is missing.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// checkOneReposted checks that every event got exactly one outcome, reposted.
func checkOneReposted(t *testing.T, r *rig, events []fixture.Event) {
	t.Helper()
	outs := r.outcomes()
	for _, e := range events {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Errorf("%s: outcomes %+v, want one reposted", e.ID, got)
		}
	}
}

// A burst of events near the 1 MiB max payload, on a server configured as
// in production, while Marketo holds every call: the worker fetches no
// more once the events it holds (fetched, pooled, in flight) reach
// MaxHeldBytes, so it holds at most MaxHeldBytes and one message more,
// however many calls concurrency allows; the rest wait in the stream. Once
// Marketo answers, every event is reposted once and nothing stays counted.
func TestHeldBytesStayUnderMaxHeldBytes(t *testing.T) {
	const (
		evSize   = 900_000
		n        = 16 // 14.4 MB: the old count bounds (1,200 fetched, 2,100 pooled) held it all
		maxBytes = 4 << 20
	)
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	t.Cleanup(sim.Resume) // a failed test must not leave calls hanging
	at := time.Now().Add(-time.Hour)
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = bigEvent(t, i, evSize, at)
	}
	sim.Pause()
	r.publish(events)
	reg := prometheus.NewRegistry()
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.MaxHeldBytes, c.Registerer = maxBytes, reg }})

	// Calls leave one event each (the next does not fit the body) and hang;
	// concurrency (10) would let more held events go into calls. Wait until
	// every held event is in a call and none more was fetched for 2 s (40
	// fetches' time): then the worker is not fetching.
	minHeld, limit := maxBytes/evSize, maxBytes+testenv.StockMaxPayload
	var ackPending, last int
	var since time.Time
	testenv.CheckFor(t, 60*time.Second, func() error {
		var err error
		if ackPending, err = r.ackPending(fixture.Sub); err != nil {
			return err
		}
		if _, peak := rep.w.HeldBytes(fixture.Sub); peak > limit {
			t.Fatalf("held bytes peaked at %d (%d events ack-pending), want at most MaxHeldBytes + one message (%d)", peak, ackPending, limit)
		}
		inFlight := sim.InFlight()
		if ackPending != last || inFlight != ackPending {
			last, since = ackPending, time.Now()
		}
		if inFlight < minHeld || ackPending == n {
			return fmt.Errorf("%d calls in flight and %d events ack-pending, want at least %d, not all %d", inFlight, ackPending, minHeld, n)
		}
		if time.Since(since) < 2*time.Second {
			return fmt.Errorf("%d events ack-pending, all in calls, for %v only", ackPending, time.Since(since))
		}
		return nil
	})
	now, peak := rep.w.HeldBytes(fixture.Sub)
	t.Logf("Marketo paused: %d calls in flight, %d events ack-pending, held %d bytes (peak %d, bound %d)",
		sim.InFlight(), ackPending, now, peak, maxBytes)
	if peak > limit {
		t.Errorf("held bytes peaked at %d, want at most MaxHeldBytes + one message (%d)", peak, limit)
	}
	if ackPending > limit/evSize {
		t.Errorf("%d events fetched and not acked, want at most %d", ackPending, limit/evSize)
	}
	if g := gaugeOf(t, reg, "repost_inflight_bytes"); g != float64(now) {
		t.Errorf("repost_inflight_bytes = %v, want the %d bytes held", g, now)
	}

	sim.Resume()
	r.waitOutcomes(n, 60*time.Second)
	checkSettled(t, rep.q, fixture.Sub)
	checkOneReposted(t, r, events)
	testenv.CheckFor(t, 10*time.Second, func() error {
		if now, _ := rep.w.HeldBytes(fixture.Sub); now != 0 {
			return fmt.Errorf("%d bytes still counted held after every event was acked", now)
		}
		if g := gaugeOf(t, reg, "repost_inflight_bytes"); g != 0 {
			return fmt.Errorf("repost_inflight_bytes = %v after every event was acked", g)
		}
		return nil
	})
	if _, peak := rep.w.HeldBytes(fixture.Sub); peak > limit {
		t.Errorf("held bytes peaked at %d during the drain, want at most %d", peak, limit)
	}
}

// An event larger than MaxHeldBytes still flows: the worker always takes
// one event when it holds none, and no second one beside it.
func TestEventLargerThanMaxHeldBytesFlows(t *testing.T) {
	const evSize, n, maxBytes = 900_000, 3, 100_000
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	at := time.Now().Add(-time.Hour)
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = bigEvent(t, i, evSize, at)
	}
	r.publish(events)
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.MaxHeldBytes = maxBytes }})
	r.waitOutcomes(n, 60*time.Second)
	checkSettled(t, rep.q, fixture.Sub)
	checkOneReposted(t, r, events)
	if _, peak := rep.w.HeldBytes(fixture.Sub); peak > evSize+1000 {
		t.Errorf("held bytes peaked at %d, want one event's (%d) at most", peak, evSize)
	}
}
