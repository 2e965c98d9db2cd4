package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/time/rate"

	"github.com/leadops/repost"
	"github.com/leadops/repost/queue"
)

// requeueOpts are requeue's flags.
type requeueOpts struct {
	ff     filterFlags
	tf     transformFlags
	all    bool
	dryRun bool
	show   int
	rate   float64
	actor  string
	reason string
}

func newRequeueCmd(e *env, g *globals) *cobra.Command {
	o := &requeueOpts{}
	c := &cobra.Command{
		Use:   "requeue [filters] [transforms]",
		Short: "Send parked leads back to POSTOUT_FAILED, fixed by the transforms",
		Long: `Send parked leads back to POSTOUT_FAILED as <eventId>~r<N> with "requeueOf",
after applying the transforms to each lead's requestContent (in this order:
rename, drop, set, coerce, program status). Each publication is acknowledged
before its requeued outcome is written and the parked entry deleted, so an
interrupted requeue can simply be run again.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := o.prepare(e, g)
			if err != nil {
				return err
			}
			s, err := openSession(c.Context(), e, g)
			if err != nil {
				return err
			}
			defer s.close()
			r.q = s.q
			return r.run(c.Context())
		},
	}
	fs := c.Flags()
	o.ff.register(fs, 0)
	o.tf.register(fs)
	fs.BoolVar(&o.all, "all", false, "allow requeueing without any filter")
	fs.BoolVar(&o.dryRun, "dry-run", false, "show what would change, change nothing")
	fs.IntVar(&o.show, "show", 3, "with --dry-run: how many diffs to show")
	fs.Float64Var(&o.rate, "rate", 200, "leads per second at most (0: no limit)")
	fs.StringVar(&o.reason, "reason", "", "why, recorded in the requeued outcomes")
	actorFlag(fs, e, &o.actor)
	return c
}

// prepare checks the command line before anything connects.
func (o *requeueOpts) prepare(e *env, g *globals) (*requeuer, error) {
	f, err := o.ff.parse(e.now())
	if err != nil {
		return nil, err
	}
	t, err := o.tf.parse()
	if err != nil {
		return nil, err
	}
	switch {
	case !f.narrows() && !o.all:
		return nil, usagef("requeue needs a filter (--subscription, --code, --field, --lead, --since) or --all")
	case o.show < 0:
		return nil, usagef("--show must not be negative")
	case o.rate < 0:
		return nil, usagef("--rate must not be negative")
	}
	lim := rate.NewLimiter(rate.Inf, 1)
	if o.rate > 0 {
		lim = rate.NewLimiter(rate.Limit(o.rate), 1)
	}
	return &requeuer{e: e, g: g, f: f, t: t, o: o, lim: lim}, nil
}

// requeuer runs one requeue.
type requeuer struct {
	e   *env
	g   *globals
	q   *queue.Queue
	f   filter
	t   transforms
	o   *requeueOpts
	lim *rate.Limiter

	done, failed, gone, shown int
}

func (r *requeuer) run(ctx context.Context) error {
	seqs, err := collectSeqs(ctx, r.q, r.f, r.e.warn)
	if err != nil {
		return err
	}
	if len(seqs) == 0 {
		fmt.Fprintln(r.e.stdout, "no parked leads match")
		return nil
	}
	var pr *progress
	if !r.o.dryRun {
		pr = newProgress(r.e, "requeue", len(seqs))
	}
	for i, seq := range seqs {
		if err := ctx.Err(); err != nil {
			pr.finish()
			return r.interrupted(i, len(seqs), err)
		}
		if err := r.one(ctx, seq); err != nil {
			pr.finish()
			return r.interrupted(i, len(seqs), err)
		}
		pr.update(r.done+r.failed+r.gone, r.failed)
	}
	pr.finish()
	return r.report(len(seqs))
}

func (r *requeuer) interrupted(i, total int, err error) error {
	return fmt.Errorf("requeue stopped after %d of %d leads (%d requeued): %w; run the same command again to finish: what was published is de-duplicated", i, total, r.done, err)
}

func (r *requeuer) report(total int) error {
	if r.o.dryRun {
		fmt.Fprintf(r.e.stdout, "dry run: %d of %d leads would be requeued (%s), %d would stay parked; nothing was changed\n",
			r.done, total, r.t, r.failed)
		return nil
	}
	fmt.Fprintf(r.e.stdout, "requeued %d of %d leads (%s)", r.done, total, r.t)
	if r.gone > 0 {
		fmt.Fprintf(r.e.stdout, "; %d were no longer parked", r.gone)
	}
	fmt.Fprintf(r.e.stdout, "; %d left parked\n", r.failed)
	if r.failed > 0 {
		return fmt.Errorf("%d leads left parked: their transform failed (listed above)", r.failed)
	}
	return nil
}

// one requeues the entry at seq. Its error stops the whole requeue; a lead
// that cannot be fixed is counted and reported instead.
func (r *requeuer) one(ctx context.Context, seq uint64) error {
	en, ok, err := getEntry(ctx, r.q, seq)
	if err != nil {
		return err
	}
	if !ok || !r.f.match(en.P) {
		r.gone++
		return nil
	}
	rq, err := buildRequeue(en.P, r.t)
	if err != nil {
		r.failed++
		if r.failed <= maxReported {
			r.e.warn(fmt.Sprintf("left parked: seq %d, event %s, lead %s: %v", seq, en.P.EventID, dash(en.P.LeadID), err))
		} else if r.failed == maxReported+1 {
			r.e.warn("more leads left parked; not listing them one by one")
		}
		return nil
	}
	if r.o.dryRun {
		r.done++
		if r.shown < r.o.show {
			r.shown++
			unifiedDiff(r.e.stdout, fmt.Sprintf("%s (seq %d) requestContent", en.P.EventID, seq),
				rq.newID+" requestContent", rq.before, rq.after)
			fmt.Fprintln(r.e.stdout)
		}
		return nil
	}
	if err := r.lim.Wait(ctx); err != nil {
		return err
	}
	return r.publish(ctx, en, rq)
}

// maxReported bounds the per-lead lines of a large failing requeue.
const maxReported = 20

// publish sends the fixed event and waits for its ack, then writes the
// requeued outcome and waits for its ack, then deletes the parked entry.
// A kill between steps leaves the entry parked; a rerun publishes it again
// under the same eventId, which the stream de-duplicates.
func (r *requeuer) publish(ctx context.Context, en entry, rq *requeueBuild) error {
	if _, err := r.q.PublishFailed(ctx, en.P.Subscription, rq.newID, rq.data); err != nil {
		return err
	}
	if h := r.e.hooks.afterPublish; h != nil {
		if err := h(r.done + 1); err != nil {
			return err
		}
	}
	// Once published, finish this lead even if interrupted now.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	reason := "requeued as " + rq.newID + ": " + r.t.String()
	if r.o.reason != "" {
		reason += "; " + r.o.reason
	}
	b := r.q.NewBatch()
	b.Outcome(&repost.Outcome{EventID: en.P.EventID, LeadID: en.P.LeadID, Subscription: en.P.Subscription,
		Kind: repost.KindRequeued, Code: en.P.Parked.Code, Reason: reason, Attempts: en.P.Parked.Attempts,
		At: r.e.now().UTC(), Actor: r.o.actor, RequeuedAs: rq.newID})
	if err := b.Wait(fctx); err != nil {
		return fmt.Errorf("requeued outcome of %s: %w", en.P.EventID, err)
	}
	if err := r.q.DeleteParked(fctx, en.Seq); err != nil {
		return err
	}
	r.done++
	return nil
}

// requeueBuild is one lead ready to go back.
type requeueBuild struct {
	newID         string
	data          []byte
	before, after string // requestContent, indented
}

// buildRequeue applies the transforms to a copy of the parked event and
// returns the event to publish, checked as the worker will check it.
func buildRequeue(p *repost.ParkedLead, t transforms) (*requeueBuild, error) {
	if p.Event == nil {
		return nil, &transformError{"", fmt.Sprintf("the parked original is not a valid event (%v): fix it at the source and import it again", p.EventErr)}
	}
	ev := *p.Event
	orig, err := json.Marshal(ev.RequestContent)
	if err != nil {
		return nil, err
	}
	rc, err := repost.ParseRequestContent(orig) // a deep copy to change
	if err != nil {
		return nil, err
	}
	if err := t.apply(rc, ev.Endpoint); err != nil {
		return nil, err
	}
	ev.RequestContent = *rc
	ev.EventID = requeueID(p.EventID)
	ev.Extra = make(map[string]json.RawMessage, len(p.Event.Extra)+1)
	for k, v := range p.Event.Extra {
		ev.Extra[k] = v
	}
	ev.Extra["requeueOf"], _ = json.Marshal(p.EventID)
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	if _, err := repost.DecodeEvent(data, ev.Subscription); err != nil {
		return nil, &transformError{"", "the fixed event would not be valid: " + err.Error()}
	}
	after, _ := json.Marshal(rc)
	return &requeueBuild{newID: ev.EventID, data: data,
		before: indentJSON(orig, ""), after: indentJSON(after, "")}, nil
}

var requeueSuffix = regexp.MustCompile(`~r([0-9]{1,9})$`)

// requeueID is the eventId of a requeue: <original>~r1, and ~r<K+1> for
// an event that is itself the K-th requeue.
func requeueID(id string) string {
	if m := requeueSuffix.FindStringSubmatchIndex(id); m != nil {
		k, _ := strconv.Atoi(id[m[2]:m[3]])
		return id[:m[0]] + "~r" + strconv.Itoa(k+1)
	}
	return id + "~r1"
}

// collectSeqs returns the sequences of the matching entries. Requeue and
// discard work from this list, reading each entry again just before acting
// on it, so that memory stays small and entries gone meanwhile are skipped.
func collectSeqs(ctx context.Context, q *queue.Queue, f filter, warn func(string)) ([]uint64, error) {
	var seqs []uint64
	err := scanParked(ctx, q, f, warn, func(en entry) error {
		seqs = append(seqs, en.Seq)
		return nil
	})
	return seqs, err
}

// getEntry reads one entry; ok is false when it is no longer parked.
func getEntry(ctx context.Context, q *queue.Queue, seq uint64) (entry, bool, error) {
	m, err := q.GetParked(ctx, seq)
	if err != nil {
		if isNotFound(err) {
			return entry{}, false, nil
		}
		return entry{}, false, err
	}
	p, err := repost.DecodeParkedLead(m.Data)
	if err != nil {
		return entry{}, false, fmt.Errorf("parked entry %d: %w", seq, err)
	}
	return entry{Seq: seq, P: p}, true, nil
}
