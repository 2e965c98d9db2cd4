package worker_test

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// A worker on a 3-server JetStream cluster (R3 streams and bucket) goes on
// when the server leading POSTOUT_FAILED, then the one leading the
// subscription's consumer, then the one leading POSTOUT_OUTCOMES is shut
// down in the middle of a drain and started again: every event still gets
// exactly one terminal outcome. Acks the lost leader had not replicated
// yet make the new one redeliver a few events: their second outcome is
// dropped by the outcome stream's de-duplication window (24 h, by eventId),
// which is what this checks together with the worker.
func TestWorkerSurvivesClusterLeaderLoss(t *testing.T) {
	c := testenv.StartNATSCluster(t)
	r := &rig{t: t, url: c.URL, pub: testenv.Queue(t, c.URL, queue.Options{Replicas: testenv.ClusterSize})}
	sim := marketotest.NewServer(marketotest.Options{Latency: 100 * time.Millisecond, LatencyPerRecord: 2 * time.Millisecond})
	t.Cleanup(sim.Close)

	const phase = 250
	events := fixture.Mix(4*phase, 14, time.Now().Add(-time.Hour))
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{ackWait: 5 * time.Second, mod: func(c *worker.Config) { c.BatchSize = 25 }})

	r.publish(events[:phase])
	r.waitOutcomes(phase, 60*time.Second)
	streams := []string{queue.StreamFailed, queue.StreamOutcomes, queue.StreamParked, queue.StreamSucceeded, "KV_" + queue.BucketEvents, "OBJ_" + queue.BucketBodies}
	for _, s := range streams {
		if n := replicasOf(t, r, s); n != testenv.ClusterSize {
			t.Fatalf("%s has %d replicas, want %d", s, n, testenv.ClusterSize)
		}
	}

	kills := []struct {
		what   string
		leader func() int
	}{
		{"stream " + queue.StreamFailed, func() int { return c.StreamLeader(queue.StreamFailed) }},
		{"consumer " + queue.ConsumerName(fixture.Sub), func() int {
			return c.ConsumerLeader(queue.StreamFailed, queue.ConsumerName(fixture.Sub))
		}},
		{"stream " + queue.StreamOutcomes, func() int { return c.StreamLeader(queue.StreamOutcomes) }},
	}
	for k, kill := range kills {
		part := events[(k+1)*phase : (k+2)*phase]
		r.publish(part)
		victim := kill.leader()
		t.Logf("shutting down %s, leader of %s, in the middle of a drain", c.Name(victim), kill.what)
		c.Shutdown(victim)
		r.waitOutcomes((k+2)*phase, 90*time.Second)
		c.Start(victim)
		c.WaitCurrent(streams...)
	}

	outs := r.outcomes()
	for _, e := range events {
		if got := outs[e.ID]; len(got) != 1 {
			t.Errorf("%s (%s): %d outcomes, want exactly 1: %+v", e.ID, e.Kind, len(got), got)
		}
	}
	if n := len(outs); n != len(events) {
		t.Errorf("%d eventIds with outcomes, want %d", n, len(events))
	}
	if st := sim.Stats(); st.Violations[606]+st.Violations[607]+st.Violations[615] != 0 {
		t.Errorf("limits exceeded: %v", st.Violations)
	}
	if _, _, up := rep.q.Server(); !up {
		t.Errorf("worker not connected after the restarts")
	}
}

func replicasOf(t *testing.T, r *rig, stream string) int {
	t.Helper()
	s, err := r.pub.JS.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.Config.Replicas
}

// A replica that starts while its JetStream cluster has no quorum (two
// servers of three down) waits for it instead of exiting, and drains once
// the servers are back.
func TestWorkerStartsWhileClusterHasNoQuorum(t *testing.T) {
	c := testenv.StartNATSCluster(t)
	r := &rig{t: t, url: c.URL, pub: testenv.Queue(t, c.URL, queue.Options{Replicas: testenv.ClusterSize})}
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	events := fixture.Mix(50, 15, time.Now().Add(-time.Hour))
	r.publish(events)
	q := testenv.Queue(t, c.URL, queue.Options{Replicas: testenv.ClusterSize})
	c.Shutdown(1)
	c.Shutdown(2)
	core, logs := observer.New(zapcore.WarnLevel)
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{conn: q, mod: func(c *worker.Config) { c.Logger = zap.New(core) }})
	testenv.CheckFor(t, 30*time.Second, func() error {
		if logs.FilterMessage("JetStream did not answer; retrying").Len() == 0 {
			return errors.New("no retry logged yet")
		}
		return nil
	})
	c.Start(1)
	c.Start(2)
	r.waitOutcomes(len(events), 90*time.Second)
	outs := r.outcomes()
	for _, e := range events {
		if got := outs[e.ID]; len(got) != 1 {
			t.Errorf("%s (%s): %d outcomes, want exactly 1", e.ID, e.Kind, len(got))
		}
	}
}
