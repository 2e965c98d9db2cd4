package worker_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// A halt (603, or identity 401) pauses the subscription without spending
// attempts, shows in /readyz and the metrics, and lifts itself once a
// probe call succeeds; then every event is reposted.
func TestHaltPausesAndLiftsItself(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(*marketotest.Server)
		fix    func(*marketotest.Server)
		reason string
	}{
		{"603 access denied", func(s *marketotest.Server) { s.SetAccessDenied("Access denied") },
			func(s *marketotest.Server) { s.SetAccessDenied("") }, "603"},
		{"identity 401", func(s *marketotest.Server) { s.SetClientSecret("rotated") },
			func(s *marketotest.Server) { s.SetClientSecret(marketotest.DefaultClientSecret) }, "401"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			sim := marketotest.NewServer(marketotest.Options{})
			t.Cleanup(sim.Close)
			tc.break_(sim)
			events := make([]fixture.Event, 500)
			for i := range events {
				events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
			}
			r.publish(events)
			reg := prometheus.NewRegistry()
			rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
				[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
				replicaOptions{mod: func(c *worker.Config) { c.ProbeInterval = 200 * time.Millisecond; c.Registerer = reg }})
			srv := httptest.NewServer(rep.w.Handler(reg))
			t.Cleanup(srv.Close)

			testenv.CheckFor(t, 20*time.Second, func() error {
				body := get(t, srv.URL+"/readyz")
				if !strings.Contains(body, fixture.Sub) || !strings.Contains(body, tc.reason) {
					return fmt.Errorf("/readyz does not show the halt: %s", body)
				}
				if m := get(t, srv.URL+"/metrics"); !strings.Contains(m, `repost_subscription_halted{subscription="`+fixture.Sub+`"} 1`) {
					return fmt.Errorf("halted gauge not 1")
				}
				return nil
			})
			if n := r.outcomeCount(); n != 0 {
				t.Fatalf("%d outcomes while halted, want 0", n)
			}
			calls := sim.Stats().Calls
			time.Sleep(time.Second) // a halted subscription must stay quiet: prove no burst of calls
			if more := sim.Stats().Calls - calls; more > 10 {
				t.Errorf("%d calls in a second while halted; want only probes", more)
			}

			tc.fix(sim)
			r.waitOutcomes(len(events), 30*time.Second)
			for id, outs := range r.outcomes() {
				if len(outs) != 1 || outs[0].Kind != repost.KindReposted || outs[0].Attempts != 1 {
					t.Fatalf("%s: %+v, want one reposted outcome at attempt 1 (halts are not attempts)", id, outs)
				}
			}
			if body := get(t, srv.URL+"/readyz"); strings.Contains(body, "halted") {
				t.Errorf("/readyz still shows a halt: %s", body)
			}
		})
	}
}

// A call Marketo finds too large (413) is split until the parts fit; a lead
// too large alone is parked.
func TestTooLargeCallsAreSplit(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{Limits: marketotest.Limits{MaxBodyBytes: 40 << 10}})
	t.Cleanup(sim.Close)
	var events []fixture.Event
	for i := range 200 {
		events = append(events, fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub))
	}
	big := fixture.Build(999, fixture.KindOK, time.Now(), fixture.Sub)
	big.Data = []byte(strings.Replace(string(big.Data), `"firstName":"Ada"`, `"firstName":"`+strings.Repeat("A", 50<<10)+`"`, 1))
	events = append(events, big)
	r.publish(events)
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	r.waitOutcomes(len(events), 30*time.Second)
	outs := r.outcomes()
	for _, e := range events[:200] {
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Fatalf("%s: %+v, want reposted after splitting", e.ID, got)
		}
	}
	if got := outs[big.ID]; len(got) != 1 || got[0].Kind != repost.KindParked || got[0].Code != "413" {
		t.Fatalf("oversized lead: %+v, want parked 413", got)
	}
	if st := sim.Stats(); st.Violations[413] == 0 {
		t.Errorf("the simulator never answered 413: the split was not exercised")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := httpGet(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var _ = context.Background
