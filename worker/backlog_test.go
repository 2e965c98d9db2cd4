package worker_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

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

// repost_limits_store_up follows the limiter's Redis: 1, 0 while it is
// killed, 1 again once it is back on the same port. In-process limits are
// always up.
func TestLimitsStoreUpGauge(t *testing.T) {
	rd := testenv.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rc.Close() })
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	scrape := func(store worker.Limiter) func(string) func() error {
		reg := prometheus.NewRegistry()
		rep := r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
			replicaOptions{mod: func(c *worker.Config) { c.GaugeInterval = 100 * time.Millisecond; c.Registerer = reg }})
		srv := httptest.NewServer(rep.w.Handler(reg))
		t.Cleanup(srv.Close)
		return func(want string) func() error {
			return func() error {
				if m := get(t, srv.URL+"/metrics"); !strings.Contains(m, want) {
					return fmt.Errorf("no %q in /metrics", want)
				}
				return nil
			}
		}
	}
	has := scrape(quota.NewRedis(rc, quota.RedisOptions{}))
	testenv.CheckFor(t, 10*time.Second, has("\nrepost_limits_store_up 1\n"))
	rd.Stop()
	testenv.CheckFor(t, 10*time.Second, has("\nrepost_limits_store_up 0\n"))
	if err := rd.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 10*time.Second, has("\nrepost_limits_store_up 1\n"))

	inProcess := scrape(quota.NewMemory(quota.MemoryOptions{}))
	testenv.CheckFor(t, 10*time.Second, inProcess("\nrepost_backlog_events{")) // its gauges run
	if err := inProcess("\nrepost_limits_store_up 1\n")(); err != nil {
		t.Error(err)
	}
}
