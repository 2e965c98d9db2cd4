package quota_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

// runHammer: 3 replicas × 8 goroutines on one subscription with 100 calls
// per 2 s, concurrency 10 and a quota of 250 (used up in the third window).
// Checked over the admission times the store reports: no 2 s interval holds
// more than 100, never more than 10 in flight, exactly 250 admitted.
func runHammer(t *testing.T, factory newStores) {
	if testing.Short() {
		t.Skip("short: the hammer takes ~4 s")
	}
	const replicas, workers = 3, 8
	lim := quota.Limits{DailyQuota: 250, CallsPerWindow: 100, Window: 2 * time.Second, MaxConcurrency: 10, LeaseTTL: 10 * time.Second}
	ss := factory(t, storeOpts{ConcurrencyPoll: 5 * time.Millisecond}, replicas)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := &hammer{lim: lim}
	var wg sync.WaitGroup
	for r := range replicas {
		for w := range workers {
			wg.Go(func() { h.work(ctx, t, ss[r], uint64(r*workers+w)) })
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the quota was not used up in time: %d admitted", len(h.times))
	}
	h.check(t)
}

type hammer struct {
	lim         quota.Limits
	inflight    atomic.Int64
	maxInflight atomic.Int64
	mu          sync.Mutex
	times       []time.Time
}

// work admits until the quota refuses, holding each lease a random moment.
func (h *hammer) work(ctx context.Context, t *testing.T, s quota.Store, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	for ctx.Err() == nil {
		a, err := s.Admit(ctx, sub, h.lim)
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("admit: %v", err)
			}
			return
		}
		if !a.Allowed {
			if a.Limit == quota.LimitQuota {
				return
			}
			wait(ctx, a.RetryAfter)
			continue
		}
		n := h.inflight.Add(1)
		for m := h.maxInflight.Load(); n > m && !h.maxInflight.CompareAndSwap(m, n); m = h.maxInflight.Load() {
		}
		h.mu.Lock()
		h.times = append(h.times, a.At)
		h.mu.Unlock()
		wait(ctx, time.Duration(rng.IntN(3000))*time.Microsecond)
		h.inflight.Add(-1)
		if err := s.Release(context.Background(), a.Lease); err != nil {
			t.Errorf("release: %v", err)
		}
	}
}

func (h *hammer) check(t *testing.T) {
	if got := len(h.times); got != h.lim.DailyQuota {
		t.Errorf("admitted %d, want exactly the quota %d", got, h.lim.DailyQuota)
	}
	if m := h.maxInflight.Load(); m > int64(h.lim.MaxConcurrency) {
		t.Errorf("%d calls in flight at once, max %d", m, h.lim.MaxConcurrency)
	}
	times := slices.SortedFunc(slices.Values(h.times), func(a, b time.Time) int { return a.Compare(b) })
	n := h.lim.CallsPerWindow
	for i := 0; i+n < len(times); i++ {
		// times[i..i+n] are n+1 admissions: they must span more than a window.
		if d := times[i+n].Sub(times[i]); d <= h.lim.Window {
			t.Fatalf("%d admissions within %s (from %s)", n+1, d, times[i].Format(time.RFC3339Nano))
		}
	}
	t.Logf("%d admissions over %s, at most %d in flight", len(times), times[len(times)-1].Sub(times[0]), h.maxInflight.Load())
}

// wait sleeps d (a RetryAfter or a simulated call) unless ctx ends.
func wait(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

func TestMemoryHammer(t *testing.T) { runHammer(t, memoryStores) }

func TestRedisHammer(t *testing.T) { runHammer(t, redisStores(mustRedisServer(t, false))) }
