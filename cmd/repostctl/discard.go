package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

// discardOpts are discard's flags.
type discardOpts struct {
	ff     filterFlags
	all    bool
	dryRun bool
	reason string
	actor  string
}

func newDiscardCmd(e *env, g *globals) *cobra.Command {
	o := &discardOpts{}
	c := &cobra.Command{
		Use:   "discard [filters] --reason TEXT",
		Short: "Drop parked leads for good, recording who, when and why",
		Long: `Drop parked leads for good. Each gets a "discarded" outcome recording the
actor, the time and the reason, acknowledged before the parked entry is deleted.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := o.ff.parse(e.now())
			if err != nil {
				return err
			}
			switch {
			case strings.TrimSpace(o.reason) == "":
				return usagef("discard needs --reason: why these leads are dropped")
			case !f.narrows() && !o.all:
				return usagef("discard needs a filter (--subscription, --code, --field, --lead, --since) or --all")
			}
			s, err := openSession(c.Context(), e, g)
			if err != nil {
				return err
			}
			defer s.close()
			return discard(c.Context(), e, s.q, f, o)
		},
	}
	fs := c.Flags()
	o.ff.register(fs, 0)
	fs.BoolVar(&o.all, "all", false, "allow discarding without any filter")
	fs.BoolVar(&o.dryRun, "dry-run", false, "count what would be discarded, change nothing")
	fs.StringVar(&o.reason, "reason", "", "why (required), recorded in the discarded outcomes")
	actorFlag(fs, e, &o.actor)
	return c
}

func discard(ctx context.Context, e *env, q *queue.Queue, f filter, o *discardOpts) error {
	seqs, err := collectSeqs(ctx, q, f, e.warn)
	if err != nil {
		return err
	}
	switch {
	case len(seqs) == 0:
		fmt.Fprintln(e.stdout, "no parked leads match")
		return nil
	case o.dryRun:
		fmt.Fprintf(e.stdout, "dry run: %d parked leads would be discarded; nothing was changed\n", len(seqs))
		return nil
	}
	pr := newProgress(e, "discard", len(seqs))
	done, gone := 0, 0
	for i := 0; i < len(seqs); i += chunkSize {
		if err := ctx.Err(); err != nil {
			pr.finish()
			return fmt.Errorf("discard stopped with %d of %d leads discarded: %w; run the same command again to finish", done, len(seqs), err)
		}
		d, g, err := discardChunk(ctx, e, q, f, o, seqs[i:min(i+chunkSize, len(seqs))])
		done, gone = done+d, gone+g
		if err != nil {
			pr.finish()
			return fmt.Errorf("discard stopped with %d of %d leads discarded: %w", done, len(seqs), err)
		}
		pr.update(done+gone, 0)
	}
	pr.finish()
	fmt.Fprintf(e.stdout, "discarded %d of %d leads (actor %s, reason %q)", done, len(seqs), o.actor, o.reason)
	if gone > 0 {
		fmt.Fprintf(e.stdout, "; %d were no longer parked", gone)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// discardChunk writes the discarded outcomes, waits for their acks, then
// deletes the entries. It returns how many were discarded and how many
// were no longer parked.
func discardChunk(ctx context.Context, e *env, q *queue.Queue, f filter, o *discardOpts, seqs []uint64) (int, int, error) {
	ens, err := fetchEntries(ctx, q, seqs)
	if err != nil {
		return 0, 0, err
	}
	b := q.NewBatch()
	var keep []entry
	for _, en := range ens {
		if en.P == nil || !f.match(en.P) {
			continue
		}
		p := en.P
		b.Outcome(&repost.Outcome{EventID: p.EventID, LeadID: p.LeadID, Subscription: p.Subscription,
			Kind: repost.KindDiscarded, Code: p.Parked.Code, Reason: o.reason, Attempts: p.Parked.Attempts,
			At: e.now().UTC(), Actor: o.actor})
		keep = append(keep, en)
	}
	if err := b.Wait(ctx); err != nil {
		return 0, 0, fmt.Errorf("discarded outcomes: %w", err)
	}
	err = parallel(len(keep), func(i int) error { return q.DeleteParkedWithBody(ctx, keep[i].Seq, keep[i].P.Parked.BodyRef) })
	if err != nil {
		return 0, 0, err
	}
	return len(keep), len(seqs) - len(keep), nil
}
