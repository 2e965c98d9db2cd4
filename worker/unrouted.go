package worker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/leadops/repost"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
)

// runUnrouted parks the events of subscriptions missing from the config
// (and those whose subject cannot name one). It looks for them by subject
// every UnroutedScan (see queue/unrouted.go for why not with a catch-all
// consumer): events of configured subscriptions are never read here.
func (w *Worker) runUnrouted(ctx context.Context) {
	for ctx.Err() == nil {
		if err := w.scanUnrouted(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("scanning for unrouted events failed; trying again", zap.Error(err))
		}
		sleepCtx(ctx, w.cfg.UnroutedScan)
	}
}

// scanUnrouted parks every event not yet handled on the subjects of
// subscriptions missing from the config and served by no replica (served.go).
func (w *Worker) scanUnrouted(ctx context.Context) error {
	subjects, err := w.q.FailedSubjects(ctx)
	if err != nil {
		return err
	}
	sc, err := w.readServed(ctx)
	if err != nil {
		return err
	}
	for subject := range subjects {
		sub, ok := w.q.FailedSubscription(subject)
		if ok && w.subs[sub] != nil {
			continue
		}
		if ok {
			if elsewhere, err := w.servedElsewhere(ctx, sc, sub); err != nil || elsewhere {
				if err != nil {
					return err
				}
				continue
			}
		}
		if err := w.drainUnrouted(ctx, subject, sub, ok); err != nil {
			return err
		}
	}
	return nil
}

// unroutedBatch is how many events are parked between two records of
// progress.
const unroutedBatch = 100

// drainUnrouted parks the events of one subject after its recorded
// progress, a batch at a time: it claims the events after the progress
// (queue.ClaimUnrouted), parks them, and once JetStream has acknowledged
// the batch's parked entries and outcomes records the batch's last
// sequence, also when a shutdown began meanwhile. A claim or hand-over
// held by another replica leaves the subject alone: two replicas never
// park the same events, and a subscription added on another replica
// starts its consumer after every event parked here. A crash between
// parking and recording parks the batch again once the claim is stale,
// which the de-duplication of those streams absorbs.
func (w *Worker) drainUnrouted(ctx context.Context, subject, sub string, subjectOK bool) error {
	p, err := w.q.UnroutedProgress(ctx, subject)
	if err != nil || w.heldElsewhere(p) {
		return err
	}
	if p.Unsaved() { // record the start at once: it may come from a consumer deleted later
		if p, err = w.q.SaveUnroutedProgress(ctx, subject, p, p.Done); errors.Is(err, queue.ErrProgressMoved) {
			return nil // another replica got there first: the next scan reads what it recorded
		}
		if err != nil {
			return err
		}
	}
	for ctx.Err() == nil {
		m, err := w.q.NextFailed(ctx, subject, p.Done+1)
		if err != nil || m == nil {
			return err
		}
		if p, err = w.q.ClaimUnrouted(ctx, subject, p); errors.Is(err, queue.ErrProgressMoved) {
			return nil
		} else if err != nil {
			return err
		}
		if p, err = w.parkUnroutedBatch(ctx, subject, sub, subjectOK, p, m); errors.Is(err, queue.ErrProgressMoved) {
			return nil
		} else if err != nil {
			return err
		}
		if subjectOK { // a replica starting to serve sub waits for the claims to end
			if sc, err := w.readServed(ctx); err != nil {
				return err
			} else if elsewhere, err := w.servedElsewhere(ctx, sc, sub); err != nil || elsewhere {
				return err
			}
		}
	}
	return ctx.Err()
}

// heldElsewhere reports whether another replica holds the subject of p:
// it is parking its events, or creating (within UnroutedGrace) the
// consumer of its subscription.
func (w *Worker) heldElsewhere(p queue.Progress) bool {
	if at, ok := p.Claimed(); ok {
		return w.cfg.Now().Sub(at) < queue.ClaimStale
	}
	if at, ok := p.HandedOver(); ok {
		return w.cfg.Now().Sub(at) < w.cfg.UnroutedGrace
	}
	return false
}

// parkUnroutedBatch parks m and the events after it, up to unroutedBatch,
// under the claim p, and records the last one parked. Once an event is
// parked its progress is recorded whatever happens next (a shutdown, a
// failed read), or a subscription added later would start its consumer
// before it and send it a second time; only a failed publication releases
// the claim at the progress before the batch, to park it again.
func (w *Worker) parkUnroutedBatch(ctx context.Context, subject, sub string, subjectOK bool, p queue.Progress, m *jetstream.RawStreamMsg) (queue.Progress, error) {
	f := w.newFinisher()
	last := p.Done
	var readErr error
	for n := 0; m != nil && n < unroutedBatch; n++ {
		w.parkUnrouted(f, m, sub, subjectOK)
		last = m.Sequence
		if n+1 < unroutedBatch {
			if m, readErr = w.q.NextFailed(ctx, subject, last+1); readErr != nil {
				break
			}
		}
	}
	bg := context.WithoutCancel(ctx)
	if err := f.flush(bg); err != nil {
		last = p.Done
		readErr = err
	}
	save, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	p, err := w.q.SaveUnroutedProgress(save, subject, p, last)
	if errors.Is(err, queue.ErrProgressMoved) {
		// The claim went stale and another replica took the subject over:
		// it handles what this one did not record.
		w.log.Warn("unrouted progress moved under a claim; another replica handles again what this one parked",
			zap.String("subject", subject), zap.Uint64("parkedUpTo", last))
		return p, err
	}
	return p, errors.Join(err, readErr)
}

// parkUnrouted parks an event read by sequence: there is no delivery to
// acknowledge, the caller records its progress instead.
func (w *Worker) parkUnrouted(f *finisher, m *jetstream.RawStreamMsg, sub string, subjectOK bool) {
	now := w.cfg.Now()
	raw := m.Data
	if !subjectOK || !queue.ValidToken(sub) {
		sub = repost.UnknownSubscription
	}
	ev, err := repost.DecodeEvent(raw, subjectSub(sub))
	switch {
	case err != nil:
		f.parkStored(m, nil, sub, repost.ParkInfo{Code: policy.CodeInvalid, Reason: err.Error(), ParkedAt: now}, repost.KindRejected)
	case sub == repost.UnknownSubscription:
		f.parkStored(m, ev, sub, repost.ParkInfo{Code: policy.CodeInvalid, ParkedAt: now,
			Reason: "subject " + m.Subject + " does not end in one subscription token"}, repost.KindRejected)
	default:
		f.parkStored(m, ev, sub, repost.ParkInfo{Code: policy.CodeUnknownSubscription, ParkedAt: now,
			Reason: "subscription " + sub + " is not in repost's configuration"}, repost.KindParked)
	}
}

func subjectSub(sub string) string {
	if sub == repost.UnknownSubscription {
		return ""
	}
	return sub
}
