package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/worker"
)

func whats(st *traceStory) string {
	var w []string
	for _, s := range st.Steps {
		w = append(w, s.What+":"+s.EventID)
	}
	return strings.Join(w, " ")
}

// trace tells an event's story from the streams against a running worker:
// a lead parked on 1006, requeued with a fix and reposted; one reposted at
// once; one still parked; one never seen.
func TestTraceEndToEnd(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	h.startWorker(sim, fixture.Sub)
	h.publish([]fixture.Event{
		fixture.Build(0, "field-role", time.Now(), fixture.Sub),
		fixture.Build(1, fixture.KindOK, time.Now(), fixture.Sub),
		fixture.Build(2, "field-role", time.Now(), fixture.Sub),
	})
	checkFor(t, 30*time.Second, func() error {
		if p, r := len(h.outcomes(repost.KindParked)), len(h.outcomes(repost.KindReposted)); p != 2 || r != 1 {
			return fmt.Errorf("%d parked, %d reposted", p, r)
		}
		return nil
	})
	h.mustRun("parked", "requeue", "--lead", "L-000000", "--rename-field", "role=jobTitle")
	checkFor(t, 30*time.Second, func() error {
		if r := len(h.outcomes(repost.KindReposted)); r != 2 {
			return fmt.Errorf("%d reposted", r)
		}
		return nil
	})
	trace := func(args ...string) []*traceStory {
		t.Helper()
		var sts []*traceStory
		if err := json.Unmarshal([]byte(h.mustRun(append([]string{"trace", "-o", "json"}, args...)...)), &sts); err != nil {
			t.Fatal(err)
		}
		return sts
	}
	id0 := fixture.ID(0)
	// The requeue publishes the copy, then records its outcome.
	want0 := "published:" + id0 + " parked:" + id0 + " requeued copy:" + id0 + "~r1 requeued:" + id0 + " reposted:" + id0 + "~r1"
	for _, args := range [][]string{{id0}, {id0 + "~r1"}, {"--lead", "L-000000"}} {
		sts := trace(args...)
		if len(sts) != 1 || whats(sts[0]) != want0 || sts[0].Verdict != "reposted" || sts[0].LeadID != "L-000000" {
			t.Fatalf("trace %v: %d stories\n%s\nwant %s", args, len(sts), func() string {
				if len(sts) == 0 {
					return ""
				}
				return whats(sts[0]) + " => " + sts[0].Verdict
			}(), want0)
		}
		st := sts[0]
		if p := st.Steps[1]; p.Code != "1006" || p.Stream != queue.StreamOutcomes {
			t.Errorf("parked step %+v", p)
		}
		if r := st.Steps[3]; !strings.Contains(r.Detail, "by oncall") || !strings.Contains(r.Detail, "as "+id0+"~r1") {
			t.Errorf("requeued step %+v", r)
		}
	}
	st1 := trace(fixture.ID(1))
	if len(st1) != 1 || whats(st1[0]) != "published:"+fixture.ID(1)+" reposted:"+fixture.ID(1) || st1[0].Verdict != "reposted" {
		t.Errorf("trace of the reposted lead: %+v", st1)
	}
	st2 := trace(fixture.ID(2))
	if len(st2) != 1 || whats(st2[0]) != "published:"+fixture.ID(2)+" parked:"+fixture.ID(2)+" parked now:"+fixture.ID(2) ||
		st2[0].Verdict != "parked" {
		t.Errorf("trace of the parked lead: %s", whats(st2[0]))
	}

	table := h.mustRun("trace", id0)
	for _, want := range []string{"event " + id0 + "  lead L-000000  subscription " + fixture.Sub, "AT ", "requeued copy",
		"=> reached Marketo at ", "Marketo ID "} {
		if !strings.Contains(table, want) {
			t.Errorf("trace table lacks %q:\n%s", want, table)
		}
	}
	if out := h.mustRun("trace", fixture.ID(2)); !strings.Contains(out, "=> did not reach Marketo: parked at ") {
		t.Errorf("trace of the parked lead:\n%s", out)
	}
	if out := h.mustRun("trace", "evt-nope"); !strings.Contains(out, "event evt-nope: nothing in") {
		t.Errorf("trace of an unknown event:\n%s", out)
	}
	for _, args := range [][]string{{"trace"}, {"trace", id0, "--lead", "L-1"}, {"trace", "a", "b"}} {
		if _, _, err := h.run(t.Context(), args...); exitCode(err, nopWriter{}) != 2 {
			t.Errorf("%v: %v, want exit 2", args, err)
		}
	}
}

