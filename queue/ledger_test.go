package queue_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/queue"
)

// The ledger finds exactly the ids recorded for a stream, whatever their
// characters; recording one again keeps it; and it still knows an id once
// POSTOUT_FAILED's duplicate window (FailedDupeWin) has passed and the
// stream no longer does.
func TestLedgerOutlivesTheDuplicateWindow(t *testing.T) {
	e := testenv.NATS(t)
	q := testenv.Queue(t, e.URL, queue.Options{FailedDupeWin: time.Second})
	ctx := context.Background()
	s, err := q.JS.Stream(ctx, queue.StreamFailed)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Duplicates; got != time.Second {
		t.Fatalf("POSTOUT_FAILED's duplicate window is %s, want FailedDupeWin's 1s", got)
	}

	ids := []string{"evt-1", "evt-1~r1", "dap-ä/ b.c*>", "evt-2"}
	publish := func() *queue.Batch {
		b := q.NewBatch()
		for _, id := range ids {
			b.Failed("123-ABC-456", id, []byte(`{}`))
		}
		for i, err := range b.Results(ctx, 0) {
			if err != nil {
				t.Fatalf("publish %s: %v", ids[i], err)
			}
		}
		return b
	}
	b := publish()
	var acked []queue.LedgerEntry
	for i, id := range ids[:3] {
		acked = append(acked, queue.LedgerEntry{MsgID: id, Stream: queue.StreamFailed, Seq: b.Ack(i).Sequence, At: time.Now()})
	}
	if err := q.Record(ctx, acked); err != nil {
		t.Fatal(err)
	}
	if err := q.Record(ctx, acked[:1]); err != nil {
		t.Fatalf("recording an id again: %v", err)
	}
	check := func(stream string, want []bool) {
		t.Helper()
		got, err := q.Recorded(ctx, stream, ids)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Recorded(%s, %q) = %v, want %v", stream, ids, got, want)
		}
	}
	check(queue.StreamFailed, []bool{true, true, true, false})
	check(queue.StreamOutcomes, []bool{false, false, false, false})

	// Inside the window the stream recognizes the ids itself...
	b = publish()
	for i := range ids {
		if !b.Ack(i).Duplicate {
			t.Errorf("%s published again inside the window: not acknowledged as a duplicate", ids[i])
		}
	}
	// ... past it, only the ledger does.
	time.Sleep(1500 * time.Millisecond) // the window is the scenario
	b = publish()
	for i := range ids {
		if b.Ack(i).Duplicate {
			t.Errorf("%s published again past the window: still a duplicate; this test no longer shows why the ledger is needed", ids[i])
		}
	}
	check(queue.StreamFailed, []bool{true, true, true, false})
}
