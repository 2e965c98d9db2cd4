package worker_test

import (
	"context"
	"encoding/json"
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

// lossLimits bind nothing; their one-second window keeps the hold after a
// loss short.
var lossLimits = quota.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}

// Redis restarts empty after a lead's newer data reached Marketo (repost's
// own repost, and DAP's success notice of another lead): the success marks
// are gone from Redis, but not from NATS. An older failed post-out of each
// lead arriving after the loss is superseded, never sent: Marketo keeps the
// newer data.
func TestSuccessMarksOutliveARedisLoss(t *testing.T) {
	rd := testenv.StartRedis(t)
	store := quota.NewRedis(rd.Client(t), quota.RedisOptions{})
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: lossLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.ClaimTTL = 600 * time.Millisecond }})
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

	r.publish([]fixture.Event{leadVersion(7, "newer-7", "Newer", t0.Add(5*time.Minute))})
	r.waitOutcomes(1, 20*time.Second)
	notice, _ := json.Marshal(map[string]any{"leadId": "L-000008", "subscription": fixture.Sub, "at": t0.Add(30 * time.Minute)})
	if _, err := r.pub.JS.Publish(ctx, r.pub.Subjects.Succeeded(fixture.Sub), notice); err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 10*time.Second, func() error {
		if _, ok, err := store.LastSuccess(ctx, fixture.Sub, "L-000008"); err != nil || !ok {
			return fmt.Errorf("success notice not recorded yet (%v)", err)
		}
		return nil
	})
	calls := sim.Stats().Calls

	if err := rd.Client(t).FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r.publish([]fixture.Event{leadVersion(7, "older-7", "Older", t0), leadVersion(8, "older-8", "Older", t0.Add(20*time.Minute))})
	r.waitOutcomes(3, 60*time.Second)

	outs := r.outcomes()
	for _, id := range []string{"older-7", "older-8"} {
		if got := outs[id]; len(got) != 1 || got[0].Kind != repost.KindSkipped || got[0].Code != policy.CodeSuperseded {
			t.Errorf("%s after the loss: %+v, want one skipped superseded outcome", id, got)
		}
	}
	if lead, _ := sim.Lead("email", fixture.Email(7)); lead["lastName"] != "Newer" {
		t.Errorf("Marketo holds lastName %v for lead 7, want the newer data", lead["lastName"])
	}
	if _, ok := sim.Lead("email", fixture.Email(8)); ok {
		t.Errorf("lead 8's older data reached Marketo")
	}
	if st := sim.Stats(); st.Calls > calls+1 { // the restore's usage read aside
		t.Errorf("%d calls after the loss, want at most the usage read", st.Calls-calls)
	}
}

// A replica's call is in flight when Redis restarts empty: its lookup-value
// claims are gone with the rest. Another replica holding an older event of
// the same lead must not claim them in the moment before the first
// replica's renewal puts them back: nothing of the lead reaches Marketo
// while the call hangs, and once it ends, the older event is superseded.
//
// Each replica holds at most one record in its pool (MaxPooled 1) and
// fetches one at a time, so of two older events at least one reaches the
// replica whose call does not hang.
func TestClaimsOutliveARedisLoss(t *testing.T) {
	const ttl = 600 * time.Millisecond
	rd := testenv.StartRedis(t)
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	t.Cleanup(sim.Resume)
	subOf := func() []sub {
		return []sub{{id: fixture.Sub, sim: sim, limits: lossLimits, tokens: marketo.NewMemoryTokenStore()}}
	}
	mod := func(owner string) func(*worker.Config) {
		return func(c *worker.Config) { c.ClaimTTL, c.Owner, c.MaxPooled, c.FetchSize = ttl, owner, 1, 1 }
	}
	// B alone first, for a warm-up call that creates the subscription's
	// state; A starts after it, and knows the state's epoch from reading it.
	bLim := &claimLog{Limiter: quota.NewRedis(rd.Client(t), quota.RedisOptions{})}
	r.startReplica(bLim, subOf(), replicaOptions{mod: mod("replica-b")})
	t0 := time.Now().Add(-time.Hour)
	r.publish([]fixture.Event{leadVersion(1, "warm-1", "Warm", t0)})
	r.waitOutcomes(1, 20*time.Second)
	aLim := &claimLog{Limiter: quota.NewRedis(rd.Client(t), quota.RedisOptions{})}
	r.startReplica(aLim, subOf(), replicaOptions{mod: mod("replica-a")})
	refusedSince := func(t time.Time) (tried, refused int) {
		at, ar := aLim.since(t)
		bt, br := bLim.since(t)
		return at + bt, ar + br
	}

	sim.Pause()
	r.publish([]fixture.Event{leadVersion(3, "newer-3", "Newer", t0.Add(2*time.Minute))})
	testenv.CheckFor(t, 10*time.Second, func() error {
		if st := sim.Stats(); st.InFlight != 1 {
			return fmt.Errorf("%d calls in flight, want the newer event's", st.InFlight)
		}
		return nil
	})
	if err := rd.Client(t).FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	lost := time.Now()
	r.publish([]fixture.Event{leadVersion(3, "older-3a", "OlderA", t0), leadVersion(3, "older-3b", "OlderB", t0.Add(time.Minute))})

	// The hold after the loss (one window and the guard) and the restore
	// are over well before 8 claim TTLs: a replica that took the claims
	// would have sent by then.
	late := lost.Add(8 * ttl)
	testenv.CheckFor(t, 30*time.Second, func() error {
		if st := sim.Stats(); st.InFlight != 1 || st.SameKeyInFlight != 0 {
			return nil // checked below
		}
		if time.Now().Before(late) {
			return fmt.Errorf("not yet 8 claim TTLs since the loss")
		}
		if tried, refused := refusedSince(late); tried < 2 || refused < 2 {
			return fmt.Errorf("%d claims tried after 8 TTLs (%d refused), want 2 refused", tried, refused)
		}
		return nil
	})
	if st := sim.Stats(); st.InFlight != 1 || st.SameKeyInFlight != 0 {
		t.Fatalf("after the loss, while the newer event's call hung: %d calls in flight, %d records sent whose lookup value was in another call; want that call alone",
			st.InFlight, st.SameKeyInFlight)
	}
	sim.Resume()
	r.waitOutcomes(4, 30*time.Second)
	outs := r.outcomes()
	if got := outs["newer-3"]; len(got) != 1 || got[0].Kind != repost.KindReposted {
		t.Errorf("newer-3: %+v, want one reposted outcome", got)
	}
	for _, id := range []string{"older-3a", "older-3b"} {
		if got := outs[id]; len(got) != 1 || got[0].Kind != repost.KindSkipped || got[0].Code != policy.CodeSuperseded {
			t.Errorf("%s: %+v, want one skipped superseded outcome", id, got)
		}
	}
	if lead, _ := sim.Lead("email", fixture.Email(3)); lead["lastName"] != "Newer" {
		t.Errorf("Marketo holds lastName %v, want the newer data", lead["lastName"])
	}
	if st := sim.Stats(); st.SameKeyInFlight != 0 {
		t.Errorf("%d records sent while their lookup value was in another call, want none", st.SameKeyInFlight)
	}
}
