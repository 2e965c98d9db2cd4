package quota

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/leadops/repost/internal/randid"
)

// MemoryOptions tune a Memory store. Zero fields take their defaults.
type MemoryOptions struct {
	Now             func() time.Time // time.Now
	PenaltyBlock615 time.Duration    // DefaultPenaltyBlock615
	ConcurrencyPoll time.Duration    // DefaultConcurrencyPoll
	HaltPoll        time.Duration    // DefaultHaltPoll
	SuccessTTL      time.Duration    // DefaultSuccessTTL
	// MaxMarks bounds the success marks kept (DefaultMaxMarks): past it the
	// oldest are forgotten, so memory does not grow with a backlog. Redis
	// keeps every mark until its TTL.
	MaxMarks int
}

// DefaultMaxMarks is how many leads' success marks a Memory store keeps.
const DefaultMaxMarks = 200_000

// Memory is the Store of a single replica (demo, tests): the same rules as
// Redis, in one process. Safe for concurrent use.
type Memory struct {
	now  func() time.Time
	tune tuning

	mu     sync.Mutex
	subs   map[string]*memSub
	marks  map[memKey]expiring[time.Time] // (subscription, lead) → last success
	order  []memKey                       // mark keys, oldest first (may hold forgotten ones)
	max    int                            // most marks kept
	claims map[memKey]expiring[string]    // (subscription, lookup value) → owner
	sweep  int                            // len(marks)+len(claims) that triggers the next sweep
	closed bool
	epochs epochs // the epoch seen per subscription, kept when the state is lost (tests)
}

var _ Store = (*Memory)(nil)

type expiring[T any] struct {
	v   T
	exp time.Time
}

// memSub mirrors one subscription's Redis keys.
type memSub struct {
	quota      map[int64]int // Chicago day start (Unix s) → calls
	window     []windowCall  // admissions, oldest first
	leases     map[string]time.Time
	eff        int // 0: the configured maximum
	effAt      time.Time
	effCut     time.Time // the last 615 halving: one per window
	blockUntil time.Time
	blockWhy   string
	halted     bool
	haltWhy    string
	epoch      memEpoch
}

// NewMemory returns an in-process Store.
func NewMemory(opts MemoryOptions) *Memory {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	maxMarks := opts.MaxMarks
	if maxMarks <= 0 {
		maxMarks = DefaultMaxMarks
	}
	return &Memory{
		max:    maxMarks,
		now:    now,
		tune:   newTuning(opts.PenaltyBlock615, opts.ConcurrencyPoll, opts.HaltPoll, opts.SuccessTTL),
		subs:   map[string]*memSub{},
		marks:  map[memKey]expiring[time.Time]{},
		claims: map[memKey]expiring[string]{},
		sweep:  1024,
	}
}

// lock takes the mutex for sub and returns its state and the time; the
// caller unlocks.
func (m *Memory) lock(sub string) (*memSub, time.Time, error) {
	if err := checkSub(sub); err != nil {
		return nil, time.Time{}, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, time.Time{}, ErrClosed
	}
	s := m.subs[sub]
	if s == nil {
		s = &memSub{quota: map[int64]int{}, leases: map[string]time.Time{}}
		m.subs[sub] = s
	}
	return s, micro(m.now()), nil
}

// Admit implements Store.
func (m *Memory) Admit(_ context.Context, sub string, lim Limits) (Admission, error) {
	return m.admit(sub, lim, false)
}

// admit is Admit, or with reading the admission of Restore's reading call.
func (m *Memory) admit(sub string, lim Limits, reading bool) (Admission, error) {
	lim, err := lim.normalize()
	if err != nil {
		return Admission{}, err
	}
	s, t, err := m.lock(sub)
	if err != nil {
		return Admission{}, err
	}
	defer m.mu.Unlock()
	ds := chicagoDays(t)
	di, _ := ds.pick(t)
	deny := func(l Limit, retry time.Duration, detail string) (Admission, error) {
		return Admission{Limit: l, RetryAfter: retry, At: t, Reason: refusal(l, detail, lim, retry)}, nil
	}
	if a, refused := m.checkEpoch(sub, s, t, lim, reading); refused {
		return a, nil
	}
	day := ds[di].Unix()
	s.pruneDays(ds)
	if s.quota[day] >= lim.DailyQuota {
		return deny(LimitQuota, ds[di+1].Sub(t), "")
	}
	s.pruneWindow(t, lim.Window)
	if n := len(s.window); n >= lim.CallsPerWindow {
		e := s.window[n-lim.CallsPerWindow].at
		return deny(LimitWindow, e.Add(lim.Window+time.Microsecond).Sub(t), "")
	}
	s.pruneLeases(t)
	eff := s.effective(lim, t, true)
	if len(s.leases) >= eff {
		wait := min(s.earliestLease().Sub(t), m.tune.concPoll)
		return deny(LimitConcurrency, wait, fmt.Sprintf("%d/%d", len(s.leases), eff))
	}
	id := randid.Hex(12)
	exp := t.Add(lim.LeaseTTL)
	if reading {
		s.epoch.reader, s.epoch.readerExp = id, exp
	}
	s.leases[id] = exp
	s.window = append(s.window, windowCall{at: t, id: id})
	s.quota[day]++
	return Admission{Allowed: true, Lease: Lease{Subscription: sub, ID: id, Expires: exp, At: t}, At: t}, nil
}

// windowCall is one admission in the window: its time, and its lease's id
// (Refund takes it back).
type windowCall struct {
	at time.Time
	id string
}

func (s *memSub) pruneDays(ds days) {
	for d := range s.quota {
		if d < ds[0].Unix() {
			delete(s.quota, d)
		}
	}
}

// pruneWindow keeps the admissions at or after t − window.
func (s *memSub) pruneWindow(t time.Time, window time.Duration) {
	from := t.Add(-window)
	i := sort.Search(len(s.window), func(i int) bool { return !s.window[i].at.Before(from) })
	s.window = append(s.window[:0], s.window[i:]...)
}

func (s *memSub) countWindow(t time.Time, window time.Duration) int {
	from := t.Add(-window)
	n := 0
	for _, w := range s.window {
		if !w.at.Before(from) && !w.at.After(t) {
			n++
		}
	}
	return n
}

// pruneLeases drops the leases expired at t.
func (s *memSub) pruneLeases(t time.Time) {
	for id, exp := range s.leases {
		if !exp.After(t) {
			delete(s.leases, id)
		}
	}
}

func (s *memSub) earliestLease() time.Time {
	var first time.Time
	for _, exp := range s.leases {
		if first.IsZero() || exp.Before(first) {
			first = exp
		}
	}
	return first
}

// effective is the effective concurrency at t: every clean window since the
// last 615 adds one back, up to the maximum.
func (s *memSub) effective(lim Limits, t time.Time, write bool) int {
	if s.eff == 0 || s.eff >= lim.MaxConcurrency {
		if write {
			s.eff = 0
		}
		return lim.MaxConcurrency
	}
	eff, at := s.eff, s.effAt
	if n := int(t.Sub(at) / lim.Window); n > 0 {
		eff = min(lim.MaxConcurrency, eff+n)
		at = at.Add(time.Duration(n) * lim.Window)
	}
	if write {
		s.eff, s.effAt = eff, at
		if eff >= lim.MaxConcurrency {
			s.eff = 0
		}
	}
	return eff
}
