package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/status"
	"github.com/leadops/repost/marketo/marketotest"
)

// A paused subscription's worker fetches nothing while the pause holds;
// status shows it; resume drains it; both are audit outcomes with their
// actor.
func TestPauseHoldsAndResumeDrains(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	core, logs := observer.New(zap.InfoLevel)
	h.workerLogs = core
	h.startWorkerOpts(sim, "w-pause", "1.0.0", fixture.Sub)
	// The worker runs: a first lead is reposted.
	h.publish([]fixture.Event{fixture.Build(0, fixture.KindOK, time.Now(), fixture.Sub)})
	checkFor(t, 30*time.Second, func() error {
		if n := len(h.outcomes(repost.KindReposted)); n != 1 {
			return fmt.Errorf("%d reposted", n)
		}
		return nil
	})

	out := h.mustRun("subscription", "pause", fixture.Sub, "--reason", "Marketo maintenance", "--actor", "alice", "--until", "2h")
	if !strings.Contains(out, "paused "+fixture.Sub+" until ") || !strings.Contains(out, "by alice: Marketo maintenance") {
		t.Errorf("pause output:\n%s", out)
	}
	checkFor(t, 30*time.Second, func() error {
		if logs.FilterMessage("subscription paused by an operator").Len() == 0 {
			return fmt.Errorf("the worker has not read the pause")
		}
		return nil
	})
	const n = 5
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i+1, fixture.KindOK, time.Now(), fixture.Sub)
	}
	h.publish(events)
	// Held: while heartbeats go on (the worker is alive and polling), no
	// delivery happens (a fetch already waiting when the pause was read
	// hands its events back, unsent), the events stay in the backlog, none
	// is held by the worker, none is sent.
	var seen time.Time
	beats := 0
	var delivered uint64
	checkFor(t, 30*time.Second, func() error {
		s := h.statusJSON()
		info, err := h.q.ConsumerInfo(context.Background(), fixture.Sub)
		if err != nil {
			t.Fatal(err)
		}
		r := rowOf(s, fixture.Sub)
		if r.Backlog != n || r.InFlight != 0 {
			t.Fatalf("paused, yet backlog %d, in flight %d (want %d, 0)", r.Backlog, r.InFlight, n)
		}
		if len(s.Replicas) == 1 && s.Replicas[0].SeenAt.After(seen) {
			seen = s.Replicas[0].SeenAt
			if beats++; beats == 1 {
				delivered = info.Delivered.Consumer
			}
		}
		if beats > 1 && info.Delivered.Consumer != delivered {
			t.Fatalf("paused, yet the consumer delivered %d messages more", info.Delivered.Consumer-delivered)
		}
		if beats < 6 {
			return fmt.Errorf("%d heartbeats since the events were published", beats)
		}
		return nil
	})
	if st := sim.Stats(); st.Records != 1 {
		t.Errorf("the simulator received %d records while paused, want the first one only", st.Records)
	}
	if got := len(h.outcomes(repost.KindReposted)); got != 1 {
		t.Errorf("%d reposted while paused, want 1", got)
	}
	r := rowOf(h.statusJSON(), fixture.Sub)
	if p, ok := r.Held(status.HoldPaused); !ok || p.Actor != "alice" || p.Reason != "Marketo maintenance" || p.Until.IsZero() {
		t.Errorf("status holds: %+v", r.Holds)
	}
	if table := h.mustRun("status"); !strings.Contains(table, "paused until ") || !strings.Contains(table, "by alice: Marketo maintenance") {
		t.Errorf("status table does not show the pause:\n%s", table)
	}

	out = h.mustRun("subscription", "resume", fixture.Sub, "--actor", "bob")
	if !strings.Contains(out, "resumed "+fixture.Sub) || !strings.Contains(out, "by alice") {
		t.Errorf("resume output:\n%s", out)
	}
	checkFor(t, 30*time.Second, func() error {
		if got := len(h.outcomes(repost.KindReposted)); got != n+1 {
			return fmt.Errorf("%d of %d reposted after resume", got, n+1)
		}
		return nil
	})
	if r := rowOf(h.statusJSON(), fixture.Sub); len(r.Holds) != 0 {
		t.Errorf("holds after resume: %+v", r.Holds)
	}
	if out := h.mustRun("subscription", "resume", fixture.Sub); !strings.Contains(out, "not paused") {
		t.Errorf("second resume: %s", out)
	}

	paused, resumed := h.outcomes(repost.KindPaused), h.outcomes(repost.KindResumed)
	if len(paused) != 1 || len(resumed) != 1 {
		t.Fatalf("%d paused and %d resumed outcomes, want 1 each", len(paused), len(resumed))
	}
	for _, os := range paused {
		if o := os[0]; o.Actor != "alice" || o.Subscription != fixture.Sub || !strings.HasPrefix(o.Reason, "Marketo maintenance (until ") {
			t.Errorf("paused outcome %+v", o)
		}
	}
	for _, os := range resumed {
		if o := os[0]; o.Actor != "bob" || o.Subscription != fixture.Sub || !strings.Contains(o.Reason, "paused by alice") {
			t.Errorf("resumed outcome %+v", o)
		}
	}
}

// Pause and resume refuse bad command lines with exit 2.
func TestPauseUsage(t *testing.T) {
	h := newHarness(t, "https://123-ABC-456.mktorest.com", fixture.Sub)
	for _, args := range [][]string{
		{"subscription"},
		{"subscription", "pause", fixture.Sub},
		{"subscription", "pause", "--reason", "x"},
		{"subscription", "pause", fixture.Sub, "--reason", "x", "--until", "tomorrow"},
		{"subscription", "pause", fixture.Sub, "--reason", "x", "--until", "-1h"},
		{"subscription", "resume"},
		{"subscription", "resum", fixture.Sub},
	} {
		_, errOut, err := h.run(context.Background(), args...)
		if exitCode(err, nopWriter{}) != 2 || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%v: %v, want exit 2 with usage\n%s", args, err, errOut)
		}
	}
	if _, _, err := h.run(context.Background(), "subscription", "pause", "999-NOT-999", "--reason", "x"); err == nil {
		t.Error("pausing a subscription not in the configuration succeeded")
	}
	if _, _, err := h.run(context.Background(), "subscription", "pause", fixture.Sub, "--reason", "x"); err != nil {
		t.Fatal(err)
	}
	if p, ok, _ := h.q.GetPause(context.Background(), fixture.Sub); !ok || p.Actor != "oncall" || !p.Until.IsZero() || !p.At.Equal(fixedNow) {
		t.Errorf("stored pause %+v (%v)", p, ok)
	}
}
