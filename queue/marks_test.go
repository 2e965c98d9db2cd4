package queue_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/queue"
)

// ScanMarks reads back the success marks of one subscription: the lead and
// data time a reposted outcome carries in its headers (not other outcomes,
// not other subscriptions', not those stored before since) and DAP's
// success notices (their at, else their storage time).
func TestScanMarksReadsRepostedOutcomesAndNotices(t *testing.T) {
	e := testenv.NATS(t)
	q := testenv.Queue(t, e.URL, queue.Options{})
	ctx := context.Background()
	const sub, otherSub = "123-ABC-456", "999-XYZ-999"
	dataAt := time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.UTC)
	publish := func(f func(b *queue.Batch)) {
		t.Helper()
		b := q.NewBatch()
		f(b)
		for i, err := range b.Results(ctx, 0) {
			if err != nil {
				t.Fatalf("publication %d: %v", i, err)
			}
		}
	}
	outcome := func(id, lead, s string, k repost.Kind) *repost.Outcome {
		return &repost.Outcome{EventID: id, LeadID: lead, Subscription: s, Kind: k, At: time.Now()}
	}
	publish(func(b *queue.Batch) { b.OutcomeMarked(outcome("before", "L-0", sub, repost.KindReposted), dataAt) })
	time.Sleep(20 * time.Millisecond)
	since := time.Now()
	publish(func(b *queue.Batch) {
		b.OutcomeMarked(outcome("e1", "L-1", sub, repost.KindReposted), dataAt)
		b.OutcomeMarked(outcome("e2", "L-2", otherSub, repost.KindReposted), dataAt)
		b.Outcome(outcome("e3", "L-3", sub, repost.KindParked))
		b.OutcomeMarked(outcome("e4", "L-4\nx", sub, repost.KindReposted), dataAt) // no header can hold it
	})
	notice, _ := json.Marshal(map[string]any{"leadId": "L-5", "subscription": sub, "at": dataAt.Add(time.Hour)})
	undated, _ := json.Marshal(map[string]any{"leadId": "L-6", "subscription": sub})
	for _, n := range [][]byte{notice, undated, []byte(`not json`)} {
		if _, err := q.JS.Publish(ctx, q.Subjects.Succeeded(sub), n); err != nil {
			t.Fatal(err)
		}
	}

	got := map[string]time.Time{}
	n, err := q.ScanMarks(ctx, sub, since, func(lead string, at time.Time) error {
		got[lead] = at
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(got) != 3 || !got["L-1"].Equal(dataAt) || !got["L-5"].Equal(dataAt.Add(time.Hour)) ||
		got["L-6"].Before(since) {
		t.Errorf("ScanMarks read %d: %v; want L-1 at %s, L-5 an hour later, L-6 at its storage time", n, got, dataAt)
	}
	if n, err := q.ScanMarks(ctx, "555-NON-555", since, func(string, time.Time) error { return nil }); err != nil || n != 0 {
		t.Errorf("a subscription with no outcomes: %d marks, %v", n, err)
	}
}
