package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leadops/repost/queue"
)

// publishOnce publishes to stream those of the publications msgIDs that the
// ledger does not hold (see queue/ledger.go), and records each that
// JetStream acknowledged. add adds publication i to b. It returns, by
// index, whether each was there already: in the ledger, or acknowledged as
// a duplicate (another run published it within the stream's window). A
// failure is returned after the acknowledged ones are recorded, so that a
// rerun publishes only what did not get through.
func publishOnce(ctx context.Context, q *queue.Queue, stream string, msgIDs []string, now time.Time,
	add func(b *queue.Batch, i int)) ([]bool, error) {
	already, err := q.Recorded(ctx, stream, msgIDs)
	if err != nil {
		return nil, err
	}
	b := q.NewBatch()
	var sent []int // index in msgIDs of each publication of b
	for i := range msgIDs {
		if !already[i] {
			add(b, i)
			sent = append(sent, i)
		}
	}
	if len(sent) == 0 {
		return already, nil
	}
	var acked []queue.LedgerEntry
	var errs []error
	for j, perr := range b.Results(ctx, 0) {
		if perr != nil {
			errs = append(errs, perr)
			continue
		}
		ack := b.Ack(j)
		already[sent[j]] = ack.Duplicate
		acked = append(acked, queue.LedgerEntry{MsgID: msgIDs[sent[j]], Stream: stream, Seq: ack.Sequence, At: now.UTC()})
	}
	// What was acknowledged is recorded even when interrupted meanwhile.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	rerr := q.Record(rctx, acked)
	if len(errs) > 0 {
		return already, fmt.Errorf("%d of %d publications failed: %w", len(errs), len(sent), errors.Join(append(errs, rerr)...))
	}
	if rerr != nil {
		return already, fmt.Errorf("published, but not recorded as published: %w", rerr)
	}
	return already, nil
}
