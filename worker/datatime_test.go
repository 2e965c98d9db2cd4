package worker_test

import (
	"context"
	"encoding/json"
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

// undated is event i of kind ok without attemptedAt: its data time is when
// it was published.
func undated(i int) fixture.Event {
	e := fixture.Build(i, fixture.KindOK, time.Now(), fixture.Sub)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &m); err != nil {
		panic(err)
	}
	delete(m, "attemptedAt")
	e.Data, _ = json.Marshal(m)
	return e
}

// failedMsgs returns every message of the failed stream, oldest first.
func (r *rig) failedMsgs() []*jetstream.RawStreamMsg {
	r.t.Helper()
	ctx := context.Background()
	s, err := r.pub.JS.Stream(ctx, queue.StreamFailed)
	if err != nil {
		r.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		if m, err := s.GetMsg(ctx, seq); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// A copy the worker republishes to wait out a halt carries the original's
// data time: once the halt lifts, it loses against a success of its lead
// dated between the original and the copy, and the success mark of a copy
// that is reposted is the original's time, not the copy's.
func TestDeferredCopyKeepsTheOriginalsDataTime(t *testing.T) {
	r := newRig(t)
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	sim.SetAccessDenied("Access denied")
	store := quota.NewMemory(quota.MemoryOptions{})
	old, other := undated(1), undated(2)
	r.publish([]fixture.Event{old, other})
	r.startReplica(store, []sub{{id: fixture.Sub, sim: sim, limits: defaultLimits, tokens: marketo.NewMemoryTokenStore()}},
		replicaOptions{mod: func(c *worker.Config) { c.ProbeInterval = 200 * time.Millisecond }})

	// The halt defers both events: a copy of each is republished.
	orig, copied := map[string]time.Time{}, map[string]time.Time{}
	testenv.CheckFor(t, 20*time.Second, func() error {
		for _, m := range r.failedMsgs() {
			id := repost.PeekEventID(m.Data)
			if m.Header.Get(queue.HeaderDeferred) == "" {
				orig[id] = m.Time
			} else if _, ok := copied[id]; !ok {
				copied[id] = m.Time
			}
		}
		if len(copied) < 2 {
			return fmt.Errorf("%d of 2 events deferred", len(copied))
		}
		return nil
	})
	for _, m := range r.failedMsgs() {
		if m.Header.Get(queue.HeaderDeferred) != "" {
			got, err := time.Parse(time.RFC3339Nano, m.Header.Get(queue.HeaderDataTime))
			if id := repost.PeekEventID(m.Data); err != nil || !got.Equal(orig[id]) {
				t.Errorf("copy of %s: %s %q (%v), want the original's %s", id, queue.HeaderDataTime, m.Header.Get(queue.HeaderDataTime), err, orig[id])
			}
		}
	}

	// DAP reports newer data of the first lead, dated between the original
	// and its copy.
	mid := orig[old.ID].Add(copied[old.ID].Sub(orig[old.ID]) / 2)
	if !mid.After(orig[old.ID]) || !copied[old.ID].After(mid) {
		t.Fatalf("no time between the original (%s) and the copy (%s)", orig[old.ID], copied[old.ID])
	}
	notice, _ := json.Marshal(map[string]any{"leadId": "L-000001", "subscription": fixture.Sub, "at": mid})
	if _, err := r.pub.JS.Publish(context.Background(), r.pub.Subjects.Succeeded(fixture.Sub), notice); err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 10*time.Second, func() error {
		if _, ok, err := store.LastSuccess(context.Background(), fixture.Sub, "L-000001"); err != nil || !ok {
			return fmt.Errorf("success notice not recorded yet (%v)", err)
		}
		return nil
	})

	sim.SetAccessDenied("")
	r.waitOutcomes(2, 30*time.Second)
	outs := r.outcomes()
	if got := outs[old.ID]; len(got) != 1 || got[0].Kind != repost.KindSkipped || got[0].Code != policy.CodeSuperseded {
		t.Errorf("%s: %+v, want one skipped superseded outcome: the copy's data is older than the success", old.ID, got)
	}
	if got := outs[other.ID]; len(got) != 1 || got[0].Kind != repost.KindReposted {
		t.Fatalf("%s: %+v, want one reposted outcome", other.ID, got)
	}
	mark, ok, err := store.LastSuccess(context.Background(), fixture.Sub, "L-000002")
	if err != nil || !ok {
		t.Fatalf("no success mark for L-000002 (%v)", err)
	}
	if d := mark.Sub(orig[other.ID]); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("success mark of the reposted copy at %s, want the original's data time %s (the copy was published at %s)",
			mark, orig[other.ID], copied[other.ID])
	}
	if n := len(sim.LeadsBy("email", fixture.Email(1))); n != 0 {
		t.Errorf("the superseded copy reached Marketo")
	}
}
