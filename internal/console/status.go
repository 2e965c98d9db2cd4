package console

import (
	"context"
	"time"

	"github.com/leadops/repost/internal/status"
)

// FromStatus is a Source over status.Collect: the same figures as
// `repostctl status`.
func FromStatus(q status.Queue, o status.Options) Source {
	return SourceFunc(func(ctx context.Context) (Status, error) {
		s, err := status.Collect(ctx, q, o)
		if err != nil || s == nil {
			return Status{}, err
		}
		return convert(s), nil
	})
}

func convert(s *status.Snapshot) Status {
	st := Status{At: s.At,
		NATS:  Endpoint{URL: s.NATS.URL, Version: s.NATS.Version, Status: s.NATS.Status, Error: s.NATS.Error},
		Redis: Endpoint{URL: s.Redis.URL, Version: s.Redis.Version, Status: s.Redis.Status, Error: s.Redis.Error}}
	for _, r := range s.Replicas {
		st.Replicas = append(st.Replicas, Replica{ID: r.ID, Host: r.Host, Version: r.Version, StartedAt: r.StartedAt, SeenAt: r.SeenAt})
	}
	for _, r := range s.Subscriptions {
		row := SubStatus{ID: r.Subscription, Backlog: r.Backlog, OldestAge: time.Duration(r.OldestAge), InFlight: r.InFlight,
			Deferred: r.Deferred, Reposted: r.Recent.Reposted, Parked: r.Recent.Parked, Skipped: r.Recent.Skipped,
			Calls: r.Recent.Calls, Errors: r.Errors}
		if l := r.Limits; l != nil {
			row.Limits = &Limits{CallsInWindow: l.CallsInWindow, WindowLimit: l.WindowLimit, Window: time.Duration(l.Window),
				QuotaUsed: l.QuotaUsed, QuotaLimit: l.QuotaLimit, ResetAt: l.ResetAt, RunsOutAt: l.QuotaRunsOutAt}
		}
		for _, h := range r.Holds {
			row.Holds = append(row.Holds, Hold{Kind: h.Kind, Until: h.Until, Reason: h.Reason, Actor: h.Actor})
		}
		st.Subs = append(st.Subs, row)
	}
	return st
}
