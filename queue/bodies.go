package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketBodies is the Object Store bucket of event bodies too large to sit
// inside their parked entry (the entry's "bodyRef" names the object).
const BucketBodies = "REPOST_BODIES"

// BodyName is the object name of a parked event's body.
func BodyName(sub, eventID string) string { return sub + "/" + eventID }

func (q *Queue) ensureBodies(ctx context.Context) error {
	_, err := q.JS.ObjectStore(ctx, BucketBodies)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = q.JS.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: BucketBodies, Description: "repost: bodies of parked events too large for their entry",
			Storage: q.opts.Storage, Replicas: q.replicas(),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("queue: bucket %s: %w", BucketBodies, err)
	}
	return nil
}

func (q *Queue) bodies(ctx context.Context) (jetstream.ObjectStore, error) {
	os, err := q.JS.ObjectStore(ctx, BucketBodies)
	if err != nil {
		return nil, fmt.Errorf("queue: bucket %s: %w", BucketBodies, err)
	}
	return os, nil
}

// PutBody stores a parked event's body under name (BodyName); storing the
// same body again, as a redelivered event does, is harmless.
func (q *Queue) PutBody(ctx context.Context, name string, body []byte) error {
	os, err := q.bodies(ctx)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		if err = q.ensureBodies(ctx); err == nil {
			os, err = q.bodies(ctx)
		}
	}
	if err != nil {
		return err
	}
	if _, err := os.PutBytes(ctx, name, body); err != nil {
		return fmt.Errorf("queue: store body %s: %w", name, err)
	}
	return nil
}

// GetBody reads a parked event's body; the error wraps
// jetstream.ErrObjectNotFound when there is none.
func (q *Queue) GetBody(ctx context.Context, name string) ([]byte, error) {
	os, err := q.bodies(ctx)
	if err != nil {
		return nil, err
	}
	b, err := os.GetBytes(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("queue: body %s: %w", name, err)
	}
	return b, nil
}

// DeleteParkedWithBody removes a parked entry, then the body it refers to
// (bodyRef, "" for none): a body outlives its entry at worst, never the
// reverse. Either already gone is not an error.
func (q *Queue) DeleteParkedWithBody(ctx context.Context, seq uint64, bodyRef string) error {
	if err := q.DeleteParked(ctx, seq); err != nil || bodyRef == "" {
		return err
	}
	os, err := q.bodies(ctx)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Delete(ctx, bodyRef); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("queue: delete body %s: %w", bodyRef, err)
	}
	return nil
}
