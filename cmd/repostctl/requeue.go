package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
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
	noFix  bool          // requeue mapping-code leads unchanged (checkRequeue)
	wait   time.Duration // follow the requeued leads to their outcomes (waitRequeued)
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
interrupted requeue can simply be run again: every copy published is recorded
(for 30 days, in REPOST_EVENTS), and a copy already published, however long
ago, is not published again; the last line says how many were.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := o.prepare(e)
			if err != nil {
				return err
			}
			s, err := openSession(c.Context(), e, g)
			if err != nil {
				return err
			}
			defer s.close()
			r.q = s.q
			if err := checkRequeue(c.Context(), e, s.q, r.f, r.t, o); err != nil {
				return err
			}
			start := e.now()
			if err := r.run(c.Context()); err != nil || o.wait <= 0 || o.dryRun {
				return err
			}
			return waitRequeued(c.Context(), e, s.q, r.published, start, o.wait)
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
	fs.DurationVar(&o.wait, "wait", 0, "then follow the requeued leads until each has an outcome, for at most this long (e.g. 5m)")
	fs.BoolVar(&o.noFix, "no-fix", false, "requeue leads parked for a mapping or data fix unchanged (the fix was made elsewhere)")
	actorFlag(fs, e, &o.actor)
	return c
}

// prepare checks the command line before anything connects.
func (o *requeueOpts) prepare(e *env) (*requeuer, error) {
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
	lim, size := rate.NewLimiter(rate.Inf, 1), chunkSize
	if o.rate > 0 {
		// A chunk holds at most about a second of leads, so that a slow
		// rate still shows progress and publishes steadily.
		lim, size = rate.NewLimiter(rate.Limit(o.rate), 1), max(1, min(chunkSize, int(o.rate)))
	}
	return &requeuer{e: e, f: f, t: t, o: o, lim: lim, size: size}, nil
}

// requeuer runs one requeue.
type requeuer struct {
	e    *env
	q    *queue.Queue
	f    filter
	t    transforms
	o    *requeueOpts
	lim  *rate.Limiter
	size int // leads per chunk

	done, failed, gone, shown int
	already                   int             // of done: copies published by an earlier run
	published                 map[string]bool // eventIds of copies this run published, for --wait
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
	for i := 0; i < len(seqs); i += r.size {
		if err := ctx.Err(); err != nil {
			pr.finish()
			return r.interrupted(len(seqs), err)
		}
		if err := r.chunk(ctx, seqs[i:min(i+r.size, len(seqs))]); err != nil {
			pr.finish()
			return r.interrupted(len(seqs), err)
		}
		pr.update(r.done+r.failed+r.gone, r.failed)
	}
	pr.finish()
	return r.report(len(seqs))
}

func (r *requeuer) interrupted(total int, err error) error {
	return fmt.Errorf("requeue stopped with %d of %d leads requeued: %w; run the same command again to finish: what was already published is recorded and not published again", r.done, total, err)
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
	fmt.Fprintf(r.e.stdout, "; %d left parked: %d published, %d already published by an earlier run\n",
		r.failed, r.done-r.already, r.already)
	if r.failed > 0 {
		return fmt.Errorf("%d leads left parked: their transform failed (listed above)", r.failed)
	}
	return nil
}

// chunkSize is how many leads are published, then given their outcomes,
// then deleted, together.
const chunkSize = 100

// pending is a lead whose fixed event is ready to publish.
type pending struct {
	en entry
	rq *requeueBuild
}

// chunk requeues the entries at seqs: every fixed event is published and
// acknowledged, then every requeued outcome, then the entries are deleted.
// A kill between steps leaves the entries parked; a rerun finishes them,
// publishing only the copies and outcomes that the ledger does not hold
// (publishOnce), so it sends no lead twice however much later it runs.
func (r *requeuer) chunk(ctx context.Context, seqs []uint64) error {
	ens, err := fetchEntries(ctx, r.q, seqs)
	if err != nil {
		return err
	}
	var ready []pending
	for _, en := range ens {
		if en.P == nil || !r.f.match(en.P) {
			r.gone++
			continue
		}
		rq, err := buildRequeue(en.P, r.t)
		switch {
		case err != nil:
			r.leftParked(en, err)
		case r.o.dryRun:
			r.done++
			r.showDiff(en, rq)
		default:
			if err := r.lim.Wait(ctx); err != nil {
				return err
			}
			ready = append(ready, pending{en, rq})
		}
	}
	if len(ready) == 0 {
		return nil
	}
	ids := make([]string, len(ready))
	for i, p := range ready {
		ids[i] = p.rq.newID
	}
	already, err := publishOnce(ctx, r.q, queue.StreamFailed, ids, r.e.now(), func(b *queue.Batch, i int) {
		p := ready[i]
		b.FailedDated(p.en.P.Subscription, p.rq.newID, p.rq.data, p.en.DataAt) // not newer than the original
	})
	if err != nil {
		return err
	}
	n, hookErr := len(ready), error(nil)
	if h := r.e.hooks.afterPublish; h != nil {
		for i := range ready {
			if hookErr = h(r.done + i + 1); hookErr != nil {
				n = i
				break
			}
		}
	}
	if err := r.finish(ctx, ready[:n], already[:n]); err != nil {
		return err
	}
	return hookErr
}

