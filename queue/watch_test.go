package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost/internal/testenv"
	"github.com/leadops/repost/queue"
)

// A publication nobody acknowledges (its stream leader died holding it, or
// the request reached something that never answers) fails after
// PublishTimeout: a batch waiting for it would otherwise hold its events
// forever, and the worker with them.
func TestUnansweredPublicationFails(t *testing.T) {
	e := testenv.NATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q, err := queue.Connect(ctx, queue.Options{URL: e.URL, Prefix: "lost", PublishTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	sub, err := q.NC.Subscribe("lost.failed.>", func(*nats.Msg) {}) // takes the request, never replies
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := q.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	b := q.NewBatch()
	b.Failed("123-ABC-456", "evt-1", []byte(`{}`))
	err = b.Wait(ctx)
	if !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		t.Fatalf("Wait = %v, want %v", err, jetstream.ErrAsyncPublishTimeout)
	}
}
