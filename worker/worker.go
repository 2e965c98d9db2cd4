package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/leadops/repost/internal/randid"
	"github.com/leadops/repost/marketo"
	"github.com/leadops/repost/policy"
	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

// Limiter is the shared view of each subscription's Marketo limits
// (quota.Store satisfies it). Every method returns an error only when the
// store cannot be reached; a refusal is a value.
type Limiter interface {
	Admit(ctx context.Context, sub string, lim quota.Limits) (quota.Admission, error)
	Release(ctx context.Context, l quota.Lease) error
	Refund(ctx context.Context, l quota.Lease) error
	Answered(ctx context.Context, l quota.Lease, lim quota.Limits, guard time.Duration) error
	Renew(ctx context.Context, l quota.Lease, ttl time.Duration) (quota.Lease, error)
	Penalize(ctx context.Context, sub string, code int, lim quota.Limits) error
	Halt(ctx context.Context, sub, reason string) error
	Resume(ctx context.Context, sub string) error
	Snapshot(ctx context.Context, sub string, lim quota.Limits) (quota.Snapshot, error)
	MarkSuccess(ctx context.Context, sub, leadID string, at time.Time) error
	LastSuccess(ctx context.Context, sub, leadID string) (time.Time, bool, error)
	MarkSuccesses(ctx context.Context, sub string, leadIDs []string, at []time.Time) error
	LastSuccesses(ctx context.Context, sub string, leadIDs []string) ([]time.Time, error)
	Claim(ctx context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error)
	RenewClaims(ctx context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error)
	Unclaim(ctx context.Context, sub, owner string, keys []string) error
	Restore(ctx context.Context, sub string, lim quota.Limits, read quota.UsageReader) (quota.Restored, error)
}

// Queue is what the worker uses of NATS JetStream (*queue.Queue satisfies
// it). Unless said otherwise a method's error means JetStream did not
// answer or refused; the queue package documents each one.
type Queue interface {
	// Setup: the streams, the consumers and the limits they were made with.
	Ensure(ctx context.Context) error
	FailedMaxAge(ctx context.Context) (time.Duration, error)
	ConsumerFor(ctx context.Context, sub string) (jetstream.Consumer, error)
	SucceededConsumer(ctx context.Context) (jetstream.Consumer, error)
	AckWait() time.Duration
	MaxPayload() int
	DataLimit() int

	// Finishing: outcomes and parked entries are published in batches.
	NewBatch() *queue.Batch
	PutBody(ctx context.Context, name string, body []byte) error

	// An event's attempts between deliveries (zero state when none).
	LoadState(ctx context.Context, eventID string) (queue.EventState, error)
	SaveState(ctx context.Context, eventID string, st queue.EventState) error
	ForgetState(ctx context.Context, eventID string) error

	// The failed stream read by subject and sequence: expiry and unrouted
	// events. NextFailed returns nil, nil when there is none.
	OldestFailed(ctx context.Context, sub string, seq uint64) (time.Time, bool, error)
	FailedSubjects(ctx context.Context) (map[string]uint64, error)
	FailedSubscription(subject string) (string, bool)
	NextFailed(ctx context.Context, subject string, seq uint64) (*jetstream.RawStreamMsg, error)
	// The unrouted subjects' progress and claims; a claim or save that
	// lost a race returns queue.ErrProgressMoved.
	UnroutedProgress(ctx context.Context, subject string) (queue.Progress, error)
	SaveUnroutedProgress(ctx context.Context, subject string, p queue.Progress, done uint64) (queue.Progress, error)
	ClaimUnrouted(ctx context.Context, subject string, p queue.Progress) (queue.Progress, error)
	ConsumerActivity(ctx context.Context, sub string) (last time.Time, exists bool, err error)

	// Replicas' heartbeats, operators' pauses, and the success marks read
	// back after a Redis loss.
	Announce(ctx context.Context, h queue.Heartbeat) error
	Withdraw(ctx context.Context, id string) error
	Replicas(ctx context.Context, now time.Time) ([]queue.Heartbeat, error)
	GetPause(ctx context.Context, sub string) (queue.Pause, bool, error)
	ScanMarks(ctx context.Context, sub string, since time.Time, fn func(leadID string, at time.Time) error) (int, error)

	// The connection, for /readyz and metrics: its state now, how often
	// it came back, and a callback at each drop and return.
	Connected() bool
	ConnStatus() string
	Reconnects() uint64
	WatchConn(fn func(queue.ConnEvent))
}

