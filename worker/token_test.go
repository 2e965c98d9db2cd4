package worker_test

import (
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// The access token expires several times during a drain under a binding
// window, and identity answers expires_in 0 near each expiry (Marketo hands
// out the current token with what is left of it): the pause that follows is
// spent before admission, never between admission and the call, so Marketo
// never counts more calls in its window than allowed (no 606).
func TestTokenExpiryMidDrainCausesNo606(t *testing.T) {
	if testing.Short() {
		t.Skip("a drain of several token lifetimes: not in -short")
	}
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{
		TokenTTL: 3 * time.Second, // a 30 s lifetime, 10 times faster: several expiries per drain
		Limits:   marketotest.Limits{CallsPerWindow: 3, Window: 2 * time.Second, MaxConcurrency: 10},
		Latency:  20 * time.Millisecond,
	})
	t.Cleanup(sim.Close)
	const n = 3000
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	lim := quota.Limits{DailyQuota: 50000, CallsPerWindow: 3, Window: 2 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: lim, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	r.waitOutcomes(n, 2*time.Minute)

	outs := r.outcomes()
	for _, e := range events {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want one reposted outcome", e.ID, got)
		}
	}
	st := sim.Stats()
	if st.Violations[606] != 0 || st.Violations[615] != 0 {
		t.Errorf("caused 606 %d times and 615 %d times, want 0 (answers %v)", st.Violations[606], st.Violations[615], st.ByCode)
	}
	if st.ByCode["601"]+st.ByCode["602"] != 0 {
		t.Errorf("sent calls with a dead token: %v", st.ByCode)
	}
	if st.IdentityCalls < 3 {
		t.Errorf("%d identity calls: the token did not expire during the drain", st.IdentityCalls)
	}
	t.Logf("%d calls, %d identity calls, answers %v", st.Calls, st.IdentityCalls, st.ByCode)
}
