package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

var defaultLimits = quota.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}

// want is what must become of each kind of the fixture's mix.
var want = map[string]struct {
	kind  repost.Kind
	code  policy.Code
	field string
}{
	"transient":     {repost.KindReposted, policy.CodeOK, ""},
	"auth":          {repost.KindReposted, policy.CodeOK, ""},
	"throttle":      {repost.KindReposted, policy.CodeOK, ""},
	"push":          {repost.KindReposted, policy.CodeOK, ""},
	"http-502":      {repost.KindReposted, policy.CodeOK, ""},
	"field-role":    {repost.KindParked, "1006", "role"},
	"hidden-role":   {repost.KindParked, "1006", "role"},
	"type-mismatch": {repost.KindParked, "1001", "numberOfEmployees"},
	"bad-status":    {repost.KindParked, "1025", "programStatus"},
	"already-done":  {repost.KindSkipped, "1005", ""},
	"invalid":       {repost.KindRejected, policy.CodeInvalid, ""},
	"unknown-sub":   {repost.KindParked, policy.CodeUnknownSubscription, ""},
}

// Every published event gets exactly one terminal outcome; recoverable
// leads reach the simulator with their field values; mapping errors are
// parked with their code and field.
func TestEveryEventGetsExactlyOneOutcome(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{
		Faults: marketotest.Faults{Seed: 7, Rate604: 0.05, Rate611: 0.05, Rate713: 0.05},
	})
	t.Cleanup(sim.Close)
	events := fixture.Mix(2000, 42, time.Now().Add(-time.Hour))
	r.publish(events)
	r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	r.waitOutcomes(len(events), 90*time.Second)

	outs, parked := r.outcomes(), r.parked()
	for i, e := range events {
		got := outs[e.ID]
		if len(got) != 1 {
			t.Fatalf("%s (%s): %d outcomes, want exactly 1: %+v", e.ID, e.Kind, len(got), got)
		}
		o, w := got[0], want[e.Kind]
		if o.Kind != w.kind || o.Code != w.code {
			t.Errorf("%s (%s): outcome %s %s (%s), want %s %s", e.ID, e.Kind, o.Kind, o.Code, o.Reason, w.kind, w.code)
			continue
		}
		switch o.Kind {
		case repost.KindReposted:
			lead, ok := sim.Lead("email", fixture.Email(i))
			if !ok {
				t.Errorf("%s: reposted but not in the simulator", e.ID)
			} else if lead["firstName"] != "Ada" || fmt.Sprint(lead["numberOfEmployees"]) == "" {
				t.Errorf("%s: lead fields not kept: %v", e.ID, lead)
			}
			if o.MarketoID == 0 || (o.Status != "created" && o.Status != "updated") {
				t.Errorf("%s: reposted without marketoId/status: %+v", e.ID, o)
			}
		case repost.KindParked, repost.KindRejected:
			p := parked[e.ID]
			if p == nil {
				t.Errorf("%s: %s but no parked entry", e.ID, o.Kind)
				continue
			}
			if p.Parked.Code != w.code || p.Parked.Field != w.field {
				t.Errorf("%s: parked %s field %q, want %s field %q", e.ID, p.Parked.Code, p.Parked.Field, w.code, w.field)
			}
		}
	}
	if n := len(outs); n != len(events) {
		t.Errorf("%d eventIds with outcomes, want %d", n, len(events))
	}
	st := sim.Stats()
	for _, c := range []int{606, 607, 615, 413} {
		if st.Violations[c] != 0 {
			t.Errorf("simulator saw %d calls violating %d", st.Violations[c], c)
		}
	}
	t.Logf("calls %d, records %d, answers %v", st.Calls, st.Records, st.ByCode)
}

// A subscription blocked until its daily quota resets takes nothing from
// the stream and does not slow another subscription's drain.
func TestQuotaBlockedSubscriptionDoesNotSlowAnother(t *testing.T) {
	r := newRig(t)
	simA := marketotest.NewServer(marketotest.Options{})
	simB := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(simA.Close)
	t.Cleanup(simB.Close)
	const subA, subB = "111-AAA-111", "222-BBB-222"
	store := quota.NewMemory(quota.MemoryOptions{})
	if err := store.Penalize(context.Background(), subA, 607, defaultLimits); err != nil {
		t.Fatal(err)
	}
	var events []fixture.Event
	for i := 0; i < 3000; i++ {
		s := subB
		if i%5 == 0 {
			s = subA
		}
		events = append(events, fixture.Build(i, fixture.KindOK, time.Now(), s))
	}
	r.publish(events)
	r.startReplica(store, []sub{
		{id: subA, sim: simA, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()},
		{id: subB, sim: simB, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()},
	}, replicaOptions{})
	r.waitOutcomes(2400, 60*time.Second)

	outs := r.outcomes()
	for _, e := range events {
		n := len(outs[e.ID])
		if e.Sub == subB && n != 1 {
			t.Errorf("%s of %s: %d outcomes, want 1", e.ID, subB, n)
		}
		if e.Sub == subA && n != 0 {
			t.Errorf("%s of blocked %s: %d outcomes, want none before the reset", e.ID, subA, n)
		}
	}
	if st := simA.Stats(); st.Calls != 0 {
		t.Errorf("blocked subscription made %d Marketo calls", st.Calls)
	}
	// The blocked subscription holds no acknowledgement slot and keeps its
	// whole backlog in the stream.
	testenv.CheckFor(t, 10*time.Second, func() error {
		c, err := r.pub.JS.Consumer(context.Background(), queue.StreamFailed, queue.ConsumerName(subA))
		if err != nil {
			return err
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumPending+uint64(info.NumRedelivered) < 600 {
			return fmt.Errorf("blocked consumer: ack pending %d, pending %d, redelivered %d",
				info.NumAckPending, info.NumPending, info.NumRedelivered)
		}
		return nil
	})
}

// One of three workers dies without shutdown mid-drain: what it held is
// redelivered and nothing is lost or decided twice.
func TestKilledWorkerLosesNothing(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{Latency: 20 * time.Millisecond})
	t.Cleanup(sim.Close)
	const n = 6000
	events := make([]fixture.Event, n)
	for i := range events {
		events[i] = fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	}
	r.publish(events)
	store, tokens := quota.NewMemory(quota.MemoryOptions{}), marketo.NewMemoryTokenStore()
	subs := []sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: tokens}}
	opts := replicaOptions{ackWait: 3 * time.Second}
	r.startReplica(store, subs, opts)
	victim := r.startReplica(store, subs, opts)
	r.startReplica(store, subs, opts)
	r.waitOutcomes(n/4, 60*time.Second)
	victim.q.NC.Close() // killed: no nak, no ack, no goodbye
	victim.cancel()
	r.waitOutcomes(n, 90*time.Second)

	outs := r.outcomes()
	for i, e := range events {
		got := outs[e.ID]
		if len(got) != 1 || got[0].Kind != repost.KindReposted {
			t.Fatalf("%s: outcomes %+v, want one reposted", e.ID, got)
		}
		if _, ok := sim.Lead("email", fixture.Email(i)); !ok {
			t.Fatalf("%s: lead not in the simulator", e.ID)
		}
	}
	if st := sim.Stats(); st.Violations[606]+st.Violations[615] != 0 {
		t.Errorf("violations: %v", st.Violations)
	}
}
