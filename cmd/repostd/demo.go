package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/leadops/repost/config"
	"github.com/leadops/repost/internal/console"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo/marketotest"
)

// demoOptions are the demo's flags.
type demoOptions struct {
	events   int
	dataDir  string
	seed     uint64
	timeout  time.Duration
	logFile  string
	faults   float64
	interval time.Duration
	pace     time.Duration
}

// runDemo runs everything in one process: an embedded NATS server, limits
// in this process, the Marketo simulator with a schema and a program, and
// the worker; it publishes a mix of failed events, shows progress, and
// ends with a summary once every event has its outcome.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseDemoFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // --help is not an error
	}
	if err != nil {
		return err
	}
	if o.dataDir == "" {
		if o.dataDir, err = os.MkdirTemp("", "repost-demo-"); err != nil {
			return err
		}
	}
	if o.logFile == "" {
		o.logFile = filepath.Join(o.dataDir, "repostd.log")
	}
	logf, err := os.Create(o.logFile)
	if err != nil {
		return err
	}
	defer logf.Close()
	log := newLogger(config.Log{Level: "info"}, logf)

	sim := marketotest.NewServer(marketotest.Options{
		Limits:  marketotest.Limits{CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 10, DailyQuota: 50000},
		Latency: 300 * time.Millisecond, LatencyPerRecord: 2 * time.Millisecond, // ~0.9 s for 300 leads
		Faults: marketotest.Faults{Seed: o.seed, Rate604: o.faults / 3, Rate611: o.faults / 3, Rate713: o.faults / 3},
	})
	defer sim.Close()

	cfg := demoConfig(o.dataDir, sim.URL)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	fmt.Fprintf(stdout, "repost demo — embedded NATS, in-process limits, Marketo simulator at %s\n", sim.URL)
	fmt.Fprintf(stdout, "data: %s   log: %s\n\n", o.dataDir, o.logFile)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	a, err := newApp(runCtx, cfg, log, appOptions{owner: "demo"})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- a.run(runCtx) }()
	if a.ui != nil {
		fmt.Fprintf(stdout, "console: http://%s%s (read-only)\n\n", a.ln.Addr(), console.Prefix)
	}

	d := &demo{o: o, a: a, sim: sim, out: stdout, log: log}
	report, derr := d.drive(runCtx)
	stop()
	if err := <-done; err != nil && derr == nil {
		derr = err
	}
	if report != nil {
		report.print(stdout, o.dataDir)
	}
	if derr != nil && errors.Is(derr, context.Canceled) && ctx.Err() != nil {
		return nil // interrupted by the user: the summary says how far it got
	}
	return derr
}

func parseDemoFlags(args []string, stderr io.Writer) (demoOptions, error) {
	fs := flag.NewFlagSet("repostd demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demoOptions
	fs.IntVar(&o.events, "events", 5000, "failed events to publish")
	fs.StringVar(&o.dataDir, "data-dir", "", "data directory (default: a new temporary directory)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the event mix and of the simulator's faults")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up when not every event has its outcome by then")
	fs.StringVar(&o.logFile, "log", "", "worker log file (default: repostd.log in the data directory)")
	fs.Float64Var(&o.faults, "faults", 0.05, "rate of transient faults (604/611/713) the simulator injects")
	fs.DurationVar(&o.interval, "progress", time.Second, "progress line interval")
	fs.DurationVar(&o.pace, "pace", time.Second, "pause between the 20 bursts of events (0: publish at once)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return o, &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if o.events < 1 || o.events > 1_000_000 {
		return o, &usageError{"--events must be between 1 and 1000000"}
	}
	if o.faults < 0 || o.faults >= 1 {
		return o, &usageError{"--faults must be in [0, 1)"}
	}
	return o, nil
}

func demoConfig(dataDir, simURL string) *config.Config {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Subscriptions = []config.Subscription{{
		ID: fixture.Sub, Endpoint: simURL, AllowInsecure: true,
		ClientID: marketotest.DefaultClientID, ClientSecret: config.Secret(marketotest.DefaultClientSecret),
		Limits: config.Limits{DailyQuota: 50000, CallsPerWindow: 100, Window: 20 * time.Second, MaxConcurrency: 10},
	}}
	return &cfg
}

// logged keeps zap imported for the demo's own lines.
var _ = zap.String
