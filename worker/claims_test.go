package worker_test

import (
	"fmt"
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

// A Marketo call that lasts longer than the claims' TTL (here 4 TTLs) keeps
// its lookup values claimed until it ends: a second event of the same lead
// is not sent while the first call is in flight.
func TestClaimsLiveAsLongAsTheirCall(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{Latency: 2 * time.Second})
	t.Cleanup(sim.Close)
	store := quota.NewMemory(quota.MemoryOptions{})
	r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.ClaimTTL = 500 * time.Millisecond }})
	t0 := time.Now().Add(-time.Hour)
	r.publish([]fixture.Event{leadVersion(3, "first-3", "First", t0)})
	testenv.CheckFor(t, 10*time.Second, func() error {
		if st := sim.Stats(); st.InFlight != 1 {
			return fmt.Errorf("%d calls in flight, want the first", st.InFlight)
		}
		return nil
	})
	r.publish([]fixture.Event{leadVersion(3, "second-3", "Second", t0.Add(time.Minute))})
	r.waitOutcomes(2, 30*time.Second)

	outs := r.outcomes()
	for _, id := range []string{"first-3", "second-3"} {
		if got := outs[id]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Errorf("%s: %+v, want one reposted outcome", id, got)
		}
	}
	if st := sim.Stats(); st.SameKeyInFlight != 0 || st.MaxConcurrent != 1 {
		t.Errorf("%d records sent while their lookup value was in another call (most in flight %d), want none",
			st.SameKeyInFlight, st.MaxConcurrent)
	}
	if lead, _ := sim.Lead("email", fixture.Email(3)); lead["lastName"] != "Second" {
		t.Errorf("Marketo holds %v, want the newest data", lead["lastName"])
	}
}
