package main

import (
	"context"
	"net/url"

	"github.com/leadops/repost/internal/console"
	"github.com/leadops/repost/internal/status"
	"github.com/leadops/repost/quota"
)

// newConsole builds the read-only console at /ui/ over this process's
// queue and limiter, with the status model of `repostctl status`.
func (a *app) newConsole() (*console.Console, error) {
	var subs []console.Sub
	var ssubs []status.Subscription
	for _, s := range a.cfg.Subscriptions {
		lim := quota.Limits{DailyQuota: s.Limits.DailyQuota, CallsPerWindow: s.Limits.CallsPerWindow,
			Window: s.Limits.Window, MaxConcurrency: s.Limits.MaxConcurrency}
		subs = append(subs, console.Sub{ID: s.ID, Limits: lim})
		ssubs = append(ssubs, status.Subscription{ID: s.ID, Limits: lim})
	}
	redisURL := ""
	if u, err := url.Parse(a.cfg.Redis.URL.Reveal()); err == nil && u.Host != "" {
		redisURL = u.Scheme + "://" + u.Host // never the password
	}
	src := console.FromStatus(a.q, status.Options{Subscriptions: ssubs, Limits: a.store, Redis: redisURL})
	if a.rdb == nil {
		src = inProcessLimits(src)
	}
	return console.New(a.q, a.store, src, console.Config{Subs: subs, ShowLeadData: a.cfg.HTTP.UI.ShowLeadData,
		Refresh: a.cfg.HTTP.UI.Refresh, Logger: a.log})
}

// inProcessLimits says that the limits live in this process: status.Collect
// reports the store it was given as a connected Redis.
func inProcessLimits(src console.Source) console.Source {
	return console.SourceFunc(func(ctx context.Context) (console.Status, error) {
		st, err := src.Snapshot(ctx)
		st.Redis = console.Endpoint{Status: "in-process"}
		return st, err
	})
}
