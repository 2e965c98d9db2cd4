package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

// leadVersion is event i of kind ok under eventId id, attempted at at, whose
// record carries lastName name.
func leadVersion(i int, id, name string, at time.Time) fixture.Event {
	e := withID(i, id, at)
	old := fmt.Sprintf(`"lastName":"Lovelace%d"`, i)
	if !strings.Contains(string(e.Data), old) {
		panic("fixture changed: no " + old)
	}
	e.Data = []byte(strings.Replace(string(e.Data), old, `"lastName":"`+name+`"`, 1))
	return e
}

// ackPending is the number of events the subscription's consumer has
// delivered and not yet seen acknowledged.
func (r *rig) ackPending(sub string) (int, error) {
	c, err := r.pub.JS.Consumer(context.Background(), queue.StreamFailed, queue.ConsumerName(sub))
	if err != nil {
		return 0, err
	}
	info, err := c.Info(context.Background())
	if err != nil {
		return 0, err
	}
	return info.NumAckPending, nil
}

// Two failed post-outs of one lead arrive newest first while every
// concurrency slot is taken (by another replica's call): both are fetched
// and pass the superseded check before either is sent. Marketo must end
// with the newest data: the older event is superseded once the newer one
// succeeded, never sent after it.
func TestOlderEventNeverOverwritesNewerWhileSlotsAreBusy(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	store := quota.NewMemory(quota.MemoryOptions{ConcurrencyPoll: 20 * time.Millisecond})
	lim := quota.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 1, LeaseTTL: time.Minute}
	ctx := context.Background()
	// Another replica's call holds the only slot.
	blocker, err := store.Admit(ctx, fixture.Sub, lim)
	if err != nil || !blocker.Allowed {
		t.Fatalf("blocker admission: %+v, %v", blocker, err)
	}
	r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})

	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	newest := leadVersion(7, "newest-7", "Newest", t0.Add(5*time.Minute))
	oldest := leadVersion(7, "oldest-7", "Oldest", t0)
	r.publish([]fixture.Event{newest})
	r.publish([]fixture.Event{oldest})
	testenv.CheckFor(t, 20*time.Second, func() error {
		n, err := r.ackPending(fixture.Sub)
		if err == nil && n != 2 {
			err = fmt.Errorf("%d events held, want both", n)
		}
		return err
	})
	if st := sim.Stats(); st.Calls != 0 {
		t.Fatalf("%d calls while the only slot was taken", st.Calls)
	}
	if err := store.Release(ctx, blocker.Lease); err != nil {
		t.Fatal(err)
	}
	r.waitOutcomes(2, 30*time.Second)

	lead, ok := sim.Lead("email", fixture.Email(7))
	if !ok {
		t.Fatal("lead not in the simulator")
	}
	if lead["lastName"] != "Newest" {
		t.Errorf("Marketo holds lastName %v, want the newest data (Newest)", lead["lastName"])
	}
	outs := r.outcomes()
	if got := outs["newest-7"]; len(got) != 1 || got[0].Kind != repost.KindReposted {
		t.Errorf("newest: %+v, want one reposted outcome", got)
	}
	if got := outs["oldest-7"]; len(got) != 1 || got[0].Kind != repost.KindSkipped || got[0].Code != policy.CodeSuperseded {
		t.Errorf("oldest: %+v, want one skipped superseded outcome", got)
	}
	if st := sim.Stats(); st.SameKeyInFlight != 0 {
		t.Errorf("%d records sent while their lookup value was in another call", st.SameKeyInFlight)
	}
}
