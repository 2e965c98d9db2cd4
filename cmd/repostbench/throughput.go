package main

import (
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost"
	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/marketo/marketotest"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

type rate struct {
	Events    int
	Seconds   float64
	PerSecond float64
	CPU       float64 // cores busy on average (the whole process: server, simulator, worker)
}

// cpuPerEvent is the CPU time the whole process spent per event, in µs.
func (r rate) cpuPerEvent() float64 { return r.CPU / r.PerSecond * 1e6 }

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureThroughput runs, on the same embedded server and the same events,
// the raw JetStream consume+ack rate and repost's end-to-end rate with every
// limit off (simulator and limiter), one replica.
func measureThroughput(ctx context.Context, n, rounds int, prof profiles, rep *report) error {
	events := okEvents(n)
	var raw, floor, e2e []rate
	for r := range rounds { // interleaved, so that a slow moment of the machine hits all three
		last := r == rounds-1
		x, err := rawRate(ctx, events, false)
		if err != nil {
			return err
		}
		y, err := rawRate(ctx, events, true)
		if err != nil {
			return err
		}
		p := profiles{}
		if last {
			p = prof // profile one drain only
		}
		z, err := e2eRate(ctx, events, p)
		if err != nil {
			return err
		}
		raw, floor, e2e = append(raw, x), append(floor, y), append(e2e, z)
	}
	rep.Raw, rep.Floor, rep.E2E = median(raw), median(floor), median(e2e)
	rep.Rounds = rounds
	return nil
}

// median is the trial of median rate.
func median(rs []rate) rate {
	sort.Slice(rs, func(i, j int) bool { return rs[i].PerSecond < rs[j].PerSecond })
	return rs[len(rs)/2]
}

func fresh(ctx context.Context) (*queue.Embedded, *queue.Queue, func(), error) {
	dir, err := os.MkdirTemp("", "repostbench-")
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := queue.StartEmbedded(dir, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	q, err := queue.Connect(ctx, queue.Options{URL: e.URL})
	if err == nil {
		err = q.Ensure(ctx)
	}
	cleanup := func() { q.Close(); e.Shutdown(); os.RemoveAll(dir) }
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return e, q, cleanup, nil
}

// rawRate fetches in batches of 1,200 (never asking for more than remain,
// so that no fetch waits out its expiry at the end) and acks every message:
// the floor any consumer of the stream pays. With withOutcome it also
// publishes one outcome-sized message per event on the outcome stream and
// acks the fetched messages only once JetStream acknowledged those: the
// floor of any worker that keeps the contract's "outcome stored before the
// original is acked", before any decoding or Marketo call.
func rawRate(ctx context.Context, events []fixture.Event, withOutcome bool) (rate, error) {
	_, q, cleanup, err := fresh(ctx)
	if err != nil {
		return rate{}, err
	}
	defer cleanup()
	if err := publish(ctx, q, events); err != nil {
		return rate{}, err
	}
	cons, err := q.ConsumerFor(ctx, fixture.Sub)
	if err != nil {
		return rate{}, err
	}
	start, cpu0, got := time.Now(), cpuTime(), 0
	for got < len(events) {
		mb, err := cons.Fetch(min(1200, len(events)-got), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return rate{}, err
		}
		var msgs []jetstream.Msg
		b := q.NewBatch()
		for m := range mb.Messages() {
			msgs = append(msgs, m)
			if withOutcome { // what the worker stores for a reposted event
				b.Outcome(&repost.Outcome{EventID: "floor-" + strconv.Itoa(got+len(msgs)), LeadID: "L", Subscription: fixture.Sub,
					Kind: repost.KindReposted, Code: policy.CodeOK, MarketoID: 1, Status: "created", Attempts: 1, At: time.Now()})
			}
		}
		if err := mb.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrNoMessages) {
			return rate{}, err
		}
		if err := b.Wait(ctx); err != nil {
			return rate{}, err
		}
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				return rate{}, err
			}
		}
		got += len(msgs)
	}
	// The last acks must reach the server for the rate to be honest.
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := q.NC.FlushWithContext(fctx); err != nil {
		return rate{}, err
	}
	s := time.Since(start).Seconds()
	cpu := (cpuTime() - cpu0).Seconds()
	return rate{Events: got, Seconds: s, PerSecond: float64(got) / s, CPU: cpu / s}, nil
}

// e2eRate drains the same events through the worker into the simulator.
func e2eRate(ctx context.Context, events []fixture.Event, prof profiles) (rate, error) {
	e, q, cleanup, err := fresh(ctx)
	if err != nil {
		return rate{}, err
	}
	defer cleanup()
	if err := publish(ctx, q, events); err != nil {
		return rate{}, err
	}
	sim := marketotest.NewServer(marketotest.Options{DisableLimits: true, CallLogSize: 1})
	defer sim.Close()
	limits := quota.Limits{DailyQuota: 1 << 30, CallsPerWindow: 1 << 20, Window: time.Second, MaxConcurrency: 16, LeaseTTL: time.Minute}
	if prof.mem != "" { // the drain's allocations only
		runtime.MemProfileRate = 64 << 10
		runtime.GC()
		defer writeAllocs(prof.mem)
	}
	if prof.cpu != "" { // the drain only, not the publishing
		f, err := os.Create(prof.cpu)
		if err != nil {
			return rate{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return rate{}, err
		}
		defer pprof.StopCPUProfile()
	}
	start, cpu0 := time.Now(), cpuTime()
	r, err := startReplica(e.URL, quota.NewMemory(quota.MemoryOptions{}), marketo.NewMemoryTokenStore(), sim, limits, 2400)
	if err != nil {
		return rate{}, err
	}
	err = waitOutcomes(ctx, q, len(events), 10*time.Minute)
	s := time.Since(start).Seconds()
	cpu := (cpuTime() - cpu0).Seconds()
	_ = r.stop()
	if err != nil {
		return rate{}, err
	}
	return rate{Events: len(events), Seconds: s, PerSecond: float64(len(events)) / s, CPU: cpu / s}, nil
}

// profiles are where to write the end-to-end run's profiles ("" for none).
type profiles struct{ cpu, mem string }

// writeAllocs writes the allocations made since the profile was reset.
func writeAllocs(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("allocs").WriteTo(f, 0)
}
