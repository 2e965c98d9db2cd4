// Command repostbench measures repost and writes docs/BENCHMARKS.md: every
// figure with the command that produced it, the machine, and the reference
// measured in the same run.
//
//	repostbench [-out docs/BENCHMARKS.md] [-svg docs/calls-per-window.svg]
//	            [-events 100000] [-backlog 1000000] [-chaos chaos.json]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "repostbench:", err)
		os.Exit(1)
	}
}

type options struct {
	out, svg, chaos, repostd string
	events, backlog, drain   int
	rounds                   int
	micro                    bool
	cpuprofile, memprofile   string
	only                     string
	mixed                    int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("repostbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.out, "out", "docs/BENCHMARKS.md", "report to write")
	fs.StringVar(&o.svg, "svg", "docs/calls-per-window.svg", "plot of calls per window to write")
	fs.StringVar(&o.chaos, "chaos", "", "JSON accounting of a repostchaos run to include")
	fs.StringVar(&o.repostd, "repostd", "", "repostd binary for the RSS figure (default: built from ./cmd/repostd)")
	fs.IntVar(&o.events, "events", 100000, "events for the throughput figures")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of the throughput figures, interleaved; the median of each is reported")
	fs.IntVar(&o.backlog, "backlog", 1000000, "events of the backlog whose peak RSS is measured")
	fs.IntVar(&o.drain, "drain", 100000, "events of the three-replica drain under Marketo's limits")
	fs.IntVar(&o.mixed, "mixed", 40000, "events of the mixed three-replica drain under a binding window")
	fs.BoolVar(&o.micro, "micro", true, "include the go test micro-benchmarks of quota and marketo")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the end-to-end throughput run")
	fs.StringVar(&o.memprofile, "memprofile", "", "write an allocation profile of the end-to-end throughput run")
	fs.StringVar(&o.only, "only", "", "run only this figure (throughput, backlog, mixed: the mixed drain and idle latency, or day: the simulated day), print it, write no report")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rep := &report{Machine: machine(), Started: time.Now().UTC(), Command: "go run ./cmd/repostbench " + joinArgs(args)}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }

	if o.only == "backlog" {
		if err := measureBacklog(ctx, o, rep); err != nil {
			return fmt.Errorf("backlog: %w", err)
		}
		say("  peak RSS %.0f MiB (repostd, GOMEMLIMIT %s), %.0f events/s", float64(rep.Backlog.PeakRSS)/(1<<20), rep.Backlog.GoMemLimit, rep.Backlog.PerSecond)
		return nil
	}
	if o.only == "mixed" {
		return measureSendPath(ctx, o, rep, say)
	}
	if o.only == "day" {
		measureDay(rep, say)
		return nil
	}
	say("throughput: raw JetStream consume+ack versus end to end, %d events each", o.events)
	if err := measureThroughput(ctx, o.events, max(1, o.rounds), profiles{o.cpuprofile, o.memprofile}, rep); err != nil {
		return fmt.Errorf("throughput: %w", err)
	}
	say("  medians of %d rounds: raw %.0f/s (%.2f cores busy, %.1f µs CPU/event); raw with outcomes %.0f/s (%.2f of raw; %.1f µs); end to end %.0f/s (%.2f of raw; %.2f cores busy, %.1f µs)",
		rep.Rounds, rep.Raw.PerSecond, rep.Raw.CPU, rep.Raw.cpuPerEvent(), rep.Floor.PerSecond, rep.Floor.PerSecond/rep.Raw.PerSecond, rep.Floor.cpuPerEvent(),
		rep.E2E.PerSecond, rep.E2E.PerSecond/rep.Raw.PerSecond, rep.E2E.CPU, rep.E2E.cpuPerEvent())
	if o.only == "throughput" {
		return nil
	}

	say("drain: three replicas, %d events, simulator enforcing 100 calls / 2 s and 10 concurrent", o.drain)
	if err := measureDrain(ctx, o.drain, rep); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	say("  %.1f leads per call, %.0f%% of the allowed calls per window used, 606=%d 615=%d",
		rep.Drain.LeadsPerCall, 100*rep.Drain.WindowUse, rep.Drain.Caused606, rep.Drain.Caused615)
	if err := os.WriteFile(o.svg, plotSVG(rep.Drain), 0o644); err != nil {
		return err
	}

	if err := measureSendPath(ctx, o, rep, say); err != nil {
		return err
	}
	measureDay(rep, say)

	say("backlog: peak RSS of repostd draining %d events", o.backlog)
	if err := measureBacklog(ctx, o, rep); err != nil {
		return fmt.Errorf("backlog: %w", err)
	}
	say("  peak RSS %.0f MiB (repostd, GOMEMLIMIT %s), %.0f events/s", float64(rep.Backlog.PeakRSS)/(1<<20), rep.Backlog.GoMemLimit, rep.Backlog.PerSecond)

	if o.micro {
		say("micro-benchmarks: quota admissions, Marketo client")
		rep.Micro = microBenchmarks(ctx)
	}
	if o.chaos != "" {
		b, err := os.ReadFile(o.chaos)
		if err != nil {
			return fmt.Errorf("chaos accounting: %w", err)
		}
		rep.Chaos = string(b)
	}
	rep.Finished = time.Now().UTC()
	if err := os.WriteFile(o.out, rep.markdown(o), 0o644); err != nil {
		return err
	}
	say("wrote %s and %s", o.out, o.svg)
	return nil
}

func joinArgs(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}

// mixedRoundsRun is how many times the mixed drain runs: its partial
// calls vary from run to run, and the report gives the median and each.
const mixedRoundsRun = 3

// measureSendPath measures the mixed drain under a binding window and the
// idle latency of a lone event and a burst of 10.
func measureSendPath(ctx context.Context, o options, rep *report, say func(string, ...any)) error {
	say("mixed drain: three replicas, %d Sync+Push events, simulator allowing 3 calls / 2 s, 5%% 604s, %d rounds", o.mixed, mixedRoundsRun)
	for range mixedRoundsRun {
		if err := measureMixed(ctx, o.mixed, rep); err != nil {
			return fmt.Errorf("mixed drain: %w", err)
		}
		m := rep.MixedRounds[len(rep.MixedRounds)-1]
		say("  %.1f leads per call (%d calls, %d needed), %.0f s = %.2fx the physical minimum %.0f s, 606=%d 615=%d",
			m.LeadsPerCall, m.Calls, m.Needed, m.Seconds, m.ratio(), m.Minimum, m.Caused606, m.Caused615)
	}
	m := rep.Mixed
	say("  median: %.1f leads per call, %.2fx", m.LeadsPerCall, m.ratio())
	say("idle latency: a lone event and a burst of 10, publish to arrival at the simulator")
	if err := measureIdle(ctx, 5, rep); err != nil {
		return fmt.Errorf("idle latency: %w", err)
	}
	say("  lone %s, burst of 10 %s (linger %s)", rep.Idle.Lone.Round(time.Millisecond), rep.Idle.Burst.Round(time.Millisecond), rep.Idle.Linger)
	return nil
}
