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
content. Every eventId published is recorded (for 30 days, in REPOST_EVENTS),
so importing the same report again, or an interrupted import, publishes only
what was not published before, however much later; the last line says how
many were already imported and how many were published.`,
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
	c, err := publishImport(ctx, e, s.q, set.rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s already imported, %s published to %s\n", thousands(c.already), thousands(c.published), queue.StreamFailed)
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

// importCounts are what an import did with its valid rows.
type importCounts struct {
	already   int // published by an earlier (or a concurrent) import
	published int
}

// publishImport publishes in chunks, each acknowledged before the next,
// every row whose eventId the ledger does not hold as published already
// (queue/ledger.go), however long ago. A failure stops there: a rerun
// publishes only what was not acknowledged.
func publishImport(ctx context.Context, e *env, q *queue.Queue, rows []importRow) (importCounts, error) {
	var c importCounts
	pr := newProgress(e, "import", len(rows))
	defer pr.finish()
	for i := 0; i < len(rows); i += importChunk {
		chunk := rows[i:min(i+importChunk, len(rows))]
		ids := make([]string, len(chunk))
		for j, r := range chunk {
			ids[j] = r.id
		}
		already, err := publishOnce(ctx, q, queue.StreamFailed, ids, e.now(), func(b *queue.Batch, j int) {
			b.Failed(chunk[j].sub, chunk[j].id, chunk[j].data)
		})
		if err != nil {
			return c, fmt.Errorf("publishing stopped: %d of %d events done before rows from line %d failed: %w; run the same import again (what was acknowledged is recorded and not published again)",
				i, len(rows), chunk[0].line, err)
		}
		k := countTrue(already)
		c.already, c.published = c.already+k, c.published+len(chunk)-k
		pr.update(i+len(chunk), 0)
	}
	return c, nil
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
