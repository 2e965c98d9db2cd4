package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

// A requeued copy carries its original's data time: parked without
// attemptedAt, a lead that DAP later reposted successfully is superseded
// when requeued, rather than winning with its older data because the
// requeue was published after the success.
func TestRequeuedCopyKeepsTheOriginalsDataTime(t *testing.T) {
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true})
	t.Cleanup(sim.Close)
	h := newHarness(t, sim.URL, fixture.Sub)
	h.now = time.Now
	h.startWorker(sim, fixture.Sub)
	events := make([]fixture.Event, 2)
	for i := range events {
		events[i] = fixture.Build(i, "field-role", time.Now(), fixture.Sub)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(events[i].Data, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "attemptedAt")
		events[i].Data, _ = json.Marshal(m)
	}
	h.publish(events)
	checkFor(t, 30*time.Second, func() error {
		if got := h.count(queue.StreamParked); got != len(events) {
			return fmt.Errorf("%d of %d parked", got, len(events))
		}
		return nil
	})
	published := map[string]time.Time{}
	for _, m := range h.messages(queue.StreamFailed) {
		published[repost.PeekEventID(m.Data)] = m.Time
	}
	for _, m := range h.messages(queue.StreamParked) {
		id := repost.PeekEventID(m.Data)
		if at, ok := queue.DataTime(m.Header); !ok || !at.Equal(published[id]) {
			t.Errorf("parked %s dated %v (%v), want its publication %s", id, at, ok, published[id])
		}
	}

	// DAP reposts lead 0 itself, after the original failed.
	notice, _ := json.Marshal(map[string]any{"leadId": "L-000000", "subscription": fixture.Sub, "at": time.Now().UTC()})
	if _, err := h.q.JS.Publish(context.Background(), h.q.Subjects.Succeeded(fixture.Sub), notice); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		c, err := h.q.JS.Consumer(context.Background(), queue.StreamSucceeded, queue.ConsumerSucceeded)
		if err != nil {
			return err
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		if info.AckFloor.Stream < 1 {
			return fmt.Errorf("success notice not handled yet")
		}
		return nil
	})

	h.mustRun("parked", "requeue", "--code", "1006", "--rename-field", "role=jobTitle")
	for _, m := range h.messages(queue.StreamFailed) {
		if id := repost.PeekEventID(m.Data); id == fixture.ID(0)+"~r1" || id == fixture.ID(1)+"~r1" {
			orig := id[:len(id)-3]
			if at, ok := queue.DataTime(m.Header); !ok || !at.Equal(published[orig]) {
				t.Errorf("requeued %s dated %v (%v), want its original's publication %s", id, at, ok, published[orig])
			}
		}
	}
	checkFor(t, 30*time.Second, func() error {
		if n := len(h.outcomes(repost.KindSkipped)) + len(h.outcomes(repost.KindReposted)); n != 2 {
			return fmt.Errorf("%d of 2 requeued leads finished", n)
		}
		return nil
	})
	if got := h.outcomes(repost.KindSkipped)[fixture.ID(0)+"~r1"]; len(got) != 1 || got[0].Code != policy.CodeSuperseded {
		t.Errorf("requeue of lead 0: %+v, want skipped as superseded by DAP's later success", got)
	}
	if got := h.outcomes(repost.KindReposted)[fixture.ID(1)+"~r1"]; len(got) != 1 {
		t.Errorf("requeue of lead 1: %+v, want reposted", got)
	}
	if n := len(sim.LeadsBy("email", fixture.Email(0))); n != 0 {
		t.Errorf("lead 0's older data reached Marketo (%d leads)", n)
	}
}
