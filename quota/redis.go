package quota

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadops/repost/internal/randid"
)

// RedisOptions tune a Redis store. Zero fields take their defaults.
type RedisOptions struct {
	// Now, when set, replaces Redis TIME as the clock of every decision
	// (tests of quota resets and DST days). Leave it nil in production: the
	// replicas must share Redis's clock, not their own.
	Now func() time.Time
	// PenaltyBlock615 is how long a 615 blocks (DefaultPenaltyBlock615).
	PenaltyBlock615 time.Duration
	// ConcurrencyPoll caps RetryAfter of a concurrency refusal (DefaultConcurrencyPoll).
	ConcurrencyPoll time.Duration
	// HaltPoll is RetryAfter of a halted subscription (DefaultHaltPoll).
	HaltPoll time.Duration
	// SuccessTTL is how long a success mark lives (DefaultSuccessTTL).
	SuccessTTL time.Duration
}

// tuning is what both stores take from their options.
type tuning struct {
	block615, concPoll, haltPoll, successTTL time.Duration
}

func newTuning(block615, concPoll, haltPoll, successTTL time.Duration) tuning {
	def := func(d, v time.Duration) time.Duration {
		if d <= 0 {
			return v
		}
		return d
	}
	return tuning{
		block615:   def(block615, DefaultPenaltyBlock615),
		concPoll:   def(concPoll, DefaultConcurrencyPoll),
		haltPoll:   def(haltPoll, DefaultHaltPoll),
		successTTL: def(successTTL, DefaultSuccessTTL),
	}
}

// Redis is the Store shared by every replica. Safe for concurrent use.
type Redis struct {
	c      redis.UniversalClient
	now    func() time.Time // nil: Redis TIME
	tune   tuning
	closed atomic.Bool
	epochs epochs // the epoch this replica last saw, per subscription
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store on client, a standalone or Cluster client that
// the caller keeps and closes after the store.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	return &Redis{
		c:    client,
		now:  opts.Now,
		tune: newTuning(opts.PenaltyBlock615, opts.ConcurrencyPoll, opts.HaltPoll, opts.SuccessTTL),
	}
}

// clock returns the first five ARGV of the time-aware scripts (the
// controlled time, "" for Redis TIME, then the four Chicago day starts) and
// those days, which also name the quota keys.
func (r *Redis) clock() ([]any, days) {
	if r.now == nil {
		ds := chicagoDays(time.Now())
		return append([]any{""}, dayArgs(ds)...), ds
	}
	t := micro(r.now())
	ds := chicagoDays(t)
	return append([]any{t.UnixMicro()}, dayArgs(ds)...), ds
}

func (r *Redis) begin(sub string) error {
	if r.closed.Load() {
		return ErrClosed
	}
	return checkSub(sub)
}

// Admit implements Store: one EVALSHA.
func (r *Redis) Admit(ctx context.Context, sub string, lim Limits) (Admission, error) {
	return r.admit(ctx, sub, lim, false)
}

// admit is Admit, or with reading the admission of the call that reads
// Marketo's usage after a loss (Restore).
func (r *Redis) admit(ctx context.Context, sub string, lim Limits, reading bool) (Admission, error) {
	if err := r.begin(sub); err != nil {
		return Admission{}, err
	}
	lim, err := lim.normalize()
	if err != nil {
		return Admission{}, err
	}
	id := randid.Hex(12)
	args, ds := r.clock()
	read := "0"
	if reading {
		read = "1"
	}
	args = append(args, lim.DailyQuota, lim.CallsPerWindow, us(lim.Window),
		lim.MaxConcurrency, us(lim.LeaseTTL), id, us(r.tune.concPoll), us(r.tune.haltPoll),
		r.epochs.get(sub), randid.Hex(12), read)
	res, err := admitScript.Run(ctx, r.c, limitKeys(sub, ds), args...).Slice()
	if err != nil {
		return Admission{}, unavailable("admit", sub, err)
	}
	a, epoch, err := admissionOf(reply(res), sub, id, lim)
	if err != nil {
		return Admission{}, unavailable("admit", sub, err)
	}
	r.epochs.set(sub, epoch)
	return a, nil
}

// admissionOf reads {allowed, now, limit, retry-or-expiry, detail, epoch, detected}.
func admissionOf(rep reply, sub, id string, lim Limits) (Admission, string, error) {
	if err := rep.check(7); err != nil {
		return Admission{}, "", err
	}
	at := fromMicros(rep.int(1))
	epoch, lost := rep.str(5), rep.int(6) == 1
	if rep.int(0) == 1 {
		l := Lease{Subscription: sub, ID: id, Expires: fromMicros(rep.int(3)), At: at}
		return Admission{Allowed: true, Lease: l, At: at, StateLost: lost}, epoch, nil
	}
	limit := Limit(rep.str(2))
	retry := time.Duration(rep.int(3)) * time.Microsecond
	return Admission{
		Limit: limit, RetryAfter: retry, At: at, StateLost: lost,
		Reason: refusal(limit, rep.str(4), lim, retry),
	}, epoch, nil
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, l Lease) error {
	if err := r.begin(l.Subscription); err != nil {
		return err
	}
	if err := r.c.ZRem(ctx, key(l.Subscription, "leases"), l.ID).Err(); err != nil {
		return unavailable("release", l.Subscription, err)
	}
	return nil
}

// Renew implements Store.
func (r *Redis) Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := r.begin(l.Subscription); err != nil {
		return l, err
	}
	if ttl < time.Millisecond {
		return l, &LimitsError{Field: "ttl", Reason: fmt.Sprintf("is under 1ms (%s)", ttl)}
	}
	args, _ := r.clock()
	keys := []string{key(l.Subscription, "leases")}
	res, err := renewScript.Run(ctx, r.c, keys, args[0], l.ID, us(ttl)).Slice()
	if err != nil {
		return l, unavailable("renew", l.Subscription, err)
	}
	rep := reply(res)
	if err := rep.check(3); err != nil {
		return l, unavailable("renew", l.Subscription, err)
	}
	if rep.int(0) != 1 {
		return l, fmt.Errorf("quota: renew %s lease %s: %w", l.Subscription, l.ID, ErrLeaseLost)
	}
	l.Expires = fromMicros(rep.int(2))
	return l, nil
}

// Ping reports whether Redis answers (for /readyz): nil, or an error
// matching ErrUnavailable.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("quota: ping: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close implements Store; the client stays open (it is the caller's).
func (r *Redis) Close() error {
	r.closed.Store(true)
	return nil
}
