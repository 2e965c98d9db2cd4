package status

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leadops/repost/queue"
	"github.com/leadops/repost/quota"
)

// Queue is what Collect reads from JetStream (*queue.Queue satisfies it).
type Queue interface {
	// ConsumerInfo returns jetstream.ErrConsumerNotFound before any worker
	// created the subscription's consumer.
	ConsumerInfo(ctx context.Context, sub string) (*jetstream.ConsumerInfo, error)
	// OldestFailed is the publication time of sub's first event at or after seq.
	OldestFailed(ctx context.Context, sub string, seq uint64) (time.Time, bool, error)
	// Replicas are the live heartbeats at now.
	Replicas(ctx context.Context, now time.Time) ([]queue.Heartbeat, error)
	// Pauses are the stored pauses by subscription, in force or expired.
	Pauses(ctx context.Context) (map[string]queue.Pause, error)
	// Server describes the connection: URL without credentials, server
	// version, and whether it is connected.
	Server() (url, version string, connected bool)
}

// Limits reads the shared limits (quota.Store satisfies it); errors only
// when the store cannot be reached.
type Limits interface {
	Snapshot(ctx context.Context, sub string, lim quota.Limits) (quota.Snapshot, error)
}

var (
	_ Queue  = (*queue.Queue)(nil)
	_ Limits = (quota.Store)(nil)
)

// Subscription is one configured subscription and its limits.
type Subscription struct {
	ID     string
	Limits quota.Limits
}

// Options say what to collect. Limits may be nil when the limits cannot be
// seen from here (no Redis: they live inside the repostd process); Redis
// then says why.
type Options struct {
	Subscriptions []Subscription
	Limits        Limits
	Redis         string // the Redis URL without credentials; "" for in-process limits
	Now           func() time.Time
}

// RecentSpan is the span of a row's recent outcomes.
const RecentSpan = 5 * time.Minute

// Snapshot is the whole status at one time.
type Snapshot struct {
	At            time.Time `json:"at"`
	NATS          Endpoint  `json:"nats"`
	Redis         Endpoint  `json:"redis"`
	Replicas      []Replica `json:"replicas"`
	Subscriptions []Row     `json:"subscriptions"`
}

// Endpoint is a server and its state.
type Endpoint struct {
	URL     string `json:"url"`
	Version string `json:"version,omitempty"`
	Status  string `json:"status"` // connected, disconnected, in-process, unreachable
	Error   string `json:"error,omitempty"`
}

