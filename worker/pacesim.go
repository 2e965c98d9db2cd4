package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/leadops/repost"
	"github.com/leadops/repost/quota"
)

// DayConfig is a simulated day of steady traffic for SimulateDay.
type DayConfig struct {
	Start      time.Time     // the simulated clock's start; 00:00 America/Chicago runs one whole quota day
	Length     time.Duration // how long events arrive: 24 h when zero
	Every      time.Duration // one event (one lead) arrives each: 500 ms when zero (2 events/s)
	DailyQuota int           // the subscription's dailyQuota: 5000 when zero
	Linger     time.Duration // the worker's linger: 200 ms when zero
	// Unpaced runs the same day without the pacer (what the worker did
	// before pacing), for comparison.
	Unpaced bool
}

// DayReport is what a simulated day did.
type DayReport struct {
	Events, Calls int
	// Refused607 counts the calls refused for the daily quota: the limiter
	// refuses what Marketo would answer 607, and the leads then wait for
	// the reset.
	Refused607 int
	// Unsent are the events still waiting when the day ended (the last
	// pace's worth).
	Unsent       int
	LeadsPerCall float64
	// Latency is from an event's arrival to its call; an unsent event
	// counts the time to the day's end (a lower bound).
	MedianLatency, P99Latency, MaxLatency time.Duration
}

func (r DayReport) String() string {
	return fmt.Sprintf("%d events, %d calls (%.1f leads per call), %d refused 607, %d unsent; latency median %s, p99 %s, max %s",
		r.Events, r.Calls, r.LeadsPerCall, r.Refused607, r.Unsent,
		r.MedianLatency.Round(time.Millisecond), r.P99Latency.Round(time.Millisecond), r.MaxLatency.Round(time.Millisecond))
}

// SimulateDay replays a day of steady traffic through the worker's own
// pool and pacer and a quota.Memory limiter, all on a simulated clock, in
// about a second of real time: each call is admitted, counted against the
// daily quota and answered at once; the pace's budget is read from the
// limiter every GaugeInterval (5 s), as the worker does.
func SimulateDay(cfg DayConfig) DayReport {
	if cfg.Length <= 0 {
		cfg.Length = 24 * time.Hour
	}
	if cfg.Every <= 0 {
		cfg.Every = 500 * time.Millisecond
	}
	if cfg.DailyQuota <= 0 {
		cfg.DailyQuota = 5000
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 200 * time.Millisecond
	}
	d := &day{cfg: cfg, now: cfg.Start, end: cfg.Start.Add(cfg.Length)}
	d.run()
	return d.report()
}

type day struct {
	cfg                    DayConfig
	now, end               time.Time
	store                  *quota.Memory
	pool                   *pool
	pc                     *pacing
	blocked, nextObserve   time.Time
	events, calls, refused int
	leads                  int
	latency                []time.Duration
}

const simSub = "SIM-DAY-000"

func (d *day) run() {
	ctx := context.Background()
	d.store = quota.NewMemory(quota.MemoryOptions{Now: func() time.Time { return d.now }})
	defer d.store.Close()
	lim := quota.Limits{DailyQuota: d.cfg.DailyQuota, CallsPerWindow: quota.DefaultCallsPerWindow,
		Window: quota.DefaultWindow, MaxConcurrency: quota.DefaultMaxConcurrency}
	d.pool = newPool(300, 1_000_000, d.cfg.Linger, time.Second)
	if !d.cfg.Unpaced {
		d.pc = newPacing(maxPaceHold)
		d.pool.pace = d.pc
	}
	arrival := d.cfg.Start
	for d.now.Before(d.end) {
		for !arrival.After(d.now) {
			d.pool.add([]*item{simItem(d.events, arrival)}, arrival)
			d.events++
			arrival = arrival.Add(d.cfg.Every)
		}
		if d.pc != nil && !d.now.Before(d.nextObserve) {
			if snap, err := d.store.Snapshot(ctx, simSub, lim); err == nil {
				d.pc.observe(snap, d.now, 1)
			}
			d.nextObserve = d.now.Add(5 * time.Second)
		}
		wait := d.send(ctx, lim)
		next := arrival
		if wait > 0 {
			// Nothing leaves before now+wait unless a batch fills: the
			// arrivals until then are pooled at once (a day has 172,800).
			until := d.now.Add(wait)
			if d.pc != nil {
				until = minTime(until, d.nextObserve)
			}
			for !arrival.After(until) && arrival.Before(d.end) && d.pool.size() < d.pool.maxRecords-1 {
				d.pool.add([]*item{simItem(d.events, arrival)}, arrival)
				d.events++
				arrival = arrival.Add(d.cfg.Every)
			}
			next = minTime(arrival, until)
		} else if d.pc != nil {
			next = minTime(next, d.nextObserve)
		}
		if d.blocked.After(d.now) {
			next = maxTime(next, d.blocked)
		}
		d.now = next
	}
	d.now = d.end
	for arrival.Before(d.end) { // arrived during a block that outlasted the day: never sent
		d.pool.add([]*item{simItem(d.events, arrival)}, arrival)
		d.events++
		arrival = arrival.Add(d.cfg.Every)
	}
}

// send takes and sends every batch ready now; it returns the pool's wait.
func (d *day) send(ctx context.Context, lim quota.Limits) time.Duration {
	for !d.blocked.After(d.now) {
		ok, wait := d.pool.ready(d.now)
		if !ok {
			return wait
		}
		b := d.pool.take(d.now)
		adm, err := d.store.Admit(ctx, simSub, lim)
		if err != nil || !adm.Allowed {
			if adm.Limit == quota.LimitQuota {
				d.refused++
			}
			d.blocked = d.now.Add(max(adm.RetryAfter, time.Millisecond))
			d.pool.done(b.allKeys())
			d.pool.add(b.items, d.now)
			return 0
		}
		_ = d.store.Release(ctx, adm.Lease)
		d.calls++
		d.leads += b.records
		for _, it := range b.items {
			d.latency = append(d.latency, d.now.Sub(it.at))
		}
		d.pool.done(b.allKeys())
	}
	return 0
}

func (d *day) report() DayReport {
	r := DayReport{Events: d.events, Calls: d.calls, Refused607: d.refused, Unsent: d.pool.size()}
	if d.calls > 0 {
		r.LeadsPerCall = float64(d.leads) / float64(d.calls)
	}
	for _, it := range d.pool.takeAll() {
		d.latency = append(d.latency, d.end.Sub(it.at))
	}
	if n := len(d.latency); n > 0 {
		slices.Sort(d.latency)
		r.MedianLatency, r.P99Latency, r.MaxLatency = d.latency[n/2], d.latency[n*99/100], d.latency[n-1]
	}
	return r
}

var simEvent = &repost.Event{Endpoint: repost.EndpointSyncLeads}

// simItem is one lead of its own (lead<i>@sim.example).
func simItem(i int, at time.Time) *item {
	email := "lead" + strconv.Itoa(i) + "@sim.example"
	rec := json.RawMessage(`{"email":"` + email + `"}`)
	return &item{ev: simEvent, input: []json.RawMessage{rec}, keys: []string{"email=" + email},
		size: len(rec) + 1, group: "sim", at: at}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
