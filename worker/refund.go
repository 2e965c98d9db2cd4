package worker

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/quota"
)

// releaseAfter frees the lease of a call Marketo was asked to take. A call
// Marketo did not count (601, 602, 604, 605, 608, 611: quota.Uncounted) is
// refunded, its place in the window and its call of the day given back:
// otherwise its retry, and every call behind it, would wait for a place
// Marketo never took (5% of a drain's calls at a 5% fault rate). A call
// Marketo answered otherwise was counted no later than its answer, so its
// place ends one of Marketo's windows after the answer (quota.Answered):
// the guard band only covers a call between its admission and its answer,
// and a call answered within it need not wait out the whole band (a tenth
// of the throughput of a binding window). No answer (a timeout, a network
// error) keeps the admission's place.
func (s *subRunner) releaseAfter(ctx context.Context, l quota.Lease, err error) {
	var ae *marketo.APIError
	isAPI := errors.As(err, &ae)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch {
	case isAPI && quota.Uncounted(ae.Code):
		if err := s.w.lim.Refund(rctx, l); err != nil {
			s.w.log.Warn("refund failed; the call keeps its place and the lease expires by its TTL",
				zap.String("subscription", s.sub.ID), zap.Error(err))
		}
	case err == nil || isAPI:
		if err := s.w.lim.Answered(rctx, l, s.sub.Limits, s.guard); err != nil {
			s.w.log.Warn("release failed; the lease expires by its TTL", zap.String("subscription", s.sub.ID), zap.Error(err))
		}
	default:
		s.release(ctx, l)
	}
}
