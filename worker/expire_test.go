package worker_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// oldestAge reads repost_oldest_event_age_seconds of sub from a scrape.
func oldestAge(t *testing.T, url, sub string) (float64, bool) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^repost_oldest_event_age_seconds\{subscription="` + regexp.QuoteMeta(sub) + `"\} (\S+)$`).
		FindStringSubmatch(get(t, url))
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// Events of a halted subscription and of a paused one, waiting in a
// POSTOUT_FAILED whose max age is 20 s, are parked as expired (with the
// reason) once they are within the 15 s margin of aging out, instead of
// vanishing with no outcome; each gets exactly one outcome, the parked
// entry holds the event for a requeue, and the oldest waiting event's age
// is a metric until then.
func TestEventsAboutToAgeOutAreParkedAsExpired(t *testing.T) {
	r := newRigWith(t, queue.Options{MaxAge: 20 * time.Second})
	const paused = "222-PAU-222"
	halted := fixture.Sub
	simH := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(simH.Close)
	simH.SetAccessDenied("Access denied")
	simP := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(simP.Close)
	if err := r.pub.SetPause(context.Background(), queue.Pause{Subscription: paused, Reason: "DAP migration", Actor: "oncall",
		At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var evH, evP []fixture.Event
	for i := range 30 {
		evH = append(evH, fixture.Build(i, fixture.KindOK, time.Now(), halted))
		evP = append(evP, fixture.Build(100+i, fixture.KindOK, time.Now(), paused))
	}
	r.publish(append(evH, evP...))
	reg := prometheus.NewRegistry()
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}), []sub{
		{id: halted, sim: simH, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()},
		{id: paused, sim: simP, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()},
	}, replicaOptions{mod: func(c *worker.Config) {
		c.Registerer = reg
		c.ProbeInterval = time.Hour // the halt lasts
		c.ExpireMargin, c.ExpireScan = 15*time.Second, 200*time.Millisecond
	}})
	srv := httptest.NewServer(rep.w.Handler(reg))
	t.Cleanup(srv.Close)

	testenv.CheckFor(t, 20*time.Second, func() error {
		for _, s := range []string{halted, paused} {
			if age, ok := oldestAge(t, srv.URL+"/metrics", s); !ok || age < 1 {
				return fmt.Errorf("oldest event age of %s: %v (%v), want at least 1 s", s, age, ok)
			}
		}
		return nil
	})
	r.waitOutcomes(len(evH)+len(evP), 30*time.Second)
	outs, parked := r.outcomes(), r.parked()
	for i, e := range append(evH, evP...) {
		want := "halted"
		if i >= len(evH) {
			want = "paused by oncall: DAP migration"
		}
		got, p := outs[e.ID], parked[e.ID]
		if len(got) != 1 || got[0].Kind != repost.KindParked || got[0].Code != policy.CodeExpired ||
			!strings.Contains(got[0].Reason, "POSTOUT_FAILED") || !strings.Contains(got[0].Reason, want) {
			t.Fatalf("%s: %+v, want one parked expired outcome saying %q", e.ID, got, want)
		}
		if p == nil || p.Event == nil || p.Event.EventID != e.ID || p.Parked.Code != policy.CodeExpired {
			t.Fatalf("%s: parked entry %+v, want the event parked as expired", e.ID, p)
		}
	}
	testenv.CheckFor(t, 10*time.Second, func() error {
		for _, s := range []string{halted, paused} {
			if age, ok := oldestAge(t, srv.URL+"/metrics", s); !ok || age != 0 {
				return fmt.Errorf("oldest event age of %s: %v (%v), want 0 once nothing waits", s, age, ok)
			}
		}
		return nil
	})
	r.steadyOutcomes(len(evH) + len(evP))
	if st := simP.Stats(); st.Calls != 0 {
		t.Errorf("%d calls for the paused subscription", st.Calls)
	}
}