// requeue --wait follows what it published to each lead's outcome: a wrong
// fix re-parks them (with the code), the right one reposts them.
func TestRequeueWait(t *testing.T) {
	const n = 6
	h, _ := newWorkerHarness(t, n)
	out, errOut, err := h.run(t.Context(), "parked", "requeue", "--code", "1006", "--rename-field", "role=roleTitle", "--rate", "0", "--wait", "30s")
	if err != nil || !strings.Contains(out, fmt.Sprintf("outcomes: 0 reposted, %d re-parked (1006 ×%d), 0 skipped, 0 still waiting", n, n)) {
		t.Errorf("wrong fix --wait: %v\n%s\n%s", err, out, errOut)
	}
	out, errOut, err = h.run(t.Context(), "parked", "requeue", "--field", "roleTitle", "--rename-field", "roleTitle=jobTitle", "--rate", "0", "--wait", "30s")
	if err != nil || !strings.Contains(out, fmt.Sprintf("outcomes: %d reposted, 0 re-parked, 0 skipped, 0 still waiting", n)) {
		t.Errorf("right fix --wait: %v\n%s\n%s", err, out, errOut)
	}
}

// With no worker, --wait says how many still wait and fails when it gives up.
func TestRequeueWaitGivesUp(t *testing.T) {
	h := newHarness(t, "https://123-ABC-456.mktorest.com", fixture.Sub)
	for i := 0; i < 2; i++ {
		h.park(fixture.Sub, i, "transient", repost.ParkInfo{Code: "retries-exhausted", Reason: "604 ten times", ParkedAt: fixedNow})
	}
	out, _, err := h.run(t.Context(), "parked", "requeue", "--all", "--wait", "300ms")
	if exitCode(err, nopWriter{}) != 1 || !strings.Contains(out, "0 reposted, 0 re-parked, 0 skipped, 2 still waiting") {
		t.Errorf("--wait with no worker: %v\n%s", err, out)
	}
}

// traceStamps replaces the times a run decides (stream and outcome times)
// with a placeholder of the same width; the times a test fixed stay.
func traceStamps(out string, keep ...time.Time) string {
	kept := map[string]bool{}
	for _, t := range keep {
		kept[stamp(t)] = true
	}
	return regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).ReplaceAllStringFunc(out, func(s string) string {
		if kept[s] {
			return s
		}
		return "YYYY-MM-DDThh:mm:ssZ"
	})
}

// An event waiting in the worker's pool when its subscription is paused
// is deferred: the worker puts a copy back on POSTOUT_FAILED, dated with
// the original's data, and acks the original. Once resumed, the copy is
// reposted. trace lists the original, the deferred copy with its data
// time, and the outcome, both while the copy waits and after
// (testdata/trace-deferred.golden).
//
// The worker's linger (5 s) keeps the lone event in the pool until the
// pause is read; the fetch loop then defers it between fetches, so no
// fetch in flight takes the copy (which would be deferred once more).
func TestTraceDeferredCopy(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	h.startWorkerMod(sim, "w-trace", "1.0.0", func(c *worker.Config) { c.Linger = 5 * time.Second }, fixture.Sub)
	dataAt := fixedNow.Add(-24 * time.Hour)
	ev := fixture.Build(0, fixture.KindOK, dataAt, fixture.Sub)
	h.publish([]fixture.Event{ev})
	checkFor(t, 30*time.Second, func() error { // in the worker's pool
		info, err := h.q.ConsumerInfo(context.Background(), fixture.Sub)
		if err != nil {
			return err
		}
		if info.NumAckPending != 1 {
			return fmt.Errorf("%d events held by the worker", info.NumAckPending)
		}
		return nil
	})
	h.mustRun("subscription", "pause", fixture.Sub, "--reason", "trace test", "--actor", "alice")
	checkFor(t, 30*time.Second, func() error {
		for _, m := range h.messages(queue.StreamFailed) {
			if m.Header.Get(queue.HeaderDeferred) != "" {
				return nil
			}
		}
		return fmt.Errorf("no deferred copy yet")
	})
	waiting := traceStamps(h.mustRun("trace", ev.ID), dataAt)
	h.mustRun("subscription", "resume", fixture.Sub, "--actor", "alice")
	checkFor(t, 30*time.Second, func() error {
		if r := len(h.outcomes(repost.KindReposted)); r != 1 {
			return fmt.Errorf("%d reposted", r)
		}
		return nil
	})
	golden(t, "trace-deferred", waiting+"\n"+traceStamps(h.mustRun("trace", ev.ID), dataAt))

	var sts []*traceStory
	if err := json.Unmarshal([]byte(h.mustRun("trace", "-o", "json", "--lead", "L-000000")), &sts); err != nil {
		t.Fatal(err)
	}
	want := "published:" + ev.ID + " deferred copy:" + ev.ID + " reposted:" + ev.ID
	if len(sts) != 1 || whats(sts[0]) != want || sts[0].Verdict != "reposted" {
		t.Fatalf("trace --lead: %d stories, want one: %s", len(sts), want)
	}
	if c := sts[0].Steps[1]; c.DataAt == nil || !c.DataAt.Equal(dataAt) || c.Seq != 2 {
		t.Errorf("deferred copy step %+v, want seq 2 with data of %s", c, stamp(dataAt))
	}
}
