package worker

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/quota"
)

// usageClient reads the day's usage at Marketo (*marketo.Client).
type usageClient interface {
	Usage(ctx context.Context) (marketo.Usage, error)
	APIUser() string
}

var _ usageClient = (*marketo.Client)(nil)

// usageTries bounds the usage reads of one restore. They run on one
// admission, the only call admitted while the count is restored (so a
// window cannot overflow), and answers such as 604, 608 and 611 are not
// counted by Marketo: a transient failure does not make the subscription
// assume the worst case for the rest of the day.
const usageTries = 3

func readUsage(ctx context.Context, uc usageClient) (marketo.Usage, error) {
	var err error
	for try := 1; try <= usageTries; try++ {
		var u marketo.Usage
		if u, err = uc.Usage(ctx); err == nil || ctx.Err() != nil {
			return u, err
		}
		sleepCtx(ctx, time.Duration(try)*200*time.Millisecond)
	}
	return marketo.Usage{}, err
}

// errNoUsage: the subscription's client cannot read Marketo's usage.
var errNoUsage = errors.New("the Marketo client cannot read the usage")

// stateLost reports a loss of the subscription's limits state, found by
// this replica's admission: the limiter now holds every admission for one
// window plus the guard, then has the day's count restored.
func (s *subRunner) stateLost(adm quota.Admission) {
	s.w.m.stateLost.WithLabelValues(s.sub.ID).Inc()
	s.w.log.Error("limits state lost in Redis (its epoch key is gone): holding admissions one window plus the guard, then restoring the day's count from Marketo's usage",
		zap.String("subscription", s.sub.ID), zap.Duration("hold", adm.RetryAfter), zap.Time("at", adm.At))
}

// restoreCount restores the day's count after a loss: one call, admitted,
// reads Marketo's usage (the API user's count, else the instance's total),
// and the day resumes from the larger of it and the count kept since. It
// returns how long to wait before admitting again (0: at once).
func (s *subRunner) restoreCount(ctx context.Context) time.Duration {
	read := func(ctx context.Context) (int, string, error) {
		uc, ok := s.sub.Client.(usageClient)
		if !ok {
			return 0, "", errNoUsage
		}
		u, err := readUsage(ctx, uc)
		if err != nil {
			return 0, "", err
		}
		user := uc.APIUser()
		if n, mine := u.Mine(user); mine {
			return n, "marketo usage " + u.Date + " (API user " + user + ")", nil
		}
		return u.Total, "marketo usage " + u.Date + " (instance total)", nil
	}
	count := read
	read = func(ctx context.Context) (int, string, error) {
		n, source, err := count(ctx)
		s.restoreMarks(ctx) // before the restore ends the hold: no call is sent on forgotten marks
		return n, source, err
	}
	r, err := s.w.lim.Restore(ctx, s.sub.ID, s.sub.Limits, read)
	switch {
	case err != nil:
		s.w.log.Warn("restoring the day's count failed; trying again", zap.String("subscription", s.sub.ID), zap.Error(err))
		return time.Second
	case !r.Done:
		return r.RetryAfter
	case r.ReadErr != nil:
		s.w.log.Warn("Marketo's usage could not be read after the limits state was lost; assuming the worst case the limits allow",
			zap.String("subscription", s.sub.ID), zap.Int("count", r.Count), zap.String("source", r.Source), zap.Error(r.ReadErr))
	default:
		s.w.log.Info("day's count restored after the limits state was lost",
			zap.String("subscription", s.sub.ID), zap.Int("count", r.Count), zap.String("source", r.Source))
	}
	return 0
}

// marksTries bounds the reads of the success marks back from NATS in one
// restore.
const marksTries = 3

// restoreMarks writes the subscription's success marks back into the
// limiter after a loss, read from NATS (queue.ScanMarks): the reposted
// outcomes and DAP's success notices of the marks' lifetime. It runs while
// admissions are held, so every batch admitted after the loss is checked
// against them (granted.afterLoss). Should NATS not answer, the marks stay
// partial: an older event of a lead whose mark is missing may then be sent.
func (s *subRunner) restoreMarks(ctx context.Context) {
	start := time.Now()
	since := s.w.cfg.Now().Add(-quota.DefaultSuccessTTL)
	var leads []string
	var at []time.Time
	flush := func() error {
		if len(leads) == 0 {
			return nil
		}
		err := s.w.lim.MarkSuccesses(ctx, s.sub.ID, leads, at)
		leads, at = leads[:0], at[:0]
		return err
	}
	var n int
	var err error
	for try := 1; try <= marksTries; try++ {
		leads, at = leads[:0], at[:0]
		n, err = s.w.q.ScanMarks(ctx, s.sub.ID, since, func(lead string, t time.Time) error {
			leads, at = append(leads, lead), append(at, t)
			if len(leads) < 500 {
				return nil
			}
			return flush()
		})
		if err == nil {
			err = flush()
		}
		if err == nil || ctx.Err() != nil {
			break
		}
		sleepCtx(ctx, time.Duration(try)*200*time.Millisecond)
	}
	s.w.m.marksRestored.WithLabelValues(s.sub.ID).Add(float64(n))
	if err != nil {
		s.w.log.Error("restoring the success marks from NATS after the limits state was lost failed; an older event of a lead whose mark is missing may overwrite newer data",
			zap.String("subscription", s.sub.ID), zap.Int("marks", n), zap.Error(err))
		return
	}
	s.w.log.Info("success marks restored from NATS after the limits state was lost",
		zap.String("subscription", s.sub.ID), zap.Int("marks", n), zap.Duration("took", time.Since(start)))
}
