package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/queue"
)

// parkByRef parks event i as the worker parks an event too large for its
// entry: the body in REPOST_BODIES, the entry referring to it.
func (h *harness) parkByRef(i int, info repost.ParkInfo) (fixture.Event, string) {
	h.t.Helper()
	ev := fixture.Build(i, fixture.KindLargeRole, fixedNow.Add(-24*time.Hour), fixture.Sub)
	name := queue.BodyName(fixture.Sub, ev.ID)
	if err := h.q.PutBody(context.Background(), name, ev.Data); err != nil {
		h.t.Fatal(err)
	}
	data, err := repost.NewParkedRef(ev.Data, ev.ID, fixture.Sub, name, info, h.q.DataLimit())
	if err != nil {
		h.t.Fatal(err)
	}
	b := h.q.NewBatch()
	b.Parked(fixture.Sub, ev.ID, data)
	if err := b.Wait(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	return ev, name
}

// TestParkedBodyRefIsFollowed: show prints the stored body of an entry
// that refers to one, requeue publishes that body, and the body is deleted
// with its entry, on requeue as on discard.
func TestParkedBodyRefIsFollowed(t *testing.T) {
	h := newHarness(t, "https://123-ABC-456.mktorest.com", fixture.Sub)
	info := repost.ParkInfo{Code: "1006", Reason: "Field 'role' not found", Field: "role", ParkedAt: fixedNow}
	ev0, name0 := h.parkByRef(0, info)
	ev1, name1 := h.parkByRef(1, info)

	out := h.mustRun("parked", "show", ev0.ID)
	if !strings.Contains(out, name0) || !strings.Contains(out, `"eventId": "`+ev0.ID+`"`) || !strings.Contains(out, "Analytical Engines xxxx") ||
		strings.Contains(out, "invalid:") {
		t.Errorf("show does not print the stored body:\n%s", truncateOut(out))
	}

	out = h.mustRun("parked", "requeue", "--lead", "L-000000", "--rename-field", "role=jobTitle")
	if !strings.Contains(out, "requeued 1 of 1 leads") {
		t.Fatalf("requeue output: %s", out)
	}
	var requeued *jetstream.RawStreamMsg
	for _, m := range h.messages(queue.StreamFailed) {
		if m.Header.Get(jetstream.MsgIDHeader) == ev0.ID+"~r1" {
			requeued = m
		}
	}
	if requeued == nil || len(requeued.Data) < fixture.LargeRoleBytes || !strings.Contains(string(requeued.Data), `"jobTitle":"CTO"`) {
		t.Fatalf("requeued event not published from the stored body (%v)", requeued != nil)
	}
	if _, err := h.q.GetBody(context.Background(), name0); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Errorf("body of the requeued entry: %v, want it deleted", err)
	}

	h.mustRun("parked", "discard", "--lead", "L-000001", "--reason", "test lead")
	if _, err := h.q.GetBody(context.Background(), name1); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Errorf("body of the discarded entry %s: %v, want it deleted", ev1.ID, err)
	}
	if n := h.count(queue.StreamParked); n != 0 {
		t.Errorf("%d entries still parked", n)
	}
}

func truncateOut(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}
