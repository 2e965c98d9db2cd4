package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/status"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// Against a running worker whose Marketo call hangs: status counts the
// events the replica holds as in flight (acknowledged pending, not
// deferred), and back to 0 once the call answers. A replica killed
// without withdrawing its heartbeat leaves the header after StaleAfter
// missed beats, while the live one stays.
func TestStatusLiveInFlightAndGoneReplica(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	h.startWorkerOpts(sim, "w-live", "2.0.0", fixture.Sub)
	ctx := context.Background()
	if err := h.q.Announce(ctx, queue.Heartbeat{ID: "w-killed", Version: "1.9.0", StartedAt: time.Now(), SeenAt: time.Now(),
		Every: time.Second, Subscriptions: []string{fixture.Sub}}); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if s := h.statusJSON(); len(s.Replicas) != 2 {
			return fmt.Errorf("replicas %+v, want w-live and w-killed", s.Replicas)
		}
		return nil
	})
	sim.Pause()
	h.publish([]fixture.Event{fixture.Build(0, fixture.KindOK, time.Now(), fixture.Sub),
		fixture.Build(1, fixture.KindOK, time.Now(), fixture.Sub), fixture.Build(2, fixture.KindOK, time.Now(), fixture.Sub)})
	checkFor(t, 30*time.Second, func() error {
		if r := rowOf(h.statusJSON(), fixture.Sub); r.InFlight != 3 || r.AckPending != 3 || r.Backlog != 3 || r.Deferred != 0 {
			return fmt.Errorf("row %+v, want 3 in flight (3 ack pending), none deferred", r)
		}
		return nil
	})
	if table := h.mustRun("status"); !regexp.MustCompile(`(?m)^` + fixture.Sub + ` +3 \(0\+3\) +\d+s +3 +0 `).MatchString(table) {
		t.Errorf("status table does not show 3 in flight:\n%s", table)
	}
	sim.Resume()
	checkFor(t, 30*time.Second, func() error {
		if r := rowOf(h.statusJSON(), fixture.Sub); r.InFlight != 0 || r.Backlog != 0 || r.Recent.Reposted != 3 {
			return fmt.Errorf("row %+v, want 3 reposted, none in flight", r)
		}
		return nil
	})
	checkFor(t, 15*time.Second, func() error {
		if s := h.statusJSON(); len(s.Replicas) != 1 || s.Replicas[0].ID != "w-live" {
			return fmt.Errorf("replicas %+v, want w-live alone", s.Replicas)
		}
		return nil
	})
	if out := h.mustRun("status"); !strings.Contains(out, "replicas (1): w-live 2.0.0 on ") || strings.Contains(out, "w-killed") {
		t.Errorf("status header:\n%s", out)
	}
}

// A running worker halted by Marketo (603 access denied) shows in status
// as a hold with its reason, from the limits store the replicas share,
// with the event kept in the backlog; the hold lifts once the worker's
// probe succeeds and the event is reposted.
func TestStatusShowsALiveHalt(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	h.store = quota.NewMemory(quota.MemoryOptions{})
	sim.SetAccessDenied("Access denied")
	h.startWorkerMod(sim, "w-halt", "2.0.0", func(c *worker.Config) { c.ProbeInterval = 200 * time.Millisecond }, fixture.Sub)
	h.publish([]fixture.Event{fixture.Build(0, fixture.KindOK, time.Now(), fixture.Sub)})
	checkFor(t, 30*time.Second, func() error {
		r := rowOf(h.statusJSON(), fixture.Sub)
		if hold, ok := r.Held(status.HoldHalted); !ok || !strings.Contains(hold.Reason, "603") || r.Backlog != 1 {
			return fmt.Errorf("row %+v, want halted on 603 with the event in the backlog", r)
		}
		return nil
	})
	if table := h.mustRun("status"); !regexp.MustCompile(`(?m)^` + fixture.Sub + ` .* halted: 603`).MatchString(table) {
		t.Errorf("status table does not show the halt:\n%s", table)
	}
	sim.SetAccessDenied("")
	checkFor(t, 30*time.Second, func() error {
		if r := rowOf(h.statusJSON(), fixture.Sub); len(r.Holds) != 0 || r.Backlog != 0 || r.Recent.Reposted != 1 {
			return fmt.Errorf("row %+v, want no hold and the event reposted", r)
		}
		return nil
	})
}

// A used-up daily quota shows live: Marketo answers 607, the subscription
// is blocked for every replica until the 00:00 Chicago reset, and status
// says so (blocked, until when, why) with the event waiting in the
// backlog, not in flight.
func TestStatusShowsALiveQuotaBlock(t *testing.T) {
	lim := marketotest.DefaultLimits()
	lim.DailyQuota = 1
	sim := marketotest.NewServer(marketotest.Options{Limits: lim})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	h.store = quota.NewMemory(quota.MemoryOptions{})
	h.startWorkerMod(sim, "w-quota", "2.0.0", nil, fixture.Sub)
	h.publish([]fixture.Event{fixture.Build(0, fixture.KindOK, time.Now(), fixture.Sub)})
	checkFor(t, 30*time.Second, func() error {
		if r := rowOf(h.statusJSON(), fixture.Sub); r.Recent.Reposted != 1 {
			return fmt.Errorf("row %+v, want the first event reposted", r)
		}
		return nil
	})
	h.publish([]fixture.Event{fixture.Build(1, fixture.KindOK, time.Now(), fixture.Sub)})
	reset := quota.NextReset(time.Now())
	checkFor(t, 30*time.Second, func() error {
		r := rowOf(h.statusJSON(), fixture.Sub)
		hold, ok := r.Held(status.HoldBlocked)
		if !ok || !hold.Until.Equal(reset) || !strings.Contains(hold.Reason, "607") || r.Backlog != 1 || r.InFlight != 0 {
			return fmt.Errorf("row %+v, want blocked until %s on 607, the event in the backlog and none in flight", r, reset)
		}
		return nil
	})
	table := h.mustRun("status")
	t.Logf("status:\n%s", table)
	if !regexp.MustCompile(`(?m)^` + fixture.Sub + ` .* blocked .*607`).MatchString(table) {
		t.Errorf("status table does not show the block:\n%s", table)
	}
}
