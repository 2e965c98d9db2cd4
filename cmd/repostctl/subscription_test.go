package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/status"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/worker"
)

// A paused subscription's worker fetches nothing while the pause holds;
// status, the worker's /readyz detail and its repost_subscription_paused
// and repost_subscription_pause_until_seconds gauges show it; resume
// drains it and clears them; both are audit outcomes with their actor.
func TestPauseHoldsAndResumeDrains(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	core, logs := observer.New(zap.InfoLevel)
	h.workerLogs = core
	reg := prometheus.NewRegistry()
	w := h.startWorkerMod(sim, "w-pause", "1.0.0", func(c *worker.Config) { c.Registerer = reg }, fixture.Sub)
	srv := httptest.NewServer(w.Handler(reg))
	t.Cleanup(srv.Close)
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
	stored, ok, err := h.q.GetPause(context.Background(), fixture.Sub)
	if err != nil || !ok {
		t.Fatalf("no pause stored: %v", err)
	}
	checkReadyz(t, srv.URL, "Marketo maintenance (by alice, until "+stored.Until.UTC().Format(time.RFC3339)+")")
	checkPauseGauges(t, srv.URL, 1, float64(stored.Until.Unix()))
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
	checkReadyz(t, srv.URL, "")
	checkPauseGauges(t, srv.URL, 0, 0)
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

// checkReadyz waits for the worker's /readyz to be 200 with want as the
// pause detail of fixture.Sub ("": none).
func checkReadyz(t *testing.T, base, want string) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var r worker.Readiness
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !r.Ready || r.Paused[fixture.Sub] != want || want == "" && r.Paused != nil {
			return fmt.Errorf("/readyz %d %+v, want ready with the pause detail %q", resp.StatusCode, r, want)
		}
		return nil
	})
}

// checkPauseGauges waits for /metrics to show fixture.Sub's pause gauges at paused and until.
func checkPauseGauges(t *testing.T, base string, paused, until float64) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			return err
		}
		for name, want := range map[string]float64{"repost_subscription_paused": paused, "repost_subscription_pause_until_seconds": until} {
			got, found := -1.0, false
			if f := fams[name]; f != nil {
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "subscription" && l.GetValue() == fixture.Sub {
							got, found = m.GetGauge().GetValue(), true
						}
					}
				}
			}
			if !found || got != want {
				return fmt.Errorf("%s{subscription=%q} = %v (found %v), want %v", name, fixture.Sub, got, found, want)
			}
		}
		return nil
	})
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

// A pause holds the subscription for every replica: two workers share
// its consumer; both read the pause, neither fetches (the consumer
// delivers nothing, Marketo gets nothing) over several heartbeats of
// each, and after resume they drain it.
func TestPauseHoldsEveryReplica(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	var logs []*observer.ObservedLogs
	for _, id := range []string{"w-a", "w-b"} {
		core, l := observer.New(zap.InfoLevel)
		logs = append(logs, l)
		h.startWorkerMod(sim, id, "1.0.0", func(c *worker.Config) { c.Logger = zap.New(core) }, fixture.Sub)
	}
	h.mustRun("subscription", "pause", fixture.Sub, "--reason", "freeze", "--actor", "alice")
	checkFor(t, 30*time.Second, func() error {
		for i, l := range logs {
			if l.FilterMessage("subscription paused by an operator").Len() == 0 {
				return fmt.Errorf("replica %d has not read the pause", i)
			}
			// A fetch already waiting at the server when the pause was read
			// may still return events (handed back at once); from this line
			// on, none waits.
			if l.FilterMessage("fetching stopped while the subscription is held").Len() == 0 {
				return fmt.Errorf("replica %d still has a fetch waiting", i)
			}
		}
		return nil
	})
	const n = 10
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	h.publish(events)
	info, err := h.q.ConsumerInfo(context.Background(), fixture.Sub)
	if err != nil {
		t.Fatal(err)
	}
	delivered := info.Delivered.Consumer
	seen, beats := map[string]time.Time{}, map[string]int{}
	checkFor(t, 30*time.Second, func() error {
		s := h.statusJSON()
		r := rowOf(s, fixture.Sub)
		info, err := h.q.ConsumerInfo(context.Background(), fixture.Sub)
		if err != nil {
			t.Fatal(err)
		}
		if r.Backlog != n || r.InFlight != 0 || info.Delivered.Consumer != delivered || sim.Stats().Records != 0 {
			t.Fatalf("paused, yet backlog %d, in flight %d, %d delivered, %d records sent", r.Backlog, r.InFlight,
				info.Delivered.Consumer-delivered, sim.Stats().Records)
		}
		for _, rep := range s.Replicas {
			if rep.SeenAt.After(seen[rep.ID]) {
				seen[rep.ID] = rep.SeenAt
				beats[rep.ID]++
			}
		}
		if beats["w-a"] < 5 || beats["w-b"] < 5 {
			return fmt.Errorf("heartbeats since the events were published: %v", beats)
		}
		return nil
	})
	h.mustRun("subscription", "resume", fixture.Sub, "--actor", "bob")
	checkFor(t, 30*time.Second, func() error {
		if got := len(h.outcomes(repost.KindReposted)); got != n {
			return fmt.Errorf("%d of %d reposted after resume", got, n)
		}
		return nil
	})
}
