package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/leadops/repost/internal/chaos"
)

type cliOptions struct {
	opts     chaos.Options
	jsonPath string
	keep     bool
}

// parseFlags starts from chaos.Full, or chaos.Short with -short, made a
// cluster run with -cluster (chaos.WithCluster), and applies the flags given.
func parseFlags(args []string, stderr io.Writer) (cliOptions, error) {
	short, cluster := boolFlag(args, "short"), boolFlag(args, "cluster")
	c := cliOptions{opts: chaos.Full()}
	if short {
		c.opts = chaos.Short()
	}
	if cluster {
		c.opts = chaos.WithCluster(c.opts)
	}
	o := &c.opts
	fs := flag.NewFlagSet("repostchaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("short", short, "the short version (3,000 events, a kill every 2 s), as `make test` runs it")
	fs.Bool("cluster", cluster, "3 nats-server routed, R3 streams; kill the leaders of POSTOUT_FAILED, the consumer and POSTOUT_OUTCOMES in turn (from nats-at on)")
	fs.DurationVar(&o.LeaderGap, "leader-gap", o.LeaderGap, "-cluster: wait this long after a restarted server caught up before the next leader kill")
	fs.IntVar(&o.Events, "events", o.Events, "failed events published")
	fs.IntVar(&o.Workers, "workers", o.Workers, "repostd replicas")
	fs.Float64Var(&o.MixFraction, "mix", o.MixFraction, "share of events from the demo's mix (parked, skipped, rejected paths)")
	fs.DurationVar(&o.PublishOver, "publish-over", o.PublishOver, "publish at a steady rate over this (0: at once)")
	fs.DurationVar(&o.KillEvery, "kill-every", o.KillEvery, "SIGKILL and restart a random replica this often")
	fs.DurationVar(&o.ChaosFor, "chaos-for", o.ChaosFor, "kills stop after this")
	fs.DurationVar(&o.RedisAt, "redis-at", o.RedisAt, "restart Redis this long after the chaos starts")
	fs.DurationVar(&o.NATSAt, "nats-at", o.NATSAt, "restart NATS this long after the chaos starts")
	fs.DurationVar(&o.Downtime, "downtime", o.Downtime, "how long Redis and NATS stay down")
	fs.StringVar(&o.NATSSignal, "nats-signal", o.NATSSignal, "stop nats-server with term or kill")
	fs.DurationVar(&o.Bound, "bound", o.Bound, "the drain must end within this")
	fs.DurationVar(&o.Grace, "grace", o.Grace, "a restart window (shown in the report, excusing nothing) lasts until this long after the restart")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the events, the faults and the kills")
	fs.Float64Var(&o.FaultRate, "faults", o.FaultRate, "share of Marketo answers that are faults (604/611/713/502/html/drop)")
	fs.DurationVar(&o.AckWait, "ack-wait", o.AckWait, "AckWait of the consumers (> 30 s)")
	fs.IntVar(&o.BatchSize, "batch", o.BatchSize, "repostd worker.batchSize (small: many calls, limits at their edge)")
	fs.DurationVar(&o.LeaseTTL, "lease-ttl", o.LeaseTTL, "repostd worker.leaseTTL")
	fs.DurationVar(&o.Latency, "latency", o.Latency, "simulator latency per call")
	fs.DurationVar(&o.MaxAge, "max-age", o.MaxAge, "POSTOUT_FAILED's max age, shortened for the run")
	fs.DurationVar(&o.ExpireMargin, "expire-margin", o.ExpireMargin, "repostd worker.expireMargin (below -max-age)")
	fs.IntVar(&o.PausedEvents, "paused", o.PausedEvents, "events of a subscription paused (repostctl) past the max age: each must be parked as expired")
	fs.IntVar(&o.PairEvery, "pair-every", o.PairEvery, "one out-of-order pair of a lead (newer data first) in every this many events; 0: none")
	fs.StringVar(&o.Dir, "dir", "", "work directory for logs and stores (default: a new temp dir)")
	fs.StringVar(&c.jsonPath, "json", "", "write the accounting as JSON to this file")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory even when every check passed")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, &usageError{err}
	}
	if fs.NArg() > 0 {
		return c, &usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if err := o.Validate(); err != nil {
		return c, &usageError{err}
	}
	return c, nil
}

// boolFlag reports whether args set the boolean flag name, which decides
// the defaults the other flags start from.
func boolFlag(args []string, name string) bool {
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case name, name + "=true":
			return strings.HasPrefix(a, "-")
		}
	}
	return false
}

// run is the whole command; main adds signals and the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	c.opts.Progress = stderr
	rep, err := chaos.Run(ctx, c.opts)
	if rep != nil && len(rep.Checks) > 0 {
		rep.WriteTable(stdout)
	}
	if rep != nil && c.jsonPath != "" {
		if werr := rep.WriteJSON(c.jsonPath); werr != nil && err == nil {
			err = werr
		}
	}
	if err == nil && !rep.OK() {
		err = errFailed
	}
	if rep != nil && rep.Dir != "" && c.opts.Dir == "" {
		if err != nil || c.keep {
			fmt.Fprintln(stderr, "logs kept in", rep.Dir)
		} else {
			_ = os.RemoveAll(rep.Dir)
		}
	}
	return err
}
