package worker_test

import (
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// The NATS connection's state is a metric and a log line: the gauge drops
// to 0 while the server is down and comes back with one reconnect counted,
// each change is logged once, and closing the queue is not a disconnect.
func TestNATSConnectionStateIsExported(t *testing.T) {
	dir := t.TempDir()
	e, err := queue.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Shutdown() })
	u, _ := url.Parse(e.URL)
	port, _ := strconv.Atoi(u.Port())
	q := testenv.Queue(t, e.URL, queue.Options{})
	core, logs := observer.New(zapcore.InfoLevel)
	reg := prometheus.NewRegistry()
	pol, err := policy.New(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := worker.New(q, quota.NewMemory(quota.MemoryOptions{}), pol,
		worker.Config{Logger: zap.New(core), Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	state := func(connected, reconnects float64) func() error {
		return func() error {
			c, r := metricValue(t, reg, "repost_nats_connected"), metricValue(t, reg, "repost_nats_reconnects_total")
			if c != connected || r != reconnects {
				return fmt.Errorf("connected %v, reconnects %v; want %v, %v", c, r, connected, reconnects)
			}
			return nil
		}
	}
	if err := state(1, 0)(); err != nil {
		t.Fatal(err)
	}

	e.Shutdown()
	testenv.CheckFor(t, 10*time.Second, state(0, 0))
	testenv.CheckFor(t, 10*time.Second, func() error {
		if n := logs.FilterMessage("NATS disconnected; reconnecting").FilterField(zap.String("server", e.URL)).Len(); n != 1 {
			return fmt.Errorf("%d disconnect lines naming %s, want 1", n, e.URL)
		}
		return nil
	})

	if e, err = queue.StartEmbedded(dir, port); err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 10*time.Second, state(1, 1))
	testenv.CheckFor(t, 10*time.Second, func() error {
		if n := logs.FilterMessage("NATS reconnected").Len(); n != 1 {
			return fmt.Errorf("%d reconnect lines, want 1", n)
		}
		return nil
	})

	q.Close()
	if n := logs.FilterMessage("NATS disconnected; reconnecting").Len(); n != 1 {
		t.Errorf("%d disconnect lines after Close, want still 1", n)
	}
}

// metricValue is the value of an unlabelled gauge or counter, -1 when absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}
