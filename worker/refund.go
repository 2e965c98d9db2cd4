package worker

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/quota"
)

// releaseAfter frees the lease of a call Marketo answered. A call Marketo
// did not count (601, 602, 604, 605, 608, 611: quota.Uncounted) is
// refunded, its place in the window and its call of the day given back:
// otherwise its retry, and every call behind it, would wait for a place
// Marketo never took (5% of a drain's calls at a 5% fault rate). Any other
// answer, and no answer, keeps its place.
func (s *subRunner) releaseAfter(ctx context.Context, l quota.Lease, err error) {
	var ae *marketo.APIError
	if !errors.As(err, &ae) || !quota.Uncounted(ae.Code) {
		s.release(ctx, l)
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.w.lim.Refund(rctx, l); err != nil {
		s.w.log.Warn("refund failed; the call keeps its place and the lease expires by its TTL",
			zap.String("subscription", s.sub.ID), zap.Error(err))
	}
}
