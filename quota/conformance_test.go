package quota_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadops/repost/quota"
)

// storeOpts are the options every implementation takes.
type storeOpts struct {
	Now             func() time.Time
	ConcurrencyPoll time.Duration
	PenaltyBlock615 time.Duration
	HaltPoll        time.Duration
}

// newStores returns n stores on one fresh backend: n Redis clients (n
// replicas), or one Memory store n times.
type newStores func(t *testing.T, o storeOpts, n int) []quota.Store

const sub = "123-ABC-456"

// runConformance is the suite every Store passes.
func runConformance(t *testing.T, factory newStores) {
	tests := []struct {
		name string
		run  func(*testing.T, newStores)
	}{
		{"quota", testQuota},
		{"quota resets at Chicago midnight", testQuotaReset},
		{"exact sliding window", testWindow},
		{"concurrency", testConcurrency},
		{"dead holder loses its slot after the lease TTL", testDeadHolder},
		{"renew", testRenew},
		{"refund of an uncounted call", testRefund},
		{"refund across Chicago midnight", testRefundAcrossMidnight},
		{"an answered call frees its place from its answer", testAnswered},
		{"penalty 606", testPenalty606},
		{"penalty 607", testPenalty607},
		{"penalty 615 halves and recovers", testPenalty615},
		{"halt and resume", testHalt},
		{"snapshot is read-only", testSnapshotReadOnly},
		{"success marks", testMarks},
		{"success marks batched", testMarksBatched},
		{"claims", testClaims},
		{"errors", testErrors},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, factory) })
	}
}

func mustAdmit(tb testing.TB, s quota.Store, lim quota.Limits) quota.Admission {
	tb.Helper()
	a, err := s.Admit(context.Background(), sub, lim)
	if err != nil {
		tb.Fatalf("admit: %v", err)
	}
	if !a.Allowed {
		tb.Fatalf("admit refused: %+v", a)
	}
	return a
}

func mustRefuse(tb testing.TB, s quota.Store, lim quota.Limits, want quota.Limit, retry time.Duration) quota.Admission {
	tb.Helper()
	a, err := s.Admit(context.Background(), sub, lim)
	if err != nil {
		tb.Fatalf("admit: %v", err)
	}
	if a.Allowed {
		_ = s.Release(context.Background(), a.Lease)
		tb.Fatalf("admitted, want refused by %s", want)
	}
	if a.Limit != want || a.RetryAfter != retry {
		tb.Fatalf("refused by %s after %s (%q), want %s after %s", a.Limit, a.RetryAfter, a.Reason, want, retry)
	}
	return a
}

func mustRelease(tb testing.TB, s quota.Store, l quota.Lease) {
	tb.Helper()
	if err := s.Release(context.Background(), l); err != nil {
		tb.Fatalf("release: %v", err)
	}
}

func mustSnapshot(tb testing.TB, s quota.Store, lim quota.Limits) quota.Snapshot {
	tb.Helper()
	snap, err := s.Snapshot(context.Background(), sub, lim)
	if err != nil {
		tb.Fatalf("snapshot: %v", err)
	}
	return snap
}

