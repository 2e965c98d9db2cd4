package quota

import (
	"context"
	"time"
)

// Defaults of CONTRACT §7, used for a zero field of Limits: one
// integration's share of an instance (Marketo asks for at most 50 calls per
// 20 s and 5 concurrent; 10,000 calls a day is all an instance guarantees).
const (
	DefaultDailyQuota     = 10000
	DefaultCallsPerWindow = 50
	DefaultWindow         = 20 * time.Second
	DefaultMaxConcurrency = 5
	// DefaultLeaseTTL outlives Marketo's own 90 s timeout: a call still
	// running after it has been abandoned by Marketo anyway. Long calls Renew.
	DefaultLeaseTTL = 100 * time.Second
	// DefaultSuccessTTL is how long a success mark is kept.
	DefaultSuccessTTL = 30 * 24 * time.Hour
)

// Limits are one subscription's share of Marketo's limits. A zero field
// takes its default; a negative one is a *LimitsError.
type Limits struct {
	DailyQuota     int           // calls per Chicago calendar day
	CallsPerWindow int           // calls in any Window-long interval
	Window         time.Duration // the sliding window (Marketo: 20 s)
	MaxConcurrency int           // calls in flight (the ceiling of the effective concurrency)
	LeaseTTL       time.Duration // how long an unreleased, unrenewed lease holds its slot
}

// Limit names what refused an admission.
type Limit string

// The limits an Admission may name.
const (
	LimitQuota       Limit = "quota"       // the daily quota is used up: RetryAfter reaches the reset
	LimitWindow      Limit = "window"      // the sliding window is full: RetryAfter is when its oldest call leaves
	LimitConcurrency Limit = "concurrency" // every effective slot is leased
	LimitBlocked     Limit = "blocked"     // a 606/607/615 penalty is in force
	LimitHalted      Limit = "halted"      // the subscription is halted until Resume
)

// Admission answers Admit. When Allowed, Lease holds one concurrency slot,
// one call of the window and one call of the daily quota; release it when
// the call ends. When not, Limit says why and RetryAfter how long to wait
// (for LimitHalted and LimitConcurrency it is a poll interval at most).
type Admission struct {
	Allowed    bool
	Lease      Lease
	RetryAfter time.Duration
	Limit      Limit
	Reason     string
	// At is the store's time of the decision (Redis TIME, microseconds):
	// the admission time that the window counts.
	At time.Time
	// StateLost: this admission found the subscription's state lost (it is
	// the first to see it): log it and count it. The answer is a LimitLost
	// refusal.
	StateLost bool
}

// Lease is one concurrency slot, released by ID.
type Lease struct {
	Subscription string
	ID           string
	Expires      time.Time // store time after which the slot is free again
	// At is the store time of the admission: the call's place in the
	// window and its day's quota, which Refund takes back.
	At time.Time
}

// Snapshot is a read-only view of one subscription's limits, for
// `repostctl limits`. Times are the store's.
type Snapshot struct {
	Subscription         string
	QuotaUsed            int
	QuotaLimit           int
	ResetAt              time.Time // next 00:00 America/Chicago
	CallsInWindow        int
	WindowLimit          int
	Window               time.Duration
	Leases               int
	MaxConcurrency       int
	EffectiveConcurrency int
	BlockedUntil         time.Time // zero when not blocked
	BlockReason          string
	Halted               bool
	HaltReason           string
	Now                  time.Time
	// After a loss of the state: when it was found lost, whether admissions
	// still wait (the hold, then the restore), and the day's count it was
	// restored to, from where, when. Zero when the state was never lost.
	LostAt        time.Time
	Restoring     bool
	RestoredCount int
	RestoredFrom  string
	RestoredAt    time.Time
}

// QuotaLeft is what remains of the daily quota.
func (s Snapshot) QuotaLeft() int { return max(0, s.QuotaLimit-s.QuotaUsed) }

