package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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

// fastScan scans often, and parks the events of a subscription whose
// consumer exists soon after the last replica serving it left.
func fastScan(c *worker.Config) {
	c.UnroutedScan, c.UnroutedGrace = 100*time.Millisecond, 500*time.Millisecond
}

// exposeRepeats makes the outcome and parked streams keep a repeat made
// more than 100 ms later: a scan parking an event again shows in the
// outcome count instead of being absorbed by the 24-hour window.
var exposeRepeats = queue.Options{DupeWin: 100 * time.Millisecond}

var roomyLimits = quota.Limits{DailyQuota: 1 << 20, CallsPerWindow: 1000, Window: time.Second, MaxConcurrency: 4, LeaseTTL: time.Minute}

// steadyOutcomes checks that the outcome count stays at n over several
// scans: no event is parked twice.
func (r *rig) steadyOutcomes(n int) {
	r.t.Helper()
	for range 10 {
		if got := r.outcomeCount(); got != n {
			r.t.Fatalf("%d outcomes, want %d", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Events of a subscription missing from the config, and of a subject that
// names none, are parked once each, by two replicas scanning the same
// subjects; the configured subscription's events are never read by the
// scan; events published after a scan are found by the next.
func TestUnroutedEventsParkedBySubject(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	at := time.Now().Add(-time.Minute)
	var evs []fixture.Event
	for i := range 300 { // 250 unknown: several batches of progress
		s := fixture.Unknown
		if i < 50 {
			s = fixture.Sub
		}
		evs = append(evs, fixture.Build(i, fixture.KindOK, at, s))
	}
	r.publish(evs)
	ctx := context.Background()
	if _, err := r.pub.JS.Publish(ctx, "dap.postout.failed.a.b", fixture.Build(900, fixture.KindOK, at, "ZZZ").Data,
		jetstream.WithMsgID("evt-bad-subject")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
			[]sub{{id: fixture.Sub, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
			replicaOptions{mod: fastScan})
	}
	r.waitOutcomes(301, time.Minute)
	var more []fixture.Event
	for i := 300; i < 320; i++ {
		more = append(more, fixture.Build(i, fixture.KindOK, at, fixture.Unknown))
	}
	r.publish(more)
	r.waitOutcomes(321, time.Minute)
	r.steadyOutcomes(321)

	outs, parked := r.outcomes(), r.parked()
	for i, e := range append(evs, more...) {
		got := outs[e.ID]
		if len(got) != 1 {
			t.Fatalf("%s: %d outcomes, want 1", e.ID, len(got))
		}
		switch {
		case i < 50:
			if got[0].Kind != repost.KindReposted {
				t.Errorf("%s of a configured subscription: %+v", e.ID, got[0])
			}
		default:
			p := parked[e.ID]
			if got[0].Kind != repost.KindParked || got[0].Code != policy.CodeUnknownSubscription ||
				p == nil || p.Subscription != fixture.Unknown {
				t.Errorf("%s of an unknown subscription: %+v, parked %+v", e.ID, got[0], p)
			}
		}
	}
	bad := outs["evt-000900"]
	if len(bad) != 1 || bad[0].Kind != repost.KindRejected || bad[0].Subscription != "_" {
		t.Errorf("event on a subject naming no subscription: %+v", bad)
	}
	if st := sim.Stats(); st.Records != 50 {
		t.Errorf("simulator saw %d records, want the 50 of the configured subscription", st.Records)
	}
}

// A subscription taken out of the config leaves what its consumer already
// acknowledged alone: only the events it had not handled are parked.
func TestUnroutedStartsAfterRemovedSubscription(t *testing.T) {
	r := newRigWith(t, exposeRepeats)
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	at := time.Now().Add(-time.Minute)
	const other = "777-OLD-777"
	var first, later []fixture.Event
	for i := range 30 {
		first = append(first, fixture.Build(i, fixture.KindOK, at, other))
	}
	r.publish(first)
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: other, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	r.waitOutcomes(30, time.Minute)
	rep.stop(t)
	for i := 30; i < 40; i++ {
		later = append(later, fixture.Build(i, fixture.KindOK, at, other))
	}
	r.publish(later)
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	r.waitOutcomes(40, time.Minute)
	r.steadyOutcomes(40)
	outs := r.outcomes()
	for i, e := range append(first, later...) {
		want := repost.KindReposted
		if i >= 30 {
			want = repost.KindParked
		}
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != want {
			t.Errorf("%s: %s", e.ID, fmt.Sprint(got))
		}
	}
}

// After an upgrade from a version with the catch-all consumer, what that
// consumer acknowledged is not parked again.
func TestUnroutedStartsAfterLegacyCatchAll(t *testing.T) {
	r := newRigWith(t, exposeRepeats)
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	at := time.Now().Add(-time.Minute)
	var evs []fixture.Event
	for i := range 40 {
		evs = append(evs, fixture.Build(i, fixture.KindOK, at, fixture.Unknown))
	}
	r.publish(evs[:25])
	ctx := context.Background()
	legacy, err := r.pub.JS.CreateConsumer(ctx, "POSTOUT_FAILED", jetstream.ConsumerConfig{
		Durable: "repost-unrouted", FilterSubject: "dap.postout.failed.>", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := legacy.Fetch(25, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range mb.Messages() { // the old version parked these
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 25 {
		t.Fatalf("legacy consumer acked %d, want 25", n)
	}
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	r.steadyOutcomes(0) // scans that find nothing new record where they start
	if err := r.pub.JS.DeleteConsumer(ctx, "POSTOUT_FAILED", "repost-unrouted"); err != nil {
		t.Fatal(err)
	}
	r.steadyOutcomes(0) // the operator deleted the idle consumer: still nothing parked again
	r.publish(evs[25:])
	r.waitOutcomes(15, time.Minute)
	r.steadyOutcomes(15)
	outs := r.outcomes()
	for i, e := range evs {
		if got := len(outs[e.ID]); (i < 25 && got != 0) || (i >= 25 && got != 1) {
			t.Errorf("%s: %d outcomes", e.ID, got)
		}
	}
}

// A subscription added to the config after its events were parked as
// unknown-subscription does not send those a second time (they are
// replayed with repostctl requeue); its later events are reposted.
func TestAddedSubscriptionStartsAfterParked(t *testing.T) {
	r := newRigWith(t, exposeRepeats)
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	at := time.Now().Add(-time.Minute)
	var evs []fixture.Event
	for i := range 25 {
		evs = append(evs, fixture.Build(i, fixture.KindOK, at, fixture.Unknown))
	}
	r.publish(evs[:20])
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	r.waitOutcomes(20, time.Minute)
	rep.stop(t)
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Unknown, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	r.steadyOutcomes(20)
	r.publish(evs[20:])
	r.waitOutcomes(25, time.Minute)
	r.steadyOutcomes(25)
	outs := r.outcomes()
	for i, e := range evs {
		want := repost.KindParked
		if i >= 20 {
			want = repost.KindReposted
		}
		if got := outs[e.ID]; len(got) != 1 || got[0].Kind != want {
			t.Errorf("%s: %v, want one %s", e.ID, got, want)
		}
	}
	if st := sim.Stats(); st.Records != 5 {
		t.Errorf("simulator saw %d records, want the 5 published after the subscription was added", st.Records)
	}
}

// A replica stopped while it parks a subject's events records how far it
// got, even in the middle of a batch: a subscription added afterwards starts
// its consumer after every event already parked, so that each event has one
// outcome, parked or reposted, and no parked event reaches Marketo.
func TestStoppedWhileParkingRecordsWhatItParked(t *testing.T) {
	r := newRigWith(t, exposeRepeats)
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	at := time.Now().Add(-time.Minute)
	var evs []fixture.Event
	for i := range 500 { // five batches: the stop lands in one
		evs = append(evs, fixture.Build(i, fixture.KindOK, at, fixture.Unknown))
	}
	r.publish(evs)
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	r.waitOutcomes(1, time.Minute)
	rep.stop(t)
	parkedBefore := r.outcomeCount()
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Unknown, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	r.waitOutcomes(len(evs), time.Minute)
	r.steadyOutcomes(len(evs))
	checkOneOutcomeEach(t, r, sim, evs)
	t.Logf("%d events parked before the stop, %d reposted after", parkedBefore, sim.Stats().Records)
}

// A subscription added on a new replica while another replica is parking
// the subscription's events as unknown-subscription: the two part at one
// sequence. Each event gets one outcome, parked by the old replica or
// reposted by the new one, and the events published once the new
// replica's consumer exists are all reposted.
func TestSubscriptionAddedWhileAnotherReplicaParks(t *testing.T) {
	r := newRigWith(t, exposeRepeats)
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	at := time.Now().Add(-time.Minute)
	var evs []fixture.Event
	for i := range 2100 {
		evs = append(evs, fixture.Build(i, fixture.KindOK, at, fixture.Unknown))
	}
	r.publish(evs[:2000]) // twenty batches: the second replica starts during them
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	r.waitOutcomes(1, time.Minute)
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Unknown, sim: sim, limits: roomyLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: fastScan})
	testenv.CheckFor(t, 20*time.Second, func() error {
		_, err := r.pub.ConsumerInfo(context.Background(), fixture.Unknown)
		return err
	})
	parkedBefore := r.outcomeCount()
	r.publish(evs[2000:])
	r.waitOutcomes(len(evs), time.Minute)
	r.steadyOutcomes(len(evs))
	outs := checkOneOutcomeEach(t, r, sim, evs)
	for _, e := range evs[2000:] {
		if got := outs[e.ID]; len(got) == 1 && got[0].Kind != repost.KindReposted {
			t.Errorf("%s, published after the consumer was created: %v, want reposted", e.ID, got)
		}
	}
	t.Logf("%d outcomes when the consumer was created, %d reposted in all", parkedBefore, sim.Stats().Records)
}

// checkOneOutcomeEach checks that every event has exactly one outcome,
// parked as unknown-subscription or reposted, and that the simulator saw
// exactly the reposted ones.
func checkOneOutcomeEach(t *testing.T, r *rig, sim *marketotest.Server, evs []fixture.Event) map[string][]repost.Outcome {
	t.Helper()
	outs := r.outcomes()
	reposted := 0
	for _, e := range evs {
		got := outs[e.ID]
		switch {
		case len(got) != 1:
			t.Errorf("%s: %d outcomes %v, want 1", e.ID, len(got), got)
		case got[0].Kind == repost.KindReposted:
			reposted++
		case got[0].Kind != repost.KindParked || got[0].Code != policy.CodeUnknownSubscription:
			t.Errorf("%s: %v, want parked unknown-subscription or reposted", e.ID, got[0])
		}
	}
	if st := sim.Stats(); st.Records != reposted {
		t.Errorf("simulator saw %d records, want the %d reposted", st.Records, reposted)
	}
	return outs
}
