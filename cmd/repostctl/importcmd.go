package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/leadops/repost/queue"
)

// importOpts are import's flags.
type importOpts struct {
	format       string
	subscription string
	dryRun       bool
	strict       bool
}

// importChunk is how many publications are in flight at once.
const importChunk = 256

func newImportCmd(e *env, g *globals) *cobra.Command {
	o := &importOpts{}
	c := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Publish DAP's Post Out Log Report (CSV) or JSON lines of events to POSTOUT_FAILED",
		Long: `Publish DAP's Post Out Log Report to POSTOUT_FAILED. CSV needs a header row with
LeadId, RequestContent, ResponseStatusCode and ResponseReason; Subscription,
EventId, SourceId, Endpoint, Response and AttemptedAt are used when present,
other columns are kept under "reportColumns". JSON lines are failed post-out
events as DAP publishes them. Every row is validated before anything is published; bad rows
are named by line and skipped. A row without EventId gets a digest of its
content, so importing the same report again publishes nothing new.`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runImport(c.Context(), e, g, o, args[0]) },
	}
	fs := c.Flags()
	fs.StringVar(&o.format, "format", "", "csv or jsonl (default: by the first non-space byte, '{' is jsonl)")
	fs.StringVar(&o.subscription, "subscription", "", "subscription of CSV rows that have no Subscription column")
	fs.BoolVar(&o.dryRun, "dry-run", false, "validate only, publish nothing")
	fs.BoolVar(&o.strict, "strict", false, "publish nothing when any row is bad")
	return c
}

// runImport reads and validates the whole input, then publishes the good rows.
func runImport(ctx context.Context, e *env, g *globals, o *importOpts, name string) error {
	if o.format != "" && o.format != "csv" && o.format != "jsonl" {
		return usagef("--format must be csv or jsonl, not %q", o.format)
	}
	set, err := readImportArg(e, name, o)
	if err != nil {
		return err
	}
	reportBad(e, set)
	fmt.Fprintf(e.stdout, "read %s rows: %s valid, %s bad (skipped), %s repeated\n",
		thousands(set.read), thousands(len(set.rows)), thousands(len(set.bad)), thousands(set.dupes))
	switch {
	case o.strict && len(set.bad) > 0:
		return fmt.Errorf("--strict: %d bad rows, nothing published", len(set.bad))
	case o.dryRun:
		fmt.Fprintln(e.stdout, "dry run: nothing published")
		return nil
	case len(set.rows) == 0:
		return fmt.Errorf("no valid row to publish")
	}
	s, err := openSession(ctx, e, g)
	if err != nil {
		return err
	}
	defer s.close()
	warnUnconfigured(e, s, set)
	if err := publishImport(ctx, e, s.q, set.rows); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %s events to %s\n", thousands(len(set.rows)), queue.StreamFailed)
	return nil
}

func readImportArg(e *env, name string, o *importOpts) (*importSet, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	set, err := readImport(r, o.format, o.subscription)
	if err != nil {
		if isUsage(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return set, nil
}

// reportBad names every bad row on stderr.
func reportBad(e *env, set *importSet) {
	for _, b := range set.bad {
		fmt.Fprintf(e.stderr, "skipped %s\n", b)
	}
}

func warnUnconfigured(e *env, s *session, set *importSet) {
	warned := map[string]bool{}
	for _, r := range set.rows {
		if _, ok := s.cfg.Subscription(r.sub); !ok && !warned[r.sub] {
			warned[r.sub] = true
			e.warn(fmt.Sprintf("subscription %s is not in the configuration: its events will be parked as unknown-subscription", r.sub))
		}
	}
}

// publishImport publishes in chunks, each acknowledged before the next. A
// failure stops there: a rerun publishes again what was acknowledged, and
// the stream de-duplicates it by eventId.
func publishImport(ctx context.Context, e *env, q *queue.Queue, rows []importRow) error {
	pr := newProgress(e, "import", len(rows))
	defer pr.finish()
	for i := 0; i < len(rows); i += importChunk {
		b := q.NewBatch()
		for _, r := range rows[i:min(i+importChunk, len(rows))] {
			b.Failed(r.sub, r.id, r.data)
		}
		if err := b.Wait(ctx); err != nil {
			return fmt.Errorf("publishing stopped: %d of %d events acknowledged before rows from line %d failed: %w; run the same import again (published events are de-duplicated by eventId)",
				i, len(rows), rows[i].line, err)
		}
		pr.update(min(i+importChunk, len(rows)), 0)
	}
	return nil
}