// Store keeps the limits of every subscription. Every method returns
// ErrInvalidSubscription for an empty subscription or one holding '{' or
// '}', *LimitsError for bad limits, and an error matching ErrUnavailable when
// the backing store cannot be reached; after Close, ErrClosed.
type Store interface {
	// Admit decides one call atomically: halt, block, daily quota, window
	// and concurrency, in that order. A refusal is a value.
	Admit(ctx context.Context, sub string, lim Limits) (Admission, error)
	// Release frees a lease; releasing an expired or released lease is a no-op.
	Release(ctx context.Context, l Lease) error
	// Refund releases the lease of a call Marketo answered without
	// counting it (Uncounted: 601, 602, 604, 605, 608, 611), and takes the
	// call back from the window and from its day's quota, so that its retry
	// does not spend a second place. Only a lease still held is refunded:
	// refunding it again, or after Release, takes nothing more back.
	Refund(ctx context.Context, l Lease) error
	// Answered releases the lease of a call whose answer is in. Marketo
	// counted the call between sending it and its answer, so no later than
	// now: its place in the window (lim's, Marketo's window plus guard)
	// moves to now − guard, where it ends one of Marketo's windows after
	// the answer. That is sooner than at the admission for an answer within
	// the guard band, and later for a slower one (which may have been
	// counted that late). Only a lease still held moves its place.
	Answered(ctx context.Context, l Lease, lim Limits, guard time.Duration) error
	// Renew extends a live lease to ttl from now; ErrLeaseLost once it expired or was released.
	Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// Penalize applies a Marketo answer seen by any replica: 606 blocks for
	// one window, 607 blocks until the reset and marks the quota used, 615
	// blocks briefly and halves the effective concurrency, at most once per
	// window (the 615s of calls in flight together are one excess); each
	// clean window adds one back. Other codes: ErrUnknownPenalty.
	Penalize(ctx context.Context, sub string, code int, lim Limits) error
	// Halt pauses the subscription for every replica until Resume.
	Halt(ctx context.Context, sub, reason string) error
	// Resume lifts a halt.
	Resume(ctx context.Context, sub string) error
	// Snapshot reads the limits without changing them.
	Snapshot(ctx context.Context, sub string, lim Limits) (Snapshot, error)
	// MarkSuccess records a successful post of leadID at at (the later time wins).
	MarkSuccess(ctx context.Context, sub, leadID string, at time.Time) error
	// LastSuccess returns the last success mark of leadID.
	LastSuccess(ctx context.Context, sub, leadID string) (time.Time, bool, error)
	// MarkSuccesses is MarkSuccess for several leads of one subscription in
	// one round trip (at[i] is leadIDs[i]'s time).
	MarkSuccesses(ctx context.Context, sub string, leadIDs []string, at []time.Time) error
	// LastSuccesses is LastSuccess for several leads in one round trip; a
	// zero time means no mark.
	LastSuccesses(ctx context.Context, sub string, leadIDs []string) ([]time.Time, error)
	// Claim takes each lookup value for owner for ttl, unless another owner
	// holds it: result i tells whether keys[i] is now owner's. An owner may
	// claim again what it holds (which extends it).
	Claim(ctx context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error)
	// RenewClaims is Claim for keys owner already holds, while their call
	// waits or runs (every ClaimRenewEvery): it also takes back a key that
	// is free because the state was lost, which Claim refuses for two
	// renewal intervals after a loss is found (so that a call in flight
	// gets its keys back before anyone else).
	RenewClaims(ctx context.Context, sub, owner string, keys []string, ttl time.Duration) ([]bool, error)
	// Unclaim frees the keys owner holds; keys held by others stay.
	Unclaim(ctx context.Context, sub, owner string, keys []string) error
	// Restore restores the day's count after a loss (an admission refused
	// LimitRestore): one call, admitted, runs read; the day resumes from the
	// larger of the two counts, or from the worst case when read fails.
	Restore(ctx context.Context, sub string, lim Limits, read UsageReader) (Restored, error)
	// Close releases the store's resources (not a Redis client it was given).
	Close() error
}
