package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/leadops/repost/internal/fixture"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

// runner holds one run's state.
type runner struct {
	o        Options
	c        *cluster
	q        *queue.Queue
	rep      *Report
	meta     map[string]published
	total    int // events published, PausedSub's included
	lastKill time.Time

	mu        sync.Mutex
	drainedAt time.Time
}

func (r *runner) moment(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Chaos.Timeline = append(r.rep.Chaos.Timeline, Moment{At: time.Now(), What: what})
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, "%s  %s\n", time.Now().Format("15:04:05.000"), what)
	}
}

// Run does one chaos run and returns its accounting. An error means the
// harness could not run (a build, a server that would not start); a run
// that found the product at fault returns a Report whose OK is false.
// Every process it started is killed before it returns.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := &runner{o: o, rep: newReport(o)}
	if err := r.setup(ctx); err != nil {
		if r.c != nil {
			r.c.close()
		}
		return r.rep, err
	}
	defer r.c.close()
	defer r.q.Close()
	if err := r.drive(ctx); err != nil {
		return r.rep, err
	}
	return r.rep, r.account(ctx)
}

func newReport(o Options) *Report {
	return &Report{Params: Params{
		Events: o.Events, Workers: o.Workers, MixFraction: o.MixFraction, KillEvery: o.KillEvery.String(),
		ChaosFor: o.ChaosFor.String(), RedisAt: o.RedisAt.String(), NATSAt: o.NATSAt.String(),
		NATSSignal: o.NATSSignal, Grace: o.Grace.String(), Seed: o.Seed, FaultRate: o.FaultRate,
		AckWait: o.AckWait.String(), LeaseTTL: o.LeaseTTL.String(), Short: o.Short, BatchSize: o.BatchSize,
		Cluster: o.Cluster,
		Limits:  fmt.Sprintf("%d calls per %s, %d concurrent", o.Calls, o.Window, o.Concurrency),
	}, Started: time.Now(), ByKind: map[string]int{}}
}

