package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

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

// TestEventsNearMaxPayloadGetOneOutcome runs, against a stock 1 MiB
// server, an invalid event a few hundred bytes under 1 MiB and a 540 KB
// lead that Marketo answers with 1006, among ordinary events: each gets
// exactly one terminal outcome, the big lead's call is made once, and
// nothing is handed back.
func TestEventsNearMaxPayloadGetOneOutcome(t *testing.T) {
	r := newRig(t)
	at := time.Now().Add(-time.Hour)
	events := []fixture.Event{
		fixture.Build(0, fixture.KindLargeRole, at, fixture.Sub),
		fixture.Build(1, fixture.KindNearMaxInvalid, at, fixture.Sub),
	}
	for i := 2; i < 8; i++ {
		events = append(events, fixture.Build(i, fixture.KindOK, at, fixture.Sub))
	}
	if n := len(events[1].Data); n >= queue.StockMaxPayload || n < queue.StockMaxPayload-1000 {
		t.Fatalf("the near-max event is %d bytes", n)
	}
	r.publish(events)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}}, replicaOptions{})
	r.waitOutcomes(len(events), 60*time.Second)
	checkSettled(t, rep.q, fixture.Sub)

	outs := r.outcomes()
	wantKind := map[string]repost.Kind{fixture.KindLargeRole: repost.KindParked, fixture.KindNearMaxInvalid: repost.KindRejected, fixture.KindTransient: repost.KindReposted}
	for _, e := range events {
		got := outs[e.ID]
		if len(got) != 1 || got[0].Kind != wantKind[e.Kind] {
			t.Errorf("%s (%s): outcomes %+v, want one %s", e.ID, e.Kind, got, wantKind[e.Kind])
		}
	}
	if got := outs[events[0].ID]; len(got) == 1 && got[0].Code != "1006" {
		t.Errorf("large lead: code %s, want 1006", got[0].Code)
	}
	if got := outs[events[1].ID]; len(got) == 1 && got[0].Code != policy.CodeInvalid {
		t.Errorf("near-max event: code %s, want invalid", got[0].Code)
	}
	if n := sim.Stats().ReasonCodes["1006"]; n != 1 {
		t.Errorf("Marketo answered the large lead with 1006 %d times, want once", n)
	}
	p := r.parked()[events[0].ID]
	if p == nil {
		t.Fatal("the large lead is not parked")
	}
	if p.Event == nil || len(p.Parked.Trimmed) == 0 || p.Parked.Code != "1006" {
		t.Errorf("large lead's entry: event %v, block %+v", p.Event != nil, p.Parked)
	}
	// The near-max event is parked by reference to its body.
	p = r.parked()[events[1].ID]
	if p == nil {
		t.Fatal("the near-max event is not parked")
	}
	if p.Parked.BodyRef == "" || p.Parked.Code != policy.CodeInvalid {
		t.Fatalf("near-max event's entry: %+v", p.Parked)
	}
	body, err := r.pub.GetBody(context.Background(), p.Parked.BodyRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AttachBody(body); err != nil || !bytes.Equal(p.Original, events[1].Data) {
		t.Errorf("stored body is not the event (%v)", err)
	}
}

// checkSettled waits until no event of sub waits for an ack, then checks
// that none was delivered twice: no batch was handed back.
func checkSettled(t *testing.T, q *queue.Queue, sub string) {
	t.Helper()
	c, err := q.JS.Consumer(context.Background(), queue.StreamFailed, queue.ConsumerName(sub))
	if err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 20*time.Second, func() error {
		info, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumPending != 0 {
			return fmt.Errorf("%d events wait for an ack, %d for delivery", info.NumAckPending, info.NumPending)
		}
		if info.NumRedelivered != 0 {
			t.Errorf("%d events were delivered again", info.NumRedelivered)
		}
		return nil
	})
}

// deniedRig is a rig on a server where the user "repost" may not publish
// on the deny subjects; the rig's own publisher may publish anywhere.
func deniedRig(t *testing.T, deny ...string) (*rig, queue.Options) {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		MaxPayload: testenv.StockMaxPayload,
		Users: []*server.User{
			{Username: "dap", Password: "dap-secret"},
			{Username: "repost", Password: "repost-secret", Permissions: &server.Permissions{
				Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: deny},
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	r := &rig{t: t, url: ns.ClientURL(), pub: testenv.Queue(t, ns.ClientURL(), queue.Options{User: "dap", Password: "dap-secret"})}
	return r, queue.Options{User: "repost", Password: "repost-secret"}
}

// TestDeniedParkedEntryStillEndsTheEvent runs a worker that may not publish
// on the parked subjects: its parked events still get their one outcome,
// are acked rather than handed back, and Marketo is called once.
func TestDeniedParkedEntryStillEndsTheEvent(t *testing.T) {
	r, qo := deniedRig(t, "dap.postout.parked.>")
	at := time.Now().Add(-time.Hour)
	events := []fixture.Event{
		fixture.Build(0, "field-role", at, fixture.Sub),  // parked at once
		fixture.Build(1, "hidden-role", at, fixture.Sub), // parked on Marketo's 1006
		fixture.Build(2, fixture.KindOK, at, fixture.Sub),
	}
	r.publish(events)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{queue: qo})
	r.waitOutcomes(len(events), 60*time.Second)
	checkSettled(t, rep.q, fixture.Sub)
	outs := r.outcomes()
	for i, want := range []repost.Kind{repost.KindParked, repost.KindParked, repost.KindReposted} {
		if got := outs[events[i].ID]; len(got) != 1 || got[0].Kind != want {
			t.Errorf("%s (%s): outcomes %+v, want one %s", events[i].ID, events[i].Kind, got, want)
		}
	}
	if n := len(r.parked()); n != 0 {
		t.Errorf("%d parked entries stored on a denied subject", n)
	}
	if n := sim.Stats().ReasonCodes["1006"]; n != 1 {
		t.Errorf("Marketo answered the hidden-role lead with 1006 %d times, want once", n)
	}
}

// TestUnstorableBodyStillEndsTheEvent: when the body of an event too large
// for its entry cannot be stored, the event still gets its one outcome and
// is not handed back.
func TestUnstorableBodyStillEndsTheEvent(t *testing.T) {
	r, qo := deniedRig(t, "$O."+queue.BucketBodies+".>")
	at := time.Now().Add(-time.Hour)
	events := []fixture.Event{fixture.Build(0, fixture.KindNearMaxInvalid, at, fixture.Sub), fixture.Build(1, fixture.KindOK, at, fixture.Sub)}
	r.publish(events)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	rep := r.startReplica(quota.NewMemory(quota.MemoryOptions{}),
		[]sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{queue: qo, mod: func(c *worker.Config) { c.PublishRetry = 2 * time.Second }})
	r.waitOutcomes(len(events), 60*time.Second)
	checkSettled(t, rep.q, fixture.Sub)
	outs := r.outcomes()
	for i, want := range []repost.Kind{repost.KindRejected, repost.KindReposted} {
		if got := outs[events[i].ID]; len(got) != 1 || got[0].Kind != want {
			t.Errorf("%s (%s): outcomes %+v, want one %s", events[i].ID, events[i].Kind, got, want)
		}
	}
}