// Marketo is one subscription's client (*marketo.Client satisfies it).
type Marketo interface {
	Post(ctx context.Context, req marketo.LeadsRequest) (*marketo.Response, error)
}

// Decider is the policy engine.
type Decider interface {
	Decide(in policy.Input) policy.Decision
	// Action is Decide's action for a first failure, without its reason.
	Action(c policy.Code) policy.Action
}

var (
	_ Queue   = (*queue.Queue)(nil)
	_ Decider = (*policy.Engine)(nil)
	_ Marketo = (*marketo.Client)(nil)
)

// Subscription is one Marketo instance the worker reposts to.
type Subscription struct {
	ID     string
	Limits quota.Limits
	Client Marketo
	// Probe is a cheap call that succeeds once a halt is over (identity
	// works and the API user may call the API again).
	Probe func(ctx context.Context) error
}

// Config holds the worker's knobs; zero values take the defaults noted.
type Config struct {
	Subscriptions []Subscription
	Linger        time.Duration // wait for a batch to fill: 200 ms
	BatchSize     int           // records per call: 300 (Marketo's maximum)
	MaxBodyBytes  int           // body per call: 1 MB less a margin
	FetchSize     int           // events fetched at once per subscription: 4 batches
	// MaxPooled bounds the records fetched and waiting for a call, per
	// subscription: enough to fill the call granted next in every group of a
	// mixed traffic (7 batches, at least FetchSize), few enough to bound memory.
	MaxPooled int
	// MaxHeldBytes bounds the data of the events held per subscription
	// (fetched and not yet acked or handed back: pooled, being prepared, in
	// calls): no fetch starts at or above it, and a fetch takes at most what
	// is left below it plus one message, so one event larger than the bound
	// still flows. DefaultMaxHeldBytes (16 MiB).
	MaxHeldBytes    int
	ShutdownTimeout time.Duration // in-flight calls may finish within: 25 s
	ProbeInterval   time.Duration // halted subscriptions are probed every: 30 s
	ClaimTTL        time.Duration // lookup values stay claimed at most: 3 min
	MaxReauths      int           // 601/602 in a row before halting: 5
	GaugeInterval   time.Duration // limiter gauges are refreshed every: 5 s
	Version         string
	Owner           string // replica name for claims and logs; random when empty
	Now             func() time.Time
	Logger          *zap.Logger
	Registerer      prometheus.Registerer
	// Unrouted parks events of subscriptions missing from the config; it is on
	// unless disabled (only one worker of a fleet needs it, but more are safe).
	DisableUnrouted bool
	// UnroutedScan is how often the failed stream's subjects are searched
	// for subscriptions missing from the config: 5 s by default.
	UnroutedScan time.Duration
	// UnroutedGrace is how long a subscription missing from the config is
	// still left to the replicas that served it, after the last sign of
	// one (served.go): DefaultUnroutedGrace.
	UnroutedGrace time.Duration
	Heartbeat     time.Duration // replica heartbeat interval: DefaultHeartbeat
	PausePoll     time.Duration // operators' pauses are read every: DefaultPausePoll
	// PublishRetry is how long the outcomes and parked entries of finished
	// events are published again, in process, when JetStream does not take
	// them (1 min); only then are the events handed back.
	PublishRetry time.Duration
	// ExpireMargin is how long before an event would age out of
	// POSTOUT_FAILED it is parked as expired (expire.go): DefaultExpireMargin.
	ExpireMargin time.Duration
	ExpireScan   time.Duration // how often the oldest events are looked at: DefaultExpireScan
}

