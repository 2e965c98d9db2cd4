package main

import (
	"fmt"
	"time"

	"github.com/leadops/repost/worker"
)

// The simulated day (issue 13 point 8): a steady trickle through the
// worker's own pool, quota pacer and an in-process limiter on a simulated
// clock (worker.SimulateDay), paced and, for reference, unpaced.
const (
	dayQuota = 5000
	dayEvery = 500 * time.Millisecond // 2 events/s
)

// dayStart is an ordinary 24-hour Chicago day (not one of daylight saving time).
var dayStart = time.Date(2026, 12, 2, 0, 0, 0, 0, mustChicago())

type dayResult struct {
	Paced, Unpaced worker.DayReport
	Wall           time.Duration // real time of the paced run
}

func mustChicago() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}

func measureDay(rep *report, say func(string, ...any)) {
	say("simulated day: an event every %s, dailyQuota %d, 00:00 to 00:00 America/Chicago", dayEvery, dayQuota)
	cfg := worker.DayConfig{Start: dayStart, Every: dayEvery, DailyQuota: dayQuota}
	start := time.Now()
	rep.Day.Paced = worker.SimulateDay(cfg)
	rep.Day.Wall = time.Since(start)
	cfg.Unpaced = true
	rep.Day.Unpaced = worker.SimulateDay(cfg)
	say("  paced: %s (%.1f s of real time)", rep.Day.Paced, rep.Day.Wall.Seconds())
	say("  unpaced: %s", rep.Day.Unpaced)
}

// markdownRow is the report's table row.
func (d dayResult) markdownRow() string {
	p, u := d.Paced, d.Unpaced
	return fmt.Sprintf("| simulated day, 2 events/s, `dailyQuota` %d (quota pacing) | **%d** calls (%.1f leads per call), **%d** refused 607, median latency **%s** (p99 %s) | unpaced: %d calls, %d refused 607, %d of %d events still waiting at the day's end; target <= %d calls, 0 607 |\n",
		dayQuota, p.Calls, p.LeadsPerCall, p.Refused607, p.MedianLatency.Round(100*time.Millisecond), p.P99Latency.Round(100*time.Millisecond),
		u.Calls, u.Refused607, u.Unsent, u.Events, dayQuota)
}

// markdownHow says how the row is measured.
func (d dayResult) markdownHow() string {
	return fmt.Sprintf("- *simulated day*: `worker.SimulateDay` feeds %d one-lead events (one every %s from 00:00 America/Chicago on %s) through the worker's own pool and quota pacer and a `quota.Memory` limiter on a simulated clock (%.1f s of real time); each call is admitted, counted against the day's quota and answered at once; latency is an event's arrival to its call (an unsent event counts until the day's end). The unpaced reference is the same day with the pacer off (`TestSimulatedDayStaysWithinTheQuota`).\n",
		d.Paced.Events, dayEvery, dayStart.Format(time.DateOnly), d.Wall.Seconds())
}
