package console

import (
	"context"
	"sync"
	"time"
)

// Status is one snapshot of the pipeline: what `repostctl status` shows.
type Status struct {
	At       time.Time
	NATS     Endpoint
	Redis    Endpoint
	Replicas []Replica
	Subs     []SubStatus
}

// Endpoint is a server and its state.
type Endpoint struct {
	URL, Version string // URL without credentials
	Status       string // connected, disconnected, in-process, unreachable
	Error        string
}

// Replica is one repostd seen through its heartbeat.
type Replica struct {
	ID, Host, Version string
	StartedAt, SeenAt time.Time
}

// SubStatus is one subscription's row.
type SubStatus struct {
	ID        string
	Backlog   int           // events pending or awaiting ack in the consumer
	OldestAge time.Duration // age of the oldest event not yet handled; 0 when none
	InFlight  int
	Deferred  int
	// Reposted, Parked, Skipped and Calls count the last 5 minutes.
	Reposted, Parked, Skipped, Calls int
	Limits                           *Limits // nil when not visible from here
	Holds                            []Hold  // halted, paused, blocked; empty when running
	Errors                           []string
}

// Limits are a subscription's shared limits at the snapshot's time.
type Limits struct {
	CallsInWindow, WindowLimit int
	Window                     time.Duration
	QuotaUsed, QuotaLimit      int
	ResetAt                    time.Time // next 00:00 America/Chicago
	RunsOutAt                  time.Time // when today's quota runs out at the current rate; zero: not before the reset
}

// QuotaLeft is what remains of the day's quota.
func (l Limits) QuotaLeft() int { return max(0, l.QuotaLimit-l.QuotaUsed) }

// Hold is why a subscription does not run.
type Hold struct {
	Kind   string // halted, paused, blocked
	Until  time.Time
	Reason string
	Actor  string
}

// Source collects a Status. The console calls it at most once per
// Config.SnapshotEvery, whatever the number of viewers. Snapshot returns
// an error when nothing could be collected; partial failures (Redis down)
// are reported inside the Status.
type Source interface {
	Snapshot(ctx context.Context) (Status, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Status, error)

// Snapshot calls f.
func (f SourceFunc) Snapshot(ctx context.Context) (Status, error) { return f(ctx) }

var _ Source = SourceFunc(nil)

// cached holds one value shared by every viewer, refreshed at most once per
// every: the first request after that collects it while the others wait
// for the same result. A failed refresh keeps the last good value (with
// the error, so that the page can say it is stale).
type cached[T any] struct {
	every   time.Duration
	now     func() time.Time
	collect func(ctx context.Context) (T, error)

	mu    sync.Mutex
	at    time.Time // when the last collection ended
	ok    bool      // val holds a good value
	val   T
	err   error
	count int // collections so far
}

// get returns the shared value, collecting it when it is older than every.
// The collection outlives a viewer who leaves (its context is detached),
// so that the others waiting get it.
func (c *cached[T]) get(ctx context.Context, timeout time.Duration) (T, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.count > 0 && c.now().Sub(c.at) < c.every {
		return c.val, c.ok, c.err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	v, err := c.collect(cctx)
	c.count++
	c.at = c.now() // measured from the end: collections never overlap nor come closer than every
	if err == nil {
		c.val, c.ok = v, true
	}
	c.err = err
	return c.val, c.ok, c.err
}

// collections reports how many collections ran.
func (c *cached[T]) collections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}