// finish writes the requeued outcomes of published leads (those the
// ledger does not hold already), waits for their acks, then deletes the
// parked entries. Once published, the leads are finished even if
// interrupted meanwhile. already says which copies an earlier run published.
func (r *requeuer) finish(ctx context.Context, ready []pending, already []bool) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	outs := make([]*repost.Outcome, len(ready))
	ids := make([]string, len(ready))
	for i, p := range ready {
		reason := "requeued as " + p.rq.newID + ": " + r.t.String()
		if r.o.reason != "" {
			reason += "; " + r.o.reason
		}
		outs[i] = &repost.Outcome{EventID: p.en.P.EventID, LeadID: p.en.P.LeadID, Subscription: p.en.P.Subscription,
			Kind: repost.KindRequeued, Code: p.en.P.Parked.Code, Reason: reason, Attempts: p.en.P.Parked.Attempts,
			At: r.e.now().UTC(), Actor: r.o.actor, RequeuedAs: p.rq.newID}
		ids[i] = queue.OutcomeMsgID(outs[i])
	}
	_, err := publishOnce(fctx, r.q, queue.StreamOutcomes, ids, r.e.now(), func(b *queue.Batch, i int) { b.Outcome(outs[i]) })
	if err != nil {
		return fmt.Errorf("requeued outcomes: %w", err)
	}
	if h := r.e.hooks.afterOutcomes; h != nil {
		if err := h(); err != nil {
			return err
		}
	}
	err = parallel(len(ready), func(i int) error {
		return r.q.DeleteParkedWithBody(fctx, ready[i].en.Seq, ready[i].en.P.Parked.BodyRef)
	})
	if err != nil {
		return err
	}
	r.done += len(ready)
	if r.published == nil {
		r.published = map[string]bool{}
	}
	for i, p := range ready {
		if already[i] {
			r.already++ // its outcome may be long written: --wait does not follow it
			continue
		}
		r.published[p.rq.newID] = true
	}
	return nil
}

func (r *requeuer) leftParked(en entry, err error) {
	r.failed++
	switch {
	case r.failed <= maxReported:
		r.e.warn(fmt.Sprintf("left parked: seq %d, event %s, lead %s: %v", en.Seq, en.P.EventID, dash(en.P.LeadID), err))
	case r.failed == maxReported+1:
		r.e.warn("more leads left parked; not listing them one by one")
	}
}

func (r *requeuer) showDiff(en entry, rq *requeueBuild) {
	if r.shown >= r.o.show {
		return
	}
	r.shown++
	unifiedDiff(r.e.stdout, fmt.Sprintf("%s (seq %d) requestContent", en.P.EventID, en.Seq),
		rq.newID+" requestContent", rq.before, rq.after)
	fmt.Fprintln(r.e.stdout)
}

// maxReported bounds the per-lead lines of a large failing requeue.
const maxReported = 20

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
	ev.RequeueOf = p.EventID
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

// fetchEntries reads the entries at seqs a few at a time; an entry no
// longer parked comes back with a nil P.
func fetchEntries(ctx context.Context, q *queue.Queue, seqs []uint64) ([]entry, error) {
	out := make([]entry, len(seqs))
	err := parallel(len(seqs), func(i int) error {
		m, err := q.GetParked(ctx, seqs[i])
		if err != nil {
			if isNotFound(err) {
				return nil
			}
			return err
		}
		p, err := repost.DecodeParkedLead(m.Data)
		if err != nil {
			return fmt.Errorf("parked entry %d: %w", seqs[i], err)
		}
		at, _ := queue.DataTime(m.Header)
		out[i] = entry{Seq: seqs[i], P: p, DataAt: at}
		return attachBody(ctx, q, p)
	})
	return out, err
}

// parallel runs fn for 0..n-1 on a few goroutines and returns the first
// error, once every call has returned.
func parallel(n int, fn func(i int) error) error {
	var g errgroup.Group
	g.SetLimit(8)
	for i := 0; i < n; i++ {
		g.Go(func() error { return fn(i) })
	}
	return g.Wait()
}