func (c *Config) defaults() {
	if c.UnroutedScan <= 0 {
		c.UnroutedScan = 5 * time.Second
	}
	if c.UnroutedGrace <= 0 {
		c.UnroutedGrace = DefaultUnroutedGrace
	}
	if c.PublishRetry <= 0 {
		c.PublishRetry = time.Minute
	}
	if c.ExpireMargin <= 0 {
		c.ExpireMargin = DefaultExpireMargin
	}
	if c.ExpireScan <= 0 {
		c.ExpireScan = DefaultExpireScan
	}
	if c.Linger <= 0 {
		c.Linger = 200 * time.Millisecond
	}
	if c.BatchSize <= 0 || c.BatchSize > 300 {
		c.BatchSize = 300
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1_000_000 - 16*1024
	}
	if c.FetchSize <= 0 {
		c.FetchSize = 4 * c.BatchSize
	}
	if c.MaxPooled <= 0 {
		c.MaxPooled = max(c.FetchSize, 7*c.BatchSize)
	}
	if c.MaxHeldBytes <= 0 {
		c.MaxHeldBytes = DefaultMaxHeldBytes
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 25 * time.Second
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 30 * time.Second
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = 3 * time.Minute
	}
	if c.GaugeInterval <= 0 {
		c.GaugeInterval = 5 * time.Second
	}
	if c.MaxReauths <= 0 {
		c.MaxReauths = 5
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Owner == "" {
		c.Owner = "w-" + randid.Hex(6)
	}
}

// Worker reposts failed post-outs. Create it with New and call Run once.
type Worker struct {
	q       Queue
	lim     Limiter
	pol     Decider
	cfg     Config
	log     *zap.Logger
	m       *metrics
	subs    map[string]*subRunner
	mu      sync.Mutex
	halts   map[string]string // subscription → reason, as last seen
	stopped bool
	pauses  *pauses
	namedAt map[string]time.Time // subscription → last named by a heartbeat (unrouted loop only)
	expiry  *expiry
}

// New checks its dependencies and prepares a worker; nothing runs yet.
func New(q Queue, lim Limiter, pol Decider, cfg Config) (*Worker, error) {
	if q == nil || lim == nil || pol == nil {
		return nil, errors.New("worker: queue, limiter and policy are required")
	}
	cfg.defaults()
	w := &Worker{q: q, lim: lim, pol: pol, cfg: cfg, log: cfg.Logger,
		m: newMetrics(cfg.Registerer), subs: map[string]*subRunner{}, halts: map[string]string{}}
	w.watchNATS(cfg.Registerer)
	for _, s := range cfg.Subscriptions {
		if s.ID == "" || s.Client == nil {
			return nil, fmt.Errorf("worker: subscription %q needs an ID and a client", s.ID)
		}
		if _, dup := w.subs[s.ID]; dup {
			return nil, fmt.Errorf("worker: subscription %q twice", s.ID)
		}
		g := guardBand(s.Limits.Window)
		s.Limits = guarded(s.Limits)
		w.subs[s.ID] = &subRunner{w: w, sub: s, guard: g, held: newHeldSet()}
		w.m.quotaLimit.WithLabelValues(s.ID).Set(float64(s.Limits.DailyQuota))
		w.m.effectiveConc.WithLabelValues(s.ID).Set(float64(s.Limits.MaxConcurrency))
		w.m.halted.WithLabelValues(s.ID).Set(0)
		w.m.initSeries(s.ID)
	}
	w.m.buildInfo.WithLabelValues(cfg.Version).Set(1)
	w.m.watchLimitsStore(cfg.Registerer, lim)
	w.pauses = newPauses(cfg.Registerer, w.subs)
	w.expiry = newExpiry(cfg.Registerer, w.subs)
	return w, nil
}

// Run creates what is missing in JetStream, then reposts until ctx is
// cancelled, and shuts down in the order written out below before it
// returns. It returns nil after a clean shutdown.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.untilAnswered(ctx, "ensure streams", func() error { return w.q.Ensure(ctx) }); err != nil {
		return err
	}
	maxAge, err := w.q.FailedMaxAge(ctx)
	if err != nil {
		return err
	}
	if err := w.checkExpiry(maxAge); err != nil {
		return err
	}
	// work is cancelled only after in-flight calls had their deadline.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	w.readPauses(ctx) // before the first fetch
	beat := w.newHeartbeat()
	beat.start(context.WithoutCancel(ctx)) // it outlives ctx: stopped last, after the drain
	defer beat.stop()
	pausePoll := newComponent("pauses", w.runPauses)
	pausePoll.start(ctx)
	var pipes sync.WaitGroup // one pipeline per subscription: fetch to ack
	for _, s := range w.subs {
		var cons jetstream.Consumer
		if err := w.untilAnswered(ctx, "consumer of "+s.sub.ID, func() (err error) {
			cons, err = w.q.ConsumerFor(ctx, s.sub.ID)
			return err
		}); err != nil {
			return err
		}
		s.cons = cons
		pipes.Add(1)
		go func(s *subRunner) { defer pipes.Done(); s.run(ctx, work) }(s)
	}
	loops, err := w.startLoops(ctx, maxAge)
	if err != nil {
		return err
	}
	loops = append([]*component{pausePoll}, loops...)
	w.log.Info("worker started", zap.String("owner", w.cfg.Owner), zap.Int("subscriptions", len(w.subs)))
	<-ctx.Done()
	// Shutdown order, written out here once:
	//  1. stop fetching: ctx ended every subscription's fetch loop, and
	//     /readyz says not ready; what waits in a pool is handed back at
	//     once (Nak, no delay) so that another replica takes it;
	//  2. let in-flight Marketo calls finish within ShutdownTimeout, then
	//     cancel the rest (work) and hand their events back; each call
	//     releases its concurrency lease and lookup claims as it ends;
	//  3. stop the background loops (ctx ended them too): pauses, expiry,
	//     unrouted, succeeded, gauges;
	//  4. withdraw the heartbeat (beat, deferred), last: other replicas
	//     count this one while it still holds events;
	//  5. the caller then closes NATS (drain) and, last, the limiter's Redis.
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.log.Info("shutdown: stopped fetching; waiting for in-flight calls", zap.Duration("deadline", w.cfg.ShutdownTimeout))
	w.drain(&pipes, cancelWork)
	for _, c := range loops {
		c.stop()
		w.log.Debug("shutdown: stopped", zap.String("component", c.name))
	}
	w.log.Info("shutdown: done")
	return nil
}

