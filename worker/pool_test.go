package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
)

const (
	testLinger = 200 * time.Millisecond
	testHold   = 2 * time.Second
)

func syncItem(t *testing.T, email string, extra string) *item {
	t.Helper()
	return mustItem(t, mustEvent(t, repost.EndpointSyncLeads, "", fmt.Sprintf(`{"email":%q%s}`, email, extra)))
}

func pushItem(t *testing.T, email string) *item {
	t.Helper()
	return mustItem(t, mustEvent(t, repost.EndpointPushLead, `"programName":"P",`, fmt.Sprintf(`{"email":%q}`, email)))
}

// With budget free, a lone event and a burst of 10 leave one linger after
// they arrived, in one call, whatever the fetches around them (the clock
// here is the argument: no fetch happens at all).
func TestPoolLoneEventAndBurstLeaveAfterLinger(t *testing.T) {
	for _, n := range []int{1, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newPool(300, 1_000_000, testLinger, testHold)
			t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
			var items []*item
			for i := range n {
				items = append(items, syncItem(t, fmt.Sprintf("burst%d@x.com", i), ""))
			}
			p.add(items, t0)
			if ok, wait := p.ready(t0); ok || wait != testLinger {
				t.Errorf("at arrival: ready %v, wait %s; want not ready, wait one linger", ok, wait)
			}
			if ok, _ := p.ready(t0.Add(testLinger - time.Millisecond)); ok {
				t.Error("ready before its linger ended")
			}
			if ok, _ := p.ready(t0.Add(testLinger)); !ok {
				t.Fatal("not ready once its linger ended")
			}
			b := p.take(t0.Add(testLinger))
			if b == nil || b.records != n {
				t.Fatalf("took %+v, want one call of %d", b, n)
			}
			if p.size() != 0 || p.take(t0.Add(testLinger)) != nil {
				t.Error("events left in the pool")
			}
		})
	}
}

