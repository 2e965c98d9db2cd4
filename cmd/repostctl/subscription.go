package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

func newSubscriptionCmd(e *env, g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "subscription",
		Short: "Hold a subscription for every replica (pause) or let it run again (resume)",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("subscription needs a command: pause or resume")
		},
	}
	c.AddCommand(newPauseCmd(e, g), newResumeCmd(e, g))
	return c
}

type pauseOpts struct {
	until  string
	reason string
	actor  string
}

func newPauseCmd(e *env, g *globals) *cobra.Command {
	o := &pauseOpts{}
	c := &cobra.Command{
		Use:   "pause SUB --reason TEXT [--until T]",
		Short: "Hold a subscription for every replica: nothing is fetched, nothing is lost",
		Long: `Hold a subscription for every repostd replica, the way a halt does: its
events stay in POSTOUT_FAILED and nothing is fetched until the pause is lifted
(subscription resume) or --until passes. Each replica reads the pauses every
2 s; a call already sent finishes. The pause shows in status, in /readyz and
in the repost_subscription_paused metric, and is recorded as a "paused"
outcome with the actor and the reason.

--until is a duration from now (90m, 2h) or an RFC 3339 time.`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if strings.TrimSpace(o.reason) == "" {
				return usagef("pause needs --reason: why the subscription is held")
			}
			now := e.now()
			var until time.Time
			if o.until != "" {
				var err error
				if until, err = parseUntil(o.until, now); err != nil {
					return err
				}
			}
			return pauseSub(c.Context(), e, g, args[0], o, now, until)
		},
	}
	fs := c.Flags()
	fs.StringVar(&o.until, "until", "", "lift the pause by itself then: a duration (2h) or an RFC 3339 time (default: until resumed)")
	fs.StringVar(&o.reason, "reason", "", "why (required), shown in status and recorded in the outcome")
	actorFlag(fs, e, &o.actor)
	return c
}

type resumeOpts struct{ actor string }

func newResumeCmd(e *env, g *globals) *cobra.Command {
	o := &resumeOpts{}
	c := &cobra.Command{
		Use:   "resume SUB",
		Short: "Lift an operator's pause: every replica fetches again within 2 s",
		Long: `Lift a subscription's pause. Every replica fetches its events again within
2 s (its pause poll). Recorded as a "resumed" outcome with the actor. A
subscription that is not paused is left as it is (exit 0). A halt or a block
set by the worker is not a pause: see status.`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return resumeSub(c.Context(), e, g, args[0], o) },
	}
	actorFlag(c.Flags(), e, &o.actor)
	return c
}

// parseUntil reads --until: a duration from now or an RFC 3339 time, in
// the future.
func parseUntil(s string, now time.Time) (time.Time, error) {
	var t time.Time
	if d, err := time.ParseDuration(s); err == nil {
		t = now.Add(d)
	} else if t, err = time.Parse(time.RFC3339, s); err != nil {
		return time.Time{}, usagef("--until %q is neither a duration (2h, 30m) nor an RFC 3339 time", s)
	}
	if !t.After(now) {
		return time.Time{}, usagef("--until %q is not in the future", s)
	}
	return t.UTC(), nil
}

// actionID names a pause or resume outcome: it has no event of its own.
func actionID(kind repost.Kind, sub string, at time.Time) string {
	return string(kind) + "-" + sub + "-" + at.UTC().Format("20060102T150405.000000000Z")
}

func pauseSub(ctx context.Context, e *env, g *globals, sub string, o *pauseOpts, now, until time.Time) error {
	s, err := openSession(ctx, e, g)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := selectSubs(s.cfg, []string{sub}); err != nil {
		return err
	}
	old, had, err := s.q.GetPause(ctx, sub)
	if err != nil {
		return err
	}
	at := now.UTC()
	p := queue.Pause{Subscription: sub, Reason: o.reason, Actor: o.actor, At: at, Until: until}
	if err := s.q.SetPause(ctx, p); err != nil {
		return err
	}
	reason := o.reason
	if !until.IsZero() {
		reason += " (until " + until.Format(time.RFC3339) + ")"
	}
	if err := writeActionOutcome(ctx, s.q, &repost.Outcome{EventID: actionID(repost.KindPaused, sub, at),
		Subscription: sub, Kind: repost.KindPaused, Reason: reason, At: at, Actor: o.actor}); err != nil {
		return fmt.Errorf("the pause holds, but its outcome was not recorded: %w", err)
	}
	if had && old.InForce(now) {
		fmt.Fprintf(e.stdout, "%s was already paused by %s (%s): replaced\n", sub, dash(old.Actor), old.Reason)
	}
	when := "until resumed (repostctl subscription resume " + sub + ")"
	if !until.IsZero() {
		when = "until " + until.In(e.loc).Format("2006-01-02 15:04:05 MST") + " (in " + age(until.Sub(now)) + ")"
	}
	fmt.Fprintf(e.stdout, "paused %s %s, by %s: %s\nevery replica stops fetching it within 2 s; its events wait in POSTOUT_FAILED\n",
		sub, when, o.actor, o.reason)
	warnNoReplica(ctx, e, s.q, now)
	return nil
}

func resumeSub(ctx context.Context, e *env, g *globals, sub string, o *resumeOpts) error {
	s, err := openSession(ctx, e, g)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := selectSubs(s.cfg, []string{sub}); err != nil {
		return err
	}
	now := e.now()
	old, had, err := s.q.GetPause(ctx, sub)
	if err != nil {
		return err
	}
	if !had {
		fmt.Fprintf(e.stdout, "%s is not paused: nothing to resume\n", sub)
		return nil
	}
	if _, err := s.q.DeletePause(ctx, sub); err != nil {
		return err
	}
	at := now.UTC()
	reason := fmt.Sprintf("paused by %s at %s: %s", dash(old.Actor), old.At.UTC().Format(time.RFC3339), old.Reason)
	if err := writeActionOutcome(ctx, s.q, &repost.Outcome{EventID: actionID(repost.KindResumed, sub, at),
		Subscription: sub, Kind: repost.KindResumed, Reason: reason, At: at, Actor: o.actor}); err != nil {
		return fmt.Errorf("resumed, but the outcome was not recorded: %w", err)
	}
	if !old.InForce(now) {
		fmt.Fprintf(e.stdout, "resumed %s (its pause had already ended at %s)\n", sub, old.Until.In(e.loc).Format("2006-01-02 15:04:05 MST"))
	} else {
		fmt.Fprintf(e.stdout, "resumed %s, paused %s ago by %s: every replica fetches it again within 2 s\n",
			sub, age(now.Sub(old.At)), dash(old.Actor))
	}
	warnNoReplica(ctx, e, s.q, now)
	return nil
}

func writeActionOutcome(ctx context.Context, q *queue.Queue, o *repost.Outcome) error {
	if err := o.Validate(); err != nil {
		return err
	}
	b := q.NewBatch()
	b.Outcome(o)
	return b.Wait(ctx)
}

// warnNoReplica says when no repostd announces itself: nothing runs the
// subscriptions either way.
func warnNoReplica(ctx context.Context, e *env, q *queue.Queue, now time.Time) {
	beats, err := q.Replicas(ctx, now)
	if err == nil && len(beats) == 0 {
		e.warn("no repostd is running on this NATS (no replica heartbeat): nothing is processed until one starts")
	}
}
