package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/queue"
)

func TestMaxPayloadIsReadFromTheConnection(t *testing.T) {
	e := testenv.NATS(t)
	q := testenv.Queue(t, e.URL, queue.Options{})
	if got := q.MaxPayload(); got != testenv.StockMaxPayload {
		t.Errorf("MaxPayload = %d, want the test server's %d", got, testenv.StockMaxPayload)
	}
	if got := q.DataLimit(); got != testenv.StockMaxPayload-queue.HeaderRoom {
		t.Errorf("DataLimit = %d", got)
	}
}

// One publication over the limit fails alone, for good; the others of its
// batch are acknowledged, and an outcome with a long reason is cut to fit.
func TestBatchResultsArePerPublication(t *testing.T) {
	e := testenv.NATS(t)
	q := testenv.Queue(t, e.URL, queue.Options{})
	b := q.NewBatch()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	first := b.Outcome(&repost.Outcome{EventID: "e1", Subscription: "s1", Kind: repost.KindSkipped, At: at})
	big := b.Parked("s1", "e2", []byte(`{"pad":"`+strings.Repeat("x", testenv.StockMaxPayload)+`"}`))
	long := b.Outcome(&repost.Outcome{EventID: "e3", Subscription: "s1", Kind: repost.KindRejected, Code: "invalid",
		Reason: strings.Repeat("r", 2*testenv.StockMaxPayload), At: at})
	errs := b.Results(context.Background(), time.Second)
	if len(errs) != 3 || errs[first] != nil || errs[long] != nil {
		t.Fatalf("Results = %v, want only the oversized entry failed", errs)
	}
	if !queue.IsPermanent(errs[big]) {
		t.Errorf("oversized entry: %v, want a permanent failure", errs[big])
	}
	var n int
	err := q.ScanOutcomes(context.Background(), "", func(m queue.StoredMsg) (bool, error) {
		n++
		if len(m.Data) > q.DataLimit() {
			t.Errorf("outcome of %d bytes stored", len(m.Data))
		}
		return true, nil
	})
	if err != nil || n != 2 {
		t.Errorf("%d outcomes stored (%v), want 2", n, err)
	}
}
