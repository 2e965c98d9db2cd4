package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func (q *Queue) replicas() int {
	if q.opts.Replicas <= 0 {
		return 1
	}
	return q.opts.Replicas
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Ensure creates the streams, the key-value bucket and the object store
// bucket of the contract when they are missing. Existing ones are left exactly as they are.
func (q *Queue) Ensure(ctx context.Context) error {
	dupe := orDefault(q.opts.DupeWin, 24*time.Hour)
	maxAge := orDefault(q.opts.MaxAge, 14*24*time.Hour)
	streams := []jetstream.StreamConfig{
		{
			Name: StreamFailed, Subjects: []string{q.Subjects.All("failed")},
			Description: "failed post-outs waiting for repost",
			MaxAge:      maxAge,
			Duplicates:  min(orDefault(q.opts.FailedDupeWin, 2*time.Hour), maxAge), // the server wants it within the max age
		},
		{
			Name: StreamOutcomes, Subjects: []string{q.Subjects.All("outcome")},
			Description: "one terminal outcome per failed post-out, and repostctl's",
			MaxAge:      30 * 24 * time.Hour, Duplicates: dupe,
		},
		{
			Name: StreamParked, Subjects: []string{q.Subjects.All("parked")},
			Description: "leads that need a human, kept until requeued or discarded",
			Duplicates:  dupe,
		},
		{
			Name: StreamSucceeded, Subjects: []string{q.Subjects.All("succeeded")},
			Description: "later successful post-outs, for superseding",
			MaxAge:      30 * 24 * time.Hour,
		},
	}
	for _, sc := range streams {
		sc.Retention = jetstream.LimitsPolicy
		sc.Storage = q.opts.Storage
		sc.Replicas = q.replicas()
		if err := q.ensureStream(ctx, sc); err != nil {
			return err
		}
	}
	kv, err := q.JS.KeyValue(ctx, BucketEvents)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = q.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: BucketEvents, Description: "repost: attempts per event",
			TTL: 30 * 24 * time.Hour, History: 1, Storage: q.opts.Storage, Replicas: q.replicas(),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = q.JS.KeyValue(ctx, BucketEvents)
		}
	}
	if err != nil {
		return fmt.Errorf("queue: bucket %s: %w", BucketEvents, err)
	}
	q.events = kv
	return q.ensureBodies(ctx)
}

func (q *Queue) ensureStream(ctx context.Context, sc jetstream.StreamConfig) error {
	_, err := q.JS.Stream(ctx, sc.Name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("queue: stream %s: %w", sc.Name, err)
	}
	_, err = q.JS.CreateStream(ctx, sc)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil // another replica made it first
	}
	if err != nil {
		return fmt.Errorf("queue: create stream %s: %w", sc.Name, err)
	}
	return nil
}

// AckWait is the ack wait consumers are created with.
func (q *Queue) AckWait() time.Duration { return orDefault(q.opts.AckWait, 2*time.Minute) }

// ConsumerFor returns the durable pull consumer of a subscription's failed
// events, creating it when missing.
func (q *Queue) ConsumerFor(ctx context.Context, sub string) (jetstream.Consumer, error) {
	if !ValidToken(sub) {
		return nil, fmt.Errorf("queue: subscription %q cannot be a subject token", sub)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       ConsumerName(sub),
		Description:   "repost: failed post-outs of " + sub,
		FilterSubject: q.Subjects.Failed(sub),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       orDefault(q.opts.AckWait, 2*time.Minute),
		MaxDeliver:    -1, // attempts are counted by repost, throttles excluded
		MaxAckPending: 5000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if c, err := q.JS.Consumer(ctx, StreamFailed, cc.Durable); err == nil {
		return c, nil
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("queue: consumer %s: %w", cc.Durable, err)
	}
	// A subscription added to the config after its events were parked as
	// unknown-subscription starts after them: those are replayed with
	// repostctl requeue, not sent a second time by the new consumer. The
	// hand-over keeps the unrouted scans of every replica off its events
	// from here on (queue/unrouted.go).
	if q.events != nil {
		done, err := q.handOver(ctx, cc.FilterSubject)
		if err != nil {
			return nil, err
		}
		if done > 0 {
			cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, done+1
		}
	}
	return q.ensureConsumer(ctx, StreamFailed, cc)
}

// SucceededConsumer returns the consumer of success notices.
func (q *Queue) SucceededConsumer(ctx context.Context) (jetstream.Consumer, error) {
	return q.ensureConsumer(ctx, StreamSucceeded, jetstream.ConsumerConfig{
		Durable:       ConsumerSucceeded,
		Description:   "repost: later successful post-outs",
		FilterSubject: q.Subjects.All("succeeded"),
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxDeliver:    -1,
		MaxAckPending: 10000,
	})
}

func (q *Queue) ensureConsumer(ctx context.Context, stream string, cc jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := q.JS.Consumer(ctx, stream, cc.Durable)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("queue: consumer %s: %w", cc.Durable, err)
	}
	c, err = q.JS.CreateConsumer(ctx, stream, cc)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return q.JS.Consumer(ctx, stream, cc.Durable)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: create consumer %s: %w", cc.Durable, err)
	}
	return c, nil
}