// startLoops starts the background loops that follow the pipelines:
// expiry, unrouted (unless disabled), succeeded and gauges, in that order,
// each ending with ctx.
func (w *Worker) startLoops(ctx context.Context, maxAge time.Duration) ([]*component, error) {
	var loops []*component
	start := func(name string, run func(ctx context.Context)) {
		c := newComponent(name, run)
		c.start(ctx)
		loops = append(loops, c)
	}
	start("expiry", func(ctx context.Context) { w.runExpiry(ctx, maxAge) })
	if !w.cfg.DisableUnrouted {
		start("unrouted", w.runUnrouted)
	}
	cons, err := w.q.SucceededConsumer(ctx)
	if err != nil {
		return loops, err
	}
	start("succeeded", func(ctx context.Context) { w.runSucceeded(ctx, cons) })
	start("gauges", func(ctx context.Context) { w.runGauges(ctx, w.cfg.GaugeInterval) })
	return loops, nil
}

// drain waits for the pipelines' in-flight calls for up to ShutdownTimeout,
// then cancels work (the calls still running) and waits for their events
// to be handed back.
func (w *Worker) drain(pipes *sync.WaitGroup, cancelWork context.CancelFunc) {
	done := make(chan struct{})
	go func() { pipes.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.ShutdownTimeout):
		w.log.Warn("shutdown: deadline reached; cancelling in-flight calls and handing their events back")
		cancelWork()
		<-done
	}
}

// guarded widens the call window by a guard band: admission happens a
// network delay before Marketo counts the call, and that delay varies, so
// admitting N calls per exact window could let Marketo see N+1 in its own.
// Counting over a window longer by more than any delay keeps Marketo's
// count at N. The band is a tenth of the window, at most one second: 5%
// of throughput at Marketo's 20 s window.
func guarded(l quota.Limits) quota.Limits {
	if l.Window <= 0 {
		l.Window = quota.DefaultWindow
	}
	l.Window += guardBand(l.Window)
	return l
}

// guardBand is what guarded adds to a window: also the longest a call may
// wait between its admission and leaving (post admits it again past it).
func guardBand(window time.Duration) time.Duration {
	if window <= 0 {
		window = quota.DefaultWindow
	}
	return min(window/10, time.Second)
}
