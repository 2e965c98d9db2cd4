package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type report struct {
	Machine           string
	Command           string
	Started, Finished time.Time
	Raw, Floor, E2E   rate // medians of Rounds
	Rounds            int
	Drain             drainResult
	Mixed             mixedResult   // the median round, by leads per call
	MixedRounds       []mixedResult // every round, in order
	Idle              idleResult
	Day               dayResult
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
	ratio := r.E2E.PerSecond / r.Raw.PerSecond
	p("| end-to-end events/s, limits off, 1 replica (`-events %d`, median of %d rounds) | %.0f/s (%.1f s; %.2f cores busy, %.1f µs CPU per event) | raw JetStream consume+ack: %.0f/s (%.2f cores busy, %.1f µs per event); ratio **%.2f** (target ≥ 0.5%s) |",
		r.E2E.Events, r.Rounds, r.E2E.PerSecond, r.E2E.Seconds, r.E2E.CPU, r.E2E.cpuPerEvent(), r.Raw.PerSecond, r.Raw.CPU, r.Raw.cpuPerEvent(), ratio, missed(ratio >= 0.5))
	p("| the contract's floor: consume, store one outcome, ack (no decoding, no Marketo) | %.0f/s (%.2f cores busy, %.1f µs CPU per event) | **%.2f** of raw; end to end is %.2f of this floor |",
		r.Floor.PerSecond, r.Floor.CPU, r.Floor.cpuPerEvent(), r.Floor.PerSecond/r.Raw.PerSecond, r.E2E.PerSecond/r.Floor.PerSecond)
	p("| leads per call on a deep backlog (`-drain %d`, 3 replicas) | **%.1f** (%d records in %d calls) | Marketo's limit: 300 |",
		r.Drain.Events, r.Drain.LeadsPerCall, r.Drain.Records, r.Drain.Calls)
	p("| calls per window used while the backlog lasted | **%.0f%%** of the allowed (mean); at most %d in any %s | limit %d per %s (repost counts a call over a window 10%% longer until its answer, then from the answer, see README) |",
		100*r.Drain.WindowUse, r.Drain.MaxInWindow, r.Drain.Window, r.Drain.Limit, r.Drain.Window)
	p("| 606 / 615 caused during the drain | **%d / %d** | target 0 / 0 |", r.Drain.Caused606, r.Drain.Caused615)
	p("| mixed backlog under a binding window (`-mixed %d`: Sync+Push 70/30, 3 replicas, 3 calls per 2 s, 5%% 604s), median of %d rounds | **%.1f** leads per call (%d calls, %d needed); drain **%.2fx** its physical minimum (%.0f s of %.0f s); 606/615 %d/%d; rounds %s | target >= 290 and <= 1.15x; 0/0 |",
		r.Mixed.Events, len(r.MixedRounds), r.Mixed.LeadsPerCall, r.Mixed.Calls, r.Mixed.Needed, r.Mixed.ratio(), r.Mixed.Seconds, r.Mixed.Minimum, r.Mixed.Caused606, r.Mixed.Caused615, mixedRounds(r.MixedRounds))
	p("| idle latency, publish to arrival at Marketo (median) | lone event **%s**, burst of 10 **%s** | linger %s; target linger + 50 ms |",
		r.Idle.Lone.Round(time.Millisecond), r.Idle.Burst.Round(time.Millisecond), r.Idle.Linger)
	b.WriteString(r.Day.markdownRow())
	p("| peak RSS of repostd draining a backlog (`-backlog %d`) | **%.0f MiB** | drained at %.0f events/s in %.0f s, GOMEMLIMIT %s |",
		r.Backlog.Events, float64(r.Backlog.PeakRSS)/(1<<20), r.Backlog.PerSecond, r.Backlog.Seconds, r.Backlog.GoMemLimit)
	p("")
	p("How each figure is measured (`cmd/repostbench`):")
	p("")
	p("- Each throughput figure is run %d times, interleaved (raw, floor, end to end, and again), on a fresh embedded nats-server each time; the table gives the median of each.", r.Rounds)
	p("- *raw*: the events published to `POSTOUT_FAILED`, one pull consumer fetching 1,200 at a time (never more than remain, so no fetch waits out its expiry at the end) and acking each message. Until 2026-11-23 the last fetch asked for a full 1,200 and waited out its 1 s expiry, which halved this reference and doubled the ratio: earlier reports of 0.33 were wrong: that code (commit 9b16c0b) measured 14,000-16,000 events/s end to end, 0.09-0.12 of the honest reference.")
	p("- *floor*: the raw loop plus, per fetch, one outcome per event published to `POSTOUT_OUTCOMES` and acknowledged by JetStream before the fetched messages are acked: what the contract (§4, outcome stored before the original is acked) costs any worker before it decodes an event or calls Marketo.")
	p("- *end to end*: the same server setup and events, one in-process worker, the Marketo simulator with its limits off and no added latency, an in-process limiter with limits out of reach; timed from the worker's start (connections, consumers, the identity call) to the last outcome stored.")
	p("- *drain*: three workers with their own NATS connections and Redis clients over one redis-server; the simulator enforces 100 calls per 2 s and 10 concurrent, 30 ms latency per call; the window counts come from the simulator's own call log.")
	if ratio < 0.5 {
		cores := 0.95 * float64(runtime.NumCPU())     // all cores busy, less what the kernel keeps
		budget := cores / (r.Raw.PerSecond / 2) * 1e6 // µs per event at half of raw's rate
		p("- Why ≥ 0.5 is not reached on this machine: the broker, the simulator and the worker share its %d cores, and end to end is CPU-bound. Half of raw's rate with %.1f cores busy allows %.1f µs of CPU per event; the floor alone spends %.1f µs, leaving %.1f µs for decoding, policy, the Marketo call and the simulator answering it, which take %.1f µs here (end to end minus the floor).",
			runtime.NumCPU(), cores, budget, r.Floor.cpuPerEvent(), max(0, budget-r.Floor.cpuPerEvent()), r.E2E.cpuPerEvent()-r.Floor.cpuPerEvent())
	}
	p("- Where the end-to-end CPU goes (a profile taken once on 2026-11-23 on a 2-core machine, not recomputed by each run; take one with `-only throughput -rounds 1 -cpuprofile F`): the worker's decoding and preparing about 24%%, its sending, settling and outcome publishing 13%%, the simulator answering over HTTP 15%%, the NATS server about 25%%, the nats.go client 9%%, the garbage collector 11%%.")
	b.WriteString(r.Day.markdownHow())
	p("- *peak RSS*: the real `repostd` binary (a separate process, as in production: NATS is the bench's embedded server, Redis a throwaway redis-server, neither inside repostd), with limits off and the Deployment's memory limit as `REPOST_MEMORY_LIMIT` (repostd sets `GOMEMLIMIT` to 90% of it, as in a pod), draining the backlog published before it starts; `VmHWM` from `/proc/<repostd pid>/status` once every event has its outcome. Target: 128 MiB (issue 13).")
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
	return fmt.Sprintf(", **not met**: out of reach on this %d-core machine, see the floor and the notes below", runtime.NumCPU())
}
