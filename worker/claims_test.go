package worker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// claimLog is a replica's limiter that records when its lookup-value
// claims were tried and refused.
type claimLog struct {
	worker.Limiter
	mu      sync.Mutex
	tried   []time.Time
	refused []time.Time
}

func (c *claimLog) Claim(ctx context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error) {
	got, err := c.Limiter.Claim(ctx, sub, owner, keys, ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tried = append(c.tried, time.Now())
	for i := range keys {
		if err == nil && (i >= len(got) || !got[i]) {
			c.refused = append(c.refused, time.Now())
			break
		}
	}
	return got, err
}

// since counts the claims tried and refused at or after t.
func (c *claimLog) since(t time.Time) (tried, refused int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, at := range c.tried {
		if !at.Before(t) {
			tried++
		}
	}
	for _, at := range c.refused {
		if !at.Before(t) {
			refused++
		}
	}
	return tried, refused
}

// A Marketo call that lasts longer than the claims' TTL keeps its lookup
// values claimed, across replicas, until it ends. Replica A's call for lead
// X hangs in the simulator (paused) for many TTLs while replica B holds a
// newer event of X: every claim B tries after the TTL has passed several
// times is refused, nothing of X reaches Marketo while A's call is in
// flight, and once A's call ends the newer data is sent, one outcome per
// event.
//
// A holds at most one record in its pool (MaxPooled 1): the first newer
// event of X that A fetches waits there behind A's own call and stops A's
// fetching, so of two newer events at least one is B's.
func TestClaimsLiveAsLongAsTheirCall(t *testing.T) {
	const ttl = 300 * time.Millisecond
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	t.Cleanup(sim.Resume) // a failed test must not leave calls hanging
	store := quota.NewMemory(quota.MemoryOptions{})
	limits := defaultLimits // concurrency 10: admission never orders A's and B's calls
	subOf := func() []sub {
		return []sub{{id: fixture.Sub, sim: sim, limits: limits, tokens: marketo.NewMemoryTokenStore()}}
	}
	r.startReplica(store, subOf(), replicaOptions{mod: func(c *worker.Config) {
		c.ClaimTTL, c.Owner, c.MaxPooled, c.FetchSize = ttl, "replica-a", 1, 1
	}})

	t0 := time.Now().Add(-time.Hour)
	sim.Pause()
	r.publish([]fixture.Event{leadVersion(3, "first-3", "First", t0)})
	testenv.CheckFor(t, 10*time.Second, func() error {
		if st := sim.Stats(); st.InFlight != 1 {
			return fmt.Errorf("%d calls in flight, want A's first", st.InFlight)
		}
		return nil
	})
	callStart := time.Now()

	bLim := &claimLog{Limiter: store}
	r.startReplica(bLim, subOf(), replicaOptions{mod: func(c *worker.Config) {
		c.ClaimTTL, c.Owner = ttl, "replica-b"
	}})
	r.publish([]fixture.Event{leadVersion(3, "second-3", "Second", t0.Add(time.Minute))})
	testenv.CheckFor(t, 10*time.Second, func() error { // delivered to A or B
		info, err := r.pub.ConsumerInfo(context.Background(), fixture.Sub)
		if err != nil {
			return err
		}
		if info.NumPending != 0 {
			return fmt.Errorf("%d events not delivered", info.NumPending)
		}
		return nil
	})
	r.publish([]fixture.Event{leadVersion(3, "third-3", "Third", t0.Add(2*time.Minute))})

	// B keeps trying to claim X; wait until it has been refused well after
	// the claim's TTL has passed several times since A claimed it.
	late := callStart.Add(5 * ttl)
	testenv.CheckFor(t, 30*time.Second, func() error {
		if st := sim.Stats(); st.InFlight != 1 || st.SameKeyInFlight != 0 {
			return nil // checked below
		}
		if time.Now().Before(late) {
			return fmt.Errorf("A's call has not yet outlived 5 claim TTLs")
		}
		if tried, refused := bLim.since(late); tried < 2 || refused < 2 {
			return fmt.Errorf("B tried %d claims of X after 5 TTLs (%d refused), want 2 refused", tried, refused)
		}
		return nil
	})
	tried, refused := bLim.since(late)
	if st := sim.Stats(); st.InFlight != 1 || st.SameKeyInFlight != 0 {
		t.Fatalf("while A's call hung: %d calls in flight and %d records sent whose lookup value was in another call "+
			"(B's claims after 5 TTLs: %d tried, %d refused); want A's call alone",
			st.InFlight, st.SameKeyInFlight, tried, refused)
	}
	if tried != refused {
		t.Errorf("B's claims of X after 5 TTLs: %d tried, %d refused; want every one refused", tried, refused)
	}
	t.Logf("A's call hung %v (%.0f claim TTLs); B's claims of X after 5 TTLs: %d, all refused",
		time.Since(callStart).Round(time.Millisecond), float64(time.Since(callStart))/float64(ttl), refused)

	sim.Resume()
	r.waitOutcomes(3, 30*time.Second)
	outs := r.outcomes()
	for _, id := range []string{"first-3", "second-3", "third-3"} {
		got := outs[id]
		if len(got) != 1 {
			t.Errorf("%s: %d outcomes %+v, want one", id, len(got), got)
			continue
		}
		// second-3 is reposted, or superseded when third-3 went first.
		if k := got[0].Kind; k != repost.KindReposted && (id != "second-3" || k != repost.KindSkipped) {
			t.Errorf("%s: %s (%s), want reposted", id, k, got[0].Reason)
		}
	}
	if st := sim.Stats(); st.SameKeyInFlight != 0 {
		t.Errorf("%d records sent while their lookup value was in another call, want none", st.SameKeyInFlight)
	}
	if lead, _ := sim.Lead("email", fixture.Email(3)); lead["lastName"] != "Third" {
		t.Errorf("Marketo holds %v, want the newest data", lead["lastName"])
	}
}
