package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/status"
	"github.com/leadops/repost/quota"
)

// watchEvery is how often `status --watch` redraws.
const watchEvery = 2 * time.Second

type statusOpts struct {
	watch bool
}

func newStatusCmd(e *env, g *globals) *cobra.Command {
	o := &statusOpts{}
	c := &cobra.Command{
		Use:   "status [SUB...]",
		Short: "The live pipeline: backlog, work in flight, recent outcomes, limits and holds of each subscription",
		Long: `The first screen of an incident. A header line names NATS, Redis and every
repostd replica seen by its heartbeat, with its version; then one row per
subscription:

  BACKLOG    events not finished: pending (not yet delivered) + ack pending
             (delivered, not finished); OLDEST is the age of the oldest one
  IN FLIGHT  events the live replicas hold; DEFERRED, delivered events no
             replica holds (waiting out a retry backoff)
  5M R/P/S   reposted, parked and skipped over the last 5 minutes
  WINDOW     Marketo calls in the current window against the limit
  QUOTA      today's calls used and left, the reset in Chicago and local
             time, and when the quota runs out at the current rate
  HOLD       halted, paused or blocked: until when, and why

With --watch the screen is redrawn every 2 s (plain snapshots, one after
the other, when the output is not a terminal) until Ctrl-C. A table taller
than the terminal is cut to fit, and the last line says how many lines
were left out: enlarge the terminal or name the subscriptions to watch.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error { return runStatus(c.Context(), e, g, o, args) },
	}
	c.Flags().BoolVarP(&o.watch, "watch", "w", false, "redraw every 2 s until interrupted")
	return c
}

func runStatus(ctx context.Context, e *env, g *globals, o *statusOpts, args []string) error {
	s, err := openSession(ctx, e, g)
	if err != nil {
		return err
	}
	defer s.close()
	subs, err := selectStatusSubs(s.cfg, args)
	if err != nil {
		return err
	}
	opts := status.Options{Now: e.now, Redis: redisDisplay(s.cfg)}
	for _, sub := range subs {
		opts.Subscriptions = append(opts.Subscriptions, status.Subscription{ID: sub.ID, Limits: quota.Limits{
			DailyQuota: sub.Limits.DailyQuota, CallsPerWindow: sub.Limits.CallsPerWindow,
			Window: sub.Limits.Window, MaxConcurrency: sub.Limits.MaxConcurrency, LeaseTTL: s.cfg.Worker.LeaseTTL}})
	}
	// The limits are visible from here only when they are shared (Redis);
	// in-process limits live inside repostd and the snapshot says so.
	if e.limitStore != nil || s.cfg.Redis.URL.Reveal() != "" {
		open := e.limitStore
		if open == nil {
			open = e.openLimitStore
		}
		store, _, err := open(ctx, s.cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		opts.Limits = store
	}
	frames := 0
	draw := func() error {
		snap, err := status.Collect(ctx, s.q, opts)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if g.json() {
			err = writeJSON(&b, snap)
		} else {
			err = printStatus(&b, snap, e.loc)
		}
		if err != nil {
			return err
		}
		out := b.Bytes()
		if o.watch && e.outTerminal {
			rows, cols := 0, 0
			if e.termSize != nil {
				rows, cols = e.termSize()
			}
			out = inPlace(fitFrame(out, rows, cols), frames == 0)
		}
		frames++
		_, err = e.stdout.Write(out)
		return err
	}
	if !o.watch {
		return draw()
	}
	every := e.watchEvery
	if every <= 0 {
		every = watchEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := draw(); err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C while drawing
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil // Ctrl-C: a watch ends cleanly
		case <-t.C:
		}
		if !e.outTerminal && !g.json() {
			fmt.Fprintln(e.stdout)
		}
	}
}

// selectStatusSubs is every configured subscription, or the named ones.
func selectStatusSubs(cfg *config.Config, args []string) ([]config.Subscription, error) {
	if len(args) == 0 {
		return cfg.Subscriptions, nil
	}
	var out []config.Subscription
	for _, a := range args {
		s, err := selectSubs(cfg, []string{a})
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

// redisDisplay is the configured Redis URL without credentials.
func redisDisplay(cfg *config.Config) string {
	if u, err := url.Parse(cfg.Redis.URL.Reveal()); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + u.Path
	}
	return ""
}

// printStatus writes the header line and the table of a snapshot.
func printStatus(w io.Writer, s *status.Snapshot, loc *time.Location) error {
	fmt.Fprintf(w, "%s  %s  %s\n", s.At.In(loc).Format("2006-01-02 15:04:05 MST"), endpointLine("NATS", s.NATS), endpointLine("Redis", s.Redis))
	if len(s.Replicas) == 0 {
		fmt.Fprintln(w, "replicas: none seen (no repostd is running: nothing is being processed)")
	} else {
		parts := make([]string, len(s.Replicas))
		for i, r := range s.Replicas {
			parts[i] = fmt.Sprintf("%s %s on %s (up %s, %d %s)", r.ID, r.Version, dash(r.Host),
				age(s.At.Sub(r.StartedAt)), len(r.Subscriptions), plural(len(r.Subscriptions), "subscription"))
		}
		fmt.Fprintf(w, "replicas (%d): %s\n", len(s.Replicas), strings.Join(parts, "; "))
	}
	if len(s.Subscriptions) == 0 {
		_, err := fmt.Fprintln(w, "no subscriptions configured")
		return err
	}
	fmt.Fprintln(w)
	t := newTable(w, "SUBSCRIPTION", "BACKLOG (PEND+ACK)", "OLDEST", "IN FLIGHT", "DEFERRED", "5M R/P/S",
		"WINDOW", "QUOTA USED/LEFT", "RESETS (CHICAGO = LOCAL)", "RUNS OUT", "HOLD")
	var notes []string
	for _, r := range s.Subscriptions {
		backlog, oldest := fmt.Sprintf("%d (%d+%d)", r.Backlog, r.Pending, r.AckPending), "-"
		if !r.OldestAt.IsZero() {
			oldest = age(time.Duration(r.OldestAge))
		}
		win, quotaCell, resets, runsOut := "-", "-", "-", "-"
		if l := r.Limits; l != nil {
			win = fmt.Sprintf("%d of %d per %s", l.CallsInWindow, l.WindowLimit, time.Duration(l.Window))
			quotaCell = thousands(l.QuotaUsed) + " / " + thousands(l.QuotaLeft)
			resets = l.ResetAt.In(chicago).Format("15:04 MST") + " = " + l.ResetAt.In(loc).Format("15:04 MST") +
				", in " + roundDur(l.ResetAt.Sub(s.At))
			switch {
			case l.QuotaLeft == 0:
				runsOut = "used up"
			case !l.QuotaRunsOutAt.IsZero():
				runsOut = l.QuotaRunsOutAt.In(loc).Format("15:04 MST") + fmt.Sprintf(" (%.0f/min)", l.RatePerMinute)
			case l.RatePerMinute > 0:
				runsOut = fmt.Sprintf("lasts (%.0f/min)", l.RatePerMinute)
			}
		}
		t.row(r.Subscription, backlog, oldest, fmt.Sprint(r.InFlight), fmt.Sprint(r.Deferred),
			fmt.Sprintf("%d/%d/%d", r.Recent.Reposted, r.Recent.Parked, r.Recent.Skipped),
			win, quotaCell, resets, runsOut, holdCell(r.Holds, s.At, loc))
		for _, e := range r.Errors {
			notes = append(notes, r.Subscription+": "+e)
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(w, "  "+n)
	}
	return nil
}

func endpointLine(name string, e status.Endpoint) string {
	var b strings.Builder
	b.WriteString(name)
	if e.URL != "" {
		b.WriteString(" " + e.URL)
	}
	if e.Version != "" {
		b.WriteString(" v" + strings.TrimPrefix(e.Version, "v"))
	}
	b.WriteString(" " + e.Status)
	if e.Error != "" {
		b.WriteString(" (" + e.Error + ")")
	}
	return b.String()
}

// holdCell writes a row's holds: "paused until 16:04 CET by alice: freeze".
func holdCell(hs []status.Hold, now time.Time, loc *time.Location) string {
	if len(hs) == 0 {
		return "-"
	}
	parts := make([]string, len(hs))
	for i, h := range hs {
		p := h.Kind
		if !h.Until.IsZero() {
			p += " until " + h.Until.In(loc).Format("15:04:05 MST") + " (" + age(h.Until.Sub(now)) + ")"
		}
		if h.Actor != "" {
			p += " by " + h.Actor
		}
		if h.Reason != "" {
			p += ": " + clip(h.Reason, 48)
		}
		parts[i] = p
	}
	return strings.Join(parts, "; ")
}

// age writes a duration for people: 45s, 3m20s, 2h05m, 3d04h.
func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}
