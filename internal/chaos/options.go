package chaos

import (
	"fmt"
	"io"
	"time"
)

// Options are the parameters of one run. Zero durations are not filled in:
// start from Full or Short and change what you need.
type Options struct {
	Events       int           // failed events published
	Workers      int           // repostd replicas
	MixFraction  float64       // share of events drawn from fixture.Mix; the rest are plain reposts
	PublishOver  time.Duration // events are published at a steady rate over this; 0: all at once
	KillEvery    time.Duration // a random replica is SIGKILLed and restarted this often
	ChaosFor     time.Duration // kills stop after this, so the drain can end
	RedisAt      time.Duration // Redis is restarted this long after the chaos starts
	NATSAt       time.Duration // NATS is restarted this long after the chaos starts
	Downtime     time.Duration // how long Redis and NATS stay down when restarted
	NATSSignal   string        // "term" or "kill": how nats-server is stopped
	Bound        time.Duration // the whole drain must end within this
	Grace        time.Duration // a restart window lasts from the stop until this long after the start
	Seed         uint64        // events, faults and the kill schedule
	FaultRate    float64       // share of simulator answers that are faults
	AckWait      time.Duration // AckWait of the consumers the harness creates
	LeaseTTL     time.Duration // repostd worker.leaseTTL
	BatchSize    int           // repostd worker.batchSize: small, so that the drain needs the whole call rate
	Window       time.Duration // the Marketo window, for both the simulator and repostd
	Calls        int           // calls per window
	Concurrency  int           // calls in flight
	Latency      time.Duration // simulator latency per call
	MaxAge       time.Duration // POSTOUT_FAILED's max age, shortened for the run (production: 14 days)
	ExpireMargin time.Duration // repostd worker.expireMargin: events this close to MaxAge are parked as expired
	PausedEvents int           // events of PausedSub, paused with repostctl before they are published
	PairEvery    int           // one out-of-order pair of a lead in every PairEvery events; 0: none
	Short        bool          // recorded in the report
	Cluster      bool          // 3 nats-server routed, R3 streams; leaders are killed instead of one NATS restart
	LeaderGap    time.Duration // -cluster: from a restarted leader's streams being current to the next leader kill
	Dir          string        // work directory (logs, stores); a temp dir when empty
	ModuleRoot   string        // the repost module; found with `go env GOMOD` when empty
	Progress     io.Writer     // progress lines; nil: none
}

// Full is `make chaos`: 20,000 events published over 30 s, three replicas
// sending batches of 10 (so that the drain needs the whole call rate and the
// shared limits are tested at their edge), a kill every 3 s for a minute,
// Redis and NATS restarted once each in the middle. In the mix: events near
// the 1 MiB max payload, an out-of-order pair of one lead in every 50
// events, and 200 events of a second subscription paused past
// POSTOUT_FAILED's max age, shortened to 150 s with a 20 s expireMargin
// (a main event may wait about 90 s in the worst case: the backlog, then
// the 40 s AckWait of a killed replica, so the line at 130 s spares it).
func Full() Options {
	return Options{
		Events: 20000, Workers: 3, MixFraction: 0.3, PublishOver: 30 * time.Second,
		KillEvery: 3 * time.Second, ChaosFor: 60 * time.Second,
		RedisAt: 20 * time.Second, NATSAt: 40 * time.Second, Downtime: time.Second, NATSSignal: "term",
		Bound: 10 * time.Minute, Grace: 10 * time.Second, Seed: 1, FaultRate: 0.10,
		AckWait: 40 * time.Second, LeaseTTL: 15 * time.Second, BatchSize: 10,
		Window: 2 * time.Second, Calls: 100, Concurrency: 10, Latency: 200 * time.Millisecond,
		MaxAge: 150 * time.Second, ExpireMargin: 20 * time.Second, PausedEvents: 200, PairEvery: 50,
	}
}

