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
	"github.com/leadops/repost/quota"
)

// Calls Marketo answers 604 (which it counts against neither the window nor
// the quota) give their place back: under a window of 2 calls per 20 s, an
// event answered 604 again and again is retried more than twice within
// one window, and once it is reposted the limiter counts the one call
// Marketo counted. Before, every 604 kept its place: the third try waited
// for the window, and the day's count held every 604.
func TestUncountedAnswersGiveTheirPlaceBack(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{
		Limits: marketotest.Limits{CallsPerWindow: 2, Window: 20 * time.Second, MaxConcurrency: 10, DailyQuota: 1000},
		Faults: marketotest.Faults{Rate604: 1},
	})
	t.Cleanup(sim.Close)
	lim := quota.Limits{DailyQuota: 1000, CallsPerWindow: 2, Window: 20 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	store := quota.NewMemory(quota.MemoryOptions{})
	ev := fixture.Build(0, fixture.KindOK, time.Now().Add(-time.Hour), fixture.Sub)
	r.publish([]fixture.Event{ev})
	r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})

	// Four tries inside the first window (the check gives up well before
	// the window would let a third call through).
	testenv.CheckFor(t, 15*time.Second, func() error {
		if n := sim.Stats().ByCode["604"]; n < 4 {
			return fmt.Errorf("%d calls answered 604, want 4 within one window of 2 calls", n)
		}
		return nil
	})
	sim.SetFaults(marketotest.Faults{})
	r.waitOutcomes(1, 30*time.Second)
	if got := r.outcomes()[ev.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
		t.Fatalf("outcomes %+v, want one reposted", got)
	}
	st := sim.Stats()
	snap, err := store.Snapshot(context.Background(), fixture.Sub, lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Marketo answered %d calls 604 and %d ok; the limiter counts %d today, %d in the window",
		st.ByCode["604"], st.ByCode["ok"], snap.QuotaUsed, snap.CallsInWindow)
	if snap.QuotaUsed != st.ByCode["ok"] || snap.CallsInWindow != st.ByCode["ok"] {
		t.Errorf("the limiter counts %d calls today and %d in the window, want Marketo's %d counted calls",
			snap.QuotaUsed, snap.CallsInWindow, st.ByCode["ok"])
	}
}

// A call whose answer is in frees its place in the window one of Marketo's
// windows after the answer, not a guarded window (Marketo's and a tenth
// more) after its admission: Marketo counted it no later than its answer.
// Under a window of one call per 10 s the limiter, right after an answered
// call, lets the next one go 10 s after the call reached Marketo; before,
// 11 s after it was admitted.
func TestAnsweredCallsFreeTheirPlaceFromTheAnswer(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{
		Limits: marketotest.Limits{CallsPerWindow: 1, Window: 10 * time.Second, MaxConcurrency: 10, DailyQuota: 1000},
	})
	t.Cleanup(sim.Close)
	lim := quota.Limits{DailyQuota: 1000, CallsPerWindow: 1, Window: 10 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	store := quota.NewMemory(quota.MemoryOptions{})
	ev := fixture.Build(0, fixture.KindOK, time.Now().Add(-time.Hour), fixture.Sub)
	r.publish([]fixture.Event{ev})
	r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	r.waitOutcomes(1, 30*time.Second)
	seen := time.Now() // after the answer: the outcome follows it

	guarded := lim
	guarded.Window = 11 * time.Second // what the worker asks the limiter for: the window and its guard band
	a, err := store.Admit(context.Background(), fixture.Sub, guarded)
	if err != nil {
		t.Fatal(err)
	}
	var arrived time.Time
	for _, c := range sim.CallLog() {
		if c.Records > 0 {
			arrived = c.At
		}
	}
	if a.Allowed || arrived.IsZero() {
		t.Fatalf("admission %+v after the call that reached Marketo at %s; want refused by the window", a, arrived)
	}
	free := time.Now().Add(a.RetryAfter).Sub(arrived)
	answeredBy := seen.Sub(arrived) // the answer came at most this long after the call reached Marketo
	t.Logf("the next call may go %s after the last reached Marketo (answered within %s)", free.Round(time.Millisecond), answeredBy.Round(time.Millisecond))
	if free > 10*time.Second+answeredBy {
		t.Errorf("the next call may go %s after the last reached Marketo, want at most 10s after its answer (within %s of it)", free.Round(time.Millisecond), answeredBy.Round(time.Millisecond))
	}
	if free < 10*time.Second {
		t.Errorf("the next call may go %s after the last reached Marketo, want no sooner than 10s", free.Round(time.Millisecond))
	}
}
