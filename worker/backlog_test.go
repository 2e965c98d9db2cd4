package worker_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// repost_backlog_events is the consumer's pending plus ack-pending count:
// every event while the subscription is halted (fetched or not, none is
// acked), then 0 once all are reposted.
func TestBacklogGauge(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	sim.SetAccessDenied("Access denied") // 603: halted, nothing acked
	events := make([]fixture.Event, 300)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	reg := prometheus.NewRegistry()
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) {
			c.ProbeInterval = 200 * time.Millisecond
			c.GaugeInterval = 100 * time.Millisecond
			c.Registerer = reg
		}})
	srv := httptest.NewServer(rep.w.Handler(reg))
	t.Cleanup(srv.Close)
	backlog := func(want int) func() error {
		line := fmt.Sprintf(`repost_backlog_events{subscription="%s"} %d`, fixture.Sub, want)
		return func() error {
			m := get(t, srv.URL+"/metrics")
			if !strings.Contains(m, `repost_subscription_halted{subscription="`+fixture.Sub+`"} 1`) && want > 0 {
				return fmt.Errorf("not halted yet")
			}
			if !strings.Contains(m, line+"\n") {
				return fmt.Errorf("no %q in /metrics", line)
			}
			return nil
		}
	}
	testenv.CheckFor(t, 20*time.Second, backlog(len(events)))
	sim.SetAccessDenied("")
	r.waitOutcomes(len(events), 30*time.Second)
	testenv.CheckFor(t, 20*time.Second, backlog(0))
}
