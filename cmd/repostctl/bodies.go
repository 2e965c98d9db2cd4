package main

import (
	"context"
	"fmt"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

// attachBody reads the body of an entry that refers to one stored in
// REPOST_BODIES (the worker's way with events too large for their entry),
// so that show prints it and requeue publishes it. A body that cannot be
// read leaves the entry as it is, with EventErr saying why.
func attachBody(ctx context.Context, q *queue.Queue, p *repost.ParkedLead) error {
	if p == nil || p.Parked.BodyRef == "" {
		return nil
	}
	body, err := q.GetBody(ctx, p.Parked.BodyRef)
	if err == nil {
		err = p.AttachBody(body)
	}
	if err != nil {
		p.EventErr = fmt.Errorf("%w: %v", repost.ErrBodyNotAttached, err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}
