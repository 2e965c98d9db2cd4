package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
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
	simAddr  string // where the configuration left behind expects marketo-sim
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
	cfgPath, err := writeDemoConfig(o.dataDir, o.simAddr)
	if err != nil {
		stop()
		<-done
		return err
	}
	if a.ui != nil {
		fmt.Fprintf(stdout, "console: http://%s%s (read-only)\n", a.ln.Addr(), console.Prefix)
	}
	fmt.Fprintf(stdout, "metrics: http://%s/metrics\nwatch it: go run ./cmd/repostctl --config %s status --watch\n\n", a.ln.Addr(), cfgPath)

	d := &demo{o: o, a: a, sim: sim, out: stdout, log: log}
	report, derr := d.drive(runCtx)
	stop()
	if err := <-done; err != nil && derr == nil {
		derr = err
	}
	if report != nil {
		report.print(stdout, cfgPath)
		printAfterDemo(stdout, o.dataDir, cfgPath, a.ln.Addr().String(), o.simAddr)
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
	fs.StringVar(&o.simAddr, "sim-addr", demoSimAddr, "host:port the configuration left in the data directory expects marketo-sim on, to run repostd on the demo's data again")
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
	if _, port, err := net.SplitHostPort(o.simAddr); err != nil || port == "" || port == "0" {
		return o, &usageError{fmt.Sprintf("--sim-addr %q is not host:port with a fixed port", o.simAddr)}
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

// demoSimAddr is where marketo-sim listens by default: the configuration
// the demo leaves behind points there (or at --sim-addr), its own
// simulator having stopped.
const demoSimAddr = "127.0.0.1:8089"

// writeDemoConfig leaves a configuration in the data directory, so that
// repostd can be started on the demo's data again and repostctl can target
// it. The client secret is the simulator's public default.
func writeDemoConfig(dataDir, simAddr string) (string, error) {
	path := filepath.Join(dataDir, "repost.yaml")
	c := demoConfig(dataDir, "http://"+simAddr).Subscriptions[0]
	body := fmt.Sprintf(`# Written by repostd demo. Start repostd on the demo's data again with
#   go run ./cmd/marketo-sim --addr %[11]s &   (the demo's own simulator stopped with it)
#   go run ./cmd/repostd --config %[1]s
dataDir: %[2]q
http: {addr: "127.0.0.1:8080"}
subscriptions:
  - id: %[3]s
    endpoint: %[4]s
    clientID: %[5]s
    clientSecret: %[6]s
    allowInsecure: true
    limits: {dailyQuota: %[7]d, callsPerWindow: %[8]d, window: %[9]s, maxConcurrency: %[10]d}
`, path, dataDir, c.ID, c.Endpoint, c.ClientID, c.ClientSecret.Reveal(),
		c.Limits.DailyQuota, c.Limits.CallsPerWindow, c.Limits.Window, c.Limits.MaxConcurrency, simAddr)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return "", fmt.Errorf("demo config: %w", err)
	}
	return path, nil
}

// printAfterDemo says where the data stays and how to go on with it.
func printAfterDemo(w io.Writer, dataDir, cfgPath, addr, simAddr string) {
	fmt.Fprintf(w, "\nWhile the demo ran: metrics at http://%s/metrics, console at http://%s%s\n", addr, addr, console.Prefix)
	fmt.Fprintf(w, "The data directory is kept: %s\n", dataDir)
	fmt.Fprintf(w, "Start repostd on it again, so that a requeue is processed (the demo's simulator stopped with it):\n")
	fmt.Fprintf(w, "  go run ./cmd/marketo-sim --addr %s &\n", simAddr)
	fmt.Fprintf(w, "  go run ./cmd/repostd --config %s\n", cfgPath)
	fmt.Fprintf(w, "then see the pipeline live:\n  go run ./cmd/repostctl --config %s status --watch\n", cfgPath)
	fmt.Fprintf(w, "(without a repostd running, repostctl --offline reads what it left)\n")
}

// logged keeps zap imported for the demo's own lines.
var _ = zap.String
