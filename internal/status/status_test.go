package status_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/internal/status"
	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
	"github.com/leadops/repost/worker"
)

var lim = quota.Limits{DailyQuota: 50000, CallsPerWindow: 1000, Window: 20 * time.Second, MaxConcurrency: 10}

// A running worker announces itself, its outcomes show as recent counts, and
// an operator's pause holds the subscription (backlog kept, nothing done)
// until it is lifted.
func TestCollectWithRunningWorker(t *testing.T) {
	emb := testenv.NATS(t)
	q := testenv.Queue(t, emb.URL, queue.Options{Storage: jetstream.MemoryStorage})
	sim := marketotest.NewServer(marketotest.Options{})
	t.Cleanup(sim.Close)
	store := quota.NewMemory(quota.MemoryOptions{})
	w := startWorker(t, emb.URL, sim.URL, store)
	ctx := context.Background()
	opts := status.Options{Subscriptions: []status.Subscription{{ID: fixture.Sub, Limits: lim}}, Limits: store}

	publish(t, q, 0, 5, "field-role") // parked on their original code
	var snap *status.Snapshot
	testenv.CheckFor(t, 20*time.Second, func() error {
		var err error
		if snap, err = status.Collect(ctx, q, opts); err != nil {
			return err
		}
		if len(snap.Replicas) != 1 || snap.Replicas[0].Version != "v-test" || snap.Replicas[0].ID != "w-status" {
			return fmt.Errorf("replicas %+v", snap.Replicas)
		}
		if r := snap.Subscriptions[0]; r.Recent.Parked != 5 || r.Backlog != 0 {
			return fmt.Errorf("row %+v", r)
		}
		return nil
	})
	if snap.NATS.Status != "connected" || snap.NATS.Version == "" || snap.Redis.Status != "connected" {
		t.Errorf("header %+v %+v", snap.NATS, snap.Redis)
	}
	r := snap.Subscriptions[0]
	if r.Limits == nil || r.Limits.QuotaLimit != 50000 || r.Limits.ResetAt.IsZero() || len(r.Holds) != 0 {
		t.Errorf("row %+v limits %+v", r, r.Limits)
	}

	until := time.Now().Add(time.Hour)
	if err := q.SetPause(ctx, queue.Pause{Subscription: fixture.Sub, Reason: "mapping fix", Actor: "alice", At: time.Now(), Until: until}); err != nil {
		t.Fatal(err)
	}
	// Wait until the worker holds it (its /readyz detail lists it).
	testenv.CheckFor(t, 10*time.Second, func() error {
		if d := w.Readiness(ctx).Paused[fixture.Sub]; d != "mapping fix (by alice, until "+until.UTC().Format(time.RFC3339)+")" {
			return fmt.Errorf("readyz paused detail %q", d)
		}
		return nil
	})
	publish(t, q, 5, 8, "field-role")
	testenv.CheckFor(t, 10*time.Second, func() error {
		s, err := status.Collect(ctx, q, opts)
		if err != nil {
			return err
		}
		r := s.Subscriptions[0]
		h, ok := r.Held(status.HoldPaused)
		if !ok || h.Actor != "alice" || h.Reason != "mapping fix" || !h.Until.Equal(until.Round(0)) {
			return fmt.Errorf("holds %+v", r.Holds)
		}
		if r.Backlog != 3 || r.Pending+r.AckPending != 3 || r.InFlight != 0 || r.OldestAt.IsZero() {
			return fmt.Errorf("row %+v", r)
		}
		return nil
	})
	if s, _ := status.Collect(ctx, q, opts); s.Subscriptions[0].Recent.Parked != 5 {
		t.Fatalf("paused subscription was worked on: %+v", s.Subscriptions[0])
	}

	if ok, err := q.DeletePause(ctx, fixture.Sub); err != nil || !ok {
		t.Fatalf("delete pause: %v %v", ok, err)
	}
	testenv.CheckFor(t, 20*time.Second, func() error {
		s, err := status.Collect(ctx, q, opts)
		if err != nil {
			return err
		}
		if r := s.Subscriptions[0]; r.Backlog != 0 || r.Recent.Parked != 8 || len(r.Holds) != 0 {
			return fmt.Errorf("row %+v", r)
		}
		return nil
	})
}

func publish(t *testing.T, q *queue.Queue, from, to int, kind string) {
	t.Helper()
	b := q.NewBatch()
	for i := from; i < to; i++ {
		ev := fixture.Build(i, kind, time.Now().Add(-time.Hour), fixture.Sub)
		b.Failed(ev.Sub, ev.ID, ev.Data)
	}
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func startWorker(t *testing.T, url, simURL string, store quota.Store) *worker.Worker {
	t.Helper()
	q := testenv.Queue(t, url, queue.Options{Storage: jetstream.MemoryStorage})
	pol, err := policy.New(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := marketo.New(marketo.Config{Subscription: fixture.Sub, Endpoint: simURL, AllowInsecure: true,
		ClientID: marketotest.DefaultClientID, ClientSecret: marketotest.DefaultClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(q, store, pol, worker.Config{Linger: 20 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
		Heartbeat: 100 * time.Millisecond, PausePoll: 50 * time.Millisecond, Version: "v-test", Owner: "w-status",
		Logger:        zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)),
		Subscriptions: []worker.Subscription{{ID: fixture.Sub, Client: c, Limits: lim}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		// A clean shutdown withdraws the heartbeat.
		if hb, err := q.Replicas(context.Background(), time.Now()); err != nil || len(hb) != 0 {
			t.Errorf("heartbeat after shutdown: %+v %v", hb, err)
		}
	})
	return w
}
