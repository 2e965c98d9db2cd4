package worker

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

// The pool asks the pacer only for partial batches: with the pace binding,
// a partial batch waits past its linger for the pace (ready reports that
// wait) and leaves once it allows; a full one leaves at once and spends no
// token; a batch held maxHold leaves whatever the pace says.
func TestPoolHoldsPartialBatchesForThePace(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	reset := quota.NextReset(t0)
	pc := newPacing(time.Hour)
	pc.observe(quota.Snapshot{QuotaLimit: 100, QuotaUsed: 100 - 60, ResetAt: reset, Now: t0}, t0, 1)
	p := newPool(300, 1_000_000, testLinger, testHold)
	p.pace = pc

	p.add([]*item{syncItem(t, "a0@x.com", "")}, t0)
	at := t0.Add(testLinger)
	if ok, _ := p.ready(at); !ok {
		t.Fatal("the bucket's first call waits") // 60/100 < 1: a bucket of one
	}
	if b := p.take(at); b == nil || b.records != 1 {
		t.Fatalf("took %+v", b)
	}
	p.done([]string{"email=a0@x.com"})

	p.add([]*item{syncItem(t, "a1@x.com", "")}, at)
	interval := reset.Sub(at) / 59 // the 59 left over the time to the reset
	ok, wait := p.ready(at.Add(testLinger))
	if ok || wait < interval-time.Second || wait > interval {
		t.Fatalf("second partial batch: ready %v, wait %s; want held about %s", ok, wait, interval)
	}
	if on, every := pc.binding(at); !on || every < interval-time.Second || every > interval+time.Second {
		t.Errorf("binding %v, one partial call per %s; want on, about %s", on, every, interval)
	}
	for i := range 300 {
		p.add([]*item{syncItem(t, fmt.Sprintf("full%d@x.com", i), "")}, at)
	}
	if ok, _ := p.ready(at.Add(testLinger)); !ok {
		t.Fatal("a full batch waits for the pace")
	}
	b := p.take(at.Add(testLinger))
	if b == nil || b.records != 300 {
		t.Fatalf("took %+v, want the full 300", b)
	}
	p.done(b.allKeys())
	if got, _ := pc.state(); got.Left != 58 {
		t.Errorf("budget left %d after 2 calls, want 58", got.Left)
	}
	// The one left: held for the pace, then free.
	if ok, _ := p.ready(at.Add(testLinger)); ok {
		t.Fatal("the full batch spent the partial one's token")
	}
	if ok, _ := p.ready(at.Add(interval + time.Second)); !ok {
		t.Fatal("still held once the pace allows")
	}
	// A batch held an hour leaves, pace or not (never past the expiry margin).
	q := newPool(300, 1_000_000, testLinger, testHold)
	tight := newPacing(time.Hour)
	tight.observe(quota.Snapshot{QuotaLimit: 100, QuotaUsed: 99, ResetAt: reset, Now: t0}, t0, 1)
	tight.took(t0, true)
	q.pace = tight
	q.add([]*item{syncItem(t, "b@x.com", "")}, t0)
	if ok, wait := q.ready(t0.Add(time.Minute)); ok || wait != time.Hour-time.Minute {
		t.Errorf("nothing left: ready %v, wait %s; want held until the hour is up", ok, wait)
	}
	if ok, _ := q.ready(t0.Add(time.Hour)); !ok {
		t.Error("held past maxHold")
	}
}