// Replica is one repostd seen by its heartbeat.
type Replica struct {
	ID            string    `json:"id"`
	Host          string    `json:"host"`
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"startedAt"`
	SeenAt        time.Time `json:"seenAt"`
	Subscriptions []string  `json:"subscriptions"`
}

// Row is one subscription.
type Row struct {
	Subscription string `json:"subscription"`
	// Backlog is Pending (not yet delivered) plus AckPending (delivered,
	// not yet finished). Unknown until a worker created the consumer.
	Backlog    int       `json:"backlog"`
	Pending    int       `json:"pending"`
	AckPending int       `json:"ackPending"`
	OldestAt   time.Time `json:"oldestAt,omitzero"`
	OldestAge  Duration  `json:"oldestAge"`
	// InFlight are events the live replicas hold; Deferred are delivered
	// events no replica holds: waiting out a retry backoff or a hand-back
	// delay. (Copies put back during a long block are in Pending.)
	InFlight int `json:"inFlight"`
	Deferred int `json:"deferred"`
	// Recent are the outcomes and calls of the live replicas over RecentSpan.
	Recent queue.RecentCounts `json:"recent"`
	Limits *LimitsRow         `json:"limits,omitempty"` // nil when not visible from here
	Holds  []Hold             `json:"holds"`            // halted, paused, blocked: empty when running
	Errors []string           `json:"errors,omitempty"` // what could not be read
}

// LimitsRow is a subscription's shared limits.
type LimitsRow struct {
	CallsInWindow int       `json:"callsInWindow"`
	WindowLimit   int       `json:"windowLimit"`
	Window        Duration  `json:"window"`
	QuotaUsed     int       `json:"quotaUsed"`
	QuotaLimit    int       `json:"quotaLimit"`
	QuotaLeft     int       `json:"quotaLeft"`
	ResetAt       time.Time `json:"resetAt"`
	// QuotaRunsOutAt is when today's quota is used up at the current rate;
	// zero when it lasts until ResetAt (or nothing is being called).
	QuotaRunsOutAt time.Time `json:"quotaRunsOutAt,omitzero"`
	// RatePerMinute is the call rate the estimate uses.
	RatePerMinute float64 `json:"ratePerMinute"`
}

// Hold is why a subscription does not run.
type Hold struct {
	Kind   string    `json:"kind"` // halted, paused, blocked
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason"`
	Actor  string    `json:"actor,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// Hold kinds.
const (
	HoldHalted  = "halted"
	HoldPaused  = "paused"
	HoldBlocked = "blocked"
)

// Collect reads one snapshot. A part that cannot be read is reported in
// the snapshot (Endpoint.Error, Row.Errors) rather than failing the rest;
// the error is for a canceled ctx only.
func Collect(ctx context.Context, q Queue, o Options) (*Snapshot, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	at := now()
	s := &Snapshot{At: at, Replicas: []Replica{}, Subscriptions: []Row{}}
	url, version, connected := q.Server()
	s.NATS = Endpoint{URL: url, Version: version, Status: "connected"}
	if !connected {
		s.NATS.Status = "disconnected"
	}
	s.Redis = Endpoint{URL: o.Redis, Status: "connected"}
	if o.Limits == nil {
		s.Redis.Status = "in-process"
		s.Redis.Error = "no Redis configured: the limits live inside the repostd process and are not visible from here"
	}
	beats, err := q.Replicas(ctx, at)
	if err != nil {
		s.NATS.Error = "heartbeats: " + err.Error()
	}
	sort.Slice(beats, func(i, j int) bool { return beats[i].ID < beats[j].ID })
	for _, h := range beats {
		s.Replicas = append(s.Replicas, Replica{ID: h.ID, Host: h.Host, Version: h.Version,
			StartedAt: h.StartedAt, SeenAt: h.SeenAt, Subscriptions: h.Subscriptions})
	}
	pauses, err := q.Pauses(ctx)
	if err != nil {
		s.NATS.Error = joinErr(s.NATS.Error, "pauses: "+err.Error())
	}
	limitsDown := false
	for _, sub := range o.Subscriptions {
		row := collectRow(ctx, q, o.Limits, sub, at, beats, pauses, &limitsDown)
		s.Subscriptions = append(s.Subscriptions, row)
	}
	if limitsDown {
		s.Redis.Status = "unreachable"
	}
	return s, ctx.Err()
}

func collectRow(ctx context.Context, q Queue, lim Limits, sub Subscription, at time.Time,
	beats []queue.Heartbeat, pauses map[string]queue.Pause, limitsDown *bool) Row {
	r := Row{Subscription: sub.ID, Holds: []Hold{}}
	info, err := q.ConsumerInfo(ctx, sub.ID)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		r.Errors = append(r.Errors, "no consumer yet: no repostd has run this subscription")
	case err != nil:
		r.Errors = append(r.Errors, "consumer: "+err.Error())
	default:
		r.Pending, r.AckPending = int(info.NumPending), info.NumAckPending
		r.Backlog = r.Pending + r.AckPending
		if r.Backlog > 0 {
			if t, ok, err := q.OldestFailed(ctx, sub.ID, info.AckFloor.Stream+1); err != nil {
				r.Errors = append(r.Errors, "oldest event: "+err.Error())
			} else if ok {
				r.OldestAt, r.OldestAge = t, Duration(max(0, at.Sub(t)))
			}
		}
	}
	var span time.Duration
	for _, h := range beats {
		r.InFlight += h.InFlight[sub.ID]
		c := h.Recent[sub.ID]
		r.Recent.Reposted += c.Reposted
		r.Recent.Parked += c.Parked
		r.Recent.Skipped += c.Skipped
		r.Recent.Rejected += c.Rejected
		r.Recent.Calls += c.Calls
		span = max(span, h.Span)
	}
	r.Deferred = max(0, r.AckPending-r.InFlight)
	if p, ok := pauses[sub.ID]; ok && p.InForce(at) {
		r.Holds = append(r.Holds, Hold{Kind: HoldPaused, Until: p.Until, Reason: p.Reason, Actor: p.Actor, Since: p.At})
	}
	if lim != nil {
		sn, err := lim.Snapshot(ctx, sub.ID, sub.Limits)
		if err != nil {
			*limitsDown = true
			r.Errors = append(r.Errors, "limits: "+err.Error())
		} else {
			r.Limits = limitsRow(sn, r.Recent.Calls, span)
			if sn.Halted {
				r.Holds = append(r.Holds, Hold{Kind: HoldHalted, Reason: sn.HaltReason})
			}
			if sn.BlockedUntil.After(sn.Now) {
				r.Holds = append(r.Holds, Hold{Kind: HoldBlocked, Until: sn.BlockedUntil, Reason: sn.BlockReason})
			}
		}
	}
	return r
}

// limitsRow adds to a limits snapshot when the quota runs out: at the rate
// of the replicas' recent calls, else of the current window.
func limitsRow(sn quota.Snapshot, recentCalls int, span time.Duration) *LimitsRow {
	l := &LimitsRow{CallsInWindow: sn.CallsInWindow, WindowLimit: sn.WindowLimit, Window: Duration(sn.Window),
		QuotaUsed: sn.QuotaUsed, QuotaLimit: sn.QuotaLimit, QuotaLeft: sn.QuotaLeft(), ResetAt: sn.ResetAt}
	var perSec float64
	switch {
	case recentCalls > 0 && span > 0:
		perSec = float64(recentCalls) / span.Seconds()
	case sn.CallsInWindow > 0 && sn.Window > 0:
		perSec = float64(sn.CallsInWindow) / sn.Window.Seconds()
	}
	l.RatePerMinute = perSec * 60
	switch {
	case l.QuotaLeft == 0:
		l.QuotaRunsOutAt = sn.Now
	case perSec > 0:
		out := sn.Now.Add(time.Duration(float64(l.QuotaLeft) / perSec * float64(time.Second)))
		if out.Before(sn.ResetAt) {
			l.QuotaRunsOutAt = out
		}
	}
	return l
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Held reports whether the row has a hold of kind.
func (r Row) Held(kind string) (Hold, bool) {
	for _, h := range r.Holds {
		if h.Kind == kind {
			return h, true
		}
	}
	return Hold{}, false
}