// A batch that can never fill does not wait for its linger: 300 records,
// a body at the byte limit, or a lookup value the batch already holds.
func TestPoolBatchThatCannotFillLeavesAtOnce(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	t.Run("300 records", func(t *testing.T) {
		p := newPool(300, 1_000_000, testLinger, testHold)
		var items []*item
		for i := range 350 {
			items = append(items, syncItem(t, fmt.Sprintf("full%d@x.com", i), ""))
		}
		p.add(items, t0)
		if ok, _ := p.ready(t0); !ok {
			t.Fatal("a full call waits")
		}
		if b := p.take(t0); b == nil || b.records != 300 {
			t.Fatalf("took %+v, want 300", b)
		}
		if ok, wait := p.ready(t0); ok || wait != testLinger {
			t.Errorf("the 50 left: ready %v wait %s, want them to wait their linger", ok, wait)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		p := newPool(300, 1_000_000, testLinger, testHold)
		big := `,"note":"` + strings.Repeat("x", 400_000) + `"`
		p.add([]*item{syncItem(t, "b1@x.com", big), syncItem(t, "b2@x.com", big), syncItem(t, "b3@x.com", big)}, t0)
		if ok, _ := p.ready(t0); !ok {
			t.Fatal("a call at the byte limit waits")
		}
		if b := p.take(t0); b == nil || len(b.items) != 2 {
			t.Fatalf("took %+v, want the 2 that fit", b)
		}
		if ok, _ := p.ready(t0); ok {
			t.Error("the last one, alone, does not wait its linger")
		}
	})
	t.Run("lookup clash", func(t *testing.T) {
		p := newPool(300, 1_000_000, testLinger, testHold)
		p.add([]*item{syncItem(t, "same@x.com", ""), syncItem(t, "SAME@x.com", "")}, t0)
		if ok, _ := p.ready(t0); !ok {
			t.Fatal("a call that cannot take the second event waits")
		}
		b := p.take(t0)
		if b == nil || len(b.items) != 1 {
			t.Fatalf("took %+v, want one event", b)
		}
		// The second waits for the first call, linger or not.
		late := t0.Add(time.Hour)
		if ok, wait := p.ready(late); ok || wait != 0 {
			t.Errorf("second event while the first is in flight: ready %v wait %s", ok, wait)
		}
		if p.take(late) != nil {
			t.Error("took the same lookup value while its call is in flight")
		}
		p.done(b.allKeys())
		if ok, _ := p.ready(late); !ok {
			t.Error("second event not ready once the first call ended")
		}
	})
}

// A granted call is filled from the group whose oldest event waited
// longest, with everything that group holds (up to 300).
func TestPoolFillsAtGrantFromTheOldestGroup(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	p := newPool(300, 1_000_000, testLinger, testHold)
	p.add([]*item{pushItem(t, "p0@x.com")}, t0)
	for i := range 100 {
		p.add([]*item{syncItem(t, fmt.Sprintf("s%d@x.com", i), "")}, t0.Add(time.Duration(i+1)*time.Millisecond))
	}
	for i := 1; i < 120; i++ { // arrive while the call waits for its grant
		p.add([]*item{pushItem(t, fmt.Sprintf("p%d@x.com", i))}, t0.Add(time.Second))
	}
	at := t0.Add(2 * time.Second)
	b := p.take(at)
	if b == nil || b.endpoint != repost.EndpointPushLead || b.records != 120 {
		t.Fatalf("took %d records of %s, want the 120 Push Lead events (oldest first)", b.records, b.endpoint)
	}
	if b = p.take(at); b == nil || b.endpoint != repost.EndpointSyncLeads || b.records != 100 {
		t.Fatalf("second call %+v, want the 100 Sync Leads events", b)
	}
}

// While a fetch delivers a backlog, a partial batch waits for what is on
// its way rather than leave half empty at its linger: while a call is in
// flight (its end brings more), else a bounded time. Once nothing more
// comes (or the pool is full), the linger rules again.
func TestPoolWaitsForABacklogBeingDelivered(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	p := newPool(300, 1_000_000, testLinger, testHold)
	p.setIncoming(true)
	for i := range 420 {
		p.add([]*item{syncItem(t, fmt.Sprintf("bk%d@x.com", i), "")}, t0)
	}
	call := p.take(t0)
	if call == nil || call.records != 300 {
		t.Fatalf("took %+v, want a full call", call)
	}
	if ok, wait := p.ready(t0.Add(time.Hour)); ok || wait != 0 {
		t.Fatalf("a partial batch left while a call is in flight and a backlog is coming (wait %s)", wait)
	}
	p.done(call.allKeys())
	bound := max(backlogLingers*testLinger, testHold)
	if ok, wait := p.ready(t0.Add(testLinger)); ok || wait != bound-testLinger {
		t.Fatalf("a partial batch left at its linger while its backlog was being delivered (wait %s)", wait)
	}
	if ok, _ := p.ready(t0.Add(bound)); !ok {
		t.Fatal("a backlog held a partial batch beyond its bound")
	}
	p.setIncoming(false)
	if ok, _ := p.ready(t0.Add(testLinger)); !ok {
		t.Fatal("not ready once the backlog was delivered")
	}
}

// Under a binding limit a granted call takes a full batch before an older
// partial one: the partial group keeps filling while the call that would
// have left half empty carries 300. A partial batch passed over for
// partialPatience backlog holds ranks with the full ones again, oldest
// first, so a rare group is not starved by a busy one.
func TestPoolTakesAFullBatchBeforeAnOlderPartialOne(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	fill := func() *pool {
		p := newPool(300, 1_000_000, testLinger, testHold)
		for i := range 100 {
			p.add([]*item{pushItem(t, fmt.Sprintf("p%d@x.com", i))}, t0)
		}
		for i := range 300 {
			p.add([]*item{syncItem(t, fmt.Sprintf("s%d@x.com", i), "")}, t0.Add(time.Millisecond))
		}
		return p
	}
	tests := []struct {
		name   string
		at     time.Duration // after t0
		first  string
		record int
	}{
		{"partial batch ready at its linger", testLinger, repost.EndpointSyncLeads, 300},
		{"partial batch just under its patience", partialPatience*testHold - time.Millisecond, repost.EndpointSyncLeads, 300},
		{"partial batch waited its patience", partialPatience * testHold, repost.EndpointPushLead, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := fill()
			b := p.take(t0.Add(tc.at))
			if b == nil || b.endpoint != tc.first || b.records != tc.record {
				t.Fatalf("took %s, want %d records of %s", describe(b), tc.record, tc.first)
			}
			if b = p.take(t0.Add(tc.at)); b == nil || b.endpoint == tc.first {
				t.Fatalf("second call %s, want the other group", describe(b))
			}
		})
	}
}

func describe(b *batch) string {
	if b == nil {
		return "nothing"
	}
	return fmt.Sprintf("%d records of %s", b.records, b.endpoint)
}