// Short is the version `make test` runs (well under two minutes on two
// cores): 3,000 events, a kill every 2 s, NATS restarted in the middle of
// the chaos and Redis at its end, after the last kill. POSTOUT_FAILED keeps
// events 90 s with a 15 s margin: the paused subscription's 100 events are
// parked as expired about 75 s after they are published (before the
// replicas start), after the main drain (about 60 s, its slowest events
// waiting out a killed replica's 40 s AckWait). Redis comes last
// because its restart also frees the lookup-value claims a killed replica
// held: repostd does not expose the worker's ClaimTTL (3 min), so claims
// left by a kill would otherwise hold their leads for three minutes.
func Short() Options {
	o := Full()
	o.Events, o.PublishOver, o.BatchSize = 3000, 12*time.Second, 5
	o.KillEvery, o.ChaosFor = 2*time.Second, 16*time.Second
	o.NATSAt, o.RedisAt = 8*time.Second, 17*time.Second
	o.Bound, o.Short = 140*time.Second, true
	o.MaxAge, o.ExpireMargin, o.PausedEvents = 90*time.Second, 15*time.Second, 100
	return o
}

// WithCluster turns o into a cluster run: three nats-server processes with
// routes on loopback, the streams and the bucket with three replicas, and,
// instead of one NATS restart, the servers leading POSTOUT_FAILED, then the
// subscription's consumer, then POSTOUT_OUTCOMES SIGKILLed in turn, from
// half-way to NATSAt on, each restarted after Downtime and caught up
// (at most 30 s) before the next; the bound and POSTOUT_FAILED's max age
// are doubled.
func WithCluster(o Options) Options {
	o.Cluster, o.NATSSignal = true, "kill"
	o.NATSAt /= 2
	o.LeaderGap = 2 * o.KillEvery
	o.Bound *= 2  // each restarted server catches up before the next kill
	o.MaxAge *= 2 // and main events wait longer meanwhile: keep the expiry line clear of them
	return o
}

func (o Options) replicas() int {
	if o.Cluster {
		return ClusterSize
	}
	return 1
}

// ConfigError names a bad option.
type ConfigError struct {
	Field, Reason string
}

func (e *ConfigError) Error() string { return "chaos: " + e.Field + ": " + e.Reason }

// Validate reports the first bad option.
func (o Options) Validate() error {
	positive := []struct {
		name string
		v    int64
	}{
		{"events", int64(o.Events)}, {"workers", int64(o.Workers)}, {"killEvery", int64(o.KillEvery)},
		{"chaosFor", int64(o.ChaosFor)}, {"bound", int64(o.Bound)}, {"ackWait", int64(o.AckWait)},
		{"leaseTTL", int64(o.LeaseTTL)}, {"window", int64(o.Window)}, {"calls", int64(o.Calls)},
		{"concurrency", int64(o.Concurrency)}, {"batchSize", int64(o.BatchSize)},
		{"maxAge", int64(o.MaxAge)}, {"expireMargin", int64(o.ExpireMargin)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return &ConfigError{p.name, "must be > 0"}
		}
	}
	switch {
	case o.MixFraction < 0 || o.MixFraction > 1:
		return &ConfigError{"mixFraction", "must be within [0, 1]"}
	case o.FaultRate < 0 || o.FaultRate > 0.9:
		return &ConfigError{"faultRate", "must be within [0, 0.9]"}
	case o.RedisAt < 0 || o.NATSAt < 0 || o.Downtime < 0 || o.Grace < 0 || o.PublishOver < 0 || o.LeaderGap < 0:
		return &ConfigError{"redisAt/natsAt/downtime/grace/publishOver/leaderGap", "must be >= 0"}
	case o.NATSSignal != "term" && o.NATSSignal != "kill":
		return &ConfigError{"natsSignal", fmt.Sprintf("%q: want term or kill", o.NATSSignal)}
	case o.ExpireMargin >= o.MaxAge:
		return &ConfigError{"expireMargin", "must be below maxAge"}
	case o.PausedEvents < 0 || o.PairEvery < 0 || o.PairEvery == 1:
		return &ConfigError{"pausedEvents/pairEvery", "must be >= 0 (pairEvery 0 or >= 2)"}
	case o.BatchSize > 300:
		return &ConfigError{"batchSize", "must be at most 300"}
	case o.AckWait <= 31*time.Second:
		// the worker marks held events in progress every 30 s
		return &ConfigError{"ackWait", "must exceed the worker's 30 s keep-alive"}
	}
	return nil
}
