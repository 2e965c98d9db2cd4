package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

// startLingering runs one replica with the given linger and free budget,
// and waits until it has started (its last consumer exists), so that a test
// may stop it at any moment after.
func startLingering(r *rig, sim *marketotest.Server, linger time.Duration) {
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.Linger = linger }})
	testenv.CheckFor(r.t, 20*time.Second, func() error {
		_, err := r.pub.JS.Consumer(context.Background(), queue.StreamSucceeded, queue.ConsumerSucceeded)
		return err
	})
}

func firstCall(t *testing.T, sim *marketotest.Server) marketotest.Call {
	t.Helper()
	testenv.CheckFor(t, 20*time.Second, func() error {
		if n := len(sim.CallLog()); n == 0 {
			return fmt.Errorf("no call yet")
		}
		return nil
	})
	return sim.CallLog()[0]
}

// A batch that can never fill leaves at once, even with a linger of an
// hour: one that cannot take the next event for the byte limit or for a
// lookup value it already holds. (Events also reach the pool as they are
// delivered, not when a fetch ends.)
func TestBatchThatCannotFillDoesNotWaitItsLinger(t *testing.T) {
	t.Run("lookup clash", func(t *testing.T) {
		r := newRig(t)
		sim := marketotest.NewServer(marketotest.Options{})
		t.Cleanup(sim.Close)
		startLingering(r, sim, time.Hour)
		t0 := time.Now().Add(-time.Hour)
		r.publish([]fixture.Event{leadVersion(5, "first-5", "First", t0), leadVersion(5, "second-5", "Second", t0.Add(time.Minute))})
		if c := firstCall(t, sim); c.Records != 1 {
			t.Errorf("first call carried %d records, want the first event alone", c.Records)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		r := newRig(t)
		sim := marketotest.NewServer(marketotest.Options{})
		t.Cleanup(sim.Close)
		startLingering(r, sim, time.Hour)
		var events []fixture.Event
		for i := range 3 {
			e := fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
			old := fmt.Sprintf(`"lastName":"Lovelace%d"`, i)
			e.Data = []byte(strings.Replace(string(e.Data), old, old+`,"note":"`+strings.Repeat("x", 400_000)+`"`, 1))
			events = append(events, e)
		}
		r.publish(events)
		if c := firstCall(t, sim); c.Records != 2 {
			t.Errorf("first call carried %d records, want the 2 that fit in 1 MB", c.Records)
		}
	})
}

// Idle, a lone event and then a burst of 10 each leave in one call once
// their linger has passed: nothing waits for further fetches.
func TestIdleLoneEventAndBurstLeaveInOneCallEach(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	startLingering(r, sim, 500*time.Millisecond)
	r.publish([]fixture.Event{fixture.Build(0, fixture.KindOK, time.Now(), fixture.Sub)})
	r.waitOutcomes(1, 20*time.Second)
	var burst []fixture.Event
	for i := 1; i <= 10; i++ {
		burst = append(burst, fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub))
	}
	r.publish(burst)
	r.waitOutcomes(11, 20*time.Second)
	log := sim.CallLog()
	if len(log) != 2 || log[0].Records != 1 || log[1].Records != 10 {
		var got []int
		for _, c := range log {
			got = append(got, c.Records)
		}
		t.Errorf("records per call %v, want [1 10]", got)
	}
}