// setup builds the binaries and starts NATS, Redis, the simulator and the
// replicas, with the consumers created first (see the package comment).
func (r *runner) setup(ctx context.Context) error {
	o := &r.o
	var err error
	if o.ModuleRoot == "" {
		if o.ModuleRoot, err = moduleRoot(); err != nil {
			return err
		}
	}
	if o.Dir == "" {
		if o.Dir, err = os.MkdirTemp("", "repost-chaos-*"); err != nil {
			return err
		}
	}
	r.rep.Dir = o.Dir
	binDir := filepath.Join(o.Dir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	bins, err := build(o.ModuleRoot, binDir)
	if err != nil {
		return err
	}
	r.rep.NATSVersion = bins.NATSVersion
	if r.c, err = newCluster(*o, o.Dir, bins); err != nil {
		return err
	}
	for _, start := range []func() error{r.c.startNATS, r.c.startRedis, r.c.startSim, r.c.writeWorkerConfig} {
		if err := start(); err != nil {
			return err
		}
	}
	if err := r.connect(ctx); err != nil {
		return err
	}
	if err := r.publishPaused(ctx); err != nil {
		return err
	}
	for slot := range o.Workers {
		if err := r.c.startWorker(slot, true); err != nil {
			return err
		}
	}
	servers := "nats-server"
	if o.Cluster {
		servers = fmt.Sprintf("%d nats-server (R%d)", ClusterSize, ClusterSize)
	}
	r.moment(fmt.Sprintf("%s %s, redis-server, 2 marketo-sim and %d repostd started", servers, bins.NATSVersion, o.Workers))
	return nil
}

// publishPaused pauses PausedSub with repostctl and publishes its events,
// before any replica starts: they wait from then on, and must be parked as
// expired once within ExpireMargin of MaxAge.
func (r *runner) publishPaused(ctx context.Context) error {
	r.meta = map[string]published{}
	if r.o.PausedEvents == 0 {
		return nil
	}
	reason := fmt.Sprintf("chaos: held past POSTOUT_FAILED's max age (%s)", r.o.MaxAge)
	if err := r.c.pause(ctx, PausedSub, reason); err != nil {
		return err
	}
	r.moment("repostctl subscription pause " + PausedSub)
	evs, meta := pausedEvents(r.o.PausedEvents, time.Now().Add(-time.Hour))
	pubAt := make([]time.Time, len(evs))
	if _, err := publish(ctx, r.q, evs, 0, pubAt); err != nil {
		return err
	}
	for i, e := range evs {
		p := meta[e.ID]
		p.PubAt = pubAt[i]
		r.meta[e.ID] = p
		r.rep.ByKind[e.Kind]++
	}
	r.rep.Published += len(evs)
	r.moment(fmt.Sprintf("%d events of the paused %s published", len(evs), PausedSub))
	return nil
}

// connect opens the harness's own NATS connection and creates the streams
// and the consumers the replicas will find.
func (r *runner) connect(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	q, err := queue.Connect(cctx, queue.Options{URL: r.c.natsURL(), Name: "repostchaos", AckWait: r.o.AckWait, Replicas: r.o.replicas(),
		MaxAge: r.o.MaxAge})
	if err != nil {
		return err
	}
	r.q = q
	// A cluster just started elects its JetStream meta leader first: until
	// then stream requests time out.
	return poll(ctx, 60*time.Second, func(ctx context.Context) error {
		if err := q.Ensure(ctx); err != nil {
			return err
		}
		for _, sub := range []string{fixture.Sub, PausedSub} {
			if _, err := q.ConsumerFor(ctx, sub); err != nil {
				return err
			}
		}
		return nil
	})
}

// drive publishes, runs the chaos, waits for the drain and stops the replicas.
func (r *runner) drive(ctx context.Context) error {
	o := r.o
	evs, meta := makeEvents(o.Events, o.MixFraction, o.PairEvery, o.Seed, time.Now().Add(-time.Hour))
	for id, p := range meta {
		r.meta[id] = p
	}
	r.total = len(r.meta)
	r.rep.Published += len(evs)
	for _, e := range evs {
		r.rep.ByKind[e.Kind]++
	}
	pubAt := make([]time.Time, len(evs))
	ctx, cancel := context.WithTimeout(ctx, o.Bound)
	defer cancel()
	start := time.Now()
	pubErr := make(chan error, 1)
	go func() {
		n, err := publish(ctx, r.q, evs, o.PublishOver, pubAt)
		r.rep.Chaos.PublishRetries = n
		pubErr <- err
	}()
	go r.progress(ctx)
	if err := r.schedule(ctx); err != nil {
		return fmt.Errorf("chaos: schedule: %w", err)
	}
	if err := <-pubErr; err != nil {
		return err
	}
	for i, e := range evs {
		p := r.meta[e.ID]
		p.PubAt = pubAt[i]
		r.meta[e.ID] = p
	}
	r.moment("all events published")
	if err := r.waitDrain(ctx); err != nil {
		return err
	}
	r.rep.DrainSecs = time.Since(start).Seconds()
	r.stopWorkers()
	return nil
}

// stopWorkers sends SIGTERM to every replica and records any that does not
// exit 0 within its shutdown deadline.
func (r *runner) stopWorkers() {
	for _, p := range r.c.workers {
		if err := p.stop(syscall.SIGTERM, 20*time.Second); err != nil {
			r.rep.Chaos.BadShutdowns = append(r.rep.Chaos.BadShutdowns, fmt.Sprintf("%s: %v: %s", p.name, err, p.tail(3)))
		}
	}
	r.moment("replicas stopped with SIGTERM")
}

// account reads the evidence back and evaluates it.
func (r *runner) account(ctx context.Context) error {
	ev := evidence{published: r.meta, window: r.o.Window, natsRestarts: 1, maxAge: r.o.MaxAge, margin: r.o.ExpireMargin}
	if r.o.Cluster {
		ev.natsRestarts = len(leaderTargets())
	}
	var err error
	if ev.outcomes, err = readOutcomes(ctx, r.q); err != nil {
		return err
	}
	if err := readSim(ctx, r.c.simURL, r.c.pausedSimURL, &ev); err != nil {
		return err
	}
	if ev.parked, err = readParked(ctx, r.q, PausedSub); err != nil {
		return err
	}
	until := r.lastKill.Add(r.o.LeaseTTL + 2*time.Second)
	lim := quota.Limits{CallsPerWindow: r.o.Calls, Window: r.o.Window, MaxConcurrency: r.o.Concurrency, DailyQuota: quota.DefaultDailyQuota}
	if ev.leases, err = waitLeases(ctx, r.c.redisAddr(), lim, until); err != nil {
		return err
	}
	r.rep.Limits.LeasesAfterTTL, r.rep.Limits.WaitedUntil = ev.leases, time.Now()
	if r.rep.Limits.KeysLeft, err = keysLeft(ctx, r.c.redisAddr()); err != nil {
		return err
	}
	if ev.secretInLogs, err = secretInLogs(r.o.Dir, r.c.secret); err != nil {
		return err
	}
	r.rep.Limits.SecretInLogs = ev.secretInLogs
	r.mu.Lock()
	if !r.drainedAt.IsZero() {
		d := r.drainedAt
		r.rep.Chaos.DrainedAt = &d
	}
	ev.chaos = r.rep.Chaos
	r.mu.Unlock()
	if ev.restore, err = readRestore(ctx, r.c.redisAddr(), lim); err != nil {
		return err
	}
	var a accounting
	a, r.rep.Checks = evaluate(ev)
	r.rep.Outcomes, r.rep.Leads, r.rep.Marketo, r.rep.Restore = a.outcomes, a.leads, a.marketo, a.restore
	r.rep.Order, r.rep.Expiry, r.rep.Repeats = a.order, a.expiry, a.repeats
	return nil
}
