package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
)

// A requeue killed after a copy was acknowledged but before its entry was
// deleted, run again after POSTOUT_FAILED's duplicate window (and the
// outcome stream's) has passed: the copy is not published again, the
// rerun says so, and no lead reaches Marketo twice or gets a second outcome.
func TestRequeueInterruptedAgainPastTheDuplicateWindow(t *testing.T) {
	const n = 150
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarnessWith(t, shortWindows, sim.URL, fixture.Sub)
	h.now = time.Now
	h.startWorker(sim, fixture.Sub)
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, "field-role", time.Now().Add(-time.Hour), fixture.Sub)
	}
	h.publish(events)
	checkFor(t, 30*time.Second, func() error {
		if got := h.count(queue.StreamParked); got != n {
			return fmt.Errorf("%d of %d parked", got, n)
		}
		return nil
	})
	args := []string{"parked", "requeue", "--field", "role", "--rename-field", "role=jobTitle", "--rate", "0"}

	// Killed once the 100th copy is acknowledged, before its requeued
	// outcome and the deletion of its entry.
	h.hooks.afterPublish = func(k int) error {
		if k == 100 {
			return errKilled
		}
		return nil
	}
	if _, _, err := h.run(context.Background(), args...); !errors.Is(err, errKilled) {
		t.Fatalf("first run: %v, want the injected kill", err)
	}
	h.hooks.afterPublish = nil
	if got := h.count(queue.StreamParked); got != n-99 {
		t.Fatalf("after the kill %d parked, want %d (the 100th published but still parked)", got, n-99)
	}
	checkFor(t, 30*time.Second, func() error {
		if got := len(h.outcomes(repost.KindReposted)); got != 100 {
			return fmt.Errorf("%d of the 100 published copies reposted", got)
		}
		return nil
	})
	pastWindows()

	out := h.mustRun(args...)
	t.Logf("second run: %s", out)
	if !strings.Contains(out, "requeued 51 of 51 leads (rename role=jobTitle); 0 left parked: 50 published, 1 already published by an earlier run") {
		t.Errorf("second run: %s", out)
	}
	checkFor(t, 30*time.Second, func() error {
		if got := len(h.outcomes(repost.KindReposted)); got != n {
			return fmt.Errorf("%d of %d reposted", got, n)
		}
		return nil
	})
	caughtUp(t, h)
	if got := h.count(queue.StreamFailed); got != 2*n {
		t.Errorf("POSTOUT_FAILED holds %d events, want %d originals + %d copies", got, n, n)
	}
	oneOutcomeEach(t, h, repost.KindReposted, n)
	oneOutcomeEach(t, h, repost.KindRequeued, n)
	if st := sim.Stats(); st.Records != n {
		t.Errorf("Marketo received %d records, want each of %d leads once", st.Records, n)
	}
	if got := h.count(queue.StreamParked); got != 0 {
		t.Errorf("%d leads still parked, want 0", got)
	}
}

// A requeue killed after its requeued outcomes were acknowledged but
// before the entries were deleted, run again past the outcome stream's
// duplicate window: each lead keeps one requeued outcome, and its copy is
// not published again.
func TestRequeueKilledBeforeDeletingAgainPastTheDuplicateWindow(t *testing.T) {
	const n = 20
	h := newHarnessWith(t, shortWindows, "https://123-abc-456.mktorest.com", fixture.Sub)
	for i := 0; i < n; i++ {
		h.park(fixture.Sub, i, "field-role", repost.ParkInfo{Code: "1006", Reason: "Field 'role' not found", Field: "role", ParkedAt: fixedNow})
	}
	args := []string{"parked", "requeue", "--field", "role", "--rename-field", "role=jobTitle", "--rate", "0"}
	h.hooks.afterOutcomes = func() error { return errKilled }
	if _, _, err := h.run(context.Background(), args...); !errors.Is(err, errKilled) {
		t.Fatalf("first run: %v, want the injected kill", err)
	}
	h.hooks.afterOutcomes = nil
	if got := h.count(queue.StreamParked); got != n {
		t.Fatalf("after the kill %d parked, want all %d", got, n)
	}
	pastWindows()

	out := h.mustRun(args...)
	t.Logf("second run: %s", out)
	if !strings.Contains(out, "requeued 20 of 20 leads (rename role=jobTitle); 0 left parked: 0 published, 20 already published by an earlier run") {
		t.Errorf("second run: %s", out)
	}
	oneOutcomeEach(t, h, repost.KindRequeued, n)
	if got := h.count(queue.StreamFailed); got != n {
		t.Errorf("POSTOUT_FAILED holds %d copies, want %d", got, n)
	}
	if got := h.count(queue.StreamParked); got != 0 {
		t.Errorf("%d leads still parked, want 0", got)
	}
}
