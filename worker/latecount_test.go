package worker_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
)

// A call can reach Marketo, and be counted, later than the guard band
// after its admission: a slow network path, a new connection, a
// congested proxy. Its answer bounds that: Marketo counted it before
// answering, so the limiter counts it from the answer (less the guard)
// once the answer is in. Here a proxy holds the second lead call 700 ms
// before Marketo sees it (the guard of a 2 s window is 200 ms); the two
// calls of the next window must not both go a guarded window after their
// admissions, as they did before: Marketo then saw three calls within 2 s
// and answered 606.
func TestCallsCountedLateCauseNo606(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{
		Limits: marketotest.Limits{CallsPerWindow: 2, Window: 2 * time.Second, MaxConcurrency: 10, DailyQuota: 1000},
	})
	t.Cleanup(sim.Close)
	target, err := url.Parse(sim.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var leadCalls atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/rest/v1/leads") && leadCalls.Add(1) == 2 {
			time.Sleep(700 * time.Millisecond)
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)

	lim := quota.Limits{DailyQuota: 1000, CallsPerWindow: 2, Window: 2 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	var evs []fixture.Event
	for i := range 1800 { // six full calls
		evs = append(evs, fixture.Build(i, fixture.KindOK, time.Now().Add(-time.Hour), fixture.Sub))
	}
	r.publish(evs)
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}), []sub{{id: fixture.Sub, sim: sim, url: front.URL, limits: lim, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	r.waitOutcomes(len(evs), time.Minute)
	for id, outs := range r.outcomes() {
		if len(outs) != 1 || outs[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want one reposted outcome", id, outs)
		}
	}
	st := sim.Stats()
	for i, c := range sim.CallLog() {
		t.Logf("call %d at %s: %d leads, %s", i, c.At.Format("15:04:05.000"), c.Records, c.Code)
	}
	if st.Violations[606] != 0 {
		t.Errorf("Marketo answered 606 %d times, want 0", st.Violations[606])
	}
}