func testQuota(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := factory(t, storeOpts{Now: clk.Now}, 2)
	lim := quota.Limits{DailyQuota: 3, CallsPerWindow: 100, Window: time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	for i := range 3 {
		a := mustAdmit(t, ss[i%2], lim)
		if !a.At.Equal(clk.Now()) {
			t.Fatalf("At = %s, want the store clock %s", a.At, clk.Now())
		}
		mustRelease(t, ss[i%2], a.Lease)
		clk.Add(time.Second)
	}
	a := mustRefuse(t, ss[1], lim, quota.LimitQuota, chi(t, "2026-11-24 00:00").Sub(clk.Now()))
	if !strings.Contains(a.Reason, "quota") {
		t.Errorf("reason %q does not name the quota", a.Reason)
	}
	snap := mustSnapshot(t, ss[0], lim)
	if snap.QuotaUsed != 3 || snap.QuotaLeft() != 0 || snap.QuotaLimit != 3 || !snap.ResetAt.Equal(chi(t, "2026-11-24 00:00")) {
		t.Errorf("snapshot %+v: want 3 used of 3, reset at next Chicago midnight", snap)
	}
}

func testWindow(t *testing.T, factory newStores) {
	t0 := chi(t, "2026-11-23 10:00")
	clk := newFakeClock(t0)
	s := factory(t, storeOpts{Now: clk.Now}, 1)[0]
	lim := quota.Limits{DailyQuota: 1000, CallsPerWindow: 3, Window: 10 * time.Second, MaxConcurrency: 10, LeaseTTL: time.Minute}
	for i := range 3 {
		clk.Set(t0.Add(time.Duration(i) * time.Second))
		mustRelease(t, s, mustAdmit(t, s, lim).Lease)
	}
	tests := []struct {
		name  string
		at    time.Duration // after t0
		want  bool
		retry time.Duration
	}{
		{"inside the window", 5 * time.Second, false, 5*time.Second + time.Microsecond},
		{"exactly one window after the first call", 10 * time.Second, false, time.Microsecond},
		{"first call left", 10*time.Second + time.Microsecond, true, 0},
		{"second call still in", 10*time.Second + 2*time.Microsecond, false, time.Second - time.Microsecond},
	}
	for _, tc := range tests {
		clk.Set(t0.Add(tc.at))
		if tc.want {
			mustRelease(t, s, mustAdmit(t, s, lim).Lease)
			continue
		}
		mustRefuse(t, s, lim, quota.LimitWindow, tc.retry)
	}
	if snap := mustSnapshot(t, s, lim); snap.CallsInWindow != 3 || snap.WindowLimit != 3 {
		t.Errorf("snapshot: %d of %d calls in the window, want 3 of 3", snap.CallsInWindow, snap.WindowLimit)
	}
}

func testConcurrency(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	poll := 100 * time.Millisecond
	ss := factory(t, storeOpts{Now: clk.Now, ConcurrencyPoll: poll}, 2)
	lim := quota.Limits{DailyQuota: 1000, CallsPerWindow: 100, Window: time.Second, MaxConcurrency: 2, LeaseTTL: time.Minute}
	a1 := mustAdmit(t, ss[0], lim)
	a2 := mustAdmit(t, ss[1], lim)
	if a1.Lease.ID == a2.Lease.ID || a1.Lease.Subscription != sub {
		t.Fatalf("leases %+v and %+v", a1.Lease, a2.Lease)
	}
	if !a1.Lease.Expires.Equal(clk.Now().Add(time.Minute)) {
		t.Errorf("lease expires %s, want %s", a1.Lease.Expires, clk.Now().Add(time.Minute))
	}
	mustRefuse(t, ss[0], lim, quota.LimitConcurrency, poll)
	if snap := mustSnapshot(t, ss[1], lim); snap.Leases != 2 || snap.EffectiveConcurrency != 2 {
		t.Errorf("snapshot: %d leases, effective %d; want 2, 2", snap.Leases, snap.EffectiveConcurrency)
	}
	mustRelease(t, ss[1], a1.Lease)
	mustRelease(t, ss[1], a1.Lease) // twice: a no-op
	a3 := mustAdmit(t, ss[0], lim)
	mustRefuse(t, ss[1], lim, quota.LimitConcurrency, poll)
	mustRelease(t, ss[0], a2.Lease)
	mustRelease(t, ss[0], a3.Lease)
}

func testDeadHolder(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := factory(t, storeOpts{Now: clk.Now, ConcurrencyPoll: time.Minute}, 2)
	lim := quota.Limits{DailyQuota: 1000, CallsPerWindow: 100, Window: time.Second, MaxConcurrency: 1, LeaseTTL: 30 * time.Second}
	dead := mustAdmit(t, ss[0], lim) // its replica dies: never released
	clk.Add(10 * time.Second)
	mustRefuse(t, ss[1], lim, quota.LimitConcurrency, 20*time.Second)
	clk.Add(20*time.Second - time.Microsecond)
	mustRefuse(t, ss[1], lim, quota.LimitConcurrency, time.Microsecond)
	clk.Add(time.Microsecond)
	a := mustAdmit(t, ss[1], lim)
	if _, err := ss[0].Renew(context.Background(), dead.Lease, time.Minute); !errors.Is(err, quota.ErrLeaseLost) {
		t.Errorf("renew of the dead lease: %v, want ErrLeaseLost", err)
	}
	mustRelease(t, ss[0], dead.Lease) // late release of a lost lease frees nothing
	mustRefuse(t, ss[0], lim, quota.LimitConcurrency, 30*time.Second)
	mustRelease(t, ss[1], a.Lease)
}

func testRenew(t *testing.T, factory newStores) {
	clk := newFakeClock(chi(t, "2026-11-23 10:00"))
	ss := factory(t, storeOpts{Now: clk.Now, ConcurrencyPoll: time.Minute}, 2)
	lim := quota.Limits{DailyQuota: 1000, CallsPerWindow: 100, Window: time.Second, MaxConcurrency: 1, LeaseTTL: 10 * time.Second}
	a := mustAdmit(t, ss[0], lim)
	clk.Add(8 * time.Second)
	l, err := ss[0].Renew(context.Background(), a.Lease, 10*time.Second)
	if err != nil {
		t.Fatalf("renew: %v", err)
	}
	if !l.Expires.Equal(clk.Now().Add(10*time.Second)) || l.ID != a.Lease.ID {
		t.Fatalf("renewed %+v, want expiry %s", l, clk.Now().Add(10*time.Second))
	}
	clk.Add(5 * time.Second) // past the first expiry
	mustRefuse(t, ss[1], lim, quota.LimitConcurrency, 5*time.Second)
	mustRelease(t, ss[1], l)
	if _, err := ss[0].Renew(context.Background(), l, time.Second); !errors.Is(err, quota.ErrLeaseLost) {
		t.Errorf("renew after release: %v, want ErrLeaseLost", err)
	}
	mustRelease(t, ss[1], mustAdmit(t, ss[1], lim).Lease)
}
